import type { UsageEvent } from '../accounting/types.ts';
import type { EngineProvider, ProfileConfig } from '../config/types.ts';
import type { AppKey } from '../contract/api.ts';
import type { Capability } from '../contract/capabilities.ts';
import type { ChatStreamEvent, Usage } from '../contract/chat.ts';
import type { CallContext, ProviderAdapter } from '../providers/types.ts';
import type { ConsentRequest } from './consent.ts';

/** `dataKind` and `cloudConsent` (consent.ts): meeting data reaches cloud providers only with consent. */
export interface RoutingRequest extends ConsentRequest {
  capability: Capability;
  /** `provider/model`, a bare model id, a profile name, or absent (the profile's or provider's default). */
  model?: string;
  /** A provider the caller insists on (CLI --provider, FORCE_PROVIDER). */
  providerId?: string;
  /** Profile name; absent means `default`. */
  profile?: string;
  /** Drives per-user sticky assignment. */
  userId?: string;
  /** The app key the request came with: its limits, budgets and models apply, its usage is its own. */
  appKey?: AppKey;
  /**
   * The model a provider runs this request on when the request names none (default: the provider's
   * default model, a chat model). Transcription names its Whisper model here, so errors, breakers and
   * usage name the model that really ran.
   */
  modelFor?: (provider: EngineProvider) => string | undefined;
  /** Estimated prompt tokens, for context-window checks, TPM limits and cost estimates. */
  estimatedInputTokens: number;
  maxOutputTokens?: number;
  /** The caller takes the answer in one piece (a non-streaming API call): there is no first token to time. */
  collected?: boolean;
  /** The API endpoint the request came in on, for traces (absent for the app and the CLI). */
  route?: string;
  /** The caller's W3C Trace Context headers: the request's span joins the caller's trace. */
  traceHeaders?: TraceHeaders;
  /** Told the request's one usage event once it is settled: the server's request log line reads it. */
  onSettled?: (event: UsageEvent) => void;
}

/** `traceparent` and `tracestate` as the caller sent them (https://www.w3.org/TR/trace-context/). */
export interface TraceHeaders {
  traceparent: string;
  tracestate?: string;
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
  /** The provider runs on this machine: nothing was sent elsewhere. */
  onMachine: boolean;
  fallbackDepth: number;
  keyId?: string;
  profile: string;
  strategy: string;
}

export type RoutedEvent<T> = { type: 'route'; route: RouteInfo } | { type: 'data'; data: T };

export type OperationKind = UsageEvent['kind'];

/** A request's candidates in the order to try them, and how they were chosen. */
export interface Plan {
  candidates: Candidate[];
  profile: ProfileConfig;
  strategy: string;
}

/** A unit of work the router runs against candidates in turn: a chat, an embedding, a transcription. */
export interface Operation<T> {
  kind: OperationKind;
  invoke(candidate: Candidate, ctx: CallContext): AsyncIterable<T>;
  /** The token usage an output carries (a chat's finish event), for accounting. */
  usageOf?(item: T): Usage | undefined;
}

/** A chat as the Engine streams it: where it went, then the chat's own events. */
export type RoutedChatEvent = { type: 'route'; route: RouteInfo } | ChatStreamEvent;
