import type { BudgetGuard, Reservation } from '../accounting/budget.ts';
import type { PriceBook } from '../accounting/prices.ts';
import { SwitchboardError } from '../contract/errors.ts';
import { refuse, type Stage } from './stage.ts';
import type { Candidate, RoutingRequest } from './types.ts';

export interface BudgetStageParts {
  guard: BudgetGuard;
  prices: PriceBook;
  /** Output tokens assumed when the request sets no maximum. */
  expectedOutputTokens: number;
}

/**
 * Budgets as a pipeline stage. Before any attempt, a hard stop narrows the plan to the candidates that
 * fit the budget; each paid attempt then reserves its estimated cost (so concurrent requests cannot
 * together slip past a limit) and settles it with what the answer really cost.
 */
export function budgetStage({ guard, prices, expectedOutputTokens }: BudgetStageParts): Stage {
  const estimate = (candidate: Candidate, request: RoutingRequest) =>
    prices.estimate(
      candidate.provider,
      candidate.model,
      request.estimatedInputTokens,
      request.maxOutputTokens ?? expectedOutputTokens,
    ) ?? 0;

  const overBudget = (candidate: Candidate, request: RoutingRequest): SwitchboardError | undefined => {
    const cost = estimate(candidate, request);
    const over = guard.wouldExceed(candidate.provider.id, cost);
    if (!over) return undefined;
    const scope = over.scope === 'global' ? 'the' : `${candidate.provider.label}'s`;
    return new SwitchboardError(
      'BUDGET_EXCEEDED',
      `${scope} ${over.period} budget of $${over.limitUsd.toFixed(2)} is spent ($${over.spentUsd.toFixed(4)} used, $${over.reservedUsd.toFixed(4)} in flight) and this request would cost about $${cost.toFixed(4)}: raise the budget in Settings, wait for the next ${over.period === 'daily' ? 'day' : 'month'}, or use a local model`,
      { providerId: candidate.provider.id, retryable: false },
    );
  };

  return {
    name: 'budget',
    // Nothing on the built-in local provider costs money.
    applies: (provider) => provider.kind !== 'local',

    /**
     * `refuse` fails the request when its first choice would overspend; `local_only` keeps only
     * candidates that cost nothing (local, or free) once paid ones would overspend.
     */
    filter(scope, candidates) {
      const { hardStop } = guard.config;
      if (hardStop === 'off' || !guard.hasBudgets) return candidates;
      const first = candidates[0];
      if (hardStop === 'refuse' && first && first.provider.kind !== 'local') {
        const error = overBudget(first, scope.request);
        if (error) throw error;
      }
      const kept = candidates.filter((c) => c.provider.kind === 'local' || !overBudget(c, scope.request));
      if (kept.length === 0) {
        const error = overBudget(candidates[0]!, scope.request)!;
        throw new SwitchboardError('BUDGET_EXCEEDED', `${error.detail} (no local or free provider can take it)`, {
          providerId: error.providerId,
          retryable: false,
        });
      }
      return kept;
    },

    enter(attempt) {
      const { candidate, scope } = attempt;
      const { hardStop } = guard.config;
      // Checked again right before the call: other requests may have spent meanwhile.
      const error = hardStop === 'off' ? undefined : overBudget(candidate, scope.request);
      if (error) {
        if (hardStop === 'refuse') throw error;
        return refuse(error.code, error.detail);
      }
      const reservation: Reservation = guard.reserve(candidate.provider.id, estimate(candidate, scope.request));
      return { leave: () => guard.settle(reservation, attempt.costUsd) };
    },
  };
}
