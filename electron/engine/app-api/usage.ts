import type { z } from 'zod';
import { API_TOKEN_KEY, API_TOKEN_KEY_NAME } from '../accounting/ledger.ts';
import type { apiInputs, UsageView } from '../contract/api.ts';
import type { Engine } from '../engine.ts';
import type { Store } from '../store/store.ts';

type Input<M extends keyof typeof apiInputs> = z.output<(typeof apiInputs)[M]>;

export interface UsageApiDeps {
  engine: Pick<Engine, 'reports'>;
  store: Pick<Store, 'appKeys'>;
}

/** Handler for usage.get (contract/api.ts): requests, errors, spend and tokens over time, shares, keys, budgets. */
export function createUsageHandlers({ engine, store }: UsageApiDeps) {
  return {
    'usage.get': async (input: Input<'usage.get'>): Promise<UsageView> => {
      // Rows by key carry the key's id; people know keys by the name they gave them.
      const names = new Map(store.appKeys.list().map((key) => [key.id, key.name]));
      const nameOfKey = (keyId: string) => (keyId === API_TOKEN_KEY ? API_TOKEN_KEY_NAME : (names.get(keyId) ?? keyId));
      return engine.reports.usageView(input.sinceMs, input.bucket ?? 'day', nameOfKey);
    },
  };
}
