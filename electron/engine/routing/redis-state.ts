import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Clock } from '../core/clock.ts';
import {
  type BudgetCounters,
  type IncrOptions,
  LEASE_MOST,
  LEASE_SHARE,
  LeaseDemand,
  leaseLow,
  type ReserveOptions,
  type RoutingState,
  STATE_SPACES,
  type StateSpace,
  type StateStatus,
  type UpdateOptions,
} from '../core/state.ts';
import { systemClock } from './clock.ts';
import { BATCH, SWEEP } from './redis-scripts.ts';
import { MemoryState, reserveHere } from './state.ts';

export interface RedisStateOptions {
  /** redis://[user:password@]host:port[/db], or rediss:// for TLS. */
  url: string;
  clock?: Clock;
  /** Prefix of every key and of the channel; instances share state when they share it. */
  namespace?: string;
  /** How long connecting may take before this process starts on its own state. */
  connectTimeoutMs?: number;
  /** How long one command may take before Redis counts as unreachable (a hung server). */
  commandTimeoutMs?: number;
  /** How often this process says it is alive; its per-process counts outlive it by three of these. */
  heartbeatMs?: number;
}

/** A record as the local copy holds it. */
interface Envelope {
  /** Redis's version of it (0: written here and not acknowledged yet). */
  v: number;
  /** Its JSON as Redis holds it. */
  json: string;
  /** The value readers get: the JSON parsed, plus this process's increments still on their way. */
  value: unknown;
}

/** What was written while Redis was away, per record, to be given to it when it is back. */
interface PendingWrite {
  space: StateSpace;
  key: string;
  /** The last set or delete. */
  write?: { json: string; ttlMs: number } | { deleted: true };
  /** Increments after that write. */
  delta: number;
  ttlMs: number;
  perProcess: boolean;
}

/** An increment on its way to Redis. */
interface InFlightIncrement {
  id: string;
  delta: number;
  perProcess: boolean;
  /** Set when Redis went away meanwhile: the increment was moved to the pending writes. */
  moved: boolean;
}

type Reducer = (current: unknown) => unknown;

/** A statistic's updates made here and not written to Redis yet (UpdateOptions.statistic). */
interface StatisticUpdates {
  space: StateSpace;
  key: string;
  ttlMs: number;
  /** In the order made; each is applied again, in turn, to Redis's record when they are written. */
  reducers: Reducer[];
}

interface Scripts {
  sbBatch(
    versionKey: string,
    perProcessSet: string,
    channel: string,
    instance: string,
    prefix: string,
    ops: string,
  ): Promise<string>;
  sbSweep(...args: (string | number)[]): Promise<number>;
}

/** The replies of the batch script's operations (redis-scripts.ts); a version of 0: no record. */
interface Replies {
  cas: [written: number, version: number, json: string, pttl: number];
  incr: [done: number, version: number, json: string, pttl: number];
  set: [version: number, pttl: number];
  del: [version: number];
  reserve: [refused: number, leased: number, ...records: (string | number)[]];
}

/** The batch script's name for each kind of operation. */
const OPERATION: Record<keyof Replies, string> = { cas: 'c', incr: 'i', set: 's', del: 'd', reserve: 'r' };

/** A write waiting for the batch that carries it to Redis. */
interface QueuedWrite {
  /** How many values of the batch's reply are this write's. */
  width: number;
  resolve(reply: unknown): void;
  reject(error: unknown): void;
}

/** Most operations one batch script runs (a hand-over after an outage can owe thousands). */
const MAX_BATCH = 500;

type ScriptedRedis = Redis & Scripts;

const MAX_CONFLICTS = 100;
/** Deletions remembered so a late, older write does not bring a record back. */
const TOMBSTONE_MS = 60_000;
const RECOVERY_CHECK_MS = 1_000;
const LOAD_BATCH = 500;
/** How long a statistic's updates are gathered before they are written as one. */
const STATISTICS_MS = 200;
/** Most updates of one statistic kept for Redis while it is away (each holds what it adds, e.g. a usage event). */
const MAX_UNWRITTEN_STATISTICS = 2_000;

/** The Redis server as people may see it: never the password. */
export function redisLocation(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return 'the configured Redis';
  }
}

function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // ioredis says where it failed to connect; the address is in the status already.
  return message.replace(/^connect /, '').slice(0, 200);
}

/** Budget this process holds beyond its requests' own holds, on one held counter. */
interface BudgetLease {
  space: StateSpace;
  key: string;
  /** What is left of it. */
  spare: number;
  /** The last grant's size: below half of it, the lease is topped up (leaseLow). */
  granted: number;
}

/**
 * RoutingState shared through Redis, so every instance pointing at the same Redis keeps one set of
 * rate windows, budgets, breakers, key cooldowns, sticky pins and balancing turns.
 *
 * Reads answer from a local copy (routing reads dozens of records per decision and cannot wait on the
 * network): it is loaded when the connection is made and kept current by the change every write
 * publishes. Writes are single Lua scripts, so each is atomic in Redis: an increment is one step; an
 * `update` runs the reducer on the local copy and stores the result only if the record's version is
 * still the one it read (compare-and-set), else it takes the current record and runs the reducer
 * again — no read-modify-write race between instances, however many there are.
 *
 * Redis is a dependency, not a single point of failure: when it cannot be reached (at start, or it
 * goes away mid-run, or stops answering) this process carries on with the local copy as its own
 * state, says so once (a `status` event), and keeps what it counted; when Redis is back it hands
 * over those counts and set records, loads the shared state again and says so. No operation fails
 * because Redis did.
 */
export class RedisState extends EventEmitter<{ status: [StateStatus] }> implements RoutingState {
  private readonly clock: Clock;
  private readonly namespace: string;
  private readonly location: string;
  private readonly instance = randomBytes(8).toString('hex');
  /** The first line of the changes this instance publishes, as bytes: its own are skipped undecoded. */
  private readonly origin = Buffer.from(`${this.instance}\n`);
  private readonly channel: string;
  private readonly channelBytes: Buffer;
  private readonly heartbeatMs: number;
  private readonly client: ScriptedRedis;
  private readonly subscriber: Redis;
  private copy: MemoryState;
  private mode: 'starting' | 'shared' | 'local' = 'starting';
  private unreachableSince?: number;
  private reason = '';
  private closed = false;
  private readonly inFlight = new Map<string, Set<InFlightIncrement>>();
  private readonly unacked = new Map<string, number>();
  private readonly tombstones = new Map<string, { v: number; at: number }>();
  private pending = new Map<string, PendingWrite>();
  /** Writes for the next batch script, and their operations, packed one after another. */
  private queued: QueuedWrite[] = [];
  private queuedOperations: (string | number | boolean)[] = [];
  /**
   * The JSON of the last compare-and-set on each record in the next batch: an update of the same record
   * in the same batch (a request's token count corrected, then the next request's admission) builds on
   * it and is sent as chained to it, instead of conflicting with it and costing another round trip.
   */
  private queuedCas = new Map<string, string>();
  /** Changes heard while the shared state is being loaded, applied on top of it. */
  private heard?: [space: StateSpace, key: string, v: number, pttl: number, json: string][];
  private resyncing?: Promise<void>;
  private resyncAgain = false;
  private readonly timers: NodeJS.Timeout[] = [];
  /** Gathered increments (IncrOptions.gathered) counted here and not sent to Redis yet, per record (`space\nkey`). */
  private readonly gathered = new Map<
    string,
    { space: StateSpace; key: string; ttlMs: number; increment: InFlightIncrement }
  >();
  /** Statistics updated here and not written to Redis yet, per record (`space\nkey`). */
  private statistics = new Map<string, StatisticUpdates>();
  private statisticsTimer?: NodeJS.Timeout;
  /** Give-backs of the leases held (RoutingState.holdLease), called with the next gathered writes. */
  private leaseHolders: (() => unknown)[] = [];
  /** Budget this process holds beyond its requests' own holds (a lease), per held counter (`space\nkey`). */
  private readonly budgetLeases = new Map<string, BudgetLease>();
  private readonly budgetDemand = new LeaseDemand();
  /** Budgets (their held counters, joined) with a lease being topped up. */
  private readonly refillingBudgets = new Set<string>();
  /**
   * This process's own part of each per-process counter, as it counts it: after an outage Redis is
   * given the part itself, not what changed meanwhile, so a Redis that lost its data (or dropped the
   * part while this process could not renew its liveness) counts this process's slots and holds again,
   * and one that kept them does not count them twice.
   */
  private readonly ownParts = new Map<string, { space: StateSpace; key: string; part: number; ttlMs: number }>();

  private constructor(options: RedisStateOptions, client: typeof Redis) {
    super();
    this.clock = options.clock ?? systemClock;
    this.namespace = options.namespace ?? 'switchboard';
    this.location = redisLocation(options.url);
    // The message format's version is in the name: instances of an older format (no origin line)
    // sharing the namespace during an upgrade do not read each other's messages wrongly.
    this.channel = `${this.namespace}:~changes:2`;
    this.channelBytes = Buffer.from(this.channel);
    this.heartbeatMs = options.heartbeatMs ?? 5_000;
    this.copy = new MemoryState(this.clock);
    const timeout = options.commandTimeoutMs ?? 1_000;
    const connection = {
      lazyConnect: true,
      // A command while Redis is away fails at once (this process then works on its own state)
      // instead of waiting in a queue, and one cut off by a lost connection is not sent again.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: timeout,
      connectTimeout: options.connectTimeoutMs ?? 1_000,
      retryStrategy: (times: number) => Math.min(100 * times, 2_000),
      connectionName: `switchboard-${this.instance}`,
    };
    this.client = new client(options.url, connection) as ScriptedRedis;
    this.subscriber = new client(options.url, { ...connection, commandTimeout: undefined });
    this.client.defineCommand('sbBatch', { numberOfKeys: 2, lua: BATCH });
    this.client.defineCommand('sbSweep', { numberOfKeys: 2, lua: SWEEP });
    for (const connection of [this.client, this.subscriber]) {
      // Errors are answered by going local (below); ioredis would otherwise print each one.
      connection.on('error', (error: Error) => {
        this.reason = reasonOf(error);
      });
      connection.on('close', () => this.goLocal(this.reason || 'the connection was closed'));
      connection.on('ready', () => void this.resync());
    }
    // As bytes: this process's own changes (most of what it hears) are dropped without decoding them.
    this.subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      if (
        message.length >= this.origin.length &&
        message.compare(this.origin, 0, this.origin.length, 0, this.origin.length) === 0
      )
        return;
      if (channel.equals(this.channelBytes)) this.hear(message.toString());
    });
  }

  /**
   * Connects and loads the shared state, waiting at most about the connect timeout: when Redis cannot
   * be reached, the state starts local and joins the shared one as soon as Redis answers.
   */
  static async connect(options: RedisStateOptions): Promise<RedisState> {
    // Imported here: a process without Redis configured (every CLI command, the desktop app) never loads it.
    const { Redis } = await import('ioredis');
    const state = new RedisState(options, Redis);
    state.timers.push(
      setInterval(() => state.heartbeat(), state.heartbeatMs).unref(),
      setInterval(() => state.recover(), RECOVERY_CHECK_MS).unref(),
    );
    try {
      await Promise.all([state.client.connect(), state.subscriber.connect()]);
      await state.resync();
    } catch (error) {
      state.goLocal(reasonOf(error));
    }
    if (state.mode === 'starting') state.goLocal(state.reason || 'no answer');
    return state;
  }

  // ---- keys ---------------------------------------------------------------------------------

  private recordKey(space: StateSpace, key: string): string {
    return `${this.recordPrefix}${space}:${key}`;
  }

  private get recordPrefix(): string {
    return `${this.namespace}:`;
  }

  private get versionKey(): string {
    return `${this.namespace}:~version`;
  }

  private get perProcessSet(): string {
    return `${this.namespace}:~per-process`;
  }

  private get alivePrefix(): string {
    return `${this.namespace}:~alive:`;
  }

  // ---- the local copy -----------------------------------------------------------------------

  private envelope(space: StateSpace, key: string): Envelope | undefined {
    return this.copy.get<Envelope>(space, key);
  }

  /**
   * Takes a record as Redis has it (a reply or a published change), unless the copy knows a newer one.
   * `parsed`: its JSON already parsed (what this process just wrote), which the copy may keep as is.
   */
  private apply(space: StateSpace, key: string, v: number, pttl: number, json: string, parsed?: unknown): void {
    const id = `${space}\n${key}`;
    const known = this.envelope(space, key)?.v ?? this.tombstones.get(id)?.v ?? -1;
    if (v <= known) return;
    if (pttl === -2 || json === '') {
      this.copy.delete(space, key);
      this.tombstones.set(id, { v, at: this.clock.now() });
      if (this.tombstones.size > 10_000) this.pruneTombstones();
      return;
    }
    const unacked = this.unacked.get(id);
    const unwritten = this.statistics.get(id)?.reducers;
    // Reducers still to apply may change what they are given: they get a fresh parse, never `parsed`.
    const record: unknown = parsed !== undefined && !unwritten ? parsed : JSON.parse(json);
    const value = unacked ? (record as number) + unacked : unwritten ? applyAll(unwritten, record) : record;
    this.copy.set<Envelope>(space, key, { v, json, value }, Math.max(pttl, 0));
    this.tombstones.delete(id);
  }

  private pruneTombstones(): void {
    const before = this.clock.now() - TOMBSTONE_MS;
    for (const [id, stone] of this.tombstones) if (stone.at < before) this.tombstones.delete(id);
  }

  /** Published changes: `<origin>\n`, then `<version> <pttl> <["space","key"]>\n<json>` one after another. */
  private hear(message: string): void {
    const lines = message.split('\n');
    for (let i = 1; i + 1 < lines.length; i += 2) {
      const meta = lines[i]!;
      const first = meta.indexOf(' ');
      const second = meta.indexOf(' ', first + 1);
      if (first < 0 || second < 0) return;
      const [space, key] = JSON.parse(meta.slice(second + 1)) as [StateSpace, string];
      if (!STATE_SPACES.includes(space)) continue;
      const change: [StateSpace, string, number, number, string] = [
        space,
        key,
        Number(meta.slice(0, first)),
        Number(meta.slice(first + 1, second)),
        lines[i + 1]!,
      ];
      if (this.heard) this.heard.push(change);
      else if (this.mode === 'shared') this.apply(...change);
    }
  }

  // ---- RoutingState ---------------------------------------------------------------------------

  get<T>(space: StateSpace, key: string): T | undefined {
    return this.envelope(space, key)?.value as T | undefined;
  }

  *entries<T>(space: StateSpace): IterableIterator<[string, T]> {
    for (const [key, envelope] of this.copy.entries<Envelope>(space)) yield [key, envelope.value as T];
  }

  size(space: StateSpace): number {
    return this.copy.size(space);
  }

  set<T>(space: StateSpace, key: string, value: T, ttlMs = 0): void | Promise<void> {
    const json = JSON.stringify(value);
    this.copy.set<Envelope>(space, key, { v: this.envelope(space, key)?.v ?? 0, json, value }, ttlMs);
    if (this.mode !== 'shared') return this.remember(space, key, { json, ttlMs });
    return this.send('set', 2, space, key, json, ttlMs).then(
      ([v, pttl]) => this.apply(space, key, v, pttl, json, value),
      (error: unknown) => this.failed(error, () => this.remember(space, key, { json, ttlMs })),
    );
  }

  delete(space: StateSpace, key: string): void | Promise<void> {
    this.copy.delete(space, key);
    if (this.mode !== 'shared') return this.remember(space, key, { deleted: true });
    return this.send('del', 1, space, key).then(
      ([v]) => this.apply(space, key, v, -2, ''),
      (error: unknown) => this.failed(error, () => this.remember(space, key, { deleted: true })),
    );
  }

  incr(space: StateSpace, key: string, delta: number, ttlMs = 0, options: IncrOptions = {}): number | Promise<number> {
    const id = `${space}\n${key}`;
    if (options.perProcess) this.countOwn(space, key, delta, ttlMs);
    const envelope = this.envelope(space, key);
    const value = ((envelope?.value as number | undefined) ?? 0) + delta;
    if (this.mode !== 'shared') {
      // An existing counter keeps its expiry (as in Redis); a new one gets `ttlMs`.
      if (envelope) {
        envelope.value = value;
        envelope.json = String(value);
      } else this.copy.set<Envelope>(space, key, { v: 0, json: String(value), value }, ttlMs);
      this.rememberIncrement(space, key, delta, ttlMs, options.perProcess ?? false);
      return value;
    }
    // Counted here at once (this process's next decision sees it), and corrected by Redis's answer.
    this.unacked.set(id, (this.unacked.get(id) ?? 0) + delta);
    if (envelope) envelope.value = value;
    else this.copy.set<Envelope>(space, key, { v: 0, json: '0', value }, ttlMs);
    if (options.gathered) {
      // Answered from the copy (this process's increments and those heard from the others); the
      // increments of an interval reach the shared count as one increment of their sum.
      const owed = this.gathered.get(id);
      if (owed && !owed.increment.moved) owed.increment.delta += delta;
      else {
        const increment = this.startIncrement(id, delta, options.perProcess ?? false);
        this.gathered.set(id, { space, key, ttlMs, increment });
      }
      this.armGathering();
      return value;
    }
    return this.sendIncrement(space, key, ttlMs, this.startIncrement(id, delta, options.perProcess ?? false), value);
  }

  private countOwn(space: StateSpace, key: string, delta: number, ttlMs: number): void {
    const id = `${space}\n${key}`;
    const own = this.ownParts.get(id) ?? { space, key, part: 0, ttlMs };
    own.part += delta;
    if (Math.abs(own.part) < 1e-12) this.ownParts.delete(id);
    else this.ownParts.set(id, own);
  }

  /** An increment counted here and owed to Redis: moved to the pending writes if Redis goes away first. */
  private startIncrement(id: string, delta: number, perProcess: boolean): InFlightIncrement {
    const increment: InFlightIncrement = { id, delta, perProcess, moved: false };
    const increments = this.inFlight.get(id) ?? new Set<InFlightIncrement>();
    this.inFlight.set(id, increments);
    increments.add(increment);
    return increment;
  }

  /** Redis's count after the increment; `value` (this copy's) when Redis went away meanwhile. */
  private sendIncrement(
    space: StateSpace,
    key: string,
    ttlMs: number,
    increment: InFlightIncrement,
    value: number,
  ): Promise<number> {
    return this.send('incr', 4, space, key, increment.delta, ttlMs, increment.perProcess, false).then(
      ([, v, json, pttl]) => {
        this.settleIncrement(increment);
        if (increment.moved) {
          // Redis went away after all, but took this one first: it is not owed to Redis again.
          const owed = this.pending.get(increment.id);
          if (owed) owed.delta -= increment.delta;
          return value;
        }
        this.apply(space, key, v, pttl, json);
        this.recount(space, key);
        return Number(json);
      },
      (error: unknown) => {
        this.settleIncrement(increment);
        this.failed(error, () => {});
        return value;
      },
    );
  }

  private settleIncrement(increment: InFlightIncrement): void {
    const increments = this.inFlight.get(increment.id);
    increments?.delete(increment);
    if (increments?.size === 0) this.inFlight.delete(increment.id);
    if (increment.moved) return;
    const left = (this.unacked.get(increment.id) ?? 0) - increment.delta;
    if (Math.abs(left) < 1e-12) this.unacked.delete(increment.id);
    else this.unacked.set(increment.id, left);
  }

  /**
   * A counter's value is Redis's count plus this process's increments still on their way. The change
   * Redis publishes can arrive before the reply to the increment that made it: once the reply has
   * settled, the value is worked out again from the newest count known.
   */
  private recount(space: StateSpace, key: string): void {
    const envelope = this.envelope(space, key);
    if (!envelope || envelope.v === 0) return;
    envelope.value = Number(envelope.json) + (this.unacked.get(`${space}\n${key}`) ?? 0);
  }

  update<T>(
    space: StateSpace,
    key: string,
    reduce: (current: T | undefined) => T,
    ttlMs = 0,
    options: UpdateOptions = {},
  ): T | Promise<T> {
    if (options.statistic) return this.updateStatistic(space, key, reduce as Reducer, ttlMs) as T;
    if (this.mode !== 'shared') return this.updateHere(space, key, reduce, ttlMs);
    const id = `${space}\n${key}`;
    const unwritten = this.statistics.get(id);
    if (!unwritten) {
      return this.compareAndSet(space, key, reduce, ttlMs, () => this.updateHere(space, key, reduce, ttlMs));
    }
    // This process's statistic updates of the record not written yet go first, in the same write: in
    // the order made, and without a write of their own.
    this.statistics.delete(id);
    return this.compareAndSet(
      space,
      key,
      (current) => reduce(applyAll(unwritten.reducers, current) as T | undefined),
      ttlMs,
      () => {
        this.keepUnwritten(id, unwritten);
        return this.updateHere(space, key, reduce, ttlMs);
      },
    );
  }

  /** Statistic updates that could not be written: they wait for the hand-over, before any made since. */
  private keepUnwritten(id: string, updates: StatisticUpdates): void {
    const later = this.statistics.get(id);
    if (later) later.reducers.unshift(...updates.reducers);
    else this.statistics.set(id, updates);
  }

  /**
   * A statistic: shown in this process's copy at once, written to Redis with the other updates of
   * the next STATISTICS_MS as one compare-and-set per record (its reducers in turn), so a record
   * updated by every request costs Redis one operation per interval instead of one per request.
   */
  private updateStatistic(space: StateSpace, key: string, reduce: Reducer, ttlMs: number): unknown {
    const id = `${space}\n${key}`;
    const unwritten = this.statistics.get(id);
    if (unwritten) {
      unwritten.reducers.push(reduce);
      // Memory stays bounded through a long outage: Redis is then given the latest of them only.
      if (this.mode !== 'shared' && unwritten.reducers.length > MAX_UNWRITTEN_STATISTICS) unwritten.reducers.shift();
    } else this.statistics.set(id, { space, key, ttlMs, reducers: [reduce] });
    this.armGathering();
    // While Redis is away the copy's JSON is this process's own state (goLocal): updated like any record.
    if (this.mode !== 'shared') return this.updateHere(space, key, reduce, ttlMs);
    return this.showStatistic(space, key, reduce, ttlMs);
  }

  /** `reduce` on top of what the copy shows; the copy's JSON stays Redis's ('' when Redis has none). */
  private showStatistic(space: StateSpace, key: string, reduce: Reducer, ttlMs: number): unknown {
    const envelope = this.envelope(space, key);
    if (envelope) {
      envelope.value = reduce(envelope.value);
      return envelope.value;
    }
    const value = reduce(undefined);
    this.copy.set<Envelope>(space, key, { v: 0, json: '', value }, ttlMs);
    return value;
  }

  /**
   * Writes the statistics and increments gathered so far (while Redis is away they wait for the
   * hand-over; gathered increments, as increments owed to it, go with the pending writes).
   */
  private async writeStatistics(): Promise<void> {
    clearTimeout(this.statisticsTimer);
    this.statisticsTimer = undefined;
    // First: the leases' give-backs are gathered increments and statistics written just below.
    const writes: unknown[] = this.giveBackLeases();
    if (this.mode !== 'shared') {
      await Promise.all(writes);
      return;
    }
    const due = this.statistics;
    this.statistics = new Map();
    for (const { space, key, ttlMs, increment } of this.gathered.values()) {
      if (!increment.moved) writes.push(this.sendIncrement(space, key, ttlMs, increment, 0));
    }
    this.gathered.clear();
    for (const [id, updates] of due) {
      const { space, key, ttlMs, reducers } = updates;
      writes.push(
        this.compareAndSet(
          space,
          key,
          (current) => applyAll(reducers, current),
          ttlMs,
          // Not written: they wait for the hand-over (the copy has them already).
          () => this.keepUnwritten(id, updates),
        ),
      );
    }
    await Promise.all(writes);
  }

  private armGathering(): void {
    this.statisticsTimer ??= setTimeout(() => void this.writeStatistics(), STATISTICS_MS).unref();
  }

  /** The update on the local copy alone (Redis is away). */
  private updateHere<T>(space: StateSpace, key: string, reduce: (current: T | undefined) => T, ttlMs: number): T {
    const envelope = this.envelope(space, key);
    const next = reduce(envelope ? (JSON.parse(envelope.json) as T) : undefined);
    const json = JSON.stringify(next);
    if (envelope && ttlMs <= 0) {
      envelope.json = json;
      envelope.value = next;
    } else this.copy.set<Envelope>(space, key, { v: envelope?.v ?? 0, json, value: next }, ttlMs);
    return next;
  }

  /** `notWritten`: what becomes of the update when Redis cannot be reached (its answer is the update's). */
  private async compareAndSet<T, Otherwise>(
    space: StateSpace,
    key: string,
    reduce: (current: T | undefined) => T,
    ttlMs: number,
    notWritten: () => Otherwise,
  ): Promise<T | Otherwise> {
    const id = `${space}\n${key}`;
    for (let conflicts = 0; conflicts < MAX_CONFLICTS; conflicts++) {
      const envelope = this.envelope(space, key);
      const queued = this.queuedCas.get(id);
      // '': a statistic this process has and Redis had not when it was last heard of.
      const base = queued ?? (envelope?.json || undefined);
      // The reducer may change what it is given: it gets its own copy, never the local record.
      const next = reduce(base !== undefined ? (JSON.parse(base) as T) : undefined);
      const json = JSON.stringify(next);
      // Nothing to write: as atomic as a read of that version.
      if (queued === undefined && envelope && envelope.v > 0 && json === envelope.json && ttlMs <= 0) return next;
      // -1: written only if the batch's previous compare-and-set of this record was; 0: only if absent.
      const expected = queued !== undefined ? -1 : envelope && envelope.v > 0 ? envelope.v : 0;
      let reply: Replies['cas'];
      try {
        // Before it is queued: a batch full at this write goes at once, and its chain with it.
        this.queuedCas.set(id, json);
        reply = await this.send('cas', 4, space, key, json, expected, ttlMs);
      } catch (error) {
        this.failed(error, () => {});
        return notWritten();
      }
      const [written, version, current, pttl] = reply;
      if (written === 1) {
        this.apply(space, key, version, pttl, json, next);
        return next;
      }
      // Another instance wrote first: take its record and run the reducer on that.
      if (version === 0) this.forget(space, key);
      else this.apply(space, key, version, pttl, current);
    }
    this.failed(new Error(`${MAX_CONFLICTS} conflicting writes in a row on one record`), () => {});
    return notWritten();
  }

  /** Redis has no such record (it expired or was deleted before we heard): neither has the copy. */
  private forget(space: StateSpace, key: string): void {
    this.copy.delete(space, key);
  }

  async clear(space?: StateSpace): Promise<void> {
    const spaces = space ? [space] : STATE_SPACES;
    for (const name of spaces) {
      const keys = [...this.copy.entries<Envelope>(name)].map(([key]) => key);
      this.copy.clear(name);
      for (const [id, updates] of this.statistics) if (updates.space === name) this.statistics.delete(id);
      if (this.mode !== 'shared') {
        for (const key of keys) this.remember(name, key, { deleted: true });
        continue;
      }
      try {
        for (const key of await this.scanKeys(name)) await this.delete(name, key);
      } catch (error) {
        this.failed(error, () => {
          for (const key of keys) this.remember(name, key, { deleted: true });
        });
      }
    }
  }

  reserve(
    space: StateSpace,
    budgets: readonly BudgetCounters[],
    amount: number,
    options: ReserveOptions = {},
  ): number | Promise<number> {
    if (this.mode !== 'shared' || (amount <= 0 && !options.refuseUsedUp)) {
      return reserveHere(this, space, budgets, amount, options);
    }
    const busy = this.budgetDemand.busy(budgets.map((budget) => budget.held).join('\n'), this.clock.now());
    if (this.takeLeased(space, budgets, amount)) {
      this.refillBudgets(space, budgets, amount);
      return -1;
    }
    return this.sendReserve(space, budgets, amount, options.refuseUsedUp ?? false, busy ? LEASE_MOST : 0, false).then(
      // Refused, though a lease this process took meanwhile (for a reserve of the same turn) covers it.
      (refused) => (refused >= 0 && this.takeLeased(space, budgets, amount) ? -1 : refused),
      (error: unknown) => {
        this.failed(error, () => {});
        return reserveHere(this, space, budgets, amount, options);
      },
    );
  }

  /**
   * The reserve script: holds `amount` (nothing of it when `leaseOnly`) and a lease of at most `most`
   * more amounts on every budget if the amount fits in all; what it answers is applied to the copy.
   */
  private async sendReserve(
    space: StateSpace,
    budgets: readonly BudgetCounters[],
    amount: number,
    refuseUsedUp: boolean,
    most: number,
    leaseOnly: boolean,
  ): Promise<number> {
    const counters: (string | number)[] = [];
    for (const budget of budgets) {
      counters.push(budget.spent, budget.held, budget.limit, JSON.stringify(budget.seed), budget.ttlMs);
    }
    const [refused, leased, ...records] = await this.send(
      'reserve',
      2 + budgets.length * 6,
      space,
      amount,
      refuseUsedUp,
      LEASE_SHARE,
      most,
      leaseOnly,
      budgets.length,
      ...counters,
    );
    budgets.forEach((budget, i) => {
      for (const [offset, key] of [budget.spent, budget.held].entries()) {
        const at = (i * 2 + offset) * 3;
        const [v, json, pttl] = [records[at] as number, records[at + 1] as string, records[at + 2] as number];
        if (v === 0) continue;
        this.apply(space, key, v, pttl, json);
        this.recount(space, key);
      }
    });
    const held = refused < 0 && amount > 0 ? (leaseOnly ? 0 : amount) + leased : 0;
    if (held > 0) for (const budget of budgets) this.countOwn(space, budget.held, held, budget.ttlMs);
    if (leased > 0) {
      for (const budget of budgets) {
        const id = `${space}\n${budget.held}`;
        const lease = this.budgetLeases.get(id) ?? { space, key: budget.held, spare: 0, granted: 0 };
        lease.spare += leased;
        lease.granted = leased;
        this.budgetLeases.set(id, lease);
      }
      this.armGathering();
    }
    return refused;
  }

  /**
   * A budget lease down to less than half its last grant is topped up in the background (a reserve
   * that holds only a lease), so requests keep finding one while there is room.
   */
  private refillBudgets(space: StateSpace, budgets: readonly BudgetCounters[], amount: number): void {
    const id = budgets.map((budget) => budget.held).join('\n');
    if (this.refillingBudgets.has(id)) return;
    const low = budgets.some((budget) => {
      const lease = this.budgetLeases.get(`${space}\n${budget.held}`);
      return !lease || leaseLow(lease.spare, lease.granted);
    });
    if (!low) return;
    this.refillingBudgets.add(id);
    this.sendReserve(space, budgets, amount, false, LEASE_MOST, true).then(
      () => this.refillingBudgets.delete(id),
      (error: unknown) => {
        this.refillingBudgets.delete(id);
        this.failed(error, () => {});
      },
    );
  }

  /** Holds `amount` from this process's lease on every one of `budgets` (held already, in Redis too), if it covers it. */
  private takeLeased(space: StateSpace, budgets: readonly BudgetCounters[], amount: number): boolean {
    if (amount <= 0 || budgets.length === 0) return false;
    const leases = budgets.map((budget) => this.budgetLeases.get(`${space}\n${budget.held}`));
    if (!leases.every((lease) => lease && lease.spare >= amount - 1e-12)) return false;
    for (const lease of leases) lease!.spare -= amount;
    return true;
  }

  status(): StateStatus {
    const base = { backend: 'redis' as const, location: this.location };
    if (this.mode === 'shared') {
      return {
        ...base,
        shared: true,
        message: `shared through Redis at ${this.location}: every instance using it keeps the same limits, budgets, breakers and pins`,
      };
    }
    const since = this.unreachableSince ?? this.clock.now();
    return {
      ...base,
      shared: false,
      unreachableSince: since,
      message: `Redis at ${this.location} is unreachable (${this.reason || 'no answer'}) since ${new Date(since).toLocaleTimeString()}: this process keeps its own limits, budgets, breakers and pins until it is back`,
    };
  }

  leasing(): boolean {
    return this.mode === 'shared';
  }

  holdLease(giveBack: () => unknown): void {
    this.leaseHolders.push(giveBack);
    this.armGathering();
  }

  /**
   * Every lease's unused part back, through this state's writes (while Redis is away they are this
   * process's own and go with the hand-over): what the holders answer, to be awaited.
   */
  private giveBackLeases(): unknown[] {
    const holders = this.leaseHolders;
    this.leaseHolders = [];
    const writes = holders.map((giveBack) => giveBack());
    for (const { space, key, spare } of this.budgetLeases.values()) {
      // As a settled request's hold is released: gathered, and sent with this interval's writes.
      if (spare > 1e-12) writes.push(this.incr(space, key, -spare, 0, { gathered: true, perProcess: true }));
    }
    this.budgetLeases.clear();
    return writes;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A clean stop loses no statistic and keeps no lease: what was gathered is written first.
    await this.writeStatistics();
    for (const timer of this.timers) clearInterval(timer);
    const quit = (connection: Redis) =>
      connection.status === 'ready'
        ? Promise.race([connection.quit().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 500))])
        : undefined;
    await Promise.all([quit(this.client), quit(this.subscriber)]);
    this.client.disconnect();
    this.subscriber.disconnect();
  }

  // ---- losing and finding Redis ---------------------------------------------------------------

  /** A command failed: Redis counts as away from now on; `keep` records what is owed to it. */
  private failed(error: unknown, keep: () => void): void {
    this.reason ||= reasonOf(error);
    if (this.mode === 'shared') this.goLocal(reasonOf(error));
    keep();
  }

  private goLocal(reason: string): void {
    if (this.closed || this.mode === 'local') return;
    const wasShared = this.mode === 'shared';
    this.mode = 'local';
    this.reason = reason;
    this.unreachableSince = this.clock.now();
    // Increments on their way may not have arrived: they are owed to Redis (unless its answer comes).
    for (const [id, increments] of this.inFlight) {
      const [space, key] = splitId(id);
      for (const increment of increments) {
        increment.moved = true;
        this.rememberIncrement(space, key, increment.delta, 0, increment.perProcess);
      }
    }
    this.unacked.clear();
    for (const space of STATE_SPACES) {
      for (const [, envelope] of this.copy.entries<Envelope>(space)) envelope.json = JSON.stringify(envelope.value);
    }
    // Leases are void without Redis: their unused parts go back to the counts (and, with the hand-over, to Redis).
    void Promise.all(this.giveBackLeases());
    if (wasShared || this.listenerCount('status') > 0) this.emit('status', this.status());
  }

  private remember(space: StateSpace, key: string, write: NonNullable<PendingWrite['write']>): void {
    const id = `${space}\n${key}`;
    this.pending.set(id, { space, key, write, delta: 0, ttlMs: 0, perProcess: false });
  }

  private rememberIncrement(space: StateSpace, key: string, delta: number, ttlMs: number, perProcess: boolean): void {
    const id = `${space}\n${key}`;
    const owed = this.pending.get(id) ?? { space, key, delta: 0, ttlMs, perProcess };
    owed.delta += delta;
    owed.perProcess ||= perProcess;
    this.pending.set(id, owed);
  }

  /** While local: is Redis back? ioredis reconnects by itself; a hung server needs asking. */
  private recover(): void {
    if (this.closed || this.mode === 'shared' || this.resyncing) return;
    for (const connection of [this.client, this.subscriber]) {
      if (connection.status === 'end' || connection.status === 'wait') connection.connect().catch(() => {});
    }
    void this.resync();
  }

  private connected(): boolean {
    return this.client.status === 'ready' && this.subscriber.status === 'ready';
  }

  private heartbeat(): void {
    if (this.mode !== 'shared') return;
    this.client
      .set(`${this.alivePrefix}${this.instance}`, '1', 'PX', this.heartbeatMs * 3)
      .then(() =>
        this.client.sbSweep(this.perProcessSet, this.versionKey, this.alivePrefix, this.channel, `${this.namespace}:`),
      )
      .catch((error: unknown) => this.failed(error, () => {}));
  }

  /**
   * Joins the shared state: hands Redis what was counted and set while it was away, loads the shared
   * state into a fresh copy (applying the changes heard meanwhile on top), and only then reads from it.
   */
  private resync(): Promise<void> {
    if (this.resyncing) {
      this.resyncAgain = true;
      return this.resyncing;
    }
    // Checked before the loop starts: a run that ended without awaiting would clear `resyncing`
    // before it was even set, and every later call would wait on that finished run.
    if (this.closed || !this.connected()) return Promise.resolve();
    this.resyncing = (async () => {
      try {
        do {
          this.resyncAgain = false;
          if (!this.connected()) return;
          await this.subscriber.subscribe(this.channel);
          await this.client.set(`${this.alivePrefix}${this.instance}`, '1', 'PX', this.heartbeatMs * 3);
          for (let round = 0; ; round++) {
            const owed = this.pending;
            this.pending = new Map();
            await this.handOver(owed, true);
            this.heard = [];
            const copy = await this.load();
            // Written here while loading: hand that over too before reading from Redis (twice at most).
            if (this.pending.size > 0 && round < 2) {
              this.heard = undefined;
              continue;
            }
            const heard = this.heard;
            this.heard = undefined;
            this.copy = copy;
            // Statistics not written yet: shown on top of the shared records, written just below.
            for (const { space, key, ttlMs, reducers } of this.statistics.values()) {
              this.showStatistic(space, key, (current) => applyAll(reducers, current), ttlMs);
            }
            this.tombstones.clear();
            this.unacked.clear();
            const wasLocal = this.mode === 'local';
            this.mode = 'shared';
            this.reason = '';
            this.unreachableSince = undefined;
            for (const change of heard) this.apply(...change);
            const late = this.pending;
            this.pending = new Map();
            void this.handOver(late, false).catch((error: unknown) => this.failed(error, () => {}));
            void this.writeStatistics();
            if (wasLocal || this.listenerCount('status') > 0) this.emit('status', this.status());
            break;
          }
        } while (this.resyncAgain && this.mode !== 'shared');
      } catch (error) {
        this.heard = undefined;
        this.goLocal(reasonOf(error));
      } finally {
        this.resyncing = undefined;
      }
    })();
    return this.resyncing;
  }

  /**
   * Gives Redis what this process wrote while it was away; its own parts of per-process counters as
   * they are (those `owed` changed, or `allParts`).
   */
  private async handOver(owed: Map<string, PendingWrite>, allParts: boolean): Promise<void> {
    const writes: Promise<unknown>[] = [];
    // A part back at zero is no longer in ownParts, but Redis may still have it from before.
    const parts = new Map(allParts ? this.ownParts : []);
    for (const [id, { space, key, ttlMs, perProcess }] of owed) {
      if (perProcess) parts.set(id, this.ownParts.get(id) ?? { space, key, part: 0, ttlMs });
    }
    for (const { space, key, part, ttlMs } of parts.values()) {
      writes.push(
        this.send('incr', 4, space, key, part, ttlMs, 'own', false).then(([done, v, json, pttl]) => {
          if (done === 1) this.apply(space, key, v, pttl, json);
        }),
      );
    }
    for (const { space, key, write, delta, ttlMs, perProcess } of owed.values()) {
      // Applied from the replies: this instance does not hear its own published changes.
      if (write && 'deleted' in write) {
        writes.push(this.send('del', 1, space, key).then(([v]) => this.apply(space, key, v, -2, '')));
      } else if (write) {
        writes.push(
          this.send('set', 2, space, key, write.json, write.ttlMs).then(([v, pttl]) =>
            this.apply(space, key, v, pttl, write.json),
          ),
        );
      }
      if (Math.abs(delta) > 1e-12 && !perProcess) {
        // A counter Redis no longer has is not recreated from this process's part alone (a budget's
        // spend starts from the history on record instead); a per-process count is, above.
        writes.push(
          this.send('incr', 4, space, key, delta, ttlMs, false, !write).then(([done, v, json, pttl]) => {
            if (done === 1) this.apply(space, key, v, pttl, json);
          }),
        );
      }
    }
    await Promise.all(writes);
  }

  /**
   * Queues a write for the batch script, which carries every write made in this turn of the event loop
   * (in the order made) in one round trip: the writes that need no answer (a request's settling, its
   * balancing turns) travel with the next ones that do (the next admission), and concurrent requests
   * share their round trips.
   */
  /**
   * `width`: how many values of the reply are this operation's; `operands`: its space, its key (a
   * reserve: its amount) and its arguments, as the batch script reads them.
   */
  private send<K extends keyof Replies>(
    kind: K,
    width: number,
    space: StateSpace,
    ...operands: (string | number | boolean)[]
  ): Promise<Replies[K]> {
    return new Promise((resolve, reject) => {
      this.queued.push({ width, resolve: resolve as (reply: unknown) => void, reject });
      this.queuedOperations.push(OPERATION[kind], space, ...operands);
      // Another kind of write to a record ends the chain of compare-and-sets on it.
      if (kind === 'reserve') {
        for (let i = 3; i < operands.length; i += 5) {
          this.queuedCas.delete(`${space}\n${operands[i]}`);
          this.queuedCas.delete(`${space}\n${operands[i + 1]}`);
        }
      } else if (kind !== 'cas') this.queuedCas.delete(`${space}\n${operands[0]}`);
      if (this.queued.length === 1) setImmediate(() => this.flush());
      else if (this.queued.length >= MAX_BATCH) this.flush();
    });
  }

  private flush(): void {
    const batch = this.queued;
    if (batch.length === 0) return;
    const operations = JSON.stringify(this.queuedOperations);
    this.queued = [];
    this.queuedOperations = [];
    this.queuedCas.clear();
    this.client
      .sbBatch(this.versionKey, this.perProcessSet, this.channel, this.instance, this.recordPrefix, operations)
      .then(
        (packed) => {
          const replies = JSON.parse(packed) as unknown[];
          let at = 0;
          for (const write of batch) {
            write.resolve(replies.slice(at, at + write.width));
            at += write.width;
          }
        },
        (error: unknown) => {
          for (const write of batch) write.reject(error);
        },
      );
  }

  private async scanKeys(space: StateSpace): Promise<string[]> {
    const prefix = this.recordKey(space, '');
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.client.scan(cursor, 'MATCH', `${globEscape(prefix)}*`, 'COUNT', 1000);
      cursor = next;
      for (const full of batch) keys.push(full.slice(prefix.length));
    } while (cursor !== '0');
    return keys;
  }

  /** The shared state as Redis has it now, in a fresh copy. */
  private async load(): Promise<MemoryState> {
    const copy = new MemoryState(this.clock);
    for (const space of STATE_SPACES) {
      const keys = await this.scanKeys(space);
      for (let start = 0; start < keys.length; start += LOAD_BATCH) {
        const batch = keys.slice(start, start + LOAD_BATCH);
        const pipeline = this.client.pipeline();
        for (const key of batch) {
          pipeline.hmget(this.recordKey(space, key), 'v', 'd');
          pipeline.pttl(this.recordKey(space, key));
        }
        const results = (await pipeline.exec()) ?? [];
        batch.forEach((key, i) => {
          const [error, fields] = results[i * 2] ?? [];
          const pttl = results[i * 2 + 1]?.[1] as number | undefined;
          const [v, json] = (fields as [string | null, string | null] | undefined) ?? [];
          if (error || !v || !json || pttl === -2) return;
          copy.set<Envelope>(space, key, { v: Number(v), json, value: JSON.parse(json) }, pttl && pttl > 0 ? pttl : 0);
        });
      }
    }
    return copy;
  }
}

/** The reducers in turn; each gets what the one before returned. */
function applyAll(reducers: readonly Reducer[], value: unknown): unknown {
  for (const reduce of reducers) value = reduce(value);
  return value;
}

function splitId(id: string): [StateSpace, string] {
  const newline = id.indexOf('\n');
  return [id.slice(0, newline) as StateSpace, id.slice(newline + 1)];
}

/** SCAN's MATCH is a glob: a namespace or space is matched literally. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
