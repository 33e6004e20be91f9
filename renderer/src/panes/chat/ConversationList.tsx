import { useEffect, useRef, useState } from 'react';
import type { ConversationSummary } from '#contract/api.ts';
import { Icon } from '../../components/Icon.tsx';
import { Snippet } from '../../components/Snippet.tsx';
import { formatDate } from '../../lib/format.ts';
import { type ConversationHit, useChat } from '../../stores/chat.ts';

/** The title in place, editable: Enter or leaving the field saves, Esc cancels. */
function TitleEditor({ conversation, onDone }: { conversation: ConversationSummary; onDone: () => void }) {
  const rename = useChat((state) => state.rename);
  const cancelled = useRef(false);
  return (
    <input
      aria-label="Conversation title"
      defaultValue={conversation.title}
      // biome-ignore lint/a11y/noAutofocus: the user just asked to rename this item
      autoFocus
      onBlur={(event) => {
        onDone();
        const title = event.currentTarget.value.trim();
        if (!cancelled.current && title && title !== conversation.title) void rename(conversation.id, title);
      }}
      onKeyDown={(event) => {
        if (event.key === 'Enter') event.currentTarget.blur();
        if (event.key === 'Escape') {
          // Leaving the field saves, so Esc marks the edit cancelled before the field goes away.
          cancelled.current = true;
          event.currentTarget.blur();
        }
      }}
    />
  );
}

function SearchResults({ hits }: { hits: ConversationHit[] }) {
  const open = useChat((state) => state.open);
  const activeId = useChat((state) => state.activeId);
  if (hits.length === 0) return <p className="muted small list-empty">No conversation matches.</p>;
  return (
    <ul className="item-list" aria-label="Matching conversations">
      {hits.map((hit) => (
        <li key={hit.id} className={hit.id === activeId ? 'item active' : 'item'}>
          <button type="button" className="item-main" onClick={() => void open(hit.id)}>
            <span className="item-title">{hit.title || 'Untitled'}</span>
            {hit.snippet && <Snippet text={hit.snippet} />}
          </button>
        </li>
      ))}
    </ul>
  );
}

export function ConversationList() {
  const conversations = useChat((state) => state.conversations);
  const activeId = useChat((state) => state.activeId);
  const open = useChat((state) => state.open);
  const remove = useChat((state) => state.remove);
  const query = useChat((state) => state.query);
  const hits = useChat((state) => state.hits);
  const search = useChat((state) => state.search);
  const [editing, setEditing] = useState<string | null>(null);
  const loadConversations = useChat((state) => state.loadConversations);
  const anyAnswering = conversations.some((conversation) => conversation.answering);

  // Answers written in the background finish on their own: keep their "writing" marks and titles current.
  useEffect(() => {
    if (!anyAnswering) return;
    const timer = setInterval(() => void loadConversations(), 2_000);
    return () => clearInterval(timer);
  }, [anyAnswering, loadConversations]);

  return (
    <aside className="list-column" aria-label="Conversations">
      <button type="button" className="primary wide" onClick={() => void open(null)}>
        <Icon name="plus" /> New chat
      </button>
      <label className="search-box">
        <Icon name="search" size={16} />
        <input
          type="search"
          aria-label="Search conversations"
          placeholder="Search conversations"
          value={query}
          onChange={(event) => void search(event.target.value)}
        />
      </label>
      {hits ? (
        <SearchResults hits={hits} />
      ) : conversations.length === 0 ? (
        <p className="muted small list-empty">Your conversations will appear here.</p>
      ) : (
        <ul className="item-list">
          {conversations.map((conversation) => (
            <li key={conversation.id} className={conversation.id === activeId ? 'item active' : 'item'}>
              {editing === conversation.id ? (
                <TitleEditor conversation={conversation} onDone={() => setEditing(null)} />
              ) : (
                <button
                  type="button"
                  className="item-main"
                  aria-current={conversation.id === activeId ? 'true' : undefined}
                  onClick={() => void open(conversation.id)}
                  onDoubleClick={() => setEditing(conversation.id)}
                >
                  <span className="item-title">{conversation.title || 'Untitled'}</span>
                  <span className="muted small">
                    {conversation.answering ? (
                      <span className="status status-running">writing an answer…</span>
                    ) : (
                      <>
                        {formatDate(conversation.updatedAt)} · {conversation.messageCount} messages
                      </>
                    )}
                  </span>
                </button>
              )}
              <div className="item-actions">
                <button
                  type="button"
                  className="ghost small"
                  aria-label={`Rename ${conversation.title}`}
                  onClick={() => setEditing(conversation.id)}
                >
                  ✎
                </button>
                <button
                  type="button"
                  className="ghost small"
                  aria-label={`Delete ${conversation.title}`}
                  onClick={() => {
                    if (confirm(`Delete "${conversation.title}"?`)) void remove(conversation.id);
                  }}
                >
                  <Icon name="trash" size={14} />
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </aside>
  );
}
