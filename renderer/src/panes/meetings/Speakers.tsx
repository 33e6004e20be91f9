import type { MeetingView } from '#contract/api.ts';
import { useMeetings } from '../../stores/meetings.ts';
import { InlineEdit } from './InlineEdit.tsx';

/** Who speaks in the meeting: found on this machine from the recording, named per meeting. */
export function Speakers({ meeting }: { meeting: MeetingView }) {
  const { findSpeakers, findingSpeakers, renameSpeaker } = useMeetings();
  const speakers = [...new Set(meeting.segments.map((segment) => segment.speaker).filter((s): s is string => !!s))];
  const ready = meeting.status === 'done' && meeting.segments.length > 0 && meeting.audioUrl !== null;
  return (
    <section className="speakers" aria-label="Speakers">
      <div className="section-header">
        <h2>Speakers</h2>
        <button
          type="button"
          className="small"
          disabled={!ready || findingSpeakers}
          onClick={() => void findSpeakers(meeting.id)}
        >
          {findingSpeakers ? 'Finding speakers…' : speakers.length > 0 ? 'Find speakers again' : 'Find speakers'}
        </button>
      </div>
      {speakers.length === 0 ? (
        <p className="muted small">
          {ready
            ? 'Find speakers tells the voices in the recording apart, on this machine.'
            : 'Available once the transcript is done, for meetings with their recording.'}
        </p>
      ) : (
        <ul className="speaker-list">
          {speakers.map((speaker) => (
            <li key={speaker}>
              <InlineEdit
                className="speaker-name"
                label={`Name of ${speaker}`}
                value={speaker}
                maxLength={100}
                onCommit={(name) => void renameSpeaker(meeting.id, speaker, name)}
              />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
