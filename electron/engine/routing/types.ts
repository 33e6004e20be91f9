import type { UsageEvent } from '../accounting/types.ts';
import type { EngineConfig, EngineProvider } from '../config/types.ts';
import type { Capability } from '../contract/capabilities.ts';
import type { Usage } from '../contract/chat.ts';
import type { CallContext, ProviderAdapter } from '../providers/types.ts';
import type { ProviderHealth } from './health.ts';

export interface RoutingRequest {
  capability: Capability;
  /** `provider/model`, a bare model id, a profile name, or absent (the profile's or provider's default). */
  model?: string;
  /** A provider the caller insists on (CLI --provider, FORCE_PROVIDER). */
  providerId?: string;
  /** Profile name; absent means `default`. */
  profile?: string;
  /** Drives per-user sticky assignment. */
  userId?: string;
  /** Estimated prompt tokens, for context-window checks, TPM limits and cost estimates. */
  estimatedInputTokens: number;
  maxOutputTokens?: number;
}

/** One provider+model the router may try. */
export interface Candidate {
  provider: EngineProvider;
  adapter: ProviderAdapter;
  model: string;
}

/** What the caller learns once an attempt has produced its first output. */
export interface RouteInfo {
  providerId: string;
  providerLabel: string;
  model: string;
  fallbackDepth: number;
  keyId?: string;
  profile: string;
  strategy: string;
}

export type RoutedEvent<T> = { type: 'route'; route: RouteInfo } | { type: 'data'; data: T };

/** A unit of work the router runs against candidates in turn: a chat, an embedding, a transcription. */
export interface Operation<T> {
  kind: UsageEvent['kind'];
  invoke(candidate: Candidate, ctx: CallContext): AsyncIterable<T>;
  /** The token usage an output carries (a chat's finish event), for accounting. */
  usageOf?(item: T): Usage | undefined;
}

export interface Router {
  /**
   * Runs the operation: candidates in strategy order; failures before the first output move on to
   * the next candidate; once output has reached the caller a failure ends the stream with an error
   * (never a silent replay elsewhere). Yields `route` once, right before the first data.
   */
  run<T>(request: RoutingRequest, operation: Operation<T>, signal: AbortSignal): AsyncIterable<RoutedEvent<T>>;
  /** The candidates in the order they would be tried now, without calling anyone. */
  plan(request: RoutingRequest): Candidate[];
  /** A model's context window as configured (context_windows) or catalogued; undefined where unknown. */
  contextWindow(provider: EngineProvider, model: string): number | undefined;
  /** Checks one provider now with a cheap call (list models) and keeps the result for routing. */
  checkHealth(providerId: string): Promise<ProviderHealth>;
  /** The same for every provider. */
  healthCheckAll(): Promise<ProviderHealth[]>;
  /** Takes a new configuration (hot reload, settings change) without losing state it can keep. */
  configure(config: EngineConfig, adapters: ReadonlyMap<string, ProviderAdapter>): void;
  close(): void;
}
