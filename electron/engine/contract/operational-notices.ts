/**
 * Operational events in words for people: what happened and what to do, for the app's toasts and the
 * desktop notifications. The log and the webhook keep the event's own summary (contract/operations.ts).
 */
import type { OperationalEventName, OperationalEventRecord } from './operations.ts';

/** Events that ask someone to look; the rest say that something is well again. */
const WARNINGS: ReadonlySet<OperationalEventName> = new Set<OperationalEventName>([
  'breaker.open',
  'key.disabled',
  'health.down',
  'budget.threshold',
  'budget.exhausted',
  'config.rejected',
]);

export function isWarning(event: OperationalEventName, data: Record<string, unknown>): boolean {
  return WARNINGS.has(event) || (event === 'state.changed' && data.shared === false);
}

export interface OperationalNotice {
  /** What the notice is about (one provider's breaker, one budget…): a later event on it replaces it. */
  topic: string;
  level: 'warning' | 'info';
  title: string;
  text: string;
}

const text = (value: unknown) => (typeof value === 'string' || typeof value === 'number' ? String(value) : '');

function money(value: unknown): string {
  return typeof value === 'number' ? `$${value.toFixed(2)}` : '';
}

/**
 * The notice of an event. `labelOf` names a provider by the name the user knows (the provider's
 * label); without it, its id.
 */
export function noticeOf(
  record: Pick<OperationalEventRecord, 'event' | 'data'>,
  labelOf: (providerId: string) => string = (id) => id,
): OperationalNotice {
  const { event, data } = record;
  const provider = labelOf(text(data.providerId));
  const level = isWarning(event, data) ? 'warning' : 'info';
  const notice = (topic: string, title: string, body: string): OperationalNotice => ({
    topic,
    level,
    title,
    text: body,
  });
  switch (event) {
    case 'breaker.open':
    case 'breaker.close': {
      const topic = `breaker:${text(data.providerId)}/${text(data.model)}`;
      return event === 'breaker.open'
        ? notice(
            topic,
            `${provider} failed several times in a row`,
            `Switchboard gives ${text(data.model)} on ${provider} a short rest and sends its requests to your other providers. It tries again on its own; if this keeps happening, check ${provider}'s settings or its service status.`,
          )
        : notice(topic, `${provider} answers again`, `Requests for ${text(data.model)} go to ${provider} again.`);
    }
    case 'key.disabled':
      return notice(
        `key:${text(data.providerId)}/${text(data.key)}`,
        `${provider} refused an API key`,
        `The key ending ${text(data.key)} is set aside; Switchboard uses ${provider}'s other keys, if it has any. Check or replace the key under Providers & settings.`,
      );
    case 'key.restored':
      return notice(
        `key:${text(data.providerId)}/${text(data.key)}`,
        `${provider}'s API key works again`,
        `The key ending ${text(data.key)} is back in use.`,
      );
    case 'health.down':
      return notice(
        `health:${text(data.providerId)}`,
        `${provider} cannot be reached`,
        'Switchboard uses your other providers meanwhile and checks again on its own. If it stays down, check the network or the provider’s address under Providers & settings.',
      );
    case 'health.up':
      return notice(`health:${text(data.providerId)}`, `${provider} can be reached again`, 'It takes requests again.');
    case 'budget.threshold':
    case 'budget.exhausted': {
      const scope = text(data.scope);
      const whose = scope === 'global' ? 'all cloud providers' : labelOf(scope);
      const period = data.period === 'monthly' ? 'monthly' : 'daily';
      const spent = `${money(data.spentUsd)} of ${money(data.limitUsd)}`;
      return event === 'budget.threshold'
        ? notice(
            `budget:${scope}/${period}`,
            `The ${period} budget is nearly spent`,
            `Spending on ${whose} has reached ${spent}. Raise the limit under Budgets if you need more.`,
          )
        : notice(
            `budget:${scope}/${period}`,
            `The ${period} budget is spent`,
            `Spending on ${whose} reached ${spent}. What happens now is set under Budgets ("At the limit"); models on this computer still answer.`,
          );
    }
    case 'config.reloaded':
      return notice('config', 'The providers file was read again', 'Switchboard uses the changes made to it.');
    case 'config.rejected':
      return notice(
        'config',
        'A change to the providers file was not applied',
        'The file has a mistake, so Switchboard goes on with the last settings that worked. Providers & settings says what to correct.',
      );
    case 'state.changed':
      return data.shared === false
        ? notice(
            'state',
            'Shared limits are unavailable',
            'The shared store other Switchboard instances use cannot be reached: limits and budgets count this instance only until it is back. Nothing else changes for you.',
          )
        : notice('state', 'Shared limits are back', 'Limits and budgets are shared with the other instances again.');
  }
}
