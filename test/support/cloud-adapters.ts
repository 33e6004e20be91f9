import type { EngineProvider } from '../../electron/engine/config/types.ts';
import { SwitchboardError } from '../../electron/engine/contract/errors.ts';
import { createAdapter } from '../../electron/engine/providers/create-adapter.ts';
import type { ProviderAdapter } from '../../electron/engine/providers/types.ts';

/**
 * The Engine's adapter factory for tests about cloud providers: the real adapters, and for the local
 * provider (disabled in such tests: the local runtimes are other suites' business) one that says so.
 */
export function cloudAdapters(provider: EngineProvider): ProviderAdapter {
  return createAdapter(provider, {
    local: (config) => ({
      config,
      chat: () => {
        throw new SwitchboardError('NOT_SUPPORTED', 'no local runtime in this test');
      },
      listModels: async () => [],
    }),
  });
}
