import type { ProviderConfig } from '../config/provider-config.ts';
import type { Clock } from '../core/clock.ts';
import {
  type Awaitable,
  isPromise,
  LeaseDemand,
  leaseLow,
  leaseUnits,
  PER_PROCESS,
  type RoutingState,
  STATISTIC,
  type UpdateOptions,
} from '../core/state.ts';
import { keyIdOf } from './keys.ts';
import { type Entry, refuse, type Stage } from './stage.ts';

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

function emptyWindow(second: number): MinuteWindow {
  return { head: second, buckets: new Array(WINDOW_SECONDS).fill(0), total: 0 };
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

/** The window's total as of `second`, without changing it (for reads between writes). */
function liveTotal(window: MinuteWindow | undefined, second: number): number {
  if (!window) return 0;
  if (second - window.head >= WINDOW_SECONDS) return 0;
  let total = window.total;
  for (let s = window.head + 1; s <= second; s++) total -= window.buckets[s % WINDOW_SECONDS]!;
  return total;
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
  /** The second its tokens were counted in, so they can be corrected once the answer says how many. */
  second: number;
  /** Tokens charged to the TPM window (0 without a TPM limit). */
  tokens: number;
  /** How long the request waited in the queue. */
  queuedMs: number;
}

/** Units of a window this process took beyond its requests (a lease, RoutingState.leasing), good in one second only. */
interface WindowLease {
  second: number;
  left: number;
  /** The last grant's size: below half of it, the lease is topped up in the background. */
  granted: number;
  refilling: boolean;
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
 * briefly for capacity (up to maxQueueMs) or moves on to the next candidate at once. Admission into a
 * window is one atomic update of it ("admit in window"), so processes sharing the state never admit
 * more than the limit between them; tokens charged on an estimate are corrected with the usage the
 * answer reports.
 *
 * On a shared state, admissions lease (core/state.ts, LEASE_SHARE): where a window or the concurrency
 * limit has plenty of room, the update that admits a request also takes a share for the next ones, and
 * those are admitted here without a round trip; a slot's release goes back to the lease while one is
 * held. Leases go back within one gathering interval (200 ms), and a window's lease at the end of the
 * second it was counted in; near a limit there is none, and every admission is the shared state's.
 */
export class RateLimiter {
  private readonly state: RoutingState;
  private readonly clock: Clock;
  /** Callbacks of requests queued for a concurrency slot, per provider; woken on every release. */
  private readonly waiters = new Map<string, Set<() => void>>();
  /** Leases on rate windows, per window key. */
  private readonly windowLeases = new Map<string, WindowLease>();
  /**
   * Concurrency slots this process holds in the shared count beyond its requests in flight, per
   * provider; present while a slot lease is held (a release then goes back to it).
   */
  private readonly spareSlots = new Map<string, number>();
  private readonly demand = new LeaseDemand();
  /** Whether the state will call giveBackLeases (one registration for all of this limiter's leases). */
  private leasesHeld = false;

  constructor(state: RoutingState, clock: Clock) {
    this.state = state;
    this.clock = clock;
  }

  private second(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  inFlight(providerId: string): number {
    return (this.state.get<number>('limiter', `inflight:${providerId}`) ?? 0) - (this.spareSlots.get(providerId) ?? 0);
  }

  /** Tokens a key may still send this minute (Infinity without a TPM limit). */
  remainingTokens(provider: ProviderConfig, keyId: string): number {
    const tpm = provider.limits.tpm;
    if (!tpm) return Number.POSITIVE_INFINITY;
    const key = `tpm:${provider.id}:${keyId}`;
    const second = this.second();
    const lease = this.windowLeases.get(key);
    const leased = lease?.second === second ? lease.left : 0;
    return Math.max(0, tpm - liveTotal(this.state.get<MinuteWindow>('limiter', key), second) + leased);
  }

  /**
   * Adds `cost` to a window if it fits under `limit`; answers 0 when admitted, else ms until it would
   * fit. From this second's lease when it covers the cost; else one update that may take a new lease.
   */
  private async admitInWindow(key: string, cost: number, limit: number): Promise<number> {
    const now = this.clock.now();
    const second = Math.floor(now / 1000);
    const leasing = this.state.leasing() && this.demand.busy(key, now);
    if (leasing && this.takeLeased(key, second, cost)) {
      this.refillIfLow(key, cost, limit);
      return 0;
    }
    const stale = this.windowLeases.get(key);
    // Of a second gone by: what is left of it goes with this admission (the same write).
    if (stale && stale.second !== second) this.giveBackWindow(key, stale);
    let wait = 0;
    let granted = 0;
    const done = this.state.update<MinuteWindow>('limiter', key, (window = emptyWindow(second)) => {
      roll(window, second);
      wait = waitFor(window, cost, limit, now);
      granted = wait === 0 && leasing ? leaseUnits(limit - window.total - cost, cost) * cost : 0;
      if (wait === 0) {
        window.buckets[second % WINDOW_SECONDS]! += cost + granted;
        window.total += cost + granted;
      }
      return window;
    });
    if (isPromise(done)) await done;
    if (granted > 0) {
      const lease = this.windowLeases.get(key);
      if (lease?.second === second) {
        lease.left += granted;
        lease.granted = granted;
      } else {
        if (lease) this.giveBackWindow(key, lease);
        this.windowLeases.set(key, { second, left: granted, granted, refilling: false });
      }
      this.holdLeases();
    }
    // Full in the shared window, partly with this process's own lease (taken by a request of the same turn).
    if (wait > 0 && this.takeLeased(key, second, cost)) return 0;
    return wait;
  }

  /**
   * A lease down to less than half its last grant is topped up in the background (a window update
   * that admits nothing and may lease more), so requests keep finding one while there is room.
   */
  private refillIfLow(key: string, cost: number, limit: number): void {
    const lease = this.windowLeases.get(key);
    if (!lease || lease.refilling || !leaseLow(lease.left, lease.granted)) return;
    lease.refilling = true;
    let more = 0;
    const done = this.state.update<MinuteWindow>('limiter', key, (window = emptyWindow(lease.second)) => {
      roll(window, lease.second);
      // Only in the lease's own second (another instance may have moved the window on).
      more = window.head === lease.second ? leaseUnits(limit - window.total - cost, cost) * cost : 0;
      window.buckets[lease.second % WINDOW_SECONDS]! += more;
      window.total += more;
      return window;
    });
    const settle = () => {
      lease.refilling = false;
      if (more === 0) return;
      if (this.windowLeases.get(key) !== lease) this.adjust(key, lease.second, -more, STATISTIC);
      else {
        lease.left += more;
        lease.granted = more;
      }
    };
    if (isPromise(done)) void done.then(settle);
    else settle();
  }

  private takeLeased(key: string, second: number, cost: number): boolean {
    const lease = this.windowLeases.get(key);
    if (lease?.second !== second || lease.left < cost) return false;
    lease.left -= cost;
    return true;
  }

  private giveBackWindow(key: string, lease: WindowLease): void {
    this.windowLeases.delete(key);
    this.adjust(key, lease.second, -lease.left, STATISTIC);
  }

  private holdLeases(): void {
    if (this.leasesHeld) return;
    this.leasesHeld = true;
    this.state.holdLease(() => this.giveBackLeases());
  }

  /** Every lease's unused part back to the shared state (RoutingState.holdLease). */
  private giveBackLeases(): Promise<unknown> {
    this.leasesHeld = false;
    for (const [key, lease] of this.windowLeases) this.giveBackWindow(key, lease);
    const writes: unknown[] = [];
    for (const [providerId, spare] of this.spareSlots) {
      if (spare > 0) writes.push(this.state.incr('limiter', `inflight:${providerId}`, -spare, 0, PER_PROCESS));
    }
    this.spareSlots.clear();
    return Promise.all(writes);
  }

  /** Takes `cost` from a window of a limit that is not a provider's (an app key's): 0 when admitted, else ms to wait. */
  admitWindow(key: string, cost: number, limit: number): Promise<number> {
    return this.admitInWindow(key, cost, limit);
  }

  /** Corrects what a window holds for `second` by `delta` (a refund, or the answer's real token count). */
  private adjust(key: string, second: number, delta: number, options?: UpdateOptions): void {
    if (delta === 0) return;
    void this.state.update<MinuteWindow>(
      'limiter',
      key,
      (window = emptyWindow(second)) => {
        roll(window, this.second());
        // Counted in a second that has left the window: it no longer limits anything.
        if (window.head - second >= WINDOW_SECONDS) return window;
        const index = second % WINDOW_SECONDS;
        const applied = Math.max(-window.buckets[index]!, delta);
        window.buckets[index]! += applied;
        window.total += applied;
        return window;
      },
      0,
      options,
    );
  }

  /**
   * 0 when a request of `tokens` went into this key's windows; otherwise ms until it may. Both windows
   * are asked at once (one round trip on a shared state); one that admitted is refunded when the other
   * is full.
   */
  private takeWindows(provider: ProviderConfig, keyId: string, tokens: number): Awaitable<number> {
    const { rpm, tpm } = provider.limits;
    return rpm || tpm ? this.takeLimitedWindows(provider, keyId, tokens) : 0;
  }

  private async takeLimitedWindows(provider: ProviderConfig, keyId: string, tokens: number): Promise<number> {
    const { rpm, tpm } = provider.limits;
    const second = this.second();
    const [rpmWait, tpmWait] = await Promise.all([
      rpm ? this.admitInWindow(`rpm:${provider.id}:${keyId}`, 1, rpm) : 0,
      tpm ? this.admitInWindow(`tpm:${provider.id}:${keyId}`, tokens, tpm) : 0,
    ]);
    if (rpmWait === 0 && tpmWait === 0) return 0;
    this.refundWindows(provider, keyId, second, rpmWait === 0 ? 1 : 0, tpmWait === 0 ? tokens : 0);
    return Math.max(rpmWait, tpmWait);
  }

  /** Takes back what a request that will not be sent put into a key's windows in `second`. */
  private refundWindows(
    provider: ProviderConfig,
    keyId: string,
    second: number,
    requests: number,
    tokens: number,
  ): void {
    if (provider.limits.rpm) this.adjust(`rpm:${provider.id}:${keyId}`, second, -requests);
    if (provider.limits.tpm) this.adjust(`tpm:${provider.id}:${keyId}`, second, -tokens);
  }

  /** Takes an in-flight slot: false when `concurrency` are already out. From the slot lease when it has one. */
  private takeSlot(provider: ProviderConfig): Awaitable<boolean> {
    const key = `inflight:${provider.id}`;
    const busy = this.demand.busy(key, this.clock.now());
    if (this.takeSpareSlot(provider.id)) return true;
    const max = provider.limits.concurrency;
    // Sized from this copy's count: Redis's may be higher, which the check below finds.
    const granted =
      busy && this.state.leasing()
        ? leaseUnits(max ? max - (this.state.get<number>('limiter', key) ?? 0) - 1 : Number.POSITIVE_INFINITY, 1)
        : 0;
    // A slot is this process's: a shared state frees it if the process dies holding it.
    const count = this.state.incr('limiter', key, 1 + granted, 0, PER_PROCESS);
    return isPromise(count)
      ? count.then((now) => this.slotTaken(provider, now, granted))
      : this.slotTaken(provider, count, granted);
  }

  /** Whether the count the slot's increment gave (`now`, with `granted` leased beside it) is within the limit. */
  private slotTaken(provider: ProviderConfig, now: number, granted: number): boolean {
    const key = `inflight:${provider.id}`;
    const max = provider.limits.concurrency;
    if (max && now > max) {
      // The lease did not fit after all; the request itself still may.
      const kept = now - granted <= max ? 1 : 0;
      void this.state.incr('limiter', key, kept - 1 - granted, 0, PER_PROCESS);
      // Else a slot this process leased meanwhile (for another request of the same turn) may be free.
      return kept === 1 || this.takeSpareSlot(provider.id);
    }
    if (granted > 0) {
      this.spareSlots.set(provider.id, (this.spareSlots.get(provider.id) ?? 0) + granted);
      this.holdLeases();
    }
    return true;
  }

  private takeSpareSlot(providerId: string): boolean {
    const spare = this.spareSlots.get(providerId) ?? 0;
    if (spare <= 0) return false;
    this.spareSlots.set(providerId, spare - 1);
    return true;
  }

  /** Ends an admitted request: frees its concurrency slot (into the slot lease while one is held). */
  release(providerId: string): void {
    const spare = this.spareSlots.get(providerId);
    if (spare !== undefined) this.spareSlots.set(providerId, spare + 1);
    else void this.state.incr('limiter', `inflight:${providerId}`, -1, 0, PER_PROCESS);
    const waiting = this.waiters.get(providerId);
    if (waiting) {
      this.waiters.delete(providerId);
      for (const wake of waiting) wake();
    }
  }

  /** An admitted request that was not sent after all (a later stage refused it): its windows get it back. */
  refund(provider: ProviderConfig, admission: Admission): void {
    this.refundWindows(provider, admission.keyId, admission.second, 1, admission.tokens);
  }

  /** The answer said how many tokens it really used: the TPM window counts those instead of the estimate. */
  reconcile(provider: ProviderConfig, admission: Admission, actualTokens: number): void {
    if (!provider.limits.tpm || admission.tokens === 0) return;
    // A correction, not an admission: it goes with the window's next admission (UpdateOptions.statistic).
    const key = `tpm:${provider.id}:${admission.keyId}`;
    this.adjust(key, admission.second, actualTokens - admission.tokens, STATISTIC);
  }

  /**
   * Admits a request on the first of `keyIds` with capacity, queueing per the provider's onLimit: the
   * admission, or a refusal saying what was full. Every admission must be released. On the memory state
   * with room at once the answer is no promise (the request's path waits for no microtask).
   */
  admit(
    provider: ProviderConfig,
    keyIds: readonly string[],
    tokens: number,
    signal: AbortSignal,
  ): Awaitable<Admission | LimitRefusal> {
    const started = this.clock.now();
    const keys = keyIds.length > 0 ? keyIds : [''];
    const firstSecond = this.second();
    // The slot and the first key's windows are asked at once (one round trip on a shared state).
    const slot = this.takeSlot(provider);
    const firstWait = this.takeWindows(provider, keys[0]!, tokens);
    if (slot === true && firstWait === 0) return this.admission(provider, keys[0]!, firstSecond, tokens, started);
    return this.admitOrQueue(provider, keys, tokens, signal, started, firstSecond, [slot, firstWait]);
  }

  private admission(
    provider: ProviderConfig,
    keyId: string,
    second: number,
    tokens: number,
    started: number,
  ): Admission {
    return { keyId, second, tokens: provider.limits.tpm ? tokens : 0, queuedMs: this.clock.now() - started };
  }

  /** `admit` once the first asks (`asked`) were not an admission at once: the other keys, then a wait per onLimit. */
  private async admitOrQueue(
    provider: ProviderConfig,
    keys: readonly string[],
    tokens: number,
    signal: AbortSignal,
    started: number,
    secondAsked: number,
    firstAsked: [Awaitable<boolean>, Awaitable<number>],
  ): Promise<Admission | LimitRefusal> {
    let firstSecond = secondAsked;
    let asked = firstAsked;
    for (;;) {
      let soonest = Number.POSITIVE_INFINITY;
      const [slot, firstWait] = await Promise.all(asked);
      if (!slot && firstWait === 0) this.refundWindows(provider, keys[0]!, firstSecond, 1, tokens);
      if (slot) {
        for (const [index, keyId] of keys.entries()) {
          const second = index === 0 ? firstSecond : this.second();
          const wait = index === 0 ? firstWait : await this.takeWindows(provider, keyId, tokens);
          if (wait === 0) return this.admission(provider, keyId, second, tokens, started);
          soonest = Math.min(soonest, wait);
        }
        this.release(provider.id);
      }
      const full = soonest === Number.POSITIVE_INFINITY;
      const reason = full
        ? `${provider.limits.concurrency} requests already in flight (max_concurrency)`
        : `its per-minute limit is used up (${provider.limits.rpm ?? '-'} requests, ${provider.limits.tpm ?? '-'} tokens)`;
      const left = provider.limits.maxQueueMs - (this.clock.now() - started);
      if (provider.limits.onLimit === 'skip' || left <= 0 || (!full && soonest > left)) {
        return { reason, retryInMs: full ? Math.max(0, left) : soonest };
      }
      await this.waitForCapacity(provider.id, full ? left : soonest, signal);
      firstSecond = this.second();
      asked = [this.takeSlot(provider), this.takeWindows(provider, keys[0]!, tokens)];
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

export function isLimitRefusal(value: Admission | LimitRefusal): value is LimitRefusal {
  return 'reason' in value;
}

/**
 * Rate limits as a pipeline stage: admits the attempt on the first of its usable keys with room in
 * its RPM/TPM windows (waiting per on_limit), counts it in flight until it ends, and corrects the TPM
 * window with the tokens the answer reported. Every provider goes through it: in-flight counts drive
 * the least_connections strategy and the metrics.
 */
export function rateLimitStage(limiter: RateLimiter): Stage {
  return {
    name: 'rate limit',
    applies: () => true,
    enter(attempt) {
      const { provider } = attempt.candidate;
      const keyIds = attempt.keys.map(keyIdOf);
      const admitted = limiter.admit(provider, keyIds, attempt.estimatedTokens, attempt.scope.signal);
      return isPromise(admitted) ? admitted.then(pass) : pass(admitted);

      function pass(admission: Admission | LimitRefusal): Entry {
        if (isLimitRefusal(admission))
          return refuse('RATE_LIMITED', `skipped: ${admission.reason}`, admission.retryInMs);
        attempt.apiKey = attempt.keys[keyIds.indexOf(admission.keyId)];
        return {
          leave(outcome) {
            limiter.release(provider.id);
            if (outcome.type === 'released' && outcome.unsent) limiter.refund(provider, admission);
            const usage = attempt.usage;
            if (outcome.type === 'success' && usage && !usage.estimated) {
              limiter.reconcile(provider, admission, usage.inputTokens + usage.outputTokens);
            }
          },
        };
      }
    },
  };
}
