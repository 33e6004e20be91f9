import type { z } from 'zod';
import type { apiInputs, UsageView } from '../contract/api.ts';
import type { RoutingService } from '../routing/router.ts';

type Input<M extends keyof typeof apiInputs> = z.output<(typeof apiInputs)[M]>;

export interface UsageApiDeps {
  routing: Pick<RoutingService, 'usageView' | 'clock'>;
}

/** How far back the usage pane looks when it does not say: two days of hours, or thirty days. */
const DEFAULT_SPAN_MS = { hour: 2 * 86_400_000, day: 30 * 86_400_000 } as const;

/** Handler for usage.get (contract/api.ts): requests, errors, spend and tokens over time, shares, budgets. */
export function createUsageHandlers({ routing }: UsageApiDeps) {
  return {
    'usage.get': async (input: Input<'usage.get'>): Promise<UsageView> => {
      const bucket = input.bucket ?? 'day';
      return routing.usageView(input.sinceMs ?? routing.clock.now() - DEFAULT_SPAN_MS[bucket], bucket);
    },
  };
}
