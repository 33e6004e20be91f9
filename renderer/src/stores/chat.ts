import { create } from 'zustand';
import type { ChatMessageView, ChatSendEvent, ConversationSummary, RouteView } from '#contract/api.ts';
import type { ErrorCode } from '#contract/errors.ts';
import { api } from '../api/client.ts';
import { type ShownError, toShownError } from '../lib/errors.ts';

/** What the picker chose: the default profile, a named profile, or one provider's model. */
export type ModelChoice =
  | { kind: 'auto' }
  | { kind: 'profile'; profile: string }
  | { kind: 'model'; providerId: string; model: string };

/** The answer being written in the open conversation: shown live until the engine saves it. */
export interface PendingAnswer {
  /** The assistant message it will be saved as (unknown until the engine announces it). */
  id: string | null;
  text: string;
  route: RouteView | null;
  error: ShownError | null;
}

/** A conversation the list search found, once, with the words around the best match. */
export interface ConversationHit {
  id: string;
  title: string;
  snippet: string | null;
}

interface ChatState {
  conversations: ConversationSummary[];
  activeId: string | null;
  messages: ChatMessageView[];
  pending: PendingAnswer | null;
  choice: ModelChoice;
  /** The provider label each saved message came from, for messages answered in this session. */
  routes: Record<string, RouteView>;
  listError: ShownError | null;
  query: string;
  hits: ConversationHit[] | null;
  loadConversations(): Promise<void>;
  /** Opens a conversation (or a new, empty one); an answer being written elsewhere goes on being written. */
  open(id: string | null): Promise<void>;
  send(content: string): Promise<void>;
  /** Writes a new answer in place of the conversation's last one, by the model chosen now. */
  regenerate(messageId: string): Promise<void>;
  /** Changes one of your messages and answers it again (what came after it is dropped). */
  edit(messageId: string, content: string): Promise<void>;
  stop(): void;
  rename(id: string, title: string): Promise<void>;
  remove(id: string): Promise<void>;
  setChoice(choice: ModelChoice): void;
  search(query: string): Promise<void>;
}

/** The answer stream the open conversation follows; leaving the conversation only stops following. */
let following: AbortController | null = null;
/** Stop was asked for before the engine said which conversation a new question went to. */
let stopRequested = false;
let searchSeq = 0;

function choiceInput(choice: ModelChoice): { providerId?: string; model?: string; profile?: string } {
  if (choice.kind === 'profile') return { profile: choice.profile };
  if (choice.kind === 'model') return { providerId: choice.providerId, model: choice.model };
  return {};
}

function upsertSummary(list: ConversationSummary[], summary: ConversationSummary): ConversationSummary[] {
  return [summary, ...list.filter((item) => item.id !== summary.id)];
}

export const useChat = create<ChatState>((set, get) => {
  /** Words arrive faster than a screen refreshes: they are added once per frame, not once per word. */
  let buffered = '';
  let flushScheduled = false;
  function flushText(): void {
    flushScheduled = false;
    const text = buffered;
    buffered = '';
    if (text) set((state) => (state.pending ? { pending: { ...state.pending, text: state.pending.text + text } } : {}));
  }
  function addText(text: string): void {
    buffered += text;
    if (flushScheduled) return;
    flushScheduled = true;
    if (typeof requestAnimationFrame === 'function' && document.visibilityState === 'visible') {
      requestAnimationFrame(flushText);
    } else setTimeout(flushText, 50);
  }

  /**
   * An answer that ended without being saved (stopped, failed, cut off) stays in the conversation as
   * the user saw it, with its note, instead of vanishing when the next question starts.
   */
  function settlePending(): void {
    flushText();
    const { pending } = get();
    if (!pending) return;
    const { route } = pending;
    const message: ChatMessageView = {
      // The engine stores the answer under the id it announced; without one it never reached the engine.
      id: pending.id ?? `unsaved-${Date.now()}`,
      role: 'assistant',
      content: pending.text,
      createdAt: Date.now(),
      ...(route ? { providerId: route.providerId, model: route.model, fallbackDepth: route.fallbackDepth } : {}),
      ...(pending.error ? { error: { code: pending.error.code as ErrorCode, message: pending.error.detail } } : {}),
    };
    set((state) => ({
      messages: [...state.messages.filter((m) => m.id !== message.id), message],
      pending: null,
      routes: route ? { ...state.routes, [message.id]: route } : state.routes,
    }));
  }

  function applyEvent(event: ChatSendEvent): void {
    switch (event.type) {
      case 'conversation':
        set((state) => ({ pending: state.pending ? { ...state.pending, id: event.assistantMessageId } : null }));
        return;
      case 'resume':
        set({ pending: { id: event.assistantMessageId, text: event.text, route: event.route, error: null } });
        return;
      case 'route':
        set((state) => (state.pending ? { pending: { ...state.pending, route: event.route } } : {}));
        return;
      case 'text':
        addText(event.text);
        return;
      case 'saved': {
        flushText();
        const saved = event.message;
        const route = get().pending?.route;
        set((state) => ({
          messages: [...state.messages.filter((m) => m.id !== saved.id), saved],
          pending: null,
          routes: route ? { ...state.routes, [saved.id]: route } : state.routes,
        }));
        void get().loadConversations();
        return;
      }
      case 'title':
        set((state) => ({
          conversations: state.conversations.map((c) =>
            c.id === event.conversationId ? { ...c, title: event.title } : c,
          ),
        }));
        return;
      default:
        // 'finish': the saved message that follows carries what it says.
        return;
    }
  }

  /**
   * Follows an answer stream for the open conversation: live in `pending` while it comes, then into the
   * conversation. Looking elsewhere ends only the following (the engine goes on writing and saves it).
   */
  async function follow(
    open: (signal: AbortSignal) => AsyncIterable<ChatSendEvent>,
    onConversation?: (event: Extract<ChatSendEvent, { type: 'conversation' }>) => void,
  ): Promise<void> {
    following?.abort();
    const controller = new AbortController();
    following = controller;
    const isCurrent = () => following === controller;
    try {
      for await (const event of open(controller.signal)) {
        if (!isCurrent()) return;
        if (event.type === 'conversation') onConversation?.(event);
        applyEvent(event);
      }
    } catch (error) {
      if (!isCurrent()) return;
      const shown = toShownError(error);
      set((state) => ({ pending: state.pending ? { ...state.pending, error: shown } : null }));
    } finally {
      if (isCurrent()) {
        following = null;
        settlePending();
        void get().loadConversations();
      }
    }
  }

  return {
    conversations: [],
    activeId: null,
    messages: [],
    pending: null,
    choice: { kind: 'auto' },
    routes: {},
    listError: null,
    query: '',
    hits: null,

    async loadConversations() {
      try {
        set({ conversations: await api.call('conversations.list', {}), listError: null });
      } catch (error) {
        set({ listError: toShownError(error) });
      }
    },

    async open(id) {
      following?.abort();
      following = null;
      buffered = '';
      set({ activeId: id, messages: [], pending: null });
      if (id === null) return;
      try {
        const conversation = await api.call('conversations.get', { id });
        if (get().activeId !== id) return;
        const answering = conversation.answeringMessageId;
        // The answer being written is shown live from what is written so far, not as its empty placeholder.
        set({ messages: conversation.messages.filter((message) => message.id !== answering) });
        if (answering) {
          set({ pending: { id: answering, text: '', route: null, error: null } });
          await follow((signal) => api.stream('chat.watch', { conversationId: id }, signal));
        }
      } catch (error) {
        set({ listError: toShownError(error) });
      }
    },

    async send(content) {
      if (get().pending) return;
      stopRequested = false;
      const now = Date.now();
      const draftUser: ChatMessageView = { id: `draft-${now}`, role: 'user', content, createdAt: now };
      set((state) => ({
        messages: [...state.messages, draftUser],
        pending: { id: null, text: '', route: null, error: null },
      }));
      const conversationId = get().activeId ?? undefined;
      const input = { conversationId, content, ...choiceInput(get().choice) };
      await follow(
        (signal) => api.stream('chat.send', input, signal),
        (event) => {
          set((state) => ({
            activeId: event.conversationId,
            messages: state.messages.map((m) => (m === draftUser ? { ...m, id: event.userMessageId } : m)),
            // A new conversation is in the list at once, while its first answer is written.
            conversations: conversationId
              ? state.conversations.map((c) => (c.id === conversationId ? { ...c, answering: true } : c))
              : upsertSummary(state.conversations, {
                  id: event.conversationId,
                  title: content.trim().split('\n')[0]!.slice(0, 60) || 'New chat',
                  updatedAt: now,
                  messageCount: 2,
                  answering: true,
                }),
          }));
          if (stopRequested) void api.call('chat.stop', { conversationId: event.conversationId });
        },
      );
    },

    async regenerate(messageId) {
      const conversationId = get().activeId;
      if (get().pending || !conversationId) return;
      set((state) => ({
        messages: state.messages.filter((m) => m.id !== messageId),
        pending: { id: messageId, text: '', route: null, error: null },
      }));
      const input = { conversationId, messageId, ...choiceInput(get().choice) };
      await follow((signal) => api.stream('chat.regenerate', input, signal));
    },

    async edit(messageId, content) {
      const conversationId = get().activeId;
      if (get().pending || !conversationId) return;
      set((state) => {
        const at = state.messages.findIndex((m) => m.id === messageId);
        const kept = at < 0 ? state.messages : state.messages.slice(0, at + 1);
        return {
          messages: kept.map((m) => (m.id === messageId ? { ...m, content } : m)),
          pending: { id: null, text: '', route: null, error: null },
        };
      });
      const input = { conversationId, messageId, content, ...choiceInput(get().choice) };
      await follow((signal) => api.stream('chat.edit', input, signal));
    },

    stop() {
      const { activeId, pending } = get();
      if (!pending) return;
      // The engine stops writing and saves what was written; the stream then ends with "Stopped.".
      if (activeId && pending.id) void api.call('chat.stop', { conversationId: activeId });
      else stopRequested = true;
    },

    async rename(id, title) {
      try {
        await api.call('conversations.rename', { id, title });
        await get().loadConversations();
      } catch (error) {
        set({ listError: toShownError(error) });
      }
    },

    async remove(id) {
      try {
        await api.call('conversations.delete', { id });
        if (get().activeId === id) await get().open(null);
        await get().loadConversations();
      } catch (error) {
        set({ listError: toShownError(error) });
      }
    },

    setChoice(choice) {
      set({ choice });
    },

    async search(query) {
      const seq = ++searchSeq;
      set({ query });
      const wanted = query.trim();
      if (!wanted) {
        set({ hits: null });
        return;
      }
      const lower = wanted.toLowerCase();
      const byTitle = get()
        .conversations.filter((c) => c.title.toLowerCase().includes(lower))
        .map((c) => ({ id: c.id, title: c.title, snippet: null }));
      try {
        const found = await api.call('search', { query: wanted, limit: 30 });
        if (seq !== searchSeq) return;
        const hits: ConversationHit[] = [...byTitle];
        for (const hit of found) {
          if (hit.kind !== 'chat') continue;
          const known = hits.find((h) => h.id === hit.id);
          if (known) known.snippet ??= hit.snippet;
          else hits.push({ id: hit.id, title: hit.title, snippet: hit.snippet });
        }
        set({ hits });
      } catch (error) {
        if (seq === searchSeq) set({ hits: byTitle, listError: toShownError(error) });
      }
    },
  };
});

/** True while an answer is written in the open conversation. */
export const useIsStreaming = () => useChat((state) => state.pending !== null && state.pending.error === null);
