import type { EngineConfig, EngineProvider } from '../config/types.ts';
import type { Capability } from '../contract/capabilities.ts';

/** Whether the global switches let a request reach this provider (cloud fallback, local-only mode). */
export function mayReach(config: EngineConfig, provider: EngineProvider): boolean {
  return config.localOnly ? provider.kind === 'local' : config.cloudFallback || provider.onMachine;
}

/**
 * The one test of whether routing may send work to a provider: switched on, allowed by the cloud and
 * local-only switches, built in this process (`adapters`, where the caller has them) and, when asked,
 * offering `capability`. Candidates, health checks, the provider views and the reports all ask this.
 */
export function isUsable(
  config: EngineConfig,
  provider: EngineProvider,
  adapters?: { has(id: string): boolean },
  capability?: Capability,
): boolean {
  return (
    provider.enabled &&
    mayReach(config, provider) &&
    (adapters === undefined || adapters.has(provider.id)) &&
    (capability === undefined || provider.capabilities.includes(capability))
  );
}
