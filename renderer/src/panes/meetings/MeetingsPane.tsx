import { useEffect } from 'react';
import { ErrorNote } from '../../components/ErrorNote.tsx';
import { useMeetings } from '../../stores/meetings.ts';
import { MeetingDetail } from './MeetingDetail.tsx';
import { MeetingList } from './MeetingList.tsx';
import { NewMeeting } from './NewMeeting.tsx';

export function MeetingsPane() {
  const { load, active, activeId, error, clearError } = useMeetings();

  useEffect(() => {
    void load();
  }, [load]);

  return (
    <div className="meetings-pane split">
      <MeetingList />
      <section className="meeting-main" aria-label="Meeting">
        {error && <ErrorNote error={error} onDismiss={clearError} />}
        {activeId === null ? (
          <NewMeeting />
        ) : active ? (
          <MeetingDetail meeting={active} />
        ) : (
          <p className="muted">Loading…</p>
        )}
      </section>
    </div>
  );
}
