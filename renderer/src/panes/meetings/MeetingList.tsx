import { useEffect } from 'react';
import type { MeetingSummary, SearchHit } from '#contract/api.ts';
import { Icon } from '../../components/Icon.tsx';
import { Snippet } from '../../components/Snippet.tsx';
import { formatClock, formatDate, formatPercent } from '../../lib/format.ts';
import { useChat } from '../../stores/chat.ts';
import { useMeetings } from '../../stores/meetings.ts';
import { useUi } from '../../stores/ui.ts';

function statusText(meeting: MeetingSummary): string {
  if (meeting.status === 'running') return `transcribing ${formatPercent(meeting.progress)}`;
  if (meeting.status === 'done')
    return meeting.durationSeconds === null ? 'done' : formatClock(meeting.durationSeconds);
  return meeting.status;
}

function SearchResults({ hits }: { hits: SearchHit[] }) {
  const openMeeting = useMeetings((state) => state.open);
  const openConversation = useChat((state) => state.open);
  const setPane = useUi((state) => state.setPane);
  if (hits.length === 0) return <p className="muted small list-empty">Nothing matches.</p>;
  return (
    <ul className="item-list" aria-label="Search results">
      {hits.map((hit) => (
        <li key={`${hit.kind}-${hit.id}-${hit.timestamp ?? ''}`} className="item">
          <button
            type="button"
            className="item-main"
            onClick={() => {
              if (hit.kind === 'meeting') void openMeeting(hit.id, hit.timestamp ?? undefined);
              else {
                setPane('chat');
                void openConversation(hit.id);
              }
            }}
          >
            <span className="item-title">
              <span className="kind-badge">{hit.kind === 'meeting' ? 'Meeting' : 'Chat'}</span> {hit.title}
              {hit.timestamp !== null && <span className="muted small"> at {formatClock(hit.timestamp)}</span>}
            </span>
            <Snippet text={hit.snippet} />
          </button>
        </li>
      ))}
    </ul>
  );
}

export function MeetingList() {
  const { meetings, activeId, open, searchQuery, searchHits, search, load } = useMeetings();
  const transcribingElsewhere = meetings.some(
    (meeting) => meeting.id !== activeId && (meeting.status === 'running' || meeting.status === 'queued'),
  );

  // Jobs the open meeting does not follow move on too: keep their progress in the list current.
  useEffect(() => {
    if (!transcribingElsewhere) return;
    const timer = setInterval(() => void load(), 3_000);
    return () => clearInterval(timer);
  }, [transcribingElsewhere, load]);

  return (
    <aside className="list-column" aria-label="Meetings">
      <button type="button" className="primary wide" onClick={() => void open(null)}>
        <Icon name="plus" /> New meeting
      </button>
      <label className="search-box">
        <Icon name="search" size={16} />
        <input
          type="search"
          aria-label="Search meetings and chats"
          placeholder="Search"
          value={searchQuery}
          onChange={(event) => void search(event.target.value)}
        />
      </label>
      {searchHits ? (
        <SearchResults hits={searchHits} />
      ) : meetings.length === 0 ? (
        <p className="muted small list-empty">Transcribed meetings will appear here.</p>
      ) : (
        <ul className="item-list">
          {meetings.map((meeting) => (
            <li key={meeting.id} className={meeting.id === activeId ? 'item active' : 'item'}>
              <button
                type="button"
                className="item-main"
                aria-current={meeting.id === activeId ? 'true' : undefined}
                onClick={() => void open(meeting.id)}
              >
                <span className="item-title">{meeting.title}</span>
                <span className="muted small">
                  {formatDate(meeting.createdAt)} ·{' '}
                  <span className={`status status-${meeting.status}`}>{statusText(meeting)}</span>
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </aside>
  );
}
