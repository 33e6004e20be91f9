import { countTokens } from '../../accounting/tokens.ts';
import type { Capability } from '../../contract/capabilities.ts';
import { CHAT_CAPABILITIES } from '../../contract/capabilities.ts';
import type { ChatStreamEvent, FinishReason, Usage } from '../../contract/chat.ts';
import type { EmbeddingResult } from '../../contract/embeddings.ts';
import type { ModelInfo } from '../../contract/models.ts';
import { type Attempt, runAttempt, streamChat } from '../attempt.ts';
import type { CallContext, ChatCall, ProviderAdapter, ProviderConfig } from '../types.ts';
import { toGeminiRequest } from './contents.ts';

const FINISH_REASONS: Record<string, FinishReason> = {
  STOP: 'stop',
  MAX_TOKENS: 'length',
  MALFORMED_FUNCTION_CALL: 'error',
  UNEXPECTED_TOOL_CALL: 'error',
  OTHER: 'error',
};

/** The Gemini API through @google/genai (generateContent, embeddings, models). */
export function createGeminiAdapter(config: ProviderConfig): ProviderAdapter {
  const client = async (ctx: CallContext, attempt: Attempt) => {
    const { GoogleGenAI } = await import('@google/genai');
    return new GoogleGenAI({
      apiKey: ctx.apiKey,
      // No retryOptions: the SDK then makes one attempt; routing retries.
      httpOptions: {
        baseUrl: config.baseUrl,
        headers: config.headers,
        fetch: attempt.fetch,
      },
    });
  };

  async function* chatEvents(call: ChatCall, ctx: CallContext, attempt: Attempt): AsyncIterable<ChatStreamEvent> {
    const { contents, config: generation } = toGeminiRequest(call);
    const gemini = await client(ctx, attempt);
    const stream = await gemini.models.generateContentStream({
      model: call.model,
      contents,
      config: { ...generation, abortSignal: attempt.signal },
    });
    let toolIndex = 0;
    let usage: Usage | undefined;
    let model: string | undefined;
    for await (const chunk of stream) {
      model ||= chunk.modelVersion;
      const meta = chunk.usageMetadata;
      if (meta?.promptTokenCount !== undefined) {
        usage = {
          inputTokens: meta.promptTokenCount,
          // Thinking tokens are billed as output.
          outputTokens: (meta.candidatesTokenCount ?? 0) + (meta.thoughtsTokenCount ?? 0),
          estimated: false,
        };
      }
      const candidate = chunk.candidates?.[0];
      for (const part of candidate?.content?.parts ?? []) {
        if (part.thought) continue;
        if (part.text) yield { type: 'text', text: part.text };
        if (part.functionCall) {
          const index = toolIndex++;
          yield {
            type: 'tool_call',
            index,
            id: part.functionCall.id ?? `call_${index}`,
            name: part.functionCall.name,
            argumentsDelta: JSON.stringify(part.functionCall.args ?? {}),
          };
        }
      }
      if (candidate?.finishReason) {
        const reason = FINISH_REASONS[candidate.finishReason] ?? 'content_filter';
        yield { type: 'finish', reason: reason === 'stop' && toolIndex > 0 ? 'tool_calls' : reason, usage, model };
        return;
      }
    }
  }

  return {
    config,
    chat: (call, ctx) => streamChat(config, call, ctx, (attempt) => chatEvents(call, ctx, attempt)),

    embed: (call, ctx) =>
      runAttempt(
        { config, ctx, operation: 'embeddings', model: call.model },
        async (attempt): Promise<EmbeddingResult> => {
          const inputs = Array.isArray(call.input) ? call.input : [call.input];
          const gemini = await client(ctx, attempt);
          const response = await gemini.models.embedContent({
            model: call.model,
            contents: inputs,
            config: { outputDimensionality: call.dimensions, abortSignal: attempt.signal },
          });
          return {
            model: call.model,
            vectors: (response.embeddings ?? []).map((embedding) => embedding.values ?? []),
            // The Gemini API reports no token counts for embeddings.
            usage: { inputTokens: inputs.reduce((sum, text) => sum + countTokens(text), 0), estimated: true },
          };
        },
      ),

    listModels: (ctx) =>
      runAttempt({ config, ctx, operation: 'models' }, async (attempt): Promise<ModelInfo[]> => {
        const models: ModelInfo[] = [];
        const gemini = await client(ctx, attempt);
        const pager = await gemini.models.list({ config: { abortSignal: attempt.signal } });
        for await (const model of pager) {
          const id = (model.name ?? '').replace(/^models\//, '');
          const methods = model.supportedActions ?? [];
          const capabilities: Capability[] = [
            ...(methods.includes('generateContent') ? CHAT_CAPABILITIES : []),
            ...(methods.some((m) => m.startsWith('embed')) ? (['embedding'] as const) : []),
          ];
          models.push({
            id,
            providerId: config.id,
            capabilities,
            contextWindow: model.inputTokenLimit,
            ownedBy: 'google',
          });
        }
        return models;
      }),
  };
}
