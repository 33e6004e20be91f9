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
