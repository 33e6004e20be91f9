import type { ModelOptions } from '../contract/api.ts';
import type { Capability } from '../contract/capabilities.ts';
import type { OperationalEventName } from '../contract/operations.ts';
import type { ProviderConfig } from './provider-config.ts';
import type { StrategyName } from './schema.ts';
import type { Vendor } from './vendors.ts';

export interface ProfileConfig {
  name: string;
  strategy?: StrategyName;
  /** The first provider to try. */
  provider?: string;
  model?: string;
  /** Tried in order after `provider` fails. */
  fallbackProviders: string[];
  capability?: Capability;
  description?: string;
}

/** How large a request body the local API reads, by kind of endpoint. */
export interface BodyLimits {
  /** JSON endpoints: chats, embeddings, the app API. */
  jsonBytes: number;
  /** Audio uploads (multipart): transcriptions and meeting imports. */
  uploadBytes: number;
}

export interface BudgetLimits {
  daily?: number;
  monthly?: number;
}

export interface BudgetConfig {
  global: BudgetLimits;
  providers: Record<string, BudgetLimits>;
  /** Fraction of a budget at which an alert fires. */
  alertThreshold: number;
  /** What happens when a budget is spent: nothing, only local/free providers, or refuse. */
  hardStop: 'off' | 'local_only' | 'refuse';
}

export type Quantization = '4bit' | '8bit' | '16bit';
export type LocalDevice = 'auto' | 'cpu' | 'cuda' | 'vulkan' | 'metal';

export interface LocalSettings {
  enabled: boolean;
  priority: number;
  llmModel?: string;
  whisperModel?: string;
  embeddingModel?: string;
  quantization: Quantization;
  device: LocalDevice;
  idleUnloadMs: number;
}

/** A provider's circuit breaker, and who stands by when it is the one named (failover: in providers.yaml). */
export interface FailoverSettings {
  /** Consecutive failures that open the breaker. */
  maxFailures: number;
  /** Failure share (0..1) inside the window that opens it, once the window holds `minRequests`. */
  failureRate: number;
  minRequests: number;
  windowMs: number;
  /** How long an open breaker lets nothing through before one probe. */
  recoveryMs: number;
  /** Providers tried after this one when a request names it (`provider/model`), before the model's others. */
  fallbackProviders: string[];
}

export interface EngineProvider extends ProviderConfig {
  vendor: Vendor;
  /** True when requests to it never leave this machine (local runtimes, Ollama on loopback). */
  onMachine: boolean;
  /** Where the provider's settings came from, for `providers list`. */
  source: string;
  failover: FailoverSettings;
  /** Upstream statuses worth a retry on this provider; absent: retry what is transient (429 with a wait, 5xx). */
  retryOnStatus?: number[];
}

export interface AlertSettings {
  /** A secret (Slack's webhook URLs are): never logged or shown. */
  webhookUrl: string;
  /** Absent: every event. */
  events?: OperationalEventName[];
  format: 'json' | 'slack';
}

/** The whole, validated configuration the engine runs on. */
export interface EngineConfig {
  /** The global switch: false means no request leaves the machine, whatever else is configured. */
  cloudFallback: boolean;
  /**
   * Consent for meetings: meeting audio and meeting text (transcripts sent for summaries) go to a cloud
   * provider only when this is on, whatever cloudFallback says for chat. Off by default.
   */
  meetingsCloud: boolean;
  /** Stricter still: only the built-in local runtimes answer (not Ollama or other endpoints on the machine). */
  localOnly: boolean;
  /** Whether failures move to the next candidate at all. */
  fallbackEnabled: boolean;
  /** The last step of every chat chain: a built-in answer saying no model could answer, and how to get one. */
  fallbackResponder: boolean;
  /** Upstream statuses that move a request to the next candidate; absent: every failure but the client's own. */
  fallbackOnStatus?: number[];
  strategy: StrategyName;
  forceProvider?: string;
  providers: EngineProvider[];
  profiles: Record<string, ProfileConfig>;
  budgets: BudgetConfig;
  sticky: { rotationWindowMs: number };
  local: LocalSettings;
  /** Where operational events are posted; absent: nowhere (they are still logged and streamed). */
  alerts?: AlertSettings;
  /** A Redis every instance shares routing state through (read at start; a change needs a restart). */
  state: { redisUrl?: string };
  /** The largest request bodies the local API reads (read at each request: a change applies at once). */
  bodyLimits: BodyLimits;
  /**
   * How long the local API's event loop keeps turning after a request arrives or ends while it is the only
   * one in flight, instead of sleeping until the next step (server/busy-poll.ts); 0: off. Read at each request.
   */
  busyPollMs: number;
  /** Settings per model, keyed `provider/model`. */
  modelOptions?: Record<string, ModelOptions>;
}
