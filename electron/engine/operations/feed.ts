import {
  OPERATIONAL_EVENT_NAMES,
  type OperationalEventName,
  type OperationalEventRecord,
  summarizeEvent,
} from '../contract/operations.ts';
import type { OperationalEvents } from '../routing/events.ts';

// The contract names exactly the events the Engine emits: a name missing on either side fails the typecheck.
type Unnamed =
  | Exclude<keyof OperationalEvents, OperationalEventName>
  | Exclude<OperationalEventName, keyof OperationalEvents>;
const everyEventNamed: [Unnamed] extends [never] ? readonly OperationalEventName[] : never = OPERATIONAL_EVENT_NAMES;

/** What the feed listens to: the Engine. */
export interface OperationalEventSource {
  on(event: OperationalEventName, listener: (data: object) => void): unknown;
  off(event: OperationalEventName, listener: (data: object) => void): unknown;
}

export type OperationalEventListener = (record: OperationalEventRecord) => void;

/**
 * The one subscriber to the Engine's operational events: it numbers and summarizes each once, and hands
 * the same record to the log, the alert webhook and every `GET /api/events` client.
 */
export class OperationsFeed {
  private readonly listeners = new Set<OperationalEventListener>();
  private readonly detach: (() => void)[] = [];
  private nextId = 1;

  constructor(source: OperationalEventSource) {
    for (const event of everyEventNamed) {
      const listener = (data: object) => this.publish(event, data);
      source.on(event, listener);
      this.detach.push(() => source.off(event, listener));
    }
  }

  /** Calls `listener` with every later event; the returned function stops it. */
  subscribe(listener: OperationalEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    for (const detach of this.detach.splice(0)) detach();
    this.listeners.clear();
  }

  private publish(event: OperationalEventName, payload: object): void {
    const data = { ...payload } as Record<string, unknown>;
    const record: OperationalEventRecord = {
      id: this.nextId++,
      event,
      time: new Date().toISOString(),
      summary: summarizeEvent(event, data),
      data,
    };
    for (const listener of this.listeners) listener(record);
  }
}
