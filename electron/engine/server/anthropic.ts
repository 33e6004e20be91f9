import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ChatMessage, ChatRequest, ChatStreamEvent, FinishReason } from '../contract/chat.ts';
import type { RouteInfo } from '../engine.ts';
import { collectChat } from '../providers/collect.ts';
import {
  type ErrorDialect,
  markEngineCall,
  markEngineEvent,
  type RequestContext,
  readJsonBody,
  routeHeaders,
  sendJson,
  sseFrame,
  startSse,
  writeFrame,
} from './http.ts';
import { answerRelayed } from './passthrough.ts';
import { anthropicErrorBody } from './problems.ts';
import type { Router } from './router.ts';
import { requestOptions, type ServerDeps } from './types.ts';

/** The Anthropic Messages API (POST /v1/messages), translated to and from the engine's chat. */

export const anthropicErrors: ErrorDialect = {
  body: anthropicErrorBody,
  sseFrame: (problem) => sseFrame(anthropicErrorBody(problem), 'error'),
};

const textBlock = z.object({ type: z.literal('text'), text: z.string() });
const imageBlock = z.object({
  type: z.literal('image'),
  source: z.union([
    z.object({ type: z.literal('base64'), media_type: z.string(), data: z.string() }),
    z.object({ type: z.literal('url'), url: z.string() }),
  ]),
});
const toolUseBlock = z.object({ type: z.literal('tool_use'), id: z.string(), name: z.string(), input: z.unknown() });
const toolResultBlock = z.object({
  type: z.literal('tool_result'),
  tool_use_id: z.string(),
  content: z.union([z.string(), z.array(z.union([textBlock, imageBlock]))]).optional(),
  is_error: z.boolean().optional(),
});
const contentBlock = z.discriminatedUnion('type', [textBlock, imageBlock, toolUseBlock, toolResultBlock]);

const messagesSchema = z.object({
  model: z.string().min(1),
  max_tokens: z.number().int().positive(),
  messages: z
    .array(
      z.object({
        role: z.enum(['user', 'assistant']),
        content: z.union([z.string(), z.array(contentBlock)]),
      }),
    )
    .min(1, 'messages must hold at least one message'),
  system: z.union([z.string(), z.array(textBlock)]).optional(),
  stream: z.boolean().optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  stop_sequences: z.array(z.string()).optional(),
  tools: z
    .array(
      z.object({
        name: z.string(),
        description: z.string().optional(),
        input_schema: z.record(z.string(), z.unknown()),
      }),
    )
    .optional(),
  tool_choice: z.object({ type: z.enum(['auto', 'any', 'tool', 'none']), name: z.string().optional() }).optional(),
  metadata: z.object({ user_id: z.string().nullish() }).optional(),
});
type MessagesRequest = z.infer<typeof messagesSchema>;

const blocksText = (blocks: { type: string; text?: string }[]) =>
  blocks
    .filter((b) => b.type === 'text')
    .map((b) => b.text)
    .join('');

function toChatMessages(body: MessagesRequest): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (body.system !== undefined) {
    messages.push({ role: 'system', content: typeof body.system === 'string' ? body.system : blocksText(body.system) });
  }
  for (const message of body.messages) {
    if (typeof message.content === 'string') {
      messages.push({ role: message.role, content: message.content });
      continue;
    }
    if (message.role === 'assistant') {
      const calls = message.content.filter((b) => b.type === 'tool_use');
      messages.push({
        role: 'assistant',
        content: blocksText(message.content) || (calls.length > 0 ? null : ''),
        ...(calls.length > 0
          ? {
              tool_calls: calls.map((call) => ({
                id: call.id,
                type: 'function' as const,
                function: { name: call.name, arguments: JSON.stringify(call.input ?? {}) },
              })),
            }
          : {}),
      });
      continue;
    }
    // A user turn: tool results become tool messages (first, as they answer the previous turn), the rest one user message.
    const parts: Exclude<ChatMessage['content'], string | null> = [];
    for (const block of message.content) {
      if (block.type === 'tool_result') {
        const content = typeof block.content === 'string' ? block.content : blocksText(block.content ?? []);
        messages.push({ role: 'tool', tool_call_id: block.tool_use_id, content });
      } else if (block.type === 'text') parts.push({ type: 'text', text: block.text });
      else if (block.type === 'image') {
        const url =
          block.source.type === 'url'
            ? block.source.url
            : `data:${block.source.media_type};base64,${block.source.data}`;
        parts.push({ type: 'image_url', image_url: { url } });
      }
    }
    if (parts.length > 0) messages.push({ role: 'user', content: parts });
  }
  return messages;
}

function toChatRequest(body: MessagesRequest): ChatRequest {
  const choice = body.tool_choice;
  return {
    model: body.model,
    messages: toChatMessages(body),
    max_tokens: body.max_tokens,
    stream: body.stream === true,
    temperature: body.temperature,
    top_p: body.top_p,
    stop: body.stop_sequences,
    tools: body.tools?.map((tool) => ({
      type: 'function' as const,
      function: { name: tool.name, description: tool.description, parameters: tool.input_schema },
    })),
    tool_choice:
      choice === undefined
        ? undefined
        : choice.type === 'any'
          ? 'required'
          : choice.type === 'tool'
            ? { type: 'function', function: { name: choice.name } }
            : choice.type,
  };
}

function stopReason(reason: FinishReason): string {
  if (reason === 'length') return 'max_tokens';
  if (reason === 'tool_calls') return 'tool_use';
  return 'end_turn';
}

function parseInput(json: string): unknown {
  try {
    return json ? JSON.parse(json) : {};
  } catch {
    return {};
  }
}

const modelName = (route: RouteInfo | undefined, fallback: string) =>
  route ? `${route.providerId}/${route.model}` : fallback;

async function messages(ctx: RequestContext, deps: ServerDeps): Promise<void> {
  const { value: body, bytes, json } = await readJsonBody(ctx, messagesSchema);
  const options = requestOptions(ctx, body.metadata?.user_id ?? undefined);
  markEngineCall(ctx);
  const stream = body.stream === true;
  const relayed = deps.engine.relayChat(
    toChatRequest(body),
    { protocol: 'anthropic', body: bytes, json, stream, headers: ctx.req.headers },
    options,
  );
  // An Anthropic upstream got the client's own bytes and has answered: nothing to translate.
  const events = await answerRelayed(ctx, relayed, stream);
  if (!events) return;
  const id = `msg_${randomUUID().replaceAll('-', '')}`;
  if (body.stream) return streamMessages(ctx, events, id, body.model);

  let route: RouteInfo | undefined;
  const result = await collectChat(
    (async function* () {
      for await (const event of events) {
        markEngineEvent(ctx);
        if (event.type === 'route') route = event.route;
        else yield event;
      }
    })(),
  );
  const content: unknown[] = [];
  if (result.text) content.push({ type: 'text', text: result.text });
  for (const call of result.toolCalls) {
    content.push({
      type: 'tool_use',
      id: call.id,
      name: call.function.name,
      input: parseInput(call.function.arguments),
    });
  }
  sendJson(
    ctx,
    200,
    {
      id,
      type: 'message',
      role: 'assistant',
      model: modelName(route, body.model),
      content,
      stop_reason: stopReason(result.finishReason),
      stop_sequence: null,
      usage: { input_tokens: result.usage.inputTokens, output_tokens: result.usage.outputTokens },
    },
    routeHeaders(ctx, route),
  );
}

/**
 * The Messages stream: message_start, then content blocks (a text block, or one tool_use block per
 * tool call, each opened, filled with deltas and closed), message_delta with the stop reason and
 * usage, message_stop.
 */
async function streamMessages(
  ctx: RequestContext,
  events: AsyncIterable<{ type: 'route'; route: RouteInfo } | ChatStreamEvent>,
  id: string,
  requestedModel: string,
): Promise<void> {
  let blockIndex = -1;
  /** The open block: 'text', or the engine's index of the tool call it holds. */
  let open: 'text' | number | undefined;
  const close = () => {
    if (open === undefined) return '';
    open = undefined;
    return sseFrame({ type: 'content_block_stop', index: blockIndex }, 'content_block_stop');
  };
  const begin = (block: unknown, kind: 'text' | number) => {
    const closing = close();
    blockIndex++;
    open = kind;
    return (
      closing +
      sseFrame({ type: 'content_block_start', index: blockIndex, content_block: block }, 'content_block_start')
    );
  };
  const delta = (value: unknown) =>
    sseFrame({ type: 'content_block_delta', index: blockIndex, delta: value }, 'content_block_delta');

  for await (const event of events) {
    markEngineEvent(ctx);
    switch (event.type) {
      case 'route':
        startSse(ctx, routeHeaders(ctx, event.route));
        await writeFrame(
          ctx,
          sseFrame(
            {
              type: 'message_start',
              message: {
                id,
                type: 'message',
                role: 'assistant',
                model: modelName(event.route, requestedModel),
                content: [],
                stop_reason: null,
                stop_sequence: null,
                usage: { input_tokens: 0, output_tokens: 0 },
              },
            },
            'message_start',
          ) + sseFrame({ type: 'ping' }, 'ping'),
        );
        break;
      case 'text': {
        const head = open === 'text' ? '' : begin({ type: 'text', text: '' }, 'text');
        await writeFrame(ctx, head + delta({ type: 'text_delta', text: event.text }));
        break;
      }
      case 'tool_call': {
        const head =
          open === event.index
            ? ''
            : begin(
                { type: 'tool_use', id: event.id ?? `toolu_${event.index}`, name: event.name ?? '', input: {} },
                event.index,
              );
        const body = event.argumentsDelta
          ? delta({ type: 'input_json_delta', partial_json: event.argumentsDelta })
          : '';
        if (head || body) await writeFrame(ctx, head + body);
        break;
      }
      case 'finish':
        await writeFrame(
          ctx,
          close() +
            sseFrame(
              {
                type: 'message_delta',
                delta: { stop_reason: stopReason(event.reason), stop_sequence: null },
                usage: { input_tokens: event.usage?.inputTokens ?? 0, output_tokens: event.usage?.outputTokens ?? 0 },
              },
              'message_delta',
            ),
        );
        break;
    }
  }
  if (!ctx.streaming) startSse(ctx, routeHeaders(ctx, undefined));
  ctx.res.end(sseFrame({ type: 'message_stop' }, 'message_stop'));
}

export function addAnthropicRoutes(router: Router, deps: ServerDeps): void {
  router.add('POST', '/v1/messages', {
    handler: (ctx) => messages(ctx, deps),
    access: 'token',
    errors: anthropicErrors,
  });
}
