import type { ProviderConfig } from '../providers/types.ts';
import type { Clock } from './clock.ts';
import type { RoutingState } from './state.ts';

const WINDOW_SECONDS = 60;

/**
 * Requests or tokens counted over the last minute in one-second buckets. A token bucket refilled at
 * N per minute would let 2N through in a minute that starts with a full bucket; providers count a
 * rolling minute, so this counts the same way: never more than N in any minute (to the second).
 */
interface MinuteWindow {
  /** The second (epoch / 1000) the newest bucket stands for. */
  head: number;
  buckets: number[];
  total: number;
}

function roll(window: MinuteWindow, second: number): void {
  if (second <= window.head) return;
  if (second - window.head >= WINDOW_SECONDS) {
    window.buckets.fill(0);
    window.total = 0;
  } else {
    for (let s = window.head + 1; s <= second; s++) {
      const index = s % WINDOW_SECONDS;
      window.total -= window.buckets[index]!;
      window.buckets[index] = 0;
    }
  }
  window.head = second;
}

/** Milliseconds until `cost` more fits under `limit`; 0 when it fits now. */
function waitFor(window: MinuteWindow, cost: number, limit: number, nowMs: number): number {
  if (window.total + cost <= limit || window.total === 0) return 0;
  let freed = 0;
  for (let s = window.head - WINDOW_SECONDS + 1; s <= window.head; s++) {
    freed += window.buckets[((s % WINDOW_SECONDS) + WINDOW_SECONDS) % WINDOW_SECONDS]!;
    if (window.total - freed + cost <= limit || window.total - freed === 0) {
      return Math.max(1, (s + WINDOW_SECONDS) * 1000 - nowMs);
    }
  }
  return WINDOW_SECONDS * 1000;
}

export interface Admission {
  /** The key admitted ('' for a keyless provider). */
  keyId: string;
  /** How long the request waited in the queue. */
  queuedMs: number;
}

export interface LimitRefusal {
  /** What was full, for the error message. */
  reason: string;
  /** The earliest any capacity frees up, in ms. */
  retryInMs: number;
}

/**
 * Rate limits per provider and per key: requests and tokens per minute (per key, as vendors count
 * them) and requests in flight (per provider). Depending on ProviderLimits.onLimit a request waits
 * briefly for capacity (up to maxQueueMs) or moves on to the next candidate at once.
 */
export class RateLimiter {
  private readonly state: RoutingState;
  private readonly clock: Clock;
  /** Callbacks of requests queued for a concurrency slot, per provider; woken on every release. */
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(state: RoutingState, clock: Clock) {
    this.state = state;
    this.clock = clock;
  }

  private window(kind: 'rpm' | 'tpm', providerId: string, keyId: string): MinuteWindow {
    const key = `${kind}:${providerId}:${keyId}`;
    let window = this.state.get<MinuteWindow>('limiter', key);
    if (!window) {
      window = { head: Math.floor(this.clock.now() / 1000), buckets: new Array(WINDOW_SECONDS).fill(0), total: 0 };
      this.state.set('limiter', key, window);
    }
    roll(window, Math.floor(this.clock.now() / 1000));
    return window;
  }

  inFlight(providerId: string): number {
    return this.state.get<number>('limiter', `inflight:${providerId}`) ?? 0;
  }

  /** Tokens a key may still send this minute (Infinity without a TPM limit). */
  remainingTokens(provider: ProviderConfig, keyId: string): number {
    const tpm = provider.limits.tpm;
    if (!tpm) return Number.POSITIVE_INFINITY;
    return Math.max(0, tpm - this.window('tpm', provider.id, keyId).total);
  }

  /** 0 when a request of `tokens` may go now on this key; otherwise ms until it may (or -1: wait for a release). */
  private waitMs(provider: ProviderConfig, keyId: string, tokens: number): number {
    const { rpm, tpm, concurrency } = provider.limits;
    if (concurrency && this.inFlight(provider.id) >= concurrency) return -1;
    const now = this.clock.now();
    let wait = 0;
    if (rpm) wait = Math.max(wait, waitFor(this.window('rpm', provider.id, keyId), 1, rpm, now));
    if (tpm) wait = Math.max(wait, waitFor(this.window('tpm', provider.id, keyId), tokens, tpm, now));
    return wait;
  }

  private take(provider: ProviderConfig, keyId: string, tokens: number): void {
    const { rpm, tpm } = provider.limits;
    const second = Math.floor(this.clock.now() / 1000) % WINDOW_SECONDS;
    if (rpm) {
      const window = this.window('rpm', provider.id, keyId);
      window.buckets[second]! += 1;
      window.total += 1;
      this.state.set('limiter', `rpm:${provider.id}:${keyId}`, window);
    }
    if (tpm) {
      const window = this.window('tpm', provider.id, keyId);
      window.buckets[second]! += tokens;
      window.total += tokens;
      this.state.set('limiter', `tpm:${provider.id}:${keyId}`, window);
    }
    this.state.add('limiter', `inflight:${provider.id}`, 1);
  }

  /** Ends an admitted request: frees its concurrency slot. */
  release(providerId: string): void {
    const left = this.state.add('limiter', `inflight:${providerId}`, -1);
    if (left <= 0) this.state.delete('limiter', `inflight:${providerId}`);
    const waiting = this.waiters.get(providerId);
    if (waiting) {
      this.waiters.delete(providerId);
      for (const wake of waiting) wake();
    }
  }

  /**
   * Admits a request on the first of `keyIds` with capacity, queueing per the provider's onLimit.
   * Resolves the admission, or a refusal saying what was full. Every admission must be released.
   */
  async admit(
    provider: ProviderConfig,
    keyIds: readonly string[],
    tokens: number,
    signal: AbortSignal,
  ): Promise<Admission | LimitRefusal> {
    const started = this.clock.now();
    const keys = keyIds.length > 0 ? keyIds : [''];
    for (;;) {
      let soonest = Number.POSITIVE_INFINITY;
      for (const keyId of keys) {
        const wait = this.waitMs(provider, keyId, tokens);
        if (wait === 0) {
          this.take(provider, keyId, tokens);
          return { keyId, queuedMs: this.clock.now() - started };
        }
        if (wait > 0) soonest = Math.min(soonest, wait);
      }
      const full = soonest === Number.POSITIVE_INFINITY;
      const reason = full
        ? `${provider.limits.concurrency} requests already in flight (max_concurrency)`
        : `its per-minute limit is used up (${provider.limits.rpm ?? '-'} requests, ${provider.limits.tpm ?? '-'} tokens)`;
      const left = provider.limits.maxQueueMs - (this.clock.now() - started);
      if (provider.limits.onLimit === 'skip' || left <= 0 || (!full && soonest > left)) {
        return { reason, retryInMs: full ? left : soonest };
      }
      await this.waitForCapacity(provider.id, full ? left : soonest, signal);
    }
  }

  private waitForCapacity(providerId: string, ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      let set = this.waiters.get(providerId);
      if (!set) {
        set = new Set();
        this.waiters.set(providerId, set);
      }
      const done = () => {
        cancel();
        set.delete(done);
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        cancel();
        set.delete(done);
        reject(signal.reason);
      };
      const cancel = this.clock.timer(ms, done);
      set.add(done);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

export function isRefusal(value: Admission | LimitRefusal): value is LimitRefusal {
  return 'reason' in value;
}
