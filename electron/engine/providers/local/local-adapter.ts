import { CHAT_CAPABILITIES } from '../../contract/capabilities.ts';
import type { ChatStreamEvent } from '../../contract/chat.ts';
import type { EmbeddingResult } from '../../contract/embeddings.ts';
import { SwitchboardError, toSwitchboardError } from '../../contract/errors.ts';
import type { ModelInfo } from '../../contract/models.ts';
import type { TranscriptionEvent, TranscriptionRequest } from '../../contract/transcription.ts';
import { abortCause, type Operation, toProviderError } from '../http-errors.ts';
import type { CallContext, ChatCall, EmbeddingCall, ModelMeasure, ProviderAdapter, ProviderConfig } from '../types.ts';
import type { LocalLlmRuntime, LocalTranscriber } from './runtime.ts';

export interface LocalRuntimes {
  llm: LocalLlmRuntime;
  transcriber?: LocalTranscriber;
}

/**
 * The runtimes report failures as errors carrying one of the engine's codes (native/ cannot import
 * SwitchboardError); this keeps the code and message and names the provider. A job stopped by its
 * signal is translated as every adapter's is: cancelled, or out of time.
 */
function toLocalError(
  error: unknown,
  config: ProviderConfig,
  signal: AbortSignal,
  operation: Operation,
): SwitchboardError {
  const aborted = abortCause(signal);
  if (aborted) return toProviderError(error, { config, operation, responseStarted: false, aborted, signal });
  const providerId = config.id;
  if (error instanceof SwitchboardError) return error;
  const known = toSwitchboardError(error);
  // Without one of the engine's codes it is the runtime's own failure.
  const coded = known.code !== 'INTERNAL' || (error as { code?: unknown } | null)?.code === 'INTERNAL';
  const detail = coded ? known.detail : `the local runtime failed: ${known.detail}`;
  return new SwitchboardError(known.code, detail, { providerId, cause: error });
}

/**
 * The adapter for models on this machine: chat and embeddings through the llama runtime,
 * transcription through the Whisper transcriber when there is one. Nothing leaves the machine and
 * nothing costs money: no prices apply to this provider.
 */
export function createLocalAdapter(config: ProviderConfig, runtimes: LocalRuntimes): ProviderAdapter {
  const { llm, transcriber } = runtimes;

  async function* chat(call: ChatCall, ctx: CallContext): AsyncIterable<ChatStreamEvent> {
    try {
      for await (const event of llm.chat(call, ctx.signal)) yield event;
    } catch (error) {
      throw toLocalError(error, config, ctx.signal, 'chat');
    }
  }

  async function measure(model: string, signal: AbortSignal): Promise<ModelMeasure> {
    try {
      const measured = await llm.measure(model, signal);
      return {
        contextTokens: measured.contextTokens,
        promptTokens: (messages) =>
          measured.promptTokens(messages).catch((error) => Promise.reject(toLocalError(error, config, signal, 'chat'))),
      };
    } catch (error) {
      throw toLocalError(error, config, signal, 'chat');
    }
  }

  async function embed(call: EmbeddingCall, ctx: CallContext): Promise<EmbeddingResult> {
    const inputs = typeof call.input === 'string' ? [call.input] : call.input;
    let result: { vectors: number[][]; inputTokens: number };
    try {
      result = await llm.embed(call.model, inputs, ctx.signal);
    } catch (error) {
      throw toLocalError(error, config, ctx.signal, 'embeddings');
    }
    const width = result.vectors[0]?.length;
    if (call.dimensions !== undefined && call.dimensions !== width) {
      throw new SwitchboardError(
        'INVALID_REQUEST',
        `${call.model} makes ${width}-dimensional embeddings; it cannot give ${call.dimensions} (leave dimensions out)`,
        { providerId: config.id },
      );
    }
    return { model: call.model, vectors: result.vectors, usage: { inputTokens: result.inputTokens, estimated: false } };
  }

  async function* transcribe(request: TranscriptionRequest, ctx: CallContext): AsyncIterable<TranscriptionEvent> {
    try {
      for await (const event of transcriber!.transcribe(request, ctx.signal)) yield event;
    } catch (error) {
      throw toLocalError(error, config, ctx.signal, 'transcription');
    }
  }

  async function listModels(ctx: CallContext): Promise<ModelInfo[]> {
    try {
      const chatModels = (await llm.listModels()).map(
        (model): ModelInfo => ({
          id: model.id,
          providerId: config.id,
          capabilities: [...CHAT_CAPABILITIES],
          ...(model.contextWindow === undefined ? {} : { contextWindow: model.contextWindow }),
          ownedBy: 'local',
        }),
      );
      const whisperModels = transcriber
        ? (await transcriber.listModels()).map(
            (model): ModelInfo => ({
              id: model.id,
              providerId: config.id,
              capabilities: ['transcription'],
              ownedBy: 'local',
            }),
          )
        : [];
      return [...chatModels, ...whisperModels];
    } catch (error) {
      throw toLocalError(error, config, ctx.signal, 'models');
    }
  }

  return {
    config,
    chat,
    measure,
    embed,
    ...(transcriber ? { transcribe } : {}),
    listModels,
    async close() {
      await Promise.all([llm.close(), transcriber?.close()]);
    },
  };
}
