import type { RoutingState } from './state.ts';

/** Weight of the newest sample in the moving averages: about the last ten requests count. */
const ALPHA = 0.2;
/** Shortest stream whose token rate is worth measuring. */
const MIN_STREAM_MS = 20;

export interface LatencyStats {
  /** Moving average of time to first token, ms. */
  ttftMs: number;
  /** Moving average of output tokens per second after the first token (0 until measured). */
  tokensPerSecond: number;
  samples: number;
}

export function latencyKey(providerId: string, model: string): string {
  return `${providerId}/${model}`;
}

/**
 * Exponential moving averages per provider+model of time to first token and throughput, and per
 * provider of the share of attempts that succeed.
 */
export class LatencyTracker {
  private readonly state: RoutingState;

  constructor(state: RoutingState) {
    this.state = state;
  }

  get(key: string): LatencyStats | undefined {
    return this.state.get<LatencyStats>('latency', key);
  }

  record(key: string, ttftMs: number, outputTokens: number, streamMs: number): void {
    const stats = this.get(key);
    // A reply streamed in a few milliseconds says nothing about throughput (timer noise would
    // dominate), so only longer streams update it.
    const rate = outputTokens > 1 && streamMs >= MIN_STREAM_MS ? (outputTokens * 1000) / streamMs : 0;
    if (!stats) {
      this.state.set<LatencyStats>('latency', key, { ttftMs, tokensPerSecond: rate, samples: 1 });
      return;
    }
    stats.ttftMs += ALPHA * (ttftMs - stats.ttftMs);
    if (rate > 0)
      stats.tokensPerSecond =
        stats.tokensPerSecond === 0 ? rate : stats.tokensPerSecond + ALPHA * (rate - stats.tokensPerSecond);
    stats.samples++;
    this.state.set('latency', key, stats);
  }

  /** Expected ms until a reply of `outputTokens` is complete; 0 (try it first) when never measured. */
  expectedMs(key: string, outputTokens: number): number {
    const stats = this.get(key);
    if (!stats) return 0;
    return stats.ttftMs + (stats.tokensPerSecond > 0 ? (outputTokens * 1000) / stats.tokensPerSecond : 0);
  }

  outcome(providerId: string, ok: boolean): void {
    const key = `ok:${providerId}`;
    const rate = this.state.get<number>('latency', key);
    this.state.set('latency', key, rate === undefined ? (ok ? 1 : 0) : rate + ALPHA * ((ok ? 1 : 0) - rate));
  }

  /** Recent share of successful attempts; 1 with no history. */
  successRate(providerId: string): number {
    return this.state.get<number>('latency', `ok:${providerId}`) ?? 1;
  }
}
