import type { z } from 'zod';
import type {
  ApiCallOutputs,
  apiInputs,
  ChatMessageView,
  ChatSendEvent,
  ConversationSummary,
  ConversationView,
  RouteView,
  SearchHit,
} from '../contract/api.ts';
import type { ChatMessage, Usage } from '../contract/chat.ts';
import { SwitchboardError, toSwitchboardError } from '../contract/errors.ts';
import type { RouteInfo } from '../engine.ts';
import type { ChatFn } from '../meetings/summarize.ts';
import type { Store } from '../store/store.ts';
import type { AnswerRuns } from './answer-runs.ts';

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
  /** The answers being written; they outlive the window that asked (bootstrap stops them at close). */
  runs: AnswerRuns;
}

/** Who should answer: what the "Answer with" picker chose. */
interface AnswerChoice {
  model?: string;
  providerId?: string;
  profile?: string;
}

const TITLE_LENGTH = 60;
const TITLE_PROMPT =
  'Write a title of at most six words for the conversation that starts with the message below. Answer with the title only, without quotes.';
const TITLE_MAX_TOKENS = 24;
/** How often the text of an answer being written is saved: a crash mid-answer loses at most this much of it. */
const DRAFT_INTERVAL_MS = 500;

function titleFrom(content: string): string {
  const line = content.trim().split('\n')[0]!.trim();
  return line.length <= TITLE_LENGTH ? line || 'New chat' : `${line.slice(0, TITLE_LENGTH - 1).trimEnd()}…`;
}

/** A model's title made fit for the list: one line, no quotes, label or trailing full stop; undefined when empty. */
export function cleanTitle(text: string): string | undefined {
  const line = text
    .split('\n')
    .map((part) => part.trim())
    .find((part) => part.length > 0);
  if (!line) return undefined;
  const title = line
    .replace(/^(title|titel)\s*:\s*/i, '')
    .replace(/^[\s"'“”‘’*#`_]+|[\s"'“”‘’*#`_]+$/g, '')
    .replace(/[.。]+$/, '')
    .trim();
  if (title.length < 2) return undefined;
  return title.length <= TITLE_LENGTH ? title : `${title.slice(0, TITLE_LENGTH - 1).trimEnd()}…`;
}

function toRouteView(route: RouteInfo): RouteView {
  return {
    providerId: route.providerId,
    providerLabel: route.providerLabel,
    model: route.model,
    onMachine: route.onMachine,
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

/** One hit per conversation (its best), one per meeting moment: the list shows each thing once. */
function distinctHits(hits: readonly SearchHit[], limit: number): SearchHit[] {
  const seen = new Set<string>();
  const distinct: SearchHit[] = [];
  for (const hit of hits) {
    const key = hit.kind === 'chat' ? `chat:${hit.id}` : `meeting:${hit.id}:${hit.timestamp ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    distinct.push(hit);
    if (distinct.length === limit) break;
  }
  return distinct;
}

/**
 * Handlers for conversations.*, chat.* and search (contract/api.ts). Chat history persists in the store;
 * each answer records who gave it and what it cost. Answers are written by the engine whether or not a
 * window follows them (see AnswerRuns).
 */
export function createChatHandlers(deps: ChatApiDeps) {
  const { store, runs } = deps;

  /** Streams the model's answer into the assistant message `answerId`, then stores it (or the error). */
  async function* answer(
    conversationId: string,
    answerId: string,
    choice: AnswerChoice,
    signal: AbortSignal,
  ): AsyncIterable<ChatSendEvent> {
    const messages = historyBefore(store.conversations.get(conversationId).messages, answerId);
    const started = performance.now();
    let text = '';
    let route: RouteInfo | undefined;
    let usage: Usage | undefined;
    let draftSavedAt = Number.NEGATIVE_INFINITY;
    try {
      for await (const event of deps.chat(
        { messages, ...(choice.model ? { model: choice.model } : {}) },
        { providerId: choice.providerId, profile: choice.profile, signal },
      )) {
        if (event.type === 'route') {
          route = event.route;
          yield { type: 'route', route: toRouteView(event.route) };
          continue;
        }
        if (event.type === 'text') {
          text += event.text;
          if (performance.now() - draftSavedAt >= DRAFT_INTERVAL_MS) {
            store.conversations.saveDraft(answerId, text);
            draftSavedAt = performance.now();
          }
        }
        if (event.type === 'finish') usage = event.usage;
        yield event;
      }
    } catch (error) {
      const failure = toSwitchboardError(error);
      store.conversations.recordAnswer(answerId, {
        content: text,
        providerId: failure.providerId ?? route?.providerId,
        providerLabel: route?.providerLabel,
        model: route?.model,
        onMachine: route?.onMachine,
        latencyMs: performance.now() - started,
        fallbackDepth: route?.fallbackDepth,
        error: failure.toJSON(),
      });
      throw failure;
    }
    const saved = store.conversations.recordAnswer(answerId, {
      content: text,
      providerId: route?.providerId,
      providerLabel: route?.providerLabel,
      model: route?.model,
      onMachine: route?.onMachine,
      inputTokens: usage?.inputTokens,
      outputTokens: usage?.outputTokens,
      costUsd: route && usage ? deps.costOf?.(route, usage) : undefined,
      latencyMs: performance.now() - started,
      fallbackDepth: route?.fallbackDepth,
    });
    yield { type: 'saved', message: saved };
  }

  /**
   * Asks the model that answered for a short title of a new conversation. The question already went to
   * that provider, so nothing new leaves the machine. A failure keeps the title made from the question.
   */
  async function retitle(conversationId: string, signal: AbortSignal): Promise<string | undefined> {
    try {
      const { title, messages } = store.conversations.get(conversationId);
      const question = messages.find((message) => message.role === 'user');
      const answered = messages.find((m) => m.role === 'assistant' && !m.error && m.providerId);
      if (!question || !answered || title !== titleFrom(question.content)) return undefined;
      let text = '';
      for await (const event of deps.chat(
        {
          messages: [
            { role: 'system', content: TITLE_PROMPT },
            { role: 'user', content: question.content.slice(0, 2000) },
          ],
          max_tokens: TITLE_MAX_TOKENS,
          ...(answered.model ? { model: answered.model } : {}),
        },
        { providerId: answered.providerId, signal },
      )) {
        if (event.type === 'text') text += event.text;
      }
      const generated = cleanTitle(text);
      // The person may have renamed it meanwhile (their title wins), or deleted it.
      if (!generated || store.conversations.summary(conversationId).title !== title) return undefined;
      store.conversations.rename(conversationId, generated);
      return generated;
    } catch {
      return undefined;
    }
  }

  /** Starts writing the answer `answerId`; a new conversation gets its title once the answer is saved. */
  function startAnswer(conversationId: string, answerId: string, choice: AnswerChoice, isNew: boolean) {
    return runs.start(conversationId, answerId, async function* (signal) {
      yield* answer(conversationId, answerId, choice, signal);
      if (!isNew || signal.aborted) return;
      const title = await retitle(conversationId, signal);
      if (title) yield { type: 'title', conversationId, title };
    });
  }

  function refuseWhileAnswering(conversationId: string): void {
    if (runs.isAnswering(conversationId)) {
      throw new SwitchboardError(
        'INVALID_REQUEST',
        'an answer is still being written in this conversation: wait for it, or stop it first',
        { retryable: false },
      );
    }
  }

  // Left on automatic, the chat asks the `chat` profile: the default chat model chosen in Settings.
  const choiceOf = (input: AnswerChoice): AnswerChoice => ({
    model: input.model,
    providerId: input.providerId,
    profile: input.profile ?? (input.model || input.providerId ? undefined : 'chat'),
  });

  return {
    'conversations.list': async (_input: Input<'conversations.list'>): Promise<ConversationSummary[]> =>
      store.conversations
        .list()
        .map((summary) => (runs.isAnswering(summary.id) ? { ...summary, answering: true } : summary)),
    'conversations.get': async (input: Input<'conversations.get'>): Promise<ConversationView> => {
      const conversation = store.conversations.get(input.id);
      const run = runs.get(input.id);
      return run ? { ...conversation, answering: true, answeringMessageId: run.assistantMessageId } : conversation;
    },
    'conversations.rename': async (input: Input<'conversations.rename'>): Promise<ConversationSummary> =>
      store.conversations.rename(input.id, input.title),
    'conversations.delete': async (input: Input<'conversations.delete'>): Promise<{ ok: true }> => {
      const run = runs.get(input.id);
      run?.stop();
      await run?.done;
      store.conversations.delete(input.id);
      return { ok: true };
    },

    /** Stores the user's message and an assistant message, then writes the answer and follows it. */
    'chat.send': async function* (input: Input<'chat.send'>, ctx: HandlerContext): AsyncIterable<ChatSendEvent> {
      const isNew = !input.conversationId;
      const conversationId = input.conversationId
        ? store.conversations.summary(input.conversationId).id
        : store.conversations.create(titleFrom(input.content)).id;
      refuseWhileAnswering(conversationId);
      const user = store.conversations.addMessage(conversationId, 'user', input.content);
      const assistant = store.conversations.addMessage(conversationId, 'assistant', '');
      const events = startAnswer(conversationId, assistant.id, choiceOf(input), isNew).follow(ctx.signal);
      yield { type: 'conversation', conversationId, userMessageId: user.id, assistantMessageId: assistant.id };
      yield* events;
    },

    /** Writes a new answer over the conversation's last assistant message, by the model chosen now. */
    'chat.regenerate': async function* (
      input: Input<'chat.regenerate'>,
      ctx: HandlerContext,
    ): AsyncIterable<ChatSendEvent> {
      refuseWhileAnswering(input.conversationId);
      const { messages } = store.conversations.get(input.conversationId);
      const last = messages.at(-1);
      if (!last || last.id !== input.messageId || last.role !== 'assistant') {
        throw new SwitchboardError('INVALID_REQUEST', 'only the last answer of a conversation can be regenerated');
      }
      const user = messages.findLast((message) => message.role === 'user');
      const events = startAnswer(input.conversationId, last.id, choiceOf(input), false).follow(ctx.signal);
      yield {
        type: 'conversation',
        conversationId: input.conversationId,
        userMessageId: user?.id ?? '',
        assistantMessageId: last.id,
      };
      yield* events;
    },

    /** Changes one of the person's messages, drops everything after it, and answers it again. */
    'chat.edit': async function* (input: Input<'chat.edit'>, ctx: HandlerContext): AsyncIterable<ChatSendEvent> {
      refuseWhileAnswering(input.conversationId);
      const message = store.conversations.message(input.messageId);
      const { messages } = store.conversations.get(input.conversationId);
      if (message.role !== 'user' || !messages.some((m) => m.id === message.id)) {
        throw new SwitchboardError('INVALID_REQUEST', 'only your own messages in this conversation can be edited');
      }
      store.conversations.editAndTruncate(input.conversationId, message.id, input.content);
      const assistant = store.conversations.addMessage(input.conversationId, 'assistant', '');
      const events = startAnswer(input.conversationId, assistant.id, choiceOf(input), false).follow(ctx.signal);
      yield {
        type: 'conversation',
        conversationId: input.conversationId,
        userMessageId: message.id,
        assistantMessageId: assistant.id,
      };
      yield* events;
    },

    /** Follows the answer being written in a conversation, from what is written so far; ends at once when none is. */
    'chat.watch': async function* (input: Input<'chat.watch'>, ctx: HandlerContext): AsyncIterable<ChatSendEvent> {
      const run = runs.get(input.conversationId);
      if (run) yield* run.follow(ctx.signal, { resume: true });
    },

    /** Stops the answer being written; resolves once what was written is saved. */
    'chat.stop': async (input: Input<'chat.stop'>): Promise<{ ok: true }> => {
      const run = runs.get(input.conversationId);
      run?.stop();
      await run?.done;
      return { ok: true };
    },

    search: async (input: Input<'search'>): Promise<ApiCallOutputs['search']> => {
      const limit = input.limit ?? 20;
      // Several messages of one conversation can match: ask for more, then keep each conversation once.
      return distinctHits(store.search.search(input.query, limit * 3), limit);
    },
  };
}
