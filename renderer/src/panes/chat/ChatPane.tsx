import { useEffect } from 'react';
import { ErrorNote } from '../../components/ErrorNote.tsx';
import { useChat } from '../../stores/chat.ts';
import { useSettings } from '../../stores/settings.ts';
import { Composer } from './Composer.tsx';
import { ConversationList } from './ConversationList.tsx';
import { MessageList } from './MessageList.tsx';
import { ModelPicker } from './ModelPicker.tsx';
import { Welcome } from './Welcome.tsx';

export function ChatPane() {
  const { loadConversations, messages, pending, listError } = useChat();
  const { load, loadModels } = useSettings();

  useEffect(() => {
    void loadConversations();
    void load();
    void loadModels();
  }, [loadConversations, load, loadModels]);

  const empty = messages.length === 0 && pending === null;
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
