import { setTimeout as sleep } from 'node:timers/promises';
import type { AlertSettings } from '../config/types.ts';
import type { OperationalEventRecord } from '../contract/operations.ts';
import type { OperationsFeed } from './feed.ts';

/** Waits between a failed post and the next try: five tries over about 15 s. */
const RETRY_DELAYS_MS = [1_000, 2_000, 4_000, 8_000];
const ATTEMPT_TIMEOUT_MS = 10_000;

/** The body posted for an event: the record itself, or what a Slack incoming webhook shows. */
export function alertPayload(record: OperationalEventRecord, format: AlertSettings['format']): unknown {
  if (format === 'json') return record;
  return { text: `Switchboard — ${record.event}: ${record.summary}` };
}

export interface WebhookAlertsOptions {
  retryDelaysMs?: number[];
  /** A post that failed every try; the message names the event and why, never the webhook's URL (it is a secret). */
  onFailure?: (message: string) => void;
}

/**
 * Posts operational events to the configured webhook (`alerts: {webhook_url, events, format}`), read afresh
 * for each event so a reload applies at once. A refused post (network error, 429, 5xx) is tried again
 * with backoff; a 4xx other than 429 is the webhook's final answer.
 */
export class WebhookAlerts {
  private readonly stop = new AbortController();
  private readonly unsubscribe: () => void;
  private readonly retryDelaysMs: number[];
  private readonly onFailure?: (message: string) => void;

  constructor(feed: OperationsFeed, settings: () => AlertSettings | undefined, options: WebhookAlertsOptions = {}) {
    this.retryDelaysMs = options.retryDelaysMs ?? RETRY_DELAYS_MS;
    this.onFailure = options.onFailure;
    this.unsubscribe = feed.subscribe((record) => {
      const alerts = settings();
      if (!alerts || (alerts.events && !alerts.events.includes(record.event))) return;
      void this.deliver(alerts, record);
    });
  }

  close(): void {
    this.unsubscribe();
    this.stop.abort();
  }

  private async deliver(alerts: AlertSettings, record: OperationalEventRecord): Promise<void> {
    const body = JSON.stringify(alertPayload(record, alerts.format));
    let reason = '';
    for (let attempt = 0; attempt <= this.retryDelaysMs.length; attempt++) {
      if (attempt > 0) {
        try {
          await sleep(this.retryDelaysMs[attempt - 1], undefined, { signal: this.stop.signal });
        } catch {
          return; // closing: the process is going away
        }
      }
      try {
        const response = await fetch(alerts.webhookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.any([this.stop.signal, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)]),
        });
        await response.body?.cancel();
        if (response.ok) return;
        reason = `HTTP ${response.status}`;
        if (response.status < 500 && response.status !== 429) break;
      } catch (error) {
        if (this.stop.signal.aborted) return;
        reason = (error as Error).message;
      }
    }
    this.onFailure?.(`alert ${record.event} #${record.id} not delivered to the webhook: ${reason}`);
  }
}
