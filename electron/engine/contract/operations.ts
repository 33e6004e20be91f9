/** The operational events, under the names the log, `GET /api/events` and alert webhooks use. */
export const OPERATIONAL_EVENT_NAMES = [
  'breaker.open',
  'breaker.close',
  'key.disabled',
  'key.restored',
  'health.down',
  'health.up',
  'budget.threshold',
  'budget.exhausted',
  'config.reloaded',
  'config.rejected',
  'state.changed',
] as const;

export type OperationalEventName = (typeof OPERATIONAL_EVENT_NAMES)[number];

/** One operational event as it is logged, streamed and posted. Keys appear masked (…a9f2), never in clear. */
export interface OperationalEventRecord {
  /** Counts up from 1 in each process: the SSE id, and a way to see that nothing was repeated or lost. */
  id: number;
  event: OperationalEventName;
  /** ISO 8601. */
  time: string;
  /** One line a person reads in a log, a toast or a chat channel. */
  summary: string;
  data: Record<string, unknown>;
}

const text = (value: unknown) => (typeof value === 'string' || typeof value === 'number' ? String(value) : '?');

/** The summary line of an event, from its data. */
export function summarizeEvent(event: OperationalEventName, data: Record<string, unknown>): string {
  const provider = text(data.providerId);
  switch (event) {
    case 'breaker.open':
      return `circuit breaker opened for ${provider} (${text(data.model)}): requests go to other providers until it recovers`;
    case 'breaker.close':
      return `circuit breaker closed for ${provider} (${text(data.model)}): it takes requests again`;
    case 'key.disabled':
      return `key ${text(data.key)} of ${provider} taken out: ${text(data.reason)}`;
    case 'key.restored':
      return `key ${text(data.key)} of ${provider} back in use`;
    case 'health.down':
      return `${provider} is down`;
    case 'health.up':
      return `${provider} is up again`;
    case 'budget.threshold':
      return `budget ${text(data.scope)} (${text(data.period)}) passed its alert threshold: $${text(data.spentUsd)} of $${text(data.limitUsd)}`;
    case 'budget.exhausted':
      return `budget ${text(data.scope)} (${text(data.period)}) is spent: $${text(data.spentUsd)} of $${text(data.limitUsd)}`;
    case 'config.reloaded':
      return `configuration reloaded${data.file ? ` from ${text(data.file)}` : ''}`;
    case 'config.rejected':
      return `configuration change refused, still serving the last good one: ${text(data.message)}`;
    case 'state.changed':
      return `routing state: ${text(data.message)}`;
  }
}
