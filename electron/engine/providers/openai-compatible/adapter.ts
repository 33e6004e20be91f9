import { createReadStream } from 'node:fs';
import type OpenAI from 'openai';
import type {
  ChatCompletionCreateParamsBase,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import type { ChatStreamEvent, FinishReason, Usage } from '../../contract/chat.ts';
import type { EmbeddingResult } from '../../contract/embeddings.ts';
import type { ModelInfo } from '../../contract/models.ts';
import type { TranscriptionEvent, TranscriptionRequest } from '../../contract/transcription.ts';
import { type Attempt, runAttempt, SDK_TIMEOUT_MS, streamChat } from '../attempt.ts';
import { clientCache } from '../client-cache.ts';
import { openAIWire } from '../passthrough/openai-wire.ts';
import { createRelay } from '../passthrough/relay.ts';
import type {
  CallContext,
  ChatCall,
  EmbeddingCall,
  ModerationResult,
  ProviderAdapter,
  ProviderConfig,
} from '../types.ts';

const FINISH_REASONS: Record<string, FinishReason> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool_calls',
  function_call: 'tool_calls',
  content_filter: 'content_filter',
};

const toUsage = (usage: CompletionUsage): Usage => ({
  inputTokens: usage.prompt_tokens,
  outputTokens: usage.completion_tokens,
  estimated: false,
});

/**
 * OpenAI's wire protocol through the official SDK: OpenAI itself, Azure OpenAI (deployments and
 * api-version), Groq, Together, OpenRouter, Ollama's /v1 and any custom endpoint. The request is passed
 * through in OpenAI's own shapes (tools, tool_choice, response_format, seed…), which is what a gateway owes
 * its callers.
 */
export function createOpenAICompatibleAdapter(config: ProviderConfig): ProviderAdapter {
  const azure = config.azure;
  // Azure addresses a deployment, not a model; configs map model names to deployment names.
  const upstreamModel = (model: string) => azure?.deployments[model] ?? model;

  const client = clientCache(async (apiKey): Promise<OpenAI> => {
    const { OpenAI, AzureOpenAI } = await import('openai');
    const options = {
      // Keyless endpoints (a local Ollama) still need a value, or the SDK reads OPENAI_API_KEY from the environment.
      apiKey: apiKey ?? 'no-key',
      maxRetries: 0, // routing retries, with its own backoff and key rotation
      timeout: SDK_TIMEOUT_MS,
      defaultHeaders: config.headers,
      organization: null,
      project: null,
      logLevel: 'off' as const,
    };
    if (azure) return new AzureOpenAI({ ...options, endpoint: config.baseUrl, apiVersion: azure.apiVersion });
    return new OpenAI({ ...options, baseURL: config.baseUrl ?? 'https://api.openai.com/v1' });
  });
  const scope = (
    ctx: CallContext,
    operation: 'embeddings' | 'models' | 'moderation' | 'transcription',
    model?: string,
  ) => ({
    config,
    ctx,
    operation,
    model,
  });

  const chatParams = (call: ChatCall): ChatCompletionCreateParamsBase => {
    const { model, messages, stream: _stream, ...rest } = call;
    return {
      ...rest,
      model: upstreamModel(model),
      // The engine's message schema is OpenAI's own; the SDK's stricter per-role union adds nothing here.
      messages: messages as ChatCompletionMessageParam[],
      tool_choice: rest.tool_choice as ChatCompletionCreateParamsBase['tool_choice'],
    };
  };

  async function* chatEvents(call: ChatCall, ctx: CallContext, attempt: Attempt): AsyncIterable<ChatStreamEvent> {
    const params: ChatCompletionCreateParamsStreaming = {
      ...chatParams(call),
      stream: true,
      stream_options: { include_usage: true },
    };
    const openai = await client(ctx.apiKey);
    const { data: stream, response } = await openai.chat.completions
      .create(params, { signal: attempt.signal })
      .withResponse();
    attempt.answered(response);
    let finish: FinishReason | undefined;
    let usage: Usage | undefined;
    let answeredBy: string | undefined;
    for await (const chunk of stream) {
      answeredBy ||= chunk.model;
      if (chunk.usage) usage = toUsage(chunk.usage);
      const choice = chunk.choices[0];
      if (!choice) continue;
      if (choice.delta?.content) yield { type: 'text', text: choice.delta.content };
      for (const toolCall of choice.delta?.tool_calls ?? []) {
        yield {
          type: 'tool_call',
          index: toolCall.index,
          id: toolCall.id,
          name: toolCall.function?.name,
          argumentsDelta: toolCall.function?.arguments ?? '',
        };
      }
      if (choice.finish_reason) finish = FINISH_REASONS[choice.finish_reason] ?? 'stop';
    }
    // The SDK stops at [DONE] and also, silently, when the request is aborted: only a finish_reason proves the end.
    if (finish) yield { type: 'finish', reason: finish, usage, model: answeredBy };
  }

  /** A collected call's answer in one piece (stream: false upstream), as the events its stream would have sent. */
  async function* completionEvents(call: ChatCall, ctx: CallContext, attempt: Attempt): AsyncIterable<ChatStreamEvent> {
    const openai = await client(ctx.apiKey);
    const { data: completion, response } = await openai.chat.completions
      .create({ ...chatParams(call), stream: false }, { signal: attempt.signal })
      .withResponse();
    attempt.answered(response);
    const choice = completion.choices[0];
    if (!choice) return; // no finish: the shell reports the answer as incomplete
    if (choice.message.content) yield { type: 'text', text: choice.message.content };
    for (const [index, toolCall] of (choice.message.tool_calls ?? []).entries()) {
      if (toolCall.type !== 'function') continue;
      const { name, arguments: argumentsDelta } = toolCall.function;
      yield { type: 'tool_call', index, id: toolCall.id, name, argumentsDelta };
    }
    yield {
      type: 'finish',
      reason: FINISH_REASONS[choice.finish_reason] ?? 'stop',
      usage: completion.usage && toUsage(completion.usage),
      model: completion.model,
    };
  }

  const relay = createRelay(config, openAIWire);

  return {
    config,
    relay,
    close: () => relay.close(),
    chat: (call, ctx) =>
      call.stream === false
        ? streamChat(config, call, ctx, (attempt) => completionEvents(call, ctx, attempt))
        : streamChat(config, call, ctx, (attempt) => chatEvents(call, ctx, attempt)),

    embed: (call: EmbeddingCall, ctx) =>
      runAttempt(scope(ctx, 'embeddings', call.model), async (attempt): Promise<EmbeddingResult> => {
        const openai = await client(ctx.apiKey);
        const response = await openai.embeddings.create(
          {
            model: upstreamModel(call.model),
            input: call.input,
            dimensions: call.dimensions,
            user: call.user,
            encoding_format: 'float',
          },
          { signal: attempt.signal },
        );
        return {
          model: response.model || call.model,
          vectors: [...response.data].sort((a, b) => a.index - b.index).map((item) => item.embedding),
          usage: { inputTokens: response.usage?.prompt_tokens ?? 0, estimated: false },
        };
      }),

    moderate: (input, ctx, model) =>
      runAttempt(scope(ctx, 'moderation', model), async (attempt): Promise<ModerationResult> => {
        const openai = await client(ctx.apiKey);
        const response = await openai.moderations.create(
          { input, ...(model ? { model: upstreamModel(model) } : {}) },
          { signal: attempt.signal },
        );
        const result = response.results[0];
        return {
          flagged: result?.flagged ?? false,
          categories: Object.fromEntries(
            Object.entries(result?.categories ?? {}).map(([name, hit]) => [name, Boolean(hit)]),
          ),
          categoryScores: Object.fromEntries(
            Object.entries(result?.category_scores ?? {}).map(([name, score]) => [name, Number(score)]),
          ),
          model: response.model,
        };
      }),

    async *transcribe(request: TranscriptionRequest, ctx): AsyncIterable<TranscriptionEvent> {
      const model = request.model ?? 'whisper-1';
      const response = await runAttempt(scope(ctx, 'transcription', model), async (attempt) => {
        const openai = await client(ctx.apiKey);
        return openai.audio.transcriptions.create(
          {
            file: createReadStream(request.filePath),
            model: upstreamModel(model),
            language: request.language,
            prompt: request.prompt,
            response_format: 'verbose_json',
            timestamp_granularities: ['segment'],
          },
          { signal: attempt.signal },
        );
      });
      const duration = response.duration ?? 0;
      // The whole file is uploaded; a resumed job only skips what it already has.
      const segments = (response.segments ?? []).filter((segment) => segment.end > (request.startAt ?? 0));
      for (const [index, segment] of segments.entries()) {
        yield {
          type: 'segment',
          segment: {
            index,
            start: segment.start,
            end: segment.end,
            text: segment.text.trim(),
            speaker: null,
            confidence: Math.min(1, Math.max(0, Math.exp(segment.avg_logprob))),
          },
        };
        yield {
          type: 'progress',
          fraction: duration > 0 ? Math.min(1, segment.end / duration) : 1,
          processedSeconds: segment.end,
          totalSeconds: duration,
        };
      }
      yield {
        type: 'done',
        durationSeconds: duration,
        language: response.language ?? request.language ?? 'unknown',
        model,
      };
    },

    listModels: (ctx) =>
      runAttempt(scope(ctx, 'models'), async (attempt): Promise<ModelInfo[]> => {
        const models: ModelInfo[] = [];
        const openai = await client(ctx.apiKey);
        for await (const model of openai.models.list({ signal: attempt.signal })) {
          models.push({
            id: model.id,
            providerId: config.id,
            ownedBy: model.owned_by,
            contextWindow: config.contextWindows[model.id],
          });
        }
        return models;
      }),
  };
}
