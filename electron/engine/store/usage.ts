import type { Statement } from 'better-sqlite3';
import { z } from 'zod';
import { type BudgetPeriod, budgetPeriodOf } from '../accounting/budget.ts';
import {
  API_TOKEN_KEY,
  type CostReport,
  type CostReportRow,
  type ReportDimension,
  reportOf,
} from '../accounting/ledger.ts';
import type { UsageEvent, UsageSink } from '../accounting/types.ts';
import type { UsagePoint, UsageView } from '../contract/api.ts';
import { ERROR_CODES } from '../contract/errors.ts';
import { type Database, isLockedError, openWriteConnection, statementCache } from './database.ts';
import { UsageWriterThread } from './usage-writer.ts';

const usageEventSchema = z.object({
  id: z.string().min(1),
  time: z.number().int(),
  kind: z.enum(['chat', 'embedding', 'transcription', 'moderation']),
  providerId: z.string(),
  model: z.string(),
  keyId: z.string().optional(),
  userId: z.string().optional(),
  appKeyId: z.string().optional(),
  profile: z.string(),
  strategy: z.string(),
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  tokensEstimated: z.boolean(),
  costUsd: z.number().nonnegative(),
  latencyMs: z.number().nonnegative(),
  ttftMs: z.number().nonnegative().optional(),
  outcome: z.enum(['success', 'error', 'cancelled', 'interrupted']),
  errorCode: z.enum(ERROR_CODES).optional(),
  fallbackDepth: z.number().int().nonnegative(),
});

/** An event as bound to the insert statements: SQLite has no booleans and better-sqlite3 binds no undefined. */
type UsageRow = Record<keyof z.infer<typeof usageEventSchema>, string | number | null>;

const pointRow = z.object({
  bucket: z.number(),
  provider_id: z.string(),
  requests: z.number(),
  errors: z.number(),
  cost_usd: z.number(),
  input_tokens: z.number(),
  output_tokens: z.number(),
  avg_latency_ms: z.number(),
});

const reportRow = z.object({
  key: z.string(),
  requests: z.number(),
  errors: z.number(),
  cancelled: z.number(),
  cost_usd: z.number(),
  input_tokens: z.number(),
  output_tokens: z.number(),
  latency_ms_total: z.number(),
});

/** What a cost report groups by, as SQL over usage_events (days are UTC, as the session ledger counts them). */
const REPORT_KEYS: Record<ReportDimension, string> = {
  provider: 'provider_id',
  model: "provider_id || '/' || model",
  day: "strftime('%Y-%m-%d', time / 1000, 'unixepoch')",
  key: `coalesce(app_key_id, '${API_TOKEN_KEY}')`,
};

const totalsRow = z.object({
  requests: z.number(),
  errors: z.number(),
  cost_usd: z.number(),
  input_tokens: z.number(),
  output_tokens: z.number(),
});

export type UsageBucket = 'hour' | 'day';

const BUCKET_MS: Record<UsageBucket, number> = { hour: 3_600_000, day: 86_400_000 };

const AGGREGATES = `count(*) AS requests,
  total(outcome = 'error') AS errors,
  total(cost_usd) AS cost_usd,
  total(input_tokens) AS input_tokens,
  total(output_tokens) AS output_tokens`;

/** Events wait at most this long in memory before they are written… */
const FLUSH_AFTER_MS = 250;
/** …or until this many are waiting. */
const FLUSH_AT_EVENTS = 200;

const COLUMNS = `id, time, kind, provider_id, model, key_id, user_id, app_key_id, profile, strategy, input_tokens,
    output_tokens, tokens_estimated, cost_usd, latency_ms, ttft_ms, outcome, error_code, fallback_depth`;
const VALUES = `@id, @time, @kind, @providerId, @model, @keyId, @userId, @appKeyId, @profile, @strategy, @inputTokens,
    @outputTokens, @tokensEstimated, @costUsd, @latencyMs, @ttftMs, @outcome, @errorCode, @fallbackDepth`;
/**
 * A settled event overwrites its reservation in place (REPLACE would delete and re-insert the row), the
 * provider included: a request reserved by an attempt that failed may settle on another candidate.
 */
const SETTLE_EVENT = `INSERT INTO usage_events (${COLUMNS}) VALUES (${VALUES}) ON CONFLICT(id) DO UPDATE SET
    provider_id = excluded.provider_id, model = excluded.model, fallback_depth = excluded.fallback_depth,
    key_id = excluded.key_id, input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
    tokens_estimated = excluded.tokens_estimated, cost_usd = excluded.cost_usd, latency_ms = excluded.latency_ms,
    ttft_ms = excluded.ttft_ms, outcome = excluded.outcome, error_code = excluded.error_code`;
/**
 * A later attempt's reservation (a fallback, another key) replaces the earlier one's, so a crash leaves the
 * row of the provider the request was with; a reservation never overwrites the settled row.
 */
const RESERVE_EVENT = `INSERT INTO usage_events (${COLUMNS}) VALUES (${VALUES}) ON CONFLICT(id) DO UPDATE SET
    provider_id = excluded.provider_id, model = excluded.model, key_id = excluded.key_id, cost_usd = excluded.cost_usd,
    latency_ms = excluded.latency_ms, fallback_depth = excluded.fallback_depth
    WHERE usage_events.outcome = 'interrupted'`;

function toRow(event: UsageEvent): UsageRow {
  const valid = usageEventSchema.parse(event);
  return {
    ...valid,
    keyId: valid.keyId ?? null,
    userId: valid.userId ?? null,
    appKeyId: valid.appKeyId ?? null,
    ttftMs: valid.ttftMs ?? null,
    errorCode: valid.errorCode ?? null,
    tokensEstimated: valid.tokensEstimated ? 1 : 0,
  };
}

/** Reservations (which never overwrite a settled row), then settled events, in one transaction on `db`. */
function usageTransaction(db: Database): (reservations: UsageRow[], settled: UsageRow[]) => void {
  const reserve = db.prepare(RESERVE_EVENT);
  const settle = db.prepare(SETTLE_EVENT);
  return db.transaction((reservations: UsageRow[], settled: UsageRow[]) => {
    for (const event of reservations) reserve.run(event);
    for (const event of settled) settle.run(event);
  });
}

export interface UsageRepositoryOptions {
  /**
   * Write the rows on a worker thread with a connection of its own to this file (UsageWriterThread): for
   * the processes that stay up and serve, as the checkpoints are. A one-shot CLI command writes here.
   */
  writerThread?: { file: string; busyTimeoutMs?: number; onProblem?: (message: string) => void };
}

/**
 * Usage events in SQLite: the engine's sink and the usage pane's and budgets' queries.
 *
 * `record` is on every request's path, and one SQLite transaction per event cost more than the rest of
 * the accounting. Events are validated at once (a bad event still throws to its caller); an event after
 * a quiet spell is written at once too (a CLI run's one request is on disk before it exits), and it opens
 * a window of FLUSH_AFTER_MS in which the events that follow wait in memory and are written together in
 * one transaction: when the window ends, at FLUSH_AT_EVENTS, on `flush()`, and before every query here,
 * so a query never misses an event. The price: a crash, or closing the database without `flush()`,
 * would lose the last FLUSH_AFTER_MS of events of a busy gateway, which is why every request that
 * answers first `reserve`s its row and waits until it is on disk: a crash leaves it reserved (outcome
 * interrupted, estimated cost) rather than missing. Reservations are group-committed: those made in one
 * turn of the event loop wait for the next turn's check phase and go in one transaction — a commit of its
 * own for each was the gateway's largest cost — and each answer waits for its group's commit.
 * The settled events waiting then go in the same transaction: under load they never pile up into one
 * large batch that would hold the event loop for milliseconds.
 *
 * With a writer thread, the transactions of a busy gateway run there (a reservation still resolves once
 * its row is committed) and a query first waits for them. A request alone in flight commits here as
 * before: the hand-over and the answer back are two thread wake-ups on the one request's path, which
 * on two cores cost more than the commit itself (one client: 0.77 -> 0.92 ms p50); under load the commit
 * overlaps other requests' work on the event loop instead, and that is where the thread pays. A commit
 * here never waits for another connection's lock: one that finds the database locked goes to the thread,
 * which waits for it (SQLite's busy handler sleeps, and on the event loop that sleep stopped every request:
 * 40 ms while the checkpoint thread cut the WAL).
 */
export class UsageRepository implements UsageSink {
  private readonly prepare: (sql: string) => Statement;
  /** usageTransaction on the repository's connection. */
  private readonly write: (reservations: UsageRow[], settled: UsageRow[]) => void;
  /**
   * The same on the event loop: beside a writer thread on a connection of its own that never waits for
   * a lock (the thread does), else on the repository's.
   */
  private readonly writeHere: (reservations: UsageRow[], settled: UsageRow[]) => void;
  private readonly hereConnection: Database | undefined;
  private pending: UsageRow[] = [];
  private window: NodeJS.Timeout | undefined;
  /** Reservations of this turn of the event loop, and the commit their callers wait for. */
  private reserving: UsageRow[] = [];
  private reservationCommit:
    | { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void }
    | undefined;
  private readonly writerThread: UsageWriterThread<UsageRow> | undefined;
  /** The requests reserved and not yet settled, with a writer thread: more than one is a busy gateway. */
  private readonly unsettled = new Set<string>();

  constructor(db: Database, options: UsageRepositoryOptions = {}) {
    this.prepare = statementCache(db);
    this.write = usageTransaction(db);
    if (options.writerThread) {
      this.writerThread = new UsageWriterThread({
        ...options.writerThread,
        reserveSql: RESERVE_EVENT,
        settleSql: SETTLE_EVENT,
        writeInline: this.write,
      });
      this.hereConnection = openWriteConnection(db.name, 0);
      this.writeHere = usageTransaction(this.hereConnection);
    } else {
      this.writeHere = this.write;
    }
  }

  record(event: UsageEvent): void {
    this.pending.push(toRow(event));
    this.unsettled.delete(event.id);
    if (this.window === undefined) {
      this.window = setTimeout(this.closeWindow, FLUSH_AFTER_MS).unref();
      this.send();
    } else if (this.pending.length >= FLUSH_AT_EVENTS) {
      this.send();
    }
  }

  /** Resolves once the row is on disk (rejects when it could not be written); a bad event throws at once. */
  reserve(event: UsageEvent): Promise<void> {
    this.reserving.push(toRow(event));
    if (this.writerThread) this.unsettled.add(event.id);
    if (!this.reservationCommit) {
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<void>((onCommit, onFailure) => {
        resolve = onCommit;
        reject = onFailure;
      });
      this.reservationCommit = { promise, resolve, reject };
      // At the check phase of the next turn, not this one: undici sends a request on a reused keep-alive
      // connection at this turn's check phase (after a look for bytes the idle socket got), and the upstream
      // requests sent in this turn should leave before the commit, so that the disk write overlaps them.
      setImmediate(() => setImmediate(this.commitReservations));
    }
    return this.reservationCommit.promise;
  }

  // A failure reaches the reservations' callers through their promise (send settles it).
  private readonly commitReservations = () => {
    try {
      this.send();
    } catch {}
  };

  /** Writes the events waiting in memory and returns once every write asked for is on disk. */
  flush(): void {
    this.send();
    this.writerThread?.drain();
  }

  /** Writes what waits in memory, then closes its own connections: the writer thread's and the one beside it (before the database closes). */
  close(): void {
    this.flush();
    this.writerThread?.close();
    this.hereConnection?.close();
  }

  /**
   * Writes the events waiting in memory (reservations first, so a settled event overwrites its own) in one
   * transaction: here, throwing if it fails, or on the writer thread while the gateway is busy (after
   * the thread's earlier ones). The reservations' callers learn of the commit or the failure through their
   * promise. Nobody waits for settled events: like a failed synchronous write from the timer, a failed
   * batch of them (disk full, database already closed) is dropped; the routing service's running totals
   * still hold it.
   */
  private send(): void {
    if (this.reserving.length === 0 && this.pending.length === 0) return;
    const reservations = this.reserving;
    const settled = this.pending;
    const waiting = this.reservationCommit;
    this.reserving = [];
    this.pending = [];
    this.reservationCommit = undefined;
    if (this.writerThread && (this.unsettled.size > 1 || !this.writerThread.idle)) {
      this.writerThread.write(reservations, settled).then(waiting?.resolve, (error) => waiting?.reject(error));
      return;
    }
    try {
      this.writeHere(reservations, settled);
    } catch (error) {
      if (this.writerThread && isLockedError(error)) {
        // Another connection holds the lock (the checkpoint thread starting the WAL over, another process):
        // the writer thread waits for it, and the event loop serves other requests meanwhile.
        this.writerThread.write(reservations, settled).then(waiting?.resolve, (failure) => waiting?.reject(failure));
        return;
      }
      waiting?.reject(error);
      throw error;
    }
    waiting?.resolve();
  }

  private readonly closeWindow = () => {
    this.window = undefined;
    try {
      this.send();
    } catch {}
  };

  /**
   * Requests, errors, spend and tokens per time bucket and provider since `sinceMs`. Buckets are UTC
   * hours/days; `offsetMs` (the viewer's UTC offset) shifts day buckets onto local midnights.
   * better-sqlite3 binds JS numbers as REAL, hence the casts to divide as integers.
   */
  series(sinceMs: number, bucket: UsageBucket, offsetMs = 0): UsagePoint[] {
    this.flush();
    const size = BUCKET_MS[bucket];
    return this.prepare(
      `SELECT (CAST(time + @offset AS INTEGER) / CAST(@size AS INTEGER)) * @size - @offset AS bucket, provider_id, ${AGGREGATES},
           avg(latency_ms) AS avg_latency_ms
         FROM usage_events WHERE time >= @since GROUP BY bucket, provider_id ORDER BY bucket, provider_id`,
    )
      .all({ since: sinceMs, size, offset: offsetMs })
      .map((raw) => {
        const row = pointRow.parse(raw);
        return {
          time: row.bucket,
          providerId: row.provider_id,
          requests: row.requests,
          errors: row.errors,
          costUsd: row.cost_usd,
          inputTokens: row.input_tokens,
          outputTokens: row.output_tokens,
          avgLatencyMs: row.avg_latency_ms,
        };
      });
  }

  totals(sinceMs: number): UsageView['totals'] {
    this.flush();
    const row = totalsRow.parse(this.prepare(`SELECT ${AGGREGATES} FROM usage_events WHERE time >= ?`).get(sinceMs));
    return {
      requests: row.requests,
      errors: row.errors,
      costUsd: row.cost_usd,
      inputTokens: row.input_tokens,
      outputTokens: row.output_tokens,
    };
  }

  /** Spending and requests by provider, provider/model or UTC day since `sinceMs`: everything on record. */
  costReport(by: ReportDimension, sinceMs = 0): CostReport {
    this.flush();
    const rows = this.prepare(
      `SELECT ${REPORT_KEYS[by]} AS key, count(*) AS requests, total(outcome = 'error') AS errors,
           total(outcome = 'cancelled') AS cancelled, total(cost_usd) AS cost_usd, total(input_tokens) AS input_tokens,
           total(output_tokens) AS output_tokens, total(latency_ms) AS latency_ms_total
         FROM usage_events WHERE time >= ? GROUP BY key`,
    )
      .all(sinceMs)
      .map((raw): CostReportRow => {
        const row = reportRow.parse(raw);
        return {
          key: row.key,
          requests: row.requests,
          errors: row.errors,
          cancelled: row.cancelled,
          costUsd: row.cost_usd,
          inputTokens: row.input_tokens,
          outputTokens: row.output_tokens,
          latencyMsTotal: row.latency_ms_total,
          avgLatencyMs: row.requests === 0 ? 0 : Math.round(row.latency_ms_total / row.requests),
        };
      });
    return reportOf(by, 'history', rows);
  }

  /** Each provider's requests, share of all requests and spend since `sinceMs`, busiest first. */
  byProvider(sinceMs: number): UsageView['byProvider'] {
    this.flush();
    const rows = this.prepare(
      `SELECT provider_id, count(*) AS requests, total(cost_usd) AS cost_usd FROM usage_events
         WHERE time >= ? GROUP BY provider_id ORDER BY requests DESC, provider_id`,
    ).all(sinceMs) as { provider_id: string; requests: number; cost_usd: number }[];
    const all = rows.reduce((sum, row) => sum + row.requests, 0);
    return rows.map((row) => ({
      providerId: row.provider_id,
      requests: row.requests,
      share: all === 0 ? 0 : row.requests / all,
      costUsd: row.cost_usd,
    }));
  }

  /** When each app key last came with a request, by key id. */
  appKeysLastUsed(): Map<string, number> {
    this.flush();
    const rows = this.prepare(
      'SELECT app_key_id, max(time) AS last FROM usage_events WHERE app_key_id IS NOT NULL GROUP BY app_key_id',
    ).all() as { app_key_id: string; last: number }[];
    return new Map(rows.map((row) => [row.app_key_id, row.last]));
  }

  /** What one app key spent in the budget period holding `now`. */
  appKeySpend(period: BudgetPeriod, appKeyId: string, now: number = Date.now()): number {
    this.flush();
    const row = this.prepare(
      'SELECT total(cost_usd) AS spent FROM usage_events WHERE app_key_id = ? AND time >= ?',
    ).get(appKeyId, budgetPeriodOf(period, now).from);
    return (row as { spent: number }).spent;
  }

  /** Spend in the budget period holding `now`, for one provider or (absent) all of them. */
  spend(period: BudgetPeriod, providerId?: string, now: number = Date.now()): number {
    this.flush();
    const since = budgetPeriodOf(period, now).from;
    const row =
      providerId === undefined
        ? this.prepare('SELECT total(cost_usd) AS spent FROM usage_events WHERE time >= ?').get(since)
        : this.prepare('SELECT total(cost_usd) AS spent FROM usage_events WHERE time >= ? AND provider_id = ?').get(
            since,
            providerId,
          );
    return (row as { spent: number }).spent;
  }
}
