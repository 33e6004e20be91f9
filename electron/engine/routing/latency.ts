import type { Clock } from '../core/clock.ts';
import { type RoutingState, STATISTIC } from '../core/state.ts';
import type { HealthMonitor } from './health.ts';
import { countsAgainstProvider } from './policy.ts';
import type { Stage } from './stage.ts';

/** Weight of the newest sample in the moving averages: about the last ten requests count. */
const ALPHA = 0.2;
/**
 * Shortest stream whose token rate is worth measuring: a handful of tokens in a few milliseconds says
 * nothing about throughput (timer noise and one scheduling pause dominate), and a rate measured on one
 * provider but not another would compare unlike things.
 */
const MIN_STREAM_MS = 50;
const MIN_STREAM_TOKENS = 16;
/**
 * A provider measured this long ago is measured again: its figures count as unknown, so the latency
 * strategy tries it first once. One slow answer (a cold start, a hiccup) cannot keep a provider out
 * for good, and a provider that got faster is noticed.
 */
export const LATENCY_STALE_MS = 60_000;
/** Samples before a provider's figures are trusted: a first answer is often a cold start. */
const TRUSTED_AFTER = 2;

/** Recent times to first token kept per provider and model; their median is the estimate. */
const TTFT_SAMPLES = 5;

export interface LatencyStats {
  /**
   * Time to first token, ms: the median of the last few, so one slow answer (a cold start, a pause)
   * does not decide a provider's place while it answers fast otherwise.
   */
  ttftMs: number;
  recentTtftMs: number[];
  /** Moving average of output tokens per second after the first token (0 until measured). */
  tokensPerSecond: number;
  samples: number;
  /** Epoch ms of the newest sample. */
  at: number;
}

function lowerMedian(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[(sorted.length - 1) >> 1]!;
}

export function latencyKey(providerId: string, model: string): string {
  return `${providerId}/${model}`;
}

/**
 * Per provider+model: time to first token (median of the last few) and throughput (a moving average);
 * per provider: the share of attempts that succeed (a moving average).
 */
export class LatencyTracker {
  private readonly state: RoutingState;
  private readonly clock: Clock;

  constructor(state: RoutingState, clock: Clock) {
    this.state = state;
    this.clock = clock;
  }

  get(key: string): LatencyStats | undefined {
    return this.state.get<LatencyStats>('latency', key);
  }

  record(key: string, ttftMs: number, outputTokens: number, streamMs: number): void {
    // A reply streamed in a few milliseconds says nothing about throughput (timer noise would
    // dominate), so only longer streams update it.
    const rate = outputTokens >= MIN_STREAM_TOKENS && streamMs >= MIN_STREAM_MS ? (outputTokens * 1000) / streamMs : 0;
    const at = this.clock.now();
    void this.state.update<LatencyStats>(
      'latency',
      key,
      (stats) => {
        if (!stats) return { ttftMs, recentTtftMs: [ttftMs], tokensPerSecond: rate, samples: 1, at };
        // A provider coming back after a stale spell starts afresh rather than from its old figures.
        const stale = at - stats.at > LATENCY_STALE_MS;
        stats.recentTtftMs = stale ? [ttftMs] : [...stats.recentTtftMs.slice(1 - TTFT_SAMPLES), ttftMs];
        stats.ttftMs = lowerMedian(stats.recentTtftMs);
        if (rate > 0)
          stats.tokensPerSecond =
            stats.tokensPerSecond === 0 || stale
              ? rate
              : stats.tokensPerSecond + ALPHA * (rate - stats.tokensPerSecond);
        stats.samples++;
        stats.at = at;
        return stats;
      },
      0,
      STATISTIC,
    );
  }

  /**
   * Expected ms until a reply of `outputTokens` is complete; 0 (try it first) while its figures are not
   * to be trusted yet: never measured, measured once, or not lately.
   */
  expectedMs(key: string, outputTokens: number): number {
    const stats = this.get(key);
    if (!stats || stats.samples < TRUSTED_AFTER || this.clock.now() - stats.at > LATENCY_STALE_MS) return 0;
    return stats.ttftMs + (stats.tokensPerSecond > 0 ? (outputTokens * 1000) / stats.tokensPerSecond : 0);
  }

  outcome(providerId: string, ok: boolean): void {
    const value = ok ? 1 : 0;
    void this.state.update<number>(
      'latency',
      `ok:${providerId}`,
      (rate) => (rate === undefined ? value : rate + ALPHA * (value - rate)),
      0,
      STATISTIC,
    );
  }

  /** Recent share of successful attempts; 1 with no history. */
  successRate(providerId: string): number {
    return this.state.get<number>('latency', `ok:${providerId}`) ?? 1;
  }
}

/**
 * What attempts teach routing, as the last stage: time to first token and throughput per provider and
 * model (the latency strategy), the share of attempts that succeed (the capability strategy), and a
 * provider that answers is evidently up (health).
 */
export function observeStage(latency: LatencyTracker, health: HealthMonitor, clock: Clock): Stage {
  return {
    name: 'observe',
    applies: () => true,
    enter(attempt) {
      const { provider, model } = attempt.candidate;
      const started = clock.now();
      let firstAt: number | undefined;
      return {
        firstOutput() {
          firstAt = clock.now();
        },
        leave(outcome) {
          if (outcome.type === 'released') return;
          if (outcome.type === 'failure') {
            latency.outcome(provider.id, !countsAgainstProvider(outcome.errorClass));
            return;
          }
          latency.outcome(provider.id, true);
          health.noteSuccess(provider.id);
          if (firstAt !== undefined) {
            latency.record(
              latencyKey(provider.id, model),
              firstAt - started,
              attempt.usage?.outputTokens ?? 0,
              clock.now() - firstAt,
            );
          }
        },
      };
    },
  };
}
