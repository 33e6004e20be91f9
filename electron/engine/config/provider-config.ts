import type { Capability } from '../contract/capabilities.ts';

/** The wire protocols Switchboard speaks; one adapter each. Providers are data over these. */
export type ProviderKind = 'openai-compatible' | 'anthropic' | 'gemini' | 'ollama' | 'local';

export interface ProviderLimits {
  /** Requests per minute, per key. */
  rpm?: number;
  /** Tokens per minute, per key. */
  tpm?: number;
  /** Requests in flight at once, for the whole provider. */
  concurrency?: number;
  /** What to do when a limit is reached: wait briefly for capacity, or move on to the next candidate. */
  onLimit: 'queue' | 'skip';
  /** Longest wait in the queue before moving on. */
  maxQueueMs: number;
}

export interface RetryPolicy {
  /** Total attempts on one provider, the first included. */
  attempts: number;
  /** Exponential backoff base in seconds: wait = backoffFactor × 2^(attempt-1), with jitter. */
  backoffFactor: number;
}

/** Per-million-token prices that override @pydantic/genai-prices for a provider or model. */
export interface PriceOverride {
  inputPerMTok: number;
  outputPerMTok: number;
}

/** One configured provider, validated and normalised: what every layer below config sees. */
export interface ProviderConfig {
  id: string;
  kind: ProviderKind;
  /** The vendor it talks to, for prices and display: openai, azure, groq, together, openrouter, ollama, … */
  vendor: string;
  label: string;
  baseUrl?: string;
  /** API keys in rotation. Held in memory only; never logged or sent to the renderer. */
  keys: string[];
  models: string[];
  defaultModel?: string;
  capabilities: Capability[];
  priority: number;
  weight: number;
  enabled: boolean;
  limits: ProviderLimits;
  retry: RetryPolicy;
  timeoutMs: number;
  /** Time allowed for the first token of a stream before the attempt counts as timed out. */
  firstTokenTimeoutMs: number;
  prices: Record<string, PriceOverride>;
  /** Extra HTTP headers sent with every request (e.g. OpenRouter's HTTP-Referer). */
  headers: Record<string, string>;
  /** Azure OpenAI: api-version and model → deployment names. */
  azure?: { apiVersion: string; deployments: Record<string, string> };
  /** Known context windows (tokens) per model, for context-window fallback. */
  contextWindows: Record<string, number>;
  /** Health check interval; 0 turns scheduled checks off. */
  healthCheckIntervalMs: number;
}
