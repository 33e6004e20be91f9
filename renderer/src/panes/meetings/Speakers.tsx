import { useEffect, useState } from 'react';
import type { MeetingView } from '../../../../electron/engine/contract/api.ts';
import { useMeetings } from '../../stores/meetings.ts';

/** One speaker's name, edited in place: Enter or leaving the field renames them in this meeting. */
function SpeakerName({ meetingId, speaker }: { meetingId: string; speaker: string }) {
  const renameSpeaker = useMeetings((state) => state.renameSpeaker);
  const [name, setName] = useState(speaker);
  useEffect(() => setName(speaker), [speaker]);
  const commit = () => {
    const trimmed = name.trim();
    if (trimmed && trimmed !== speaker) void renameSpeaker(meetingId, speaker, trimmed);
    else setName(speaker);
  };
  return (
    <input
      className="speaker-name"
      aria-label={`Name of ${speaker}`}
      value={name}
      maxLength={100}
      onChange={(event) => setName(event.target.value)}
      onBlur={commit}
      onKeyDown={(event) => {
        if (event.key === 'Enter') event.currentTarget.blur();
        if (event.key === 'Escape') {
          setName(speaker);
          event.currentTarget.blur();
        }
      }}
    />
  );
}

/** Who speaks in the meeting: found on this machine from the recording, named per meeting. */
export function Speakers({ meeting }: { meeting: MeetingView }) {
  const { findSpeakers, findingSpeakers } = useMeetings();
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
              <SpeakerName meetingId={meeting.id} speaker={speaker} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
