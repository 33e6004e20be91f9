import { useState } from 'react';
import { Icon } from '../../components/Icon.tsx';
import { useChat, useIsStreaming } from '../../stores/chat.ts';

export function Composer() {
  const [draft, setDraft] = useState('');
  const send = useChat((state) => state.send);
  const stop = useChat((state) => state.stop);
  const streaming = useIsStreaming();

  const submit = () => {
    const content = draft.trim();
    if (!content || streaming) return;
    setDraft('');
    void send(content);
  };

  return (
    <form
      className="composer"
      onSubmit={(event) => {
        event.preventDefault();
        submit();
      }}
    >
      <textarea
        aria-label="Message"
        placeholder="Ask anything — Enter sends, Shift+Enter starts a new line, Esc stops an answer"
        value={draft}
        rows={3}
        onChange={(event) => setDraft(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
            event.preventDefault();
            submit();
          }
        }}
      />
      {streaming ? (
        <button type="button" className="danger" onClick={stop} aria-label="Stop the answer" title="Stop (Esc)">
          <Icon name="stop" /> Stop
        </button>
      ) : (
        <button type="submit" className="primary" disabled={!draft.trim()} aria-label="Send message">
          Send
        </button>
      )}
    </form>
  );
}
