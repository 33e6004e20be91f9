import type { ProviderConfig } from '../config/provider-config.ts';
import type { ModelOptions } from '../contract/api.ts';
import type { ChatRequest, ChatStreamEvent, Usage } from '../contract/chat.ts';
import type { EmbeddingRequest, EmbeddingResult } from '../contract/embeddings.ts';
import type { ModelInfo } from '../contract/models.ts';
import type { TranscriptionEvent, TranscriptionRequest } from '../contract/transcription.ts';

// Adapters are given their provider's configuration (ProviderAdapter.config).
export type { ProviderConfig } from '../config/provider-config.ts';

/** What one attempt on one provider receives besides the request. */
export interface CallContext {
  signal: AbortSignal;
  /** The key the key pool chose for this attempt (absent for keyless providers). */
  apiKey?: string;
}

export interface ChatCall extends Omit<ChatRequest, 'model'> {
  /** The provider's own model id (already resolved from aliases/profiles). */
  model: string;
  /**
   * False when the caller collects the whole answer (a non-streaming API call): an adapter whose
   * protocol has a one-piece answer may ask for that instead of a stream, which costs the gateway
   * less. Absent or true: stream.
   */
  stream?: boolean;
}

/** The client-facing protocols a request can arrive in and be passed through in, untranslated. */
export type WireProtocol = 'openai' | 'anthropic';

/** A chat as the client wrote it, for an upstream that speaks the same protocol (the pass-through path). */
export interface WireCall {
  /** The provider's own model id (routing's choice), written into the body in place of the client's. */
  model: string;
  /** The request body as it arrived. */
  body: Buffer;
  /** The same body, parsed: read for the few fields the relay must know, never re-serialised whole. */
  json: Record<string, unknown>;
  stream: boolean;
  /** The client's request headers: the protocol's own (anthropic-version, anthropic-beta) are passed on. */
  headers: Record<string, string | string[] | undefined>;
  /** The model's own settings (set in the app or the CLI), written into the fields the client left open. */
  options?: ModelOptions;
}

/** A piece of the upstream's answer as bytes the client receives unchanged; the last carries the usage. */
export interface WireChunk {
  type: 'wire';
  bytes: Buffer;
  contentType: string;
  usage?: Usage;
  /** The answer's last bytes: nothing follows, so the response can end with them. */
  last?: boolean;
}

/** An adapter's pass-through path: chats in its own protocol, forwarded as bytes. */
export interface Relay {
  readonly protocol: WireProtocol;
  send(call: WireCall, ctx: CallContext): AsyncIterable<WireChunk>;
}

export interface EmbeddingCall extends Omit<EmbeddingRequest, 'model'> {
  model: string;
}

export interface ModerationResult {
  flagged: boolean;
  categories: Record<string, boolean>;
  /** How sure the model is of each category, 0–1. */
  categoryScores: Record<string, number>;
  model: string;
}

/**
 * One adapter per wire protocol. Every method takes the already-chosen model and key; routing,
 * retries, limits and accounting happen above. Adapters turn every failure into a SwitchboardError
 * that names the provider and never contains a key.
 */
/** A model's limits as the runtime that holds it knows them (the local model's loaded context). */
export interface ModelMeasure {
  contextTokens: number;
  /** Tokens a chat with these messages takes as a prompt, the model's chat template included. */
  promptTokens(messages: ChatCall['messages']): Promise<number>;
}

export interface ProviderAdapter {
  readonly config: ProviderConfig;
  /** Where the model runs here and its size is known only there (local models): its measure. */
  measure?(model: string, signal: AbortSignal): Promise<ModelMeasure>;
  chat(call: ChatCall, ctx: CallContext): AsyncIterable<ChatStreamEvent>;
  /** Chats that arrive in this adapter's own protocol, passed through without translation. */
  relay?: Relay;
  embed?(call: EmbeddingCall, ctx: CallContext): Promise<EmbeddingResult>;
  transcribe?(request: TranscriptionRequest, ctx: CallContext): AsyncIterable<TranscriptionEvent>;
  moderate?(input: string, ctx: CallContext, model?: string): Promise<ModerationResult>;
  listModels(ctx: CallContext): Promise<ModelInfo[]>;
  /** Releases sockets, workers or loaded models. */
  close?(): Promise<void>;
}
