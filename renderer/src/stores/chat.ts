import { create } from 'zustand';
import type {
  ChatMessageView,
  ChatSendEvent,
  ConversationSummary,
  RouteView,
} from '../../../electron/engine/contract/api.ts';
import type { ErrorCode } from '../../../electron/engine/contract/errors.ts';
import { api } from '../api/client.ts';
import { type ShownError, toShownError } from '../lib/errors.ts';

/** What the picker chose: the default profile, a named profile, or one provider's model. */
export type ModelChoice =
  | { kind: 'auto' }
  | { kind: 'profile'; profile: string }
  | { kind: 'model'; providerId: string; model: string };

/** The answer being written: shown live until the engine saves it. */
export interface PendingAnswer {
  text: string;
  route: RouteView | null;
  error: ShownError | null;
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
  loadConversations(): Promise<void>;
  open(id: string | null): Promise<void>;
  send(content: string): Promise<void>;
  /** Writes a new answer in place of the conversation's last one. */
  regenerate(messageId: string): Promise<void>;
  stop(): void;
  rename(id: string, title: string): Promise<void>;
  remove(id: string): Promise<void>;
  setChoice(choice: ModelChoice): void;
}

let running: AbortController | null = null;

function choiceInput(choice: ModelChoice): { providerId?: string; model?: string; profile?: string } {
  if (choice.kind === 'profile') return { profile: choice.profile };
  if (choice.kind === 'model') return { providerId: choice.providerId, model: choice.model };
  return {};
}

export const useChat = create<ChatState>((set, get) => {
  /**
   * An answer that ended without being saved (stopped, failed, cut off) stays in the conversation as
   * the user saw it, with its note, instead of vanishing when the next question starts.
   */
  function settlePending(answerId: string | undefined): void {
    const { pending } = get();
    if (!pending) return;
    const { route } = pending;
    const message: ChatMessageView = {
      // The engine stores the answer under the id it announced; without one it never reached the engine.
      id: answerId ?? `unsaved-${Date.now()}`,
      role: 'assistant',
      content: pending.text,
      createdAt: Date.now(),
      ...(route ? { providerId: route.providerId, model: route.model, fallbackDepth: route.fallbackDepth } : {}),
      ...(pending.error ? { error: { code: pending.error.code as ErrorCode, message: pending.error.message } } : {}),
    };
    set((state) => ({
      messages: [...state.messages, message],
      pending: null,
      routes: route ? { ...state.routes, [message.id]: route } : state.routes,
    }));
  }

  /** Streams one answer: live in `pending` while it comes, then into the conversation. */
  async function streamAnswer(
    open: (signal: AbortSignal) => AsyncIterable<ChatSendEvent>,
    onConversation?: (event: Extract<ChatSendEvent, { type: 'conversation' }>) => void,
  ): Promise<void> {
    const controller = new AbortController();
    running = controller;
    set({ pending: { text: '', route: null, error: null } });
    const update = (change: Partial<PendingAnswer>) =>
      set((state) => (state.pending ? { pending: { ...state.pending, ...change } } : {}));
    let route: RouteView | null = null;
    let answerId: string | undefined;
    try {
      for await (const event of open(controller.signal)) {
        if (event.type === 'conversation') {
          answerId = event.assistantMessageId;
          onConversation?.(event);
        } else if (event.type === 'route') {
          route = event.route;
          update({ route });
        } else if (event.type === 'text') {
          set((state) =>
            state.pending ? { pending: { ...state.pending, text: state.pending.text + event.text } } : {},
          );
        } else if (event.type === 'saved') {
          const saved = event.message;
          set((state) => ({
            messages: [...state.messages, saved],
            pending: null,
            routes: route ? { ...state.routes, [saved.id]: route } : state.routes,
          }));
        }
      }
      if (controller.signal.aborted) update({ error: { code: 'CANCELLED', message: 'Stopped.' } });
    } catch (error) {
      update({ error: toShownError(error) });
    } finally {
      running = null;
      settlePending(answerId);
      void get().loadConversations();
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

    async loadConversations() {
      try {
        set({ conversations: await api.call('conversations.list', {}), listError: null });
      } catch (error) {
        set({ listError: toShownError(error) });
      }
    },

    async open(id) {
      get().stop();
      if (id === null) {
        set({ activeId: null, messages: [], pending: null });
        return;
      }
      set({ activeId: id, messages: [], pending: null });
      try {
        const conversation = await api.call('conversations.get', { id });
        if (get().activeId === id) set({ messages: conversation.messages });
      } catch (error) {
        set({ listError: toShownError(error) });
      }
    },

    async send(content) {
      if (running) return;
      const now = Date.now();
      const draftUser: ChatMessageView = { id: `draft-${now}`, role: 'user', content, createdAt: now };
      set((state) => ({ messages: [...state.messages, draftUser] }));
      const input = { conversationId: get().activeId ?? undefined, content, ...choiceInput(get().choice) };
      await streamAnswer(
        (signal) => api.stream('chat.send', input, signal),
        (event) =>
          set((state) => ({
            activeId: event.conversationId,
            messages: state.messages.map((m) => (m === draftUser ? { ...m, id: event.userMessageId } : m)),
          })),
      );
    },

    async regenerate(messageId) {
      const conversationId = get().activeId;
      if (running || !conversationId) return;
      set((state) => ({ messages: state.messages.filter((m) => m.id !== messageId) }));
      await streamAnswer((signal) => api.stream('chat.regenerate', { conversationId, messageId }, signal));
    },

    stop() {
      running?.abort();
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
  };
});

/** True while an answer streams. */
export const useIsStreaming = () => useChat((state) => state.pending !== null);
