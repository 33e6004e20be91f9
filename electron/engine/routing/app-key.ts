import { type BudgetPeriod, budgetPeriodKey, PERIOD_TTL_MS } from '../accounting/budget.ts';
import type { PriceBook } from '../accounting/prices.ts';
import type { AppKey } from '../contract/api.ts';
import { describeDuration, SwitchboardError } from '../contract/errors.ts';
import type { Clock } from '../core/clock.ts';
import {
  type BudgetCounters,
  isPromise,
  type RoutingState,
  SETTLED_RELEASE,
  SETTLED_SPEND,
  spentOrSeeded,
} from '../core/state.ts';
import type { RateLimiter } from './limiter.ts';
import { NO_HOLD, type RequestScope, refuse, type Stage } from './stage.ts';
import type { Candidate } from './types.ts';

/** What an app key has spent so far (the store), so its budgets hold across restarts. */
export interface AppKeySpendHistory {
  appKeySpend(period: BudgetPeriod, appKeyId: string, now: number): number;
}

export interface AppKeyStageParts {
  state: RoutingState;
  clock: Clock;
  limiter: RateLimiter;
  prices: PriceBook;
  /** Output tokens assumed when the request sets no maximum. */
  expectedOutputTokens: number;
  history?: AppKeySpendHistory;
}

function budgetsOf(key: AppKey): [BudgetPeriod, number][] {
  const budgets: [BudgetPeriod, number][] = [];
  if (key.dailyBudgetUsd !== undefined) budgets.push(['daily', key.dailyBudgetUsd]);
  if (key.monthlyBudgetUsd !== undefined) budgets.push(['monthly', key.monthlyBudgetUsd]);
  return budgets;
}

/** Whether a key limited to `models` may use a candidate: by `provider/model` or by the bare model id. */
function allowed(key: AppKey, candidate: Candidate): boolean {
  const models = key.models;
  return !models || models.includes(candidate.model) || models.includes(`${candidate.provider.id}/${candidate.model}`);
}

/**
 * A per-app key's own limits, as a stage: its models (a filter: any other model is 403), its requests
 * and tokens per minute (429 with Retry-After, counted once per request whatever the fallbacks), and
 * its daily and monthly budgets (402; a free or local model still answers). Windows and spend live in
 * the routing state, so instances sharing a Redis share each key's limits too.
 */
export function appKeyStage(parts: AppKeyStageParts): Stage {
  const { state, clock, limiter, prices, expectedOutputTokens, history } = parts;
  /** Requests already admitted into their key's windows (a fallback attempt is the same request). */
  const admitted = new WeakSet<RequestScope>();

  const spendKey = (key: AppKey, period: BudgetPeriod) =>
    `spend:key:${key.id}:${period}:${budgetPeriodKey(period, clock.now())}`;

  const spent = (key: AppKey, period: BudgetPeriod): number =>
    spentOrSeeded(
      state,
      spendKey(key, period),
      () => history?.appKeySpend(period, key.id, clock.now()) ?? 0,
      PERIOD_TTL_MS[period],
    );

  const heldKey = (key: AppKey, period: BudgetPeriod) =>
    `hold:key:${key.id}:${period}:${budgetPeriodKey(period, clock.now())}`;

  /**
   * Holds the request's estimated cost on the key's budgets if it fits in all of them, in one atomic
   * step of the state (concurrent requests on one key, in any instance, cannot all pass the check
   * before any holds): the counters held, or the error of the first budget it would pass.
   */
  const reserve = async (key: AppKey, cost: number): Promise<string[] | SwitchboardError> => {
    const budgets: BudgetCounters[] = budgetsOf(key).map(([period, limit]) => ({
      spent: spendKey(key, period),
      seed: spent(key, period),
      held: heldKey(key, period),
      limit,
      ttlMs: PERIOD_TTL_MS[period],
    }));
    const answer = state.reserve('usage', budgets, cost);
    const refused = isPromise(answer) ? await answer : answer;
    if (refused < 0) return cost > 0 ? budgets.map((budget) => budget.held) : [];
    const [period, limit] = budgetsOf(key)[refused]!;
    const used = spent(key, period);
    const held = state.get<number>('usage', heldKey(key, period)) ?? 0;
    return new SwitchboardError(
      'BUDGET_EXCEEDED',
      `app key "${key.name}" has a ${period} budget of $${limit.toFixed(2)} ($${used.toFixed(4)} used, $${Math.max(0, held).toFixed(4)} held for requests in flight; this request about $${cost.toFixed(4)}): raise it with \`switchboard keys\`, wait for the next ${period === 'daily' ? 'day' : 'month'}, or use a free or local model`,
      { retryable: false },
    );
  };

  const admit = async (key: AppKey, tokens: number): Promise<void> => {
    const windows: [string, number, number | undefined][] = [
      ['requests', 1, key.rpm],
      ['tokens', tokens, key.tpm],
    ];
    for (const [what, cost, limit] of windows) {
      if (!limit) continue;
      const wait = await limiter.admitWindow(`app-${what}:${key.id}`, cost, limit);
      if (wait > 0) {
        throw new SwitchboardError(
          'RATE_LIMITED',
          `app key "${key.name}" may send ${limit} ${what} a minute: try again in ${describeDuration(wait)}`,
          { retryAfterMs: wait, retryable: false },
        );
      }
    }
  };

  return {
    name: 'app-key',
    applies: () => true,

    filter(scope, candidates) {
      const key = scope.request.appKey;
      if (!key?.models) return candidates;
      const kept = candidates.filter((candidate) => allowed(key, candidate));
      if (kept.length === 0) {
        const asked = scope.request.model ?? candidates[0]?.model ?? 'the default model';
        throw new SwitchboardError(
          'KEY_NOT_ALLOWED',
          `app key "${key.name}" may not use ${asked}: it may use ${key.models.join(', ')}`,
          { retryable: false },
        );
      }
      return kept;
    },

    async enter(attempt) {
      const key = attempt.scope.request.appKey;
      if (!key) return NO_HOLD;
      if (!admitted.has(attempt.scope)) {
        await admit(key, attempt.estimatedTokens);
        admitted.add(attempt.scope);
      }
      const budgets = budgetsOf(key);
      if (budgets.length === 0) return NO_HOLD;
      const { candidate, scope } = attempt;
      const cost =
        prices.estimate(
          candidate.provider,
          candidate.model,
          scope.request.estimatedInputTokens,
          scope.request.maxOutputTokens ?? expectedOutputTokens,
        ) ?? 0;
      // Refused, not thrown: a free or local candidate further down the plan may still answer.
      const held = await reserve(key, cost);
      if (held instanceof SwitchboardError) return refuse(held.code, held.detail);
      return {
        leave: () => {
          if (attempt.costUsd > 0) {
            for (const [period] of budgets) {
              spent(key, period);
              void state.incr('usage', spendKey(key, period), attempt.costUsd, PERIOD_TTL_MS[period], SETTLED_SPEND);
            }
          }
          // After the spend is booked: another instance reading in between counts the call twice, never not at all.
          for (const counter of held) void state.incr('usage', counter, -cost, 0, SETTLED_RELEASE);
        },
      };
    },
  };
}
