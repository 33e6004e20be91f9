import type { ChatStreamEvent } from '../../contract/chat.ts';
import type { TranscriptionEvent, TranscriptionRequest } from '../../contract/transcription.ts';
import type { ChatCall, ModelMeasure } from '../types.ts';

/**
 * What the engine needs from the machine's own runtimes. The engine owns these interfaces;
 * native/ implements them (llama through node-llama-cpp, whisper through transformers.js), so the
 * engine never imports a native library and tests can swap a runtime for a real small one.
 */
export interface LocalLlmRuntime {
  /** Installed chat models (ids as the model store names them). */
  listModels(): Promise<{ id: string; contextWindow?: number }[]>;
  chat(call: ChatCall, signal: AbortSignal): AsyncIterable<ChatStreamEvent>;
  /** The model's context as loaded, and its tokenizer's count of a chat prompt. */
  measure(model: string, signal: AbortSignal): Promise<ModelMeasure>;
  embed(model: string, inputs: string[], signal: AbortSignal): Promise<{ vectors: number[][]; inputTokens: number }>;
  close(): Promise<void>;
}

export interface LocalTranscriber {
  /** Installed Whisper models. */
  listModels(): Promise<{ id: string }[]>;
  transcribe(request: TranscriptionRequest, signal: AbortSignal): AsyncIterable<TranscriptionEvent>;
  close(): Promise<void>;
}
