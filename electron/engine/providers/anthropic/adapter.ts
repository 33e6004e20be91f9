import type { ChatStreamEvent, FinishReason, Usage } from '../../contract/chat.ts';
import type { ModelInfo } from '../../contract/models.ts';
import { type Attempt, runAttempt, SDK_TIMEOUT_MS, streamChat } from '../attempt.ts';
import { clientCache } from '../client-cache.ts';
import { anthropicWire } from '../passthrough/anthropic-wire.ts';
import { createRelay } from '../passthrough/relay.ts';
import type { CallContext, ChatCall, ProviderAdapter, ProviderConfig } from '../types.ts';
import { toAnthropicMessages, toAnthropicOutputFormat, toAnthropicToolChoice, toAnthropicTools } from './messages.ts';

// Anthropic requires max_tokens; OpenAI callers usually leave it out.
const DEFAULT_MAX_TOKENS = 4096;

const FINISH_REASONS: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

/** Anthropic's Messages API through @anthropic-ai/sdk. No embeddings: Anthropic has none. */
export function createAnthropicAdapter(config: ProviderConfig): ProviderAdapter {
  const client = clientCache(async (apiKey) => {
    const { default: Anthropic } = await import('@anthropic-ai/sdk');
    return new Anthropic({
      apiKey: apiKey ?? null,
      authToken: null,
      baseURL: config.baseUrl ?? 'https://api.anthropic.com',
      maxRetries: 0, // routing retries
      timeout: SDK_TIMEOUT_MS,
      defaultHeaders: config.headers,
      logLevel: 'off',
    });
  });

  async function* chatEvents(call: ChatCall, ctx: CallContext, attempt: Attempt): AsyncIterable<ChatStreamEvent> {
    const { system, messages } = toAnthropicMessages(call.messages);
    // temperature and top_p are not sent: the Messages API of SDK 1.x no longer takes sampling parameters.
    const anthropic = await client(ctx.apiKey);
    const { data: stream, response } = await anthropic.messages
      .create(
        {
          model: call.model,
          max_tokens: call.max_tokens ?? DEFAULT_MAX_TOKENS,
          system,
          messages,
          stop_sequences: typeof call.stop === 'string' ? [call.stop] : call.stop,
          tools: toAnthropicTools(call.tools),
          tool_choice: toAnthropicToolChoice(call.tool_choice),
          output_config: toAnthropicOutputFormat(call.response_format),
          metadata: call.user ? { user_id: call.user } : undefined,
          stream: true,
        },
        { signal: attempt.signal },
      )
      .withResponse();
    attempt.answered(response);
    // Anthropic numbers content blocks across text and tool_use; tool calls are numbered on their own.
    const toolIndexByBlock = new Map<number, number>();
    let model: string | undefined;
    let inputTokens: number | undefined;
    let outputTokens: number | undefined;
    let reason: FinishReason | undefined;
    for await (const event of stream) {
      switch (event.type) {
        case 'message_start':
          model = event.message.model;
          inputTokens = event.message.usage?.input_tokens;
          break;
        case 'content_block_start':
          if (event.content_block.type === 'tool_use') {
            const index = toolIndexByBlock.size;
            toolIndexByBlock.set(event.index, index);
            yield {
              type: 'tool_call',
              index,
              id: event.content_block.id,
              name: event.content_block.name,
              argumentsDelta: '',
            };
          }
          break;
        case 'content_block_delta':
          if (event.delta.type === 'text_delta') yield { type: 'text', text: event.delta.text };
          else if (event.delta.type === 'input_json_delta') {
            yield {
              type: 'tool_call',
              index: toolIndexByBlock.get(event.index) ?? 0,
              argumentsDelta: event.delta.partial_json,
            };
          }
          break;
        case 'message_delta':
          reason = FINISH_REASONS[event.delta.stop_reason ?? ''] ?? 'stop';
          outputTokens = event.usage?.output_tokens ?? outputTokens;
          break;
        case 'message_stop': {
          const usage: Usage | undefined =
            inputTokens !== undefined && outputTokens !== undefined
              ? { inputTokens, outputTokens, estimated: false }
              : undefined;
          yield { type: 'finish', reason: reason ?? 'stop', usage, model };
          return;
        }
      }
    }
  }

  const relay = createRelay(config, anthropicWire);

  return {
    config,
    relay,
    close: () => relay.close(),
    chat: (call, ctx) => streamChat(config, call, ctx, (attempt) => chatEvents(call, ctx, attempt)),
    listModels: (ctx) =>
      runAttempt({ config, ctx, operation: 'models' }, async (attempt): Promise<ModelInfo[]> => {
        const models: ModelInfo[] = [];
        const anthropic = await client(ctx.apiKey);
        for await (const model of anthropic.models.list({}, { signal: attempt.signal })) {
          models.push({
            id: model.id,
            providerId: config.id,
            ownedBy: 'anthropic',
            contextWindow: config.contextWindows[model.id],
          });
        }
        return models;
      }),
  };
}
