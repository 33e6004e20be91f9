import type { z } from 'zod';
import type { apiInputs, UsageView } from '../contract/api.ts';
import type { Engine } from '../engine.ts';

type Input<M extends keyof typeof apiInputs> = z.output<(typeof apiInputs)[M]>;

export interface UsageApiDeps {
  engine: Pick<Engine, 'reports'>;
}

/** Handler for usage.get (contract/api.ts): requests, errors, spend and tokens over time, shares, budgets. */
export function createUsageHandlers({ engine }: UsageApiDeps) {
  return {
    'usage.get': async (input: Input<'usage.get'>): Promise<UsageView> => {
      return engine.reports.usageView(input.sinceMs, input.bucket ?? 'day');
    },
  };
}
