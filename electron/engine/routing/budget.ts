import type { BudgetGuard, BudgetStatus, Reservation } from '../accounting/budget.ts';
import type { PriceBook } from '../accounting/prices.ts';
import { SwitchboardError } from '../contract/errors.ts';
import { isPromise } from '../core/state.ts';
import { type Entry, refuse, type Stage } from './stage.ts';
import type { Candidate, RoutingRequest } from './types.ts';

export interface BudgetStageParts {
  guard: BudgetGuard;
  prices: PriceBook;
  /** Output tokens assumed when the request sets no maximum. */
  expectedOutputTokens: number;
}

/**
 * Budgets as a pipeline stage. With a hard stop, a candidate whose estimated cost would take a budget
 * past its limit is not tried: `refuse` lets any candidate that fits (a free or local provider further
 * down the plan answers), `local_only` lets only providers on this machine answer once a budget would
 * be passed; when nothing is left the request fails with BUDGET_EXCEEDED (402). Each paid attempt
 * checks its estimated cost against the budgets and holds it in one atomic step of the routing state
 * (so concurrent requests, in this process or any sharing the state, cannot together slip past a
 * limit) and settles it with what the answer really cost.
 */
export function budgetStage({ guard, prices, expectedOutputTokens }: BudgetStageParts): Stage {
  const estimate = (candidate: Candidate, request: RoutingRequest) =>
    prices.estimate(
      candidate.provider,
      candidate.model,
      request.estimatedInputTokens,
      request.maxOutputTokens ?? expectedOutputTokens,
    ) ?? 0;

  /** The hard stop checks this candidate's budgets (a provider on this machine is free of them under local_only). */
  const enforced = (candidate: Candidate): boolean => {
    const { hardStop } = guard.config;
    return hardStop !== 'off' && guard.hasBudgets && !(hardStop === 'local_only' && candidate.provider.onMachine);
  };

  /** The error of a candidate refused by a budget. */
  const refusal = (candidate: Candidate, cost: number, over: BudgetStatus): SwitchboardError => {
    const { provider } = candidate;
    const scope = over.scope === 'global' ? 'the' : `${provider.label}'s`;
    const budget = `${scope} ${over.period} budget of $${over.limitUsd.toFixed(2)}`;
    const state = over.exceeded
      ? `${budget} is spent ($${over.spentUsd.toFixed(4)} used)`
      : `this request (about $${cost.toFixed(4)}) would take ${budget} past its limit ($${over.spentUsd.toFixed(4)} used, $${over.reservedUsd.toFixed(4)} held for requests in flight)`;
    const elsewhere =
      guard.config.hardStop === 'local_only'
        ? 'no provider on this machine can take it'
        : 'no free or local provider can take it';
    return new SwitchboardError(
      'BUDGET_EXCEEDED',
      `${state}, and ${elsewhere}: raise the budget in Settings, wait for the next ${over.period === 'daily' ? 'day' : 'month'}, or use a local model`,
      { providerId: provider.id, retryable: false },
    );
  };

  /**
   * The budget a candidate may not take the request under, from what this process knows now (planning:
   * the atomic check is the reservation on entry). local_only: once a budget is used up, nothing leaves
   * this machine, free or not.
   */
  const overBudget = (candidate: Candidate, request: RoutingRequest): SwitchboardError | undefined => {
    if (!enforced(candidate)) return undefined;
    const cost = estimate(candidate, request);
    const id = candidate.provider.id;
    const over =
      guard.wouldExceed(id, cost) ?? (guard.config.hardStop === 'local_only' ? guard.exhausted(id) : undefined);
    return over && refusal(candidate, cost, over);
  };

  return {
    name: 'budget',
    // It reads nothing the rate limit sets: its hold goes with the rate limit's admission (one round trip).
    concurrent: true,
    // Nothing on the built-in local provider costs money.
    applies: (provider) => provider.kind !== 'local',

    filter(scope, candidates) {
      if (guard.config.hardStop === 'off' || !guard.hasBudgets) return candidates;
      let first: SwitchboardError | undefined;
      const kept = candidates.filter((c) => {
        const error = overBudget(c, scope.request);
        first ??= error;
        return !error;
      });
      if (kept.length === 0 && first) throw first;
      return kept;
    },

    enter(attempt) {
      const { candidate, scope } = attempt;
      const id = candidate.provider.id;
      const cost = estimate(candidate, scope.request);
      const hold = (reservation: Reservation): Entry => ({ leave: () => guard.settle(reservation, attempt.costUsd) });
      if (!enforced(candidate)) return hold(guard.reserve(id, cost));
      // Checked and held in one step (under local_only, "is a budget used up?" too): other requests, here
      // or in other instances, may have spent meanwhile.
      const held = guard.reserveWithin(id, cost);
      const admit = (result: Reservation | BudgetStatus): Entry =>
        'keys' in result ? hold(result) : refuse('BUDGET_EXCEEDED', refusal(candidate, cost, result).detail);
      return isPromise(held) ? held.then(admit) : admit(held);
    },
  };
}
