import type { z } from 'zod';
import type { AppKey, apiInputs, IssuedAppKey } from '../contract/api.ts';
import type { Store } from '../store/store.ts';

type Input<M extends keyof typeof apiInputs> = z.output<(typeof apiInputs)[M]>;

export interface AppKeysApiDeps {
  store: Pick<Store, 'appKeys' | 'usage'>;
}

/** Handlers for keys.* (contract/api.ts): the app's page for per-app keys, as `switchboard keys` does it. */
export function createAppKeysHandlers({ store }: AppKeysApiDeps) {
  return {
    'keys.list': async (): Promise<AppKey[]> => {
      const lastUsed = store.usage.appKeysLastUsed();
      return store.appKeys.list().map((key) => {
        const lastUsedAt = lastUsed.get(key.id);
        return lastUsedAt === undefined ? key : { ...key, lastUsedAt };
      });
    },
    'keys.create': async (input: Input<'keys.create'>): Promise<IssuedAppKey> => store.appKeys.create(input),
    'keys.revoke': async (input: Input<'keys.revoke'>): Promise<AppKey> => store.appKeys.revoke(input.id),
    'keys.rotate': async (input: Input<'keys.rotate'>): Promise<IssuedAppKey> => store.appKeys.rotate(input.id),
  };
}
