import type { UsagePoint } from '../contract/api.ts';
import type { UsageEvent, UsageSink } from './types.ts';

export type SeriesBucket = 'hour' | 'day';

const BUCKET_MS: Record<SeriesBucket, number> = { hour: 3_600_000, day: 86_400_000 };

/** Usage over time, for the usage pane: the memory log answers it, and so can a persistent store. */
export interface UsageHistory {
  series(sinceMs: number, bucket: SeriesBucket): UsagePoint[];
}

/** Buckets events per provider and period; shared by every UsageHistory built on a list of events. */
export function bucketEvents(events: Iterable<UsageEvent>, sinceMs: number, bucket: SeriesBucket): UsagePoint[] {
  const size = BUCKET_MS[bucket];
  const points = new Map<string, UsagePoint & { latencyTotal: number }>();
  for (const event of events) {
    if (event.time < sinceMs) continue;
    const time = Math.floor(event.time / size) * size;
    const key = `${time}|${event.providerId}`;
    let point = points.get(key);
    if (!point) {
      point = {
        time,
        providerId: event.providerId,
        requests: 0,
        errors: 0,
        costUsd: 0,
        inputTokens: 0,
        outputTokens: 0,
        avgLatencyMs: 0,
        latencyTotal: 0,
      };
      points.set(key, point);
    }
    point.requests++;
    if (event.outcome === 'error') point.errors++;
    point.costUsd += event.costUsd;
    point.inputTokens += event.inputTokens;
    point.outputTokens += event.outputTokens;
    point.latencyTotal += event.latencyMs;
  }
  return [...points.values()]
    .map(({ latencyTotal, ...point }) => ({ ...point, avgLatencyMs: Math.round(latencyTotal / point.requests) }))
    .sort((a, b) => a.time - b.time || a.providerId.localeCompare(b.providerId));
}

/**
 * The in-memory sink: the last `capacity` events in a ring (older ones drop off; the store keeps
 * history on disk), and listeners told of each event.
 */
export class MemoryUsageSink implements UsageSink, UsageHistory {
  private readonly ring: (UsageEvent | undefined)[];
  private next = 0;
  private count = 0;

  constructor(capacity = 10_000) {
    this.ring = new Array(Math.max(1, capacity));
  }

  record(event: UsageEvent): void {
    this.ring[this.next] = event;
    this.next = (this.next + 1) % this.ring.length;
    this.count = Math.min(this.count + 1, this.ring.length);
  }

  get size(): number {
    return this.count;
  }

  /** Retained events, oldest first. */
  *events(sinceMs = 0): IterableIterator<UsageEvent> {
    const start = (this.next - this.count + this.ring.length) % this.ring.length;
    for (let i = 0; i < this.count; i++) {
      const event = this.ring[(start + i) % this.ring.length]!;
      if (event.time >= sinceMs) yield event;
    }
  }

  series(sinceMs: number, bucket: SeriesBucket): UsagePoint[] {
    return bucketEvents(this.events(sinceMs), sinceMs, bucket);
  }
}

/** Several sinks as one (the memory log for the UI, the store for history). */
export function teeSinks(...sinks: UsageSink[]): UsageSink {
  return {
    record(event) {
      for (const sink of sinks) sink.record(event);
    },
  };
}
