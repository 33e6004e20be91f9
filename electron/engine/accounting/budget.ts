import type { BudgetConfig, BudgetLimits } from '../config/types.ts';
import type { Clock } from '../core/clock.ts';
import {
  type Awaitable,
  type BudgetCounters,
  isPromise,
  PER_PROCESS,
  type RoutingState,
  SETTLED_RELEASE,
  SETTLED_SPEND,
  spentOrSeeded,
} from '../core/state.ts';

export type BudgetPeriod = 'daily' | 'monthly';

export interface BudgetStatus {
  /** 'global' or a provider id. */
  scope: string;
  period: BudgetPeriod;
  limitUsd: number;
  spentUsd: number;
  /** Estimated cost of requests in flight, held against the budget until they finish. */
  reservedUsd: number;
  remainingUsd: number;
  /** spent / limit. */
  fraction: number;
  exceeded: boolean;
}

export interface BudgetAlert {
  scope: string;
  period: BudgetPeriod;
  limitUsd: number;
  spentUsd: number;
  /** 'threshold' at alertThreshold × limit, 'exceeded' at the limit. */
  level: 'threshold' | 'exceeded';
}

/** A hold on budgets for one request in flight; settle it with the real cost when the request ends. */
export interface Reservation {
  keys: string[];
  amountUsd: number;
  providerId: string;
}

/** Spending already on record (the store), so budgets hold across restarts. */
export interface SpendHistory {
  /** USD spent in the period holding `now` (local calendar), by one provider or (absent) all. */
  spend(period: BudgetPeriod, providerId: string | undefined, now: number): number;
}

const PERIODS: BudgetPeriod[] = ['daily', 'monthly'];

/** A budget period: when it starts and ends (ms, the user's local calendar) and its name. */
export interface BudgetPeriodSpan {
  from: number;
  until: number;
  /** The day (`YYYY-MM-DD`) or the month (`YYYY-MM`). */
  key: string;
}

/** The last period asked for, per kind: every paid request asks, and a day is the same all day. */
const lastPeriod = new Map<BudgetPeriod, BudgetPeriodSpan>();

/** The day or month holding `now`, in the machine's local time (a "day" is the user's day). */
export function budgetPeriodOf(period: BudgetPeriod, now: number): BudgetPeriodSpan {
  const last = lastPeriod.get(period);
  if (last && now >= last.from && now < last.until) return last;
  const date = new Date(now);
  const [year, month, day] = [date.getFullYear(), date.getMonth(), date.getDate()];
  const monthKey = `${year}-${String(month + 1).padStart(2, '0')}`;
  const span =
    period === 'daily'
      ? {
          from: new Date(year, month, day).getTime(),
          until: new Date(year, month, day + 1).getTime(),
          key: `${monthKey}-${String(day).padStart(2, '0')}`,
        }
      : { from: new Date(year, month, 1).getTime(), until: new Date(year, month + 1, 1).getTime(), key: monthKey };
  lastPeriod.set(period, span);
  return span;
}

/** The name of the budget period holding `now`: what its counters are keyed by. */
export function budgetPeriodKey(period: BudgetPeriod, now: number): string {
  return budgetPeriodOf(period, now).key;
}

/** How long a period's counters outlive it in the routing state. */
export const PERIOD_TTL_MS: Record<BudgetPeriod, number> = { daily: 2 * 86_400_000, monthly: 32 * 86_400_000 };

/**
 * Daily and monthly budgets, global and per provider (the user's local calendar days and months, as
 * the store counts them). Spending on record when a period is first looked at comes from the
 * SpendHistory, so a restart does not reset a budget. Each paid
 * request reserves its estimated cost before it is sent, so concurrent requests cannot together slip
 * past a limit: a budget is overshot by at most what one request costs beyond its estimate.
 */
export class BudgetGuard {
  private readonly state: RoutingState;
  private readonly clock: Clock;
  config: BudgetConfig;
  private readonly onAlert: (alert: BudgetAlert) => void;
  private readonly history?: SpendHistory;

  constructor(
    state: RoutingState,
    clock: Clock,
    config: BudgetConfig,
    onAlert: (alert: BudgetAlert) => void,
    history?: SpendHistory,
  ) {
    this.state = state;
    this.clock = clock;
    this.config = config;
    this.onAlert = onAlert;
    this.history = history;
  }

  private periodKey(period: BudgetPeriod): string {
    return budgetPeriodKey(period, this.clock.now());
  }

  /** The (scope, period, limit) triples that apply to a provider's spending. */
  private *limits(providerId: string): Generator<[scope: string, period: BudgetPeriod, limit: number]> {
    const scopes: [string, BudgetLimits | undefined][] = [
      ['global', this.config.global],
      [providerId, this.config.providers[providerId]],
    ];
    for (const [scope, limits] of scopes) {
      for (const period of PERIODS) {
        const limit = limits?.[period];
        if (limit !== undefined) yield [scope, period, limit];
      }
    }
  }

  /** Every spend counter a call on this provider adds to: the global one and the provider's, each period. */
  private *spendCounters(providerId: string): Generator<[scope: string, period: BudgetPeriod]> {
    for (const period of PERIODS) for (const scope of ['global', providerId]) yield [scope, period];
  }

  private spentKey(scope: string, period: BudgetPeriod): string {
    return `spend:${scope}:${period}:${this.periodKey(period)}`;
  }

  private heldKey(scope: string, period: BudgetPeriod): string {
    return `hold:${scope}:${period}:${this.periodKey(period)}`;
  }

  private spent(scope: string, period: BudgetPeriod): number {
    return spentOrSeeded(
      this.state,
      this.spentKey(scope, period),
      () => this.history?.spend(period, scope === 'global' ? undefined : scope, this.clock.now()) ?? 0,
      PERIOD_TTL_MS[period],
    );
  }

  private reserved(scope: string, period: BudgetPeriod): number {
    return this.state.get<number>('usage', this.heldKey(scope, period)) ?? 0;
  }

  get hasBudgets(): boolean {
    const { global, providers } = this.config;
    return global.daily !== undefined || global.monthly !== undefined || Object.keys(providers).length > 0;
  }

  /** The first budget a call of `costUsd` on this provider would take past its limit, if any. */
  wouldExceed(providerId: string, costUsd: number): BudgetStatus | undefined {
    for (const [scope, period, limit] of this.limits(providerId)) {
      const spent = this.spent(scope, period);
      const reserved = this.reserved(scope, period);
      // A free call never exceeds; a paid one must fit in what is left after calls in flight.
      if (costUsd > 0 && spent + reserved + costUsd > limit) return this.view(scope, period, limit);
    }
    return undefined;
  }

  /** The first budget of this provider's that is used up (spent and held reach its limit), if any. */
  exhausted(providerId: string): BudgetStatus | undefined {
    for (const [scope, period, limit] of this.limits(providerId)) {
      if (this.spent(scope, period) + Math.max(0, this.reserved(scope, period)) >= limit)
        return this.view(scope, period, limit);
    }
    return undefined;
  }

  /**
   * Holds the call's estimated cost on this provider's budgets if it fits in every one, in one atomic
   * step of the state (so concurrent requests, in any instance sharing it, cannot all pass the check
   * before any holds): the reservation, or the first budget it would pass (nothing held then). Under
   * hard_stop local_only a budget already used up refuses even a free call, in the same step.
   */
  reserveWithin(providerId: string, amountUsd: number): Awaitable<Reservation | BudgetStatus> {
    this.primeSpendCounters(providerId);
    const limits = [...this.limits(providerId)];
    const budgets: BudgetCounters[] = limits.map(([scope, period, limit]) => ({
      spent: this.spentKey(scope, period),
      seed: this.spent(scope, period),
      held: this.heldKey(scope, period),
      limit,
      ttlMs: PERIOD_TTL_MS[period],
    }));
    const decide = (refused: number): Reservation | BudgetStatus =>
      refused >= 0
        ? this.view(...limits[refused]!)
        : { keys: amountUsd > 0 ? budgets.map((budget) => budget.held) : [], amountUsd, providerId };
    // local_only: once a budget is used up nothing leaves the machine, free or not — checked in the same step.
    const refused = this.state.reserve('usage', budgets, amountUsd, {
      refuseUsedUp: this.config.hardStop === 'local_only',
    });
    return isPromise(refused) ? refused.then(decide) : decide(refused);
  }

  /**
   * Each counter a call will add to starts from the spending on record now, before the call's own usage
   * row is written (the row goes in before the answer does, so settle would otherwise count the call twice).
   */
  private primeSpendCounters(providerId: string): void {
    for (const [scope, period] of this.spendCounters(providerId)) this.spent(scope, period);
  }

  /** Holds the call's estimated cost on this provider's budgets without checking them (no hard stop). */
  reserve(providerId: string, amountUsd: number): Reservation {
    this.primeSpendCounters(providerId);
    const keys: string[] = [];
    if (amountUsd > 0) {
      for (const [scope, period] of this.limits(providerId)) {
        const key = this.heldKey(scope, period);
        // Held by this process: a shared state lets go of it if the process dies before settling.
        void this.state.incr('usage', key, amountUsd, PERIOD_TTL_MS[period], PER_PROCESS);
        keys.push(key);
      }
    }
    return { keys, amountUsd, providerId };
  }

  /** Releases the hold and books what the call really cost; alerts when a threshold is crossed. */
  settle(reservation: Reservation, costUsd: number): void {
    const release = () => {
      for (const key of reservation.keys) {
        void this.state.incr('usage', key, -reservation.amountUsd, 0, SETTLED_RELEASE);
      }
    };
    if (costUsd <= 0) {
      release();
      return;
    }
    for (const [scope, period] of this.spendCounters(reservation.providerId)) {
      // A period that began since reserve has no counter yet: it starts from the spending on record.
      this.spent(scope, period);
      void this.state.incr('usage', this.spentKey(scope, period), costUsd, PERIOD_TTL_MS[period], SETTLED_SPEND);
    }
    // After the spend is booked: another instance reading in between counts the call twice, never not at all.
    release();
    for (const [scope, period, limit] of this.limits(reservation.providerId)) {
      const spent = this.spent(scope, period);
      const before = spent - costUsd;
      const threshold = this.config.alertThreshold * limit;
      const alert = (level: BudgetAlert['level']) =>
        this.onAlert({ scope, period, limitUsd: limit, spentUsd: spent, level });
      if (before < limit && spent >= limit) alert('exceeded');
      else if (before < threshold && spent >= threshold) alert('threshold');
    }
  }

  private view(scope: string, period: BudgetPeriod, limit: number): BudgetStatus {
    const spent = this.spent(scope, period);
    const reserved = this.reserved(scope, period);
    return {
      scope,
      period,
      limitUsd: limit,
      spentUsd: spent,
      reservedUsd: Math.max(0, reserved),
      remainingUsd: Math.max(0, limit - spent - Math.max(0, reserved)),
      fraction: limit === 0 ? 1 : spent / limit,
      exceeded: spent >= limit,
    };
  }

  status(): BudgetStatus[] {
    const out: BudgetStatus[] = [];
    const scopes: [string, BudgetLimits][] = [['global', this.config.global], ...Object.entries(this.config.providers)];
    for (const [scope, limits] of scopes) {
      for (const period of PERIODS) {
        const limit = limits[period];
        if (limit !== undefined) out.push(this.view(scope, period, limit));
      }
    }
    return out;
  }
}
