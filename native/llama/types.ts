/**
 * The request and event shapes the llama runtime speaks. They mirror the engine's ChatCall and
 * ChatStreamEvent (electron/engine/contract/chat.ts) structurally, because native/ must not import
 * the engine: the engine passes its own values in and reads these out through its LocalLlmRuntime.
 */
export type LocalContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string; detail?: string } };

export interface LocalChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  content: string | LocalContentPart[] | null;
  name?: string;
  tool_call_id?: string;
}

export type LocalResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; json_schema: { name: string; schema?: Record<string, unknown>; strict?: boolean | null } };

export interface LocalChatCall {
  model: string;
  messages: LocalChatMessage[];
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  stop?: string | string[];
  seed?: number;
  tools?: unknown[];
  response_format?: LocalResponseFormat;
}

export interface LocalUsage {
  inputTokens: number;
  outputTokens: number;
  estimated: boolean;
}

export type LocalFinishReason = 'stop' | 'length';

export type LocalChatEvent =
  | { type: 'text'; text: string }
  | { type: 'finish'; reason: LocalFinishReason; usage: LocalUsage; model: string };

export interface LocalCompletionOptions {
  maxTokens?: number;
  temperature?: number;
  seed?: number;
}
