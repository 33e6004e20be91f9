import type { Clock } from '../core/clock.ts';
import {
  type BudgetCounters,
  PER_PROCESS,
  type ReserveOptions,
  type RoutingState,
  STATE_SPACES,
  type StateSpace,
  type StateStatus,
} from '../core/state.ts';

/** Rounding slack when a budget's sums are compared with its limit (3 × $0.1 is not exactly $0.3). */
const BUDGET_EPSILON = 1e-9;

/** `reserve` on a state whose every operation is synchronous (in-process, or a shared one while Redis is away). */
export function reserveHere(
  state: RoutingState,
  space: StateSpace,
  budgets: readonly BudgetCounters[],
  amount: number,
  { refuseUsedUp = false }: ReserveOptions = {},
): number {
  if (amount <= 0 && !refuseUsedUp) return -1;
  for (const [index, budget] of budgets.entries()) {
    let spent = state.get<number>(space, budget.spent);
    if (spent === undefined) {
      spent = budget.seed;
      void state.set(space, budget.spent, spent, budget.ttlMs);
    }
    const held = state.get<number>(space, budget.held) ?? 0;
    if (spent + held + amount > budget.limit + BUDGET_EPSILON) return index;
    if (refuseUsedUp && spent + Math.max(0, held) >= budget.limit) return index;
  }
  if (amount > 0) for (const budget of budgets) void state.incr(space, budget.held, amount, budget.ttlMs, PER_PROCESS);
  return -1;
}

interface Slot {
  value: unknown;
  /** Epoch ms; 0 = never. */
  expiresAt: number;
  /** When it was last read or written, in this store's own ticks: the LRU order. */
  used: number;
}

/** Most records a space holds before the least recently used go (bounded memory for per-user/per-key maps). */
export const DEFAULT_STATE_CAPS: Record<StateSpace, number> = {
  breaker: 10_000,
  limiter: 10_000,
  keys: 10_000,
  sticky: 100_000,
  balance: 10_000,
  latency: 10_000,
  usage: 50_000,
};

/**
 * RoutingState in this process: one map per space, with per-record expiry and least-recently-used
 * eviction. Every operation is synchronous (and so trivially atomic). Reads only stamp a record (no
 * reordering, which made every read a delete and an insert); when a space passes its cap, expired
 * records and then the oldest tenth go in one sweep.
 */
export class MemoryState implements RoutingState {
  private readonly clock: Clock;
  private readonly caps: Record<StateSpace, number>;
  private readonly spaces = new Map<StateSpace, Map<string, Slot>>();
  private tick = 0;

  constructor(clock: Clock, caps: Partial<Record<StateSpace, number>> = {}) {
    this.clock = clock;
    this.caps = { ...DEFAULT_STATE_CAPS, ...caps };
    for (const space of STATE_SPACES) this.spaces.set(space, new Map());
  }

  private live(space: StateSpace, key: string): Slot | undefined {
    const map = this.spaces.get(space)!;
    const slot = map.get(key);
    if (!slot) return undefined;
    if (slot.expiresAt !== 0 && slot.expiresAt <= this.clock.now()) {
      map.delete(key);
      return undefined;
    }
    slot.used = ++this.tick;
    return slot;
  }

  get<T>(space: StateSpace, key: string): T | undefined {
    return this.live(space, key)?.value as T | undefined;
  }

  set<T>(space: StateSpace, key: string, value: T, ttlMs = 0): void {
    const expiresAt = ttlMs > 0 ? this.clock.now() + ttlMs : 0;
    const slot = this.live(space, key);
    if (slot) {
      slot.value = value;
      slot.expiresAt = expiresAt;
      return;
    }
    this.insert(space, key, value, expiresAt);
  }

  update<T>(space: StateSpace, key: string, reduce: (current: T | undefined) => T, ttlMs = 0): T {
    const slot = this.live(space, key);
    if (slot) {
      slot.value = reduce(slot.value as T);
      if (ttlMs > 0) slot.expiresAt = this.clock.now() + ttlMs;
      return slot.value as T;
    }
    const value = reduce(undefined);
    this.insert(space, key, value, ttlMs > 0 ? this.clock.now() + ttlMs : 0);
    return value;
  }

  private insert(space: StateSpace, key: string, value: unknown, expiresAt: number): void {
    const map = this.spaces.get(space)!;
    map.set(key, { value, expiresAt, used: ++this.tick });
    if (map.size > this.caps[space]) this.evict(map, this.caps[space]);
  }

  private evict(map: Map<string, Slot>, cap: number): void {
    const now = this.clock.now();
    for (const [key, slot] of map) if (slot.expiresAt !== 0 && slot.expiresAt <= now) map.delete(key);
    // Down to 90 % of the cap, so a sweep runs once per cap/10 inserts rather than on every one.
    const excess = map.size - Math.floor(cap * 0.9);
    if (excess <= 0) return;
    const stamps = new Float64Array(map.size);
    let i = 0;
    for (const slot of map.values()) stamps[i++] = slot.used;
    stamps.sort();
    const threshold = stamps[excess - 1]!;
    for (const [key, slot] of map) if (slot.used <= threshold) map.delete(key);
  }

  delete(space: StateSpace, key: string): void {
    this.spaces.get(space)!.delete(key);
  }

  incr(space: StateSpace, key: string, delta: number, ttlMs = 0): number {
    const slot = this.live(space, key);
    if (slot) {
      slot.value = (slot.value as number) + delta;
      return slot.value as number;
    }
    this.insert(space, key, delta, ttlMs > 0 ? this.clock.now() + ttlMs : 0);
    return delta;
  }

  *entries<T>(space: StateSpace): IterableIterator<[string, T]> {
    const now = this.clock.now();
    // A snapshot: readers may write while iterating.
    for (const [key, slot] of [...this.spaces.get(space)!]) {
      if (slot.expiresAt === 0 || slot.expiresAt > now) yield [key, slot.value as T];
    }
  }

  size(space: StateSpace): number {
    return this.spaces.get(space)!.size;
  }

  clear(space?: StateSpace): void {
    for (const [name, map] of this.spaces) if (!space || name === space) map.clear();
  }

  reserve(space: StateSpace, budgets: readonly BudgetCounters[], amount: number, options?: ReserveOptions): number {
    return reserveHere(this, space, budgets, amount, options);
  }

  /** One process: nothing to lease, every admission is already local. */
  leasing(): boolean {
    return false;
  }

  holdLease(): void {}

  status(): StateStatus {
    return {
      backend: 'memory',
      shared: false,
      message: 'kept in this process (no Redis configured): limits, budgets, breakers and pins are its own',
    };
  }

  close(): void {}
}
