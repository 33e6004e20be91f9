import { useEffect } from 'react';
import { ErrorNote } from '../../components/ErrorNote.tsx';
import { useChat, useIsStreaming } from '../../stores/chat.ts';
import { useSettings } from '../../stores/settings.ts';
import { Composer } from './Composer.tsx';
import { ConversationList } from './ConversationList.tsx';
import { MessageList } from './MessageList.tsx';
import { ModelPicker } from './ModelPicker.tsx';
import { Welcome } from './Welcome.tsx';

export function ChatPane() {
  const loadConversations = useChat((state) => state.loadConversations);
  const empty = useChat((state) => state.messages.length === 0 && state.pending === null);
  const listError = useChat((state) => state.listError);
  const streaming = useIsStreaming();
  const load = useSettings((state) => state.load);
  const loadModels = useSettings((state) => state.loadModels);

  useEffect(() => {
    void loadConversations();
    void load();
    void loadModels();
  }, [loadConversations, load, loadModels]);

  // Esc stops the answer being written, wherever the focus is in the pane (an open editor takes Esc first).
  useEffect(() => {
    if (!streaming) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape' && !event.defaultPrevented) useChat.getState().stop();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [streaming]);

  return (
    <div className="chat-pane split">
      <ConversationList />
      <section className="chat-main" aria-label="Conversation">
        <header className="pane-header">
          <h1>Chat</h1>
          <ModelPicker />
        </header>
        {listError && <ErrorNote error={listError} onDismiss={() => useChat.setState({ listError: null })} />}
        {empty ? <Welcome /> : <MessageList />}
        <Composer />
      </section>
    </div>
  );
}
