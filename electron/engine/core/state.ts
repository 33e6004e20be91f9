/**
 * The routing layer's mutable state, in named spaces: breakers, rate-limit windows, key cooldowns,
 * sticky pins, balancing cursors, latency averages, budgets and usage counters. Everything that would
 * have to be shared between processes goes through this one interface, so a shared backend (Redis)
 * can replace the in-memory one without touching the logic above it.
 *
 * Reads are synchronous and may answer from a local copy (planning reads dozens of records per
 * decision and must not wait on a network). Every write is one atomic operation — `incr` (a counter),
 * `update` (read-modify-write of one record: the reducer is a pure function of the current value, so a
 * shared backend can run it under optimistic locking, WATCH/MULTI, and re-run it on conflict) — and may
 * be asynchronous: callers await the ones whose answer they use (admission into a rate window, a breaker
 * ticket, a round-robin turn) and let the others go.
 *
 * Values are plain JSON-able records; a reducer must return a new value or the one it was given,
 * changed, and must not keep references to it.
 */
export const STATE_SPACES = ['breaker', 'limiter', 'keys', 'sticky', 'balance', 'latency', 'usage'] as const;
export type StateSpace = (typeof STATE_SPACES)[number];

export type Awaitable<T> = T | Promise<T>;

export interface IncrOptions {
  /**
   * The count belongs to this process (requests it has in flight, budget it holds for them): a shared
   * backend drops this process's part when the process dies, so a crash cannot hold a slot or a budget
   * for good.
   */
  perProcess?: boolean;
  /**
   * Nobody waits on the count, and other instances seeing it a moment late lets no limit pass: a
   * balancing turn (round robin, key rotation), or a settled request's spend together with the release
   * of its budget hold (the hold keeps counting until both arrive, in one step). A shared backend
   * answers at once from what this process knows (its own increments and those heard from other
   * instances), and may send the increments of a short interval as one atomic increment of their sum.
   * Two instances may now and then take the same turn, which only sends two requests the same way; a
   * budget is never passed by more than the holds of requests in flight or just settled. It saves a
   * round trip on every request, and operations in Redis on nearly every one.
   */
  gathered?: boolean;
}

export const PER_PROCESS: IncrOptions = { perProcess: true };
export const TURN: IncrOptions = { gathered: true };
/** A settled request's spend (IncrOptions.gathered). */
export const SETTLED_SPEND: IncrOptions = { gathered: true };
/** The release of a settled request's budget hold: with its spend (IncrOptions.gathered). */
export const SETTLED_RELEASE: IncrOptions = { gathered: true, perProcess: true };

export interface UpdateOptions {
  /**
   * The record is a statistic (usage totals, latency averages), or the update limits nothing by itself
   * (a breaker's count of successes while closed, a TPM window corrected by the tokens an answer
   * really used): a shared backend applies the update to this process's copy at once and may write
   * the updates of a short interval together, as one atomic step per record, instead of one per call;
   * an update of the same record that is not a statistic takes them along, first. Other instances see
   * them that much later; none is lost (they are written on close, and handed over after an outage).
   */
  statistic?: boolean;
}

export const STATISTIC: UpdateOptions = { statistic: true };

/** Where the routing state lives, as `providers status` and the log say it. */
export interface StateStatus {
  backend: 'memory' | 'redis';
  /** True while other instances see this one's limits, budgets, breakers and pins (Redis reachable). */
  shared: boolean;
  /** The Redis server (no credentials), where one is configured. */
  location?: string;
  /** Epoch ms since when Redis has been unreachable, while it is. */
  unreachableSince?: number;
  /** One sentence for people. */
  message: string;
}

/** The counters of one budget, for `reserve`. */
export interface BudgetCounters {
  /** What the period has spent; created at `seed` (the spending on record) when the state has none. */
  spent: string;
  seed: number;
  /** What requests in flight hold against the budget. */
  held: string;
  limit: number;
  /** Expiry of either counter when it is created. */
  ttlMs: number;
}

/**
 * Leases: with a shared backend, a request that had to ask Redis for every admission would wait for
 * a round trip each time. Where a limit has plenty of room left, an instance may take a share of it
 * in the same atomic step that admits a request ("this one and N more": N more units in the RPM/TPM
 * window's current second, N more concurrency slots held as its own, N more requests' worth of budget
 * held) and then admit locally within that share, synchronously. A lease is counted in the shared
 * state like the requests it stands for, so nothing passes a limit; what it costs is the other way
 * round: while one instance holds an unused lease, another may be refused early.
 *
 * - Size: `leaseUnits` — 1/LEASE_SHARE of what is left after the request, in units of the request's
 *   cost, at most LEASE_MOST; 0 when less than LEASE_SHARE requests' worth is left, so near a limit
 *   every request is admitted by the shared state one at a time, exactly as without leases (RPM 4
 *   across two instances still admits exactly 4 of 8). With RPM 60 a fresh minute leases 3 at a time,
 *   and the last 16 of the minute go one by one.
 * - Demand: only where the limit's previous admission in this process was at most LEASE_DEMAND_MS
 *   ago (LeaseDemand): a lease lives that long, so one taken for a lone request would only go back
 *   unused. Requests further apart than that ask Redis each time, as without leases.
 * - Top-up: a lease down to less than half of its last grant is topped up in the background (the
 *   same step admitting nothing), sized from the room then left, so a steady run of requests keeps
 *   finding one instead of waiting each time one runs out.
 * - Life: at most one gathering interval (200 ms): every lease is given back, unused part and all, at
 *   the next gathered write, at close, and when the shared backend goes away (its leases are void;
 *   the state is then this process's own, as without Redis). A window's lease is only good in the
 *   second it is counted in. A process killed outright gives nothing back: its slots and budget holds
 *   are per-process counts (dropped with it), its window units leave the window within the minute.
 * - The inexactness that remains: for up to ~200 ms another instance can be refused (or made to
 *   queue) while this one holds an unused share of at most 1/LEASE_SHARE of the room left; the
 *   in-flight counts others see (least_connections, metrics) and the budget held for requests in
 *   flight (budget status, its refusal's message) include this instance's unused lease as long.
 */
export const LEASE_SHARE = 16;
export const LEASE_MOST = 64;

export const LEASE_DEMAND_MS = 200;

/** When this process last admitted a request under each limit: whether a lease would be used (LEASE_DEMAND_MS). */
export class LeaseDemand {
  private readonly last = new Map<string, number>();

  /** Notes an admission under `limit` at `now`; true when the one before it was recent enough. */
  busy(limit: string, now: number): boolean {
    const before = this.last.get(limit);
    this.last.set(limit, now);
    // Bounded: limits not asked for a while are forgotten (they are not busy).
    if (this.last.size > 10_000) {
      for (const [key, at] of this.last) if (now - at > LEASE_DEMAND_MS) this.last.delete(key);
    }
    return before !== undefined && now - before <= LEASE_DEMAND_MS;
  }
}

/** Whether a lease with `left` of its last grant `granted` is due a top-up (below half; see "Top-up" above). */
export function leaseLow(left: number, granted: number): boolean {
  return left < granted / 2;
}

/** How many more requests of `cost` a lease may take where `room` is left after this one (see LEASE_SHARE). */
export function leaseUnits(room: number, cost: number): number {
  if (!(cost > 0) || !(room > 0)) return 0;
  return Math.min(LEASE_MOST, Math.floor(room / (cost * LEASE_SHARE)));
}

export interface ReserveOptions {
  /**
   * A budget already used up (spent and held reach its limit) refuses even a free call, in the same
   * atomic step (hard_stop: local_only — once a budget is used up nothing leaves the machine).
   */
  refuseUsedUp?: boolean;
}

export interface RoutingState {
  /** The record as last known (a shared backend: its local copy). */
  get<T>(space: StateSpace, key: string): T | undefined;
  /** Live records of a space, for statistics (order unspecified). */
  entries<T>(space: StateSpace): IterableIterator<[string, T]>;
  size(space: StateSpace): number;
  /** `ttlMs` makes the record vanish after that long (0 or absent: no expiry). */
  set<T>(space: StateSpace, key: string, value: T, ttlMs?: number): Awaitable<void>;
  delete(space: StateSpace, key: string): Awaitable<void>;
  /** Adds to a numeric counter (creating it at 0) and returns the new value: one atomic step. */
  incr(space: StateSpace, key: string, delta: number, ttlMs?: number, options?: IncrOptions): Awaitable<number>;
  /**
   * Atomically replaces a record by `reduce(current)` and returns what was stored. `ttlMs` applies
   * when the record is created; an existing record keeps its expiry unless `ttlMs` is given.
   */
  update<T>(
    space: StateSpace,
    key: string,
    reduce: (current: T | undefined) => T,
    ttlMs?: number,
    options?: UpdateOptions,
  ): Awaitable<T>;
  clear(space?: StateSpace): Awaitable<void>;
  /**
   * Holds `amount` against budgets only if it fits in every one (spent + held + amount within its
   * limit), checking and holding in one atomic step: requests in flight at once, in this process or in
   * any sharing the state, cannot all pass the check before any of them holds. The holds are this
   * process's (PER_PROCESS). Answers -1 when held, else the index of the first budget it would pass
   * (nothing is held then). A free call (amount ≤ 0) holds nothing, and fits unless `refuseUsedUp`
   * finds a budget used up. A shared backend may hold a lease (see LEASE_SHARE) beyond `amount` and
   * answer the next reserves of the same budgets from it without asking; the release of a settled
   * request's hold is the same either way.
   */
  reserve(
    space: StateSpace,
    budgets: readonly BudgetCounters[],
    amount: number,
    options?: ReserveOptions,
  ): Awaitable<number>;
  status(): StateStatus;
  /** Whether leases pay (see LEASE_SHARE): a shared backend that can reach its server; never in process. */
  leasing(): boolean;
  /**
   * The caller holds a lease: `giveBack` returns its unused part (through this state's own writes)
   * within one gathering interval, when the shared backend goes away, and at close, which waits for
   * what it answers. Called once per registration.
   */
  holdLease(giveBack: () => unknown): void;
  /** Lets go of connections and timers (a shared backend); the state is not used afterwards. */
  close(): Awaitable<void>;
}

/** Awaits a value only when it is a promise: the memory backend's answers cost no microtask. */
export function isPromise<T>(value: Awaitable<T>): value is Promise<T> {
  return typeof (value as Promise<T> | undefined)?.then === 'function';
}

/**
 * A spending counter as the state knows it; else `recorded()` (the spending on record), which the state
 * is given only where it has the counter from nobody yet. Written over, a shared counter would count twice
 * what another instance has in flight: its requests' rows are on record already, and their holds in the
 * state.
 */
export function spentOrSeeded(state: RoutingState, key: string, recorded: () => number, ttlMs: number): number {
  const known = state.get<number>('usage', key);
  if (known !== undefined) return known;
  const seed = recorded();
  void state.update<number>('usage', key, (current) => current ?? seed, ttlMs);
  return seed;
}
