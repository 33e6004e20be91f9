import { type RoutingState, STATISTIC } from '../core/state.ts';
import type { UsageEvent } from './types.ts';

export interface UsageTotals {
  requests: number;
  errors: number;
  cancelled: number;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  latencyMsTotal: number;
}

export const REPORT_DIMENSIONS = ['provider', 'model', 'day', 'key'] as const;
/** The `key` row of requests that came with the API token (or from the app), not an app key. */
export const API_TOKEN_KEY = 'api-token';
/** What reports call the `api-token` row. */
export const API_TOKEN_KEY_NAME = 'API token (and the app)';
export type ReportDimension = (typeof REPORT_DIMENSIONS)[number];

export interface CostReportRow extends UsageTotals {
  /** Provider id, `provider/model`, `YYYY-MM-DD` (UTC), or an app key id (`api-token` for the rest). */
  key: string;
  avgLatencyMs: number;
}

export interface CostReport {
  by: ReportDimension;
  /** 'history': every event on record (the store); 'session': what this process routed since it started. */
  source: 'history' | 'session';
  total: CostReportRow;
  rows: CostReportRow[];
}

/** Reports from the usage on record (the store), beyond what this process routed. */
export interface CostHistory {
  costReport(by: ReportDimension, sinceMs?: number): CostReport;
}

export interface UsageStatistics {
  total_requests: number;
  request_counts: Record<string, number>;
  /** Share of requests per provider, in percent. */
  distribution: Record<string, number>;
}

const PREFIX: Record<ReportDimension, string> = { provider: 'p:', model: 'm:', day: 'd:', key: 'k:' };
/** Days of per-day totals kept. */
const DAY_RETENTION_MS = 400 * 86_400_000;

let lastDay = Number.NaN;
let lastDayText = '';

/** `YYYY-MM-DD` (UTC) of an epoch ms; remembers the last day, as almost every call asks for today. */
export function utcDay(time: number): string {
  const day = Math.floor(time / 86_400_000);
  if (day !== lastDay) {
    lastDay = day;
    lastDayText = new Date(day * 86_400_000).toISOString().slice(0, 10);
  }
  return lastDayText;
}

function empty(): UsageTotals {
  return { requests: 0, errors: 0, cancelled: 0, costUsd: 0, inputTokens: 0, outputTokens: 0, latencyMsTotal: 0 };
}

/**
 * Running totals of every usage event — overall, per provider, per provider+model and per day — kept
 * in the routing state's `usage` space (so they are shared and bounded like the rest of it).
 */
export class UsageLedger {
  private readonly state: RoutingState;

  constructor(state: RoutingState) {
    this.state = state;
  }

  add(event: UsageEvent): void {
    this.bump(PREFIX.provider + event.providerId, event, 0);
    this.bump(`${PREFIX.model}${event.providerId}/${event.model}`, event, 0);
    this.bump(PREFIX.day + utcDay(event.time), event, DAY_RETENTION_MS);
    this.bump(PREFIX.key + (event.appKeyId ?? API_TOKEN_KEY), event, 0);
  }

  private bump(key: string, event: UsageEvent, ttlMs: number): void {
    void this.state.update<UsageTotals>(
      'usage',
      key,
      (totals = empty()) => {
        totals.requests++;
        if (event.outcome === 'error') totals.errors++;
        if (event.outcome === 'cancelled') totals.cancelled++;
        totals.costUsd += event.costUsd;
        totals.inputTokens += event.inputTokens;
        totals.outputTokens += event.outputTokens;
        totals.latencyMsTotal += event.latencyMs;
        return totals;
      },
      ttlMs,
      STATISTIC,
    );
  }

  report(by: ReportDimension): CostReport {
    const prefix = PREFIX[by];
    const rows: CostReportRow[] = [];
    for (const [key, totals] of this.state.entries<UsageTotals>('usage')) {
      if (key.startsWith(prefix)) rows.push(row(key.slice(prefix.length), totals));
    }
    return reportOf(by, 'session', rows);
  }

  statistics(): UsageStatistics {
    const rows = this.report('provider').rows;
    const total = rows.reduce((sum, r) => sum + r.requests, 0);
    return {
      total_requests: total,
      request_counts: Object.fromEntries(rows.map((r) => [r.key, r.requests])),
      distribution: Object.fromEntries(
        rows.map((r) => [r.key, total === 0 ? 0 : Math.round((r.requests / total) * 10_000) / 100]),
      ),
    };
  }
}

/** A report from its rows (sorted: by day, or costliest first), with their total. */
export function reportOf(by: ReportDimension, source: CostReport['source'], rows: CostReportRow[]): CostReport {
  rows.sort(
    by === 'day' ? (a, b) => a.key.localeCompare(b.key) : (a, b) => b.costUsd - a.costUsd || b.requests - a.requests,
  );
  const total = empty();
  for (const r of rows) {
    total.requests += r.requests;
    total.errors += r.errors;
    total.cancelled += r.cancelled;
    total.costUsd += r.costUsd;
    total.inputTokens += r.inputTokens;
    total.outputTokens += r.outputTokens;
    total.latencyMsTotal += r.latencyMsTotal;
  }
  return { by, source, total: row('total', total), rows };
}

function row(key: string, totals: UsageTotals): CostReportRow {
  return {
    key,
    ...totals,
    avgLatencyMs: totals.requests === 0 ? 0 : Math.round(totals.latencyMsTotal / totals.requests),
  };
}
