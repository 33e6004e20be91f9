import { type Capability, CHAT_CAPABILITIES } from '../contract/capabilities.ts';
import type { ProviderKind } from './provider-config.ts';

/** What Switchboard knows about each vendor, so a config needs only a key to use one. */
export interface VendorDefaults {
  kind: ProviderKind;
  label: string;
  baseUrl?: string;
  defaultModel?: string;
  capabilities: readonly Capability[];
  /** Environment variable holding the API key; absent for keyless vendors. */
  keyEnv?: string;
  /** Environment variable overriding the base URL. */
  baseUrlEnv?: string;
  requiresKey: boolean;
}

const chatAnd = (...extra: Capability[]): Capability[] => [...CHAT_CAPABILITIES, ...extra];

export const VENDORS = {
  local: {
    kind: 'local',
    label: 'Local (llama.cpp + Whisper)',
    capabilities: chatAnd('embedding', 'transcription'),
    requiresKey: false,
  },
  openai: {
    kind: 'openai-compatible',
    label: 'OpenAI',
    baseUrl: 'https://api.openai.com/v1',
    defaultModel: 'gpt-4o-mini',
    capabilities: chatAnd('embedding', 'transcription', 'moderation', 'image_generation', 'audio_generation'),
    keyEnv: 'OPENAI_API_KEY',
    baseUrlEnv: 'OPENAI_BASE_URL',
    requiresKey: true,
  },
  azure: {
    kind: 'openai-compatible',
    label: 'Azure OpenAI',
    defaultModel: 'gpt-4o-mini',
    capabilities: chatAnd('embedding', 'transcription'),
    keyEnv: 'AZURE_OPENAI_API_KEY',
    baseUrlEnv: 'AZURE_OPENAI_ENDPOINT',
    requiresKey: true,
  },
  anthropic: {
    kind: 'anthropic',
    label: 'Anthropic',
    baseUrl: 'https://api.anthropic.com',
    defaultModel: 'claude-3-5-haiku-latest',
    capabilities: CHAT_CAPABILITIES,
    keyEnv: 'ANTHROPIC_API_KEY',
    requiresKey: true,
  },
  gemini: {
    kind: 'gemini',
    label: 'Google Gemini',
    baseUrl: 'https://generativelanguage.googleapis.com',
    defaultModel: 'gemini-2.0-flash',
    capabilities: chatAnd('embedding'),
    keyEnv: 'GEMINI_API_KEY',
    requiresKey: true,
  },
  groq: {
    kind: 'openai-compatible',
    label: 'Groq',
    baseUrl: 'https://api.groq.com/openai/v1',
    defaultModel: 'llama-3.1-8b-instant',
    capabilities: chatAnd('transcription'),
    keyEnv: 'GROQ_API_KEY',
    requiresKey: true,
  },
  together: {
    kind: 'openai-compatible',
    label: 'Together AI',
    baseUrl: 'https://api.together.xyz/v1',
    defaultModel: 'meta-llama/Llama-3.3-70B-Instruct-Turbo',
    capabilities: chatAnd('embedding', 'image_generation'),
    keyEnv: 'TOGETHER_API_KEY',
    requiresKey: true,
  },
  openrouter: {
    kind: 'openai-compatible',
    label: 'OpenRouter',
    baseUrl: 'https://openrouter.ai/api/v1',
    defaultModel: 'openrouter/auto',
    capabilities: CHAT_CAPABILITIES,
    keyEnv: 'OPENROUTER_API_KEY',
    requiresKey: true,
  },
  replicate: {
    kind: 'openai-compatible',
    label: 'Replicate',
    baseUrl: 'https://openai-proxy.replicate.com/v1',
    defaultModel: 'meta/meta-llama-3-8b-instruct',
    capabilities: CHAT_CAPABILITIES,
    keyEnv: 'REPLICATE_API_TOKEN',
    requiresKey: true,
  },
  huggingface: {
    kind: 'openai-compatible',
    label: 'Hugging Face Inference',
    baseUrl: 'https://router.huggingface.co/v1',
    defaultModel: 'meta-llama/Llama-3.1-8B-Instruct',
    capabilities: CHAT_CAPABILITIES,
    keyEnv: 'HUGGINGFACEHUB_API_TOKEN',
    requiresKey: true,
  },
  ollama: {
    kind: 'ollama',
    label: 'Ollama',
    baseUrl: 'http://127.0.0.1:11434',
    defaultModel: 'llama3.2',
    capabilities: chatAnd('embedding'),
    baseUrlEnv: 'OLLAMA_BASE_URL',
    requiresKey: false,
  },
  custom: {
    kind: 'openai-compatible',
    label: 'Custom endpoint',
    capabilities: CHAT_CAPABILITIES,
    keyEnv: 'CUSTOM_PROVIDER_API_KEY',
    baseUrlEnv: 'CUSTOM_PROVIDER_BASE_URL',
    requiresKey: false,
  },
} as const satisfies Record<string, VendorDefaults>;

export type Vendor = keyof typeof VENDORS;
export const VENDOR_NAMES = Object.keys(VENDORS) as Vendor[];

export function isVendor(name: string): name is Vendor {
  return Object.hasOwn(VENDORS, name);
}

/** The seeds' type names that mean a vendor under another name. */
export const VENDOR_ALIASES: Record<string, Vendor> = {
  google: 'gemini',
  azure_openai: 'azure',
  'azure-openai': 'azure',
  hf: 'huggingface',
  huggingface_hub: 'huggingface',
  openai_compatible: 'custom',
  'openai-compatible': 'custom',
  llama_cpp: 'local',
  whisper: 'local',
};

/** The model a vendor transcribes with when the request names none. */
const TRANSCRIPTION_MODELS: Partial<Record<Vendor, string>> = {
  openai: 'whisper-1',
  azure: 'whisper',
  groq: 'whisper-large-v3-turbo',
};

export function transcriptionModelOf(vendor: Vendor): string | undefined {
  return TRANSCRIPTION_MODELS[vendor];
}

/** The model a vendor embeds with when neither the request nor the provider's models name one. */
const EMBEDDING_MODELS: Partial<Record<Vendor, string>> = {
  openai: 'text-embedding-3-small',
  azure: 'text-embedding-3-small',
  gemini: 'text-embedding-004',
  ollama: 'nomic-embed-text',
};

export function embeddingModelOf(vendor: Vendor): string | undefined {
  return EMBEDDING_MODELS[vendor];
}

export function resolveVendor(type: string): Vendor | undefined {
  const name = type.trim().toLowerCase();
  if (isVendor(name)) return name;
  return VENDOR_ALIASES[name];
}
