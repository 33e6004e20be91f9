import { SwitchboardError } from '../contract/errors.ts';
import { createAnthropicAdapter } from './anthropic/adapter.ts';
import { createGeminiAdapter } from './gemini/adapter.ts';
import { createOllamaAdapter } from './ollama/adapter.ts';
import { createOpenAICompatibleAdapter } from './openai-compatible/adapter.ts';
import type { ProviderAdapter, ProviderConfig } from './types.ts';

export interface CreateAdapterOptions {
  /** Builds adapters of kind 'local', which live over native runtimes this module does not load. */
  local?: (config: ProviderConfig) => ProviderAdapter;
}

/** The adapter for a provider's wire protocol. */
export function createAdapter(config: ProviderConfig, options: CreateAdapterOptions = {}): ProviderAdapter {
  switch (config.kind) {
    case 'openai-compatible':
      return createOpenAICompatibleAdapter(config);
    case 'anthropic':
      return createAnthropicAdapter(config);
    case 'gemini':
      return createGeminiAdapter(config);
    case 'ollama':
      return createOllamaAdapter(config);
    case 'local':
      if (options.local) return options.local(config);
      throw new SwitchboardError(
        'NOT_SUPPORTED',
        `provider "${config.id}" is local: its adapter comes from the local runtime (pass createAdapter's \`local\` option), not from the cloud adapters`,
        { providerId: config.id },
      );
  }
}

/**
 * Whether two settings of a provider build the same adapter: only what the adapter talks with (where,
 * with which keys and headers, as whom) counts. Routing policy (enabled, priority, weight, limits,
 * retries, timeouts, prices, models) is read from the configuration at each request, so changing it
 * keeps the adapter — and whatever it holds: sockets, a loaded model, a running transcription.
 */
export function sameConnection(a: ProviderConfig, b: ProviderConfig): boolean {
  return (
    a.id === b.id &&
    a.kind === b.kind &&
    a.vendor === b.vendor &&
    a.label === b.label &&
    a.baseUrl === b.baseUrl &&
    sameJson(a.keys, b.keys) &&
    sameJson(a.headers, b.headers) &&
    sameJson(a.azure, b.azure) &&
    sameJson(a.contextWindows, b.contextWindows)
  );
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
