import type { ProviderConfig } from '../../electron/engine/config/provider-config.ts';
import { CHAT_CAPABILITIES } from '../../electron/engine/contract/capabilities.ts';

/**
 * A provider as the engine sees it after config/normalize.ts, with test-sized timeouts and no limits,
 * retries or health checks; tests and benchmarks override what they are about.
 */
export function providerConfig(
  overrides: Partial<ProviderConfig> & Pick<ProviderConfig, 'kind' | 'vendor' | 'label'>,
): ProviderConfig {
  return {
    id: overrides.vendor,
    keys: [],
    models: [],
    capabilities: [...CHAT_CAPABILITIES],
    priority: 1,
    weight: 1,
    enabled: true,
    limits: { onLimit: 'skip', maxQueueMs: 0 },
    retry: { attempts: 1, backoffFactor: 0 },
    timeoutMs: 5_000,
    firstTokenTimeoutMs: 5_000,
    prices: {},
    headers: {},
    contextWindows: {},
    healthCheckIntervalMs: 0,
    ...overrides,
  };
}
