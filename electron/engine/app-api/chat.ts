import type { z } from 'zod';
import type {
  ApiCallOutputs,
  apiInputs,
  ChatMessageView,
  ChatSendEvent,
  ConversationSummary,
  RouteView,
} from '../contract/api.ts';
import type { ChatMessage, Usage } from '../contract/chat.ts';
import { SwitchboardError, toSwitchboardError } from '../contract/errors.ts';
import type { ChatFn } from '../meetings/summarize.ts';
import type { RouteInfo } from '../routing/types.ts';
import type { Store } from '../store/store.ts';

type Input<M extends keyof typeof apiInputs> = z.output<(typeof apiInputs)[M]>;
interface HandlerContext {
  signal: AbortSignal;
}

export interface ChatApiDeps {
  store: Pick<Store, 'conversations' | 'search'>;
  /** The Engine's chat. */
  chat: ChatFn;
  /** What an answer cost in USD, where the price book knows the model. */
  costOf?: (route: RouteInfo, usage: Usage) => number | undefined;
}

const TITLE_LENGTH = 60;

function titleFrom(content: string): string {
  const line = content.trim().split('\n')[0]!.trim();
  return line.length <= TITLE_LENGTH ? line || 'New chat' : `${line.slice(0, TITLE_LENGTH - 1).trimEnd()}…`;
}

function toRouteView(route: RouteInfo): RouteView {
  return {
    providerId: route.providerId,
    providerLabel: route.providerLabel,
    model: route.model,
    fallbackDepth: route.fallbackDepth,
  };
}

/** The history the model sees: every stored message before the answer being written, failed answers left out. */
function historyBefore(messages: readonly ChatMessageView[], answerId: string): ChatMessage[] {
  const end = messages.findIndex((message) => message.id === answerId);
  return messages
    .slice(0, end < 0 ? messages.length : end)
    .filter((message) => !message.error)
    .map((message) => ({ role: message.role, content: message.content }));
}

/**
 * Handlers for conversations.*, chat.* and search (contract/api.ts). Chat history persists in the store;
 * each answer records who gave it and what it cost.
 */
export function createChatHandlers(deps: ChatApiDeps) {
  const { store } = deps;

  /** Streams the model's answer into the assistant message `answerId`, then stores it (or the error). */
  async function* answer(
    conversationId: string,
    answerId: string,
    options: { model?: string; providerId?: string; profile?: string },
    signal: AbortSignal,
  ): AsyncIterable<ChatSendEvent> {
    const messages = historyBefore(store.conversations.get(conversationId).messages, answerId);
    const started = performance.now();
    let text = '';
    let route: RouteInfo | undefined;
    let usage: Usage | undefined;
    try {
      for await (const event of deps.chat(
        { messages, ...(options.model ? { model: options.model } : {}) },
        { providerId: options.providerId, profile: options.profile, signal },
      )) {
        if (event.type === 'route') {
          route = event.route;
          yield { type: 'route', route: toRouteView(event.route) };
          continue;
        }
        if (event.type === 'text') text += event.text;
        if (event.type === 'finish') usage = event.usage;
        yield event;
      }
    } catch (error) {
      const failure = toSwitchboardError(error);
      store.conversations.recordAnswer(answerId, {
        content: text,
        providerId: failure.providerId ?? route?.providerId,
        model: route?.model,
        latencyMs: performance.now() - started,
        fallbackDepth: route?.fallbackDepth,
        error: failure.toJSON(),
      });
      throw failure;
    }
    const saved = store.conversations.recordAnswer(answerId, {
      content: text,
      providerId: route?.providerId,
      model: route?.model,
      inputTokens: usage?.inputTokens,
      outputTokens: usage?.outputTokens,
      costUsd: route && usage ? deps.costOf?.(route, usage) : undefined,
      latencyMs: performance.now() - started,
      fallbackDepth: route?.fallbackDepth,
    });
    yield { type: 'saved', message: saved };
  }

  return {
    'conversations.list': async (_input: Input<'conversations.list'>): Promise<ConversationSummary[]> =>
      store.conversations.list(),
    'conversations.get': async (input: Input<'conversations.get'>): Promise<ApiCallOutputs['conversations.get']> =>
      store.conversations.get(input.id),
    'conversations.rename': async (input: Input<'conversations.rename'>): Promise<ConversationSummary> =>
      store.conversations.rename(input.id, input.title),
    'conversations.delete': async (input: Input<'conversations.delete'>): Promise<{ ok: true }> => {
      store.conversations.delete(input.id);
      return { ok: true };
    },

    /** Stores the user's message and an assistant message, then streams and stores the answer. */
    'chat.send': async function* (input: Input<'chat.send'>, ctx: HandlerContext): AsyncIterable<ChatSendEvent> {
      const conversationId = input.conversationId
        ? store.conversations.summary(input.conversationId).id
        : store.conversations.create(titleFrom(input.content)).id;
      const user = store.conversations.addMessage(conversationId, 'user', input.content);
      const assistant = store.conversations.addMessage(conversationId, 'assistant', '');
      yield { type: 'conversation', conversationId, userMessageId: user.id, assistantMessageId: assistant.id };
      yield* answer(conversationId, assistant.id, input, ctx.signal);
    },

    /** Writes a new answer over the conversation's last assistant message. */
    'chat.regenerate': async function* (
      input: Input<'chat.regenerate'>,
      ctx: HandlerContext,
    ): AsyncIterable<ChatSendEvent> {
      const { messages } = store.conversations.get(input.conversationId);
      const last = messages.at(-1);
      if (!last || last.id !== input.messageId || last.role !== 'assistant') {
        throw new SwitchboardError('INVALID_REQUEST', 'only the last answer of a conversation can be regenerated');
      }
      const user = messages.findLast((message) => message.role === 'user');
      yield {
        type: 'conversation',
        conversationId: input.conversationId,
        userMessageId: user?.id ?? '',
        assistantMessageId: last.id,
      };
      yield* answer(input.conversationId, last.id, {}, ctx.signal);
    },

    search: async (input: Input<'search'>): Promise<ApiCallOutputs['search']> =>
      store.search.search(input.query, input.limit ?? 20),
  };
}
