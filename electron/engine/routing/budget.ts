import type { BudgetGuard, Reservation } from '../accounting/budget.ts';
import type { PriceBook } from '../accounting/prices.ts';
import { SwitchboardError } from '../contract/errors.ts';
import { type Entry, refuse, type Stage } from './stage.ts';
import { isPromise } from './state.ts';
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
 * reserves its estimated cost (so concurrent requests cannot together slip past a limit) and settles
 * it with what the answer really cost.
 */
export function budgetStage({ guard, prices, expectedOutputTokens }: BudgetStageParts): Stage {
  const estimate = (candidate: Candidate, request: RoutingRequest) =>
    prices.estimate(
      candidate.provider,
      candidate.model,
      request.estimatedInputTokens,
      request.maxOutputTokens ?? expectedOutputTokens,
    ) ?? 0;

  /** Why a candidate may not take the request under the hard stop, if it may not. */
  const overBudget = (candidate: Candidate, request: RoutingRequest): SwitchboardError | undefined => {
    const { hardStop } = guard.config;
    if (hardStop === 'off' || candidate.provider.kind === 'local') return undefined;
    const { provider } = candidate;
    const cost = estimate(candidate, request);
    // local_only: once a budget is used up or would be passed, nothing leaves this machine, free or not.
    const over =
      hardStop === 'local_only'
        ? provider.onMachine
          ? undefined
          : (guard.wouldExceed(provider.id, cost) ?? guard.exhausted(provider.id))
        : guard.wouldExceed(provider.id, cost);
    if (!over) return undefined;
    const scope = over.scope === 'global' ? 'the' : `${provider.label}'s`;
    const budget = `${scope} ${over.period} budget of $${over.limitUsd.toFixed(2)}`;
    const state = over.exceeded
      ? `${budget} is spent ($${over.spentUsd.toFixed(4)} used)`
      : `this request (about $${cost.toFixed(4)}) would take ${budget} past its limit ($${over.spentUsd.toFixed(4)} used, $${over.reservedUsd.toFixed(4)} held for requests in flight)`;
    const elsewhere =
      hardStop === 'local_only' ? 'no provider on this machine can take it' : 'no free or local provider can take it';
    return new SwitchboardError(
      'BUDGET_EXCEEDED',
      `${state}, and ${elsewhere}: raise the budget in Settings, wait for the next ${over.period === 'daily' ? 'day' : 'month'}, or use a local model`,
      { providerId: provider.id, retryable: false },
    );
  };

  return {
    name: 'budget',
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
      const admit = (): Entry => {
        // Checked again right before the call: other requests may have spent meanwhile.
        const error = guard.hasBudgets ? overBudget(candidate, scope.request) : undefined;
        if (error) return refuse(error.code, error.detail);
        const reservation: Reservation = guard.reserve(candidate.provider.id, estimate(candidate, scope.request));
        return { leave: () => guard.settle(reservation, attempt.costUsd) };
      };
      if (guard.config.hardStop === 'off' || !guard.hasBudgets) return admit();
      // Other instances sharing the state may have spent a moment ago: read their spend, then decide.
      const fresh = guard.refresh(candidate.provider.id);
      return isPromise(fresh) ? fresh.then(admit) : admit();
    },
  };
}
