import type { PriceBook } from '../accounting/prices.ts';
import { NO_HOLD, refuse, type Stage } from './stage.ts';

/**
 * Context-window fallback as a pipeline stage: a model whose known window cannot hold the prompt is
 * not called, and once a model said the prompt is too long, only models with larger windows are tried.
 */
export function contextWindowStage(prices: PriceBook): Stage {
  return {
    name: 'context window',
    applies: (_provider, kind) => kind === 'chat',
    enter(attempt) {
      const { candidate, scope } = attempt;
      const window = prices.contextWindow(candidate.provider, candidate.model);
      if (window === undefined) return NO_HOLD;
      const needed = scope.request.estimatedInputTokens;
      if (needed > window || window <= scope.minContextWindow) {
        return refuse(
          'CONTEXT_TOO_LONG',
          `${candidate.model} holds ${window} tokens; the prompt needs about ${needed}`,
        );
      }
      return {
        leave(outcome) {
          if (outcome.type === 'failure' && outcome.errorClass === 'context_overflow')
            scope.minContextWindow = Math.max(scope.minContextWindow, window);
        },
      };
    },
  };
}
