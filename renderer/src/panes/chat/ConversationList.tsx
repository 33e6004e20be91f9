import { useState } from 'react';
import { Icon } from '../../components/Icon.tsx';
import { formatDate } from '../../lib/format.ts';
import { useChat } from '../../stores/chat.ts';

export function ConversationList() {
  const { conversations, activeId, open, rename, remove } = useChat();
  const [editing, setEditing] = useState<string | null>(null);

  return (
    <aside className="list-column" aria-label="Conversations">
      <button type="button" className="primary wide" onClick={() => void open(null)}>
        <Icon name="plus" /> New chat
      </button>
      {conversations.length === 0 ? (
        <p className="muted small list-empty">Your conversations will appear here.</p>
      ) : (
        <ul className="item-list">
          {conversations.map((conversation) => (
            <li key={conversation.id} className={conversation.id === activeId ? 'item active' : 'item'}>
              {editing === conversation.id ? (
                <input
                  aria-label="Conversation title"
                  defaultValue={conversation.title}
                  // biome-ignore lint/a11y/noAutofocus: the user just asked to rename this item
                  autoFocus
                  onBlur={(event) => {
                    setEditing(null);
                    const title = event.currentTarget.value.trim();
                    if (title && title !== conversation.title) void rename(conversation.id, title);
                  }}
                  onKeyDown={(event) => {
                    if (event.key === 'Enter') event.currentTarget.blur();
                    if (event.key === 'Escape') setEditing(null);
                  }}
                />
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
                    {formatDate(conversation.updatedAt)} · {conversation.messageCount} messages
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
