import { useEffect, useRef, useState } from 'react';
import type { ExportFormat, MeetingView } from '#contract/api.ts';
import { ConsentQuestion } from '../../components/ConsentQuestion.tsx';
import { ProgressBar } from '../../components/ProgressBar.tsx';
import { ProvenanceNote } from '../../components/ProvenanceNote.tsx';
import { formatClock, formatDate, formatEta } from '../../lib/format.ts';
import { useMeetings } from '../../stores/meetings.ts';
import { useSettings } from '../../stores/settings.ts';
import { InlineEdit } from './InlineEdit.tsx';
import { RecordingBar } from './Recorder.tsx';
import { Speakers } from './Speakers.tsx';
import { SummaryPanel } from './SummaryPanel.tsx';
import { Transcript } from './Transcript.tsx';

/** Every export format, in the order the buttons show them. */
const EXPORT_LABELS: Record<ExportFormat, string> = {
  srt: 'SRT',
  vtt: 'VTT',
  md: 'Markdown',
  txt: 'TXT',
  json: 'JSON',
};

/** Transcriptions that stopped before the end and can go on from their last kept segment. */
const STOPPED: ReadonlySet<MeetingView['status']> = new Set(['cancelled', 'failed', 'interrupted']);

function EditableTitle({ meeting }: { meeting: MeetingView }) {
  const rename = useMeetings((state) => state.rename);
  return (
    <InlineEdit
      className="title-input"
      label="Meeting title"
      value={meeting.title}
      maxLength={200}
      onCommit={(title) => void rename(meeting.id, title)}
    />
  );
}

export function MeetingDetail({ meeting }: { meeting: MeetingView }) {
  const { progress, cancel, retry, exportAs, remove, seekTo, consumeSeek, recording, recordingError, answerConsent } =
    useMeetings();
  const providers = useSettings((state) => state.providers);
  const consentLabel = meeting.consentProviderId
    ? (providers.find((p) => p.id === meeting.consentProviderId)?.label ?? meeting.consentProviderId)
    : undefined;
  const player = useRef<HTMLAudioElement>(null);
  // -1 until the player reports a time: no segment is marked as playing before anything played.
  const [currentTime, setCurrentTime] = useState(-1);
  const running = meeting.status === 'queued' || meeting.status === 'running';
  const recordingHere = recording?.id === meeting.id;

  const seek = (seconds: number) => {
    const audio = player.current;
    if (!audio) return;
    audio.currentTime = seconds;
    void audio.play().catch(() => undefined);
  };

  // A search hit opened this meeting at a moment: go there once the player exists.
  useEffect(() => {
    if (seekTo === null || !player.current) return;
    player.current.currentTime = seekTo;
    consumeSeek();
  }, [seekTo, consumeSeek]);

  return (
    <div className="meeting-detail">
      <header className="meeting-header">
        <EditableTitle meeting={meeting} />
        <div className="muted small">
          {formatDate(meeting.createdAt)}
          {meeting.durationSeconds !== null && (
            <>
              {' · '}
              <span className="duration">{formatClock(meeting.durationSeconds)}</span>
            </>
          )}
          {meeting.language && ` · ${meeting.language}`} ·{' '}
          <span className={`status status-${meeting.recording ? 'recording' : meeting.status}`}>
            {meeting.recording ? 'recording' : meeting.status}
          </span>
          {meeting.channels && ' · me and them'}
        </div>
        <ProvenanceNote verb="Transcribed" producedBy={meeting.transcribedBy} />
      </header>

      {recordingHere && <RecordingBar />}
      {recordingError && (
        <p className="error-text" role="alert">
          {recordingError}
        </p>
      )}
      {running && !meeting.recording && (
        <div className="job">
          <ProgressBar
            label={meeting.status === 'queued' ? 'Waiting to transcribe' : 'Transcribing'}
            fraction={progress?.fraction ?? meeting.progress}
            detail={formatEta(progress?.etaSeconds ?? null)}
          />
          <button type="button" className="ghost" onClick={() => void cancel(meeting.id)}>
            Cancel
          </button>
        </div>
      )}
      {meeting.status === 'failed' && consentLabel && (
        <ConsentQuestion
          question={`Local Whisper cannot read this file. Send it to ${consentLabel} for transcription?`}
          detail={`Nothing has been sent. Yes sends this recording once; meetings otherwise stay on this machine.`}
          onAnswer={(allow) => void answerConsent(meeting.id, allow)}
        />
      )}
      {meeting.status === 'failed' && meeting.error && !consentLabel && (
        <p className="error-text" role="alert">
          Transcription failed: {meeting.error.replace(/^[A-Z_]+: /, '')}
        </p>
      )}
      {STOPPED.has(meeting.status) && !consentLabel && (
        <div className="job">
          <span className="muted small">
            {meeting.status === 'interrupted'
              ? 'Switchboard stopped while transcribing this meeting.'
              : meeting.status === 'cancelled'
                ? 'The transcription was cancelled.'
                : ''}
            {meeting.segments.length > 0 &&
              ` The transcript up to ${formatClock(meeting.segments.at(-1)!.end)} is kept.`}
          </span>
          <button type="button" onClick={() => void retry(meeting.id)}>
            {meeting.segments.length > 0 ? 'Resume transcription' : 'Retry transcription'}
          </button>
        </div>
      )}

      {meeting.audioUrl && !meeting.recording && (
        // biome-ignore lint/a11y/useMediaCaption: the transcript below is the caption, with click-to-seek
        <audio
          ref={player}
          className="player"
          controls
          preload="metadata"
          src={meeting.audioUrl}
          aria-label="Meeting audio"
          onTimeUpdate={(event) => setCurrentTime(event.currentTarget.currentTime)}
        />
      )}

      <fieldset className="export-row">
        <legend className="muted small">Export</legend>
        {(Object.keys(EXPORT_LABELS) as ExportFormat[]).map((format) => (
          <button
            key={format}
            type="button"
            className="small"
            disabled={meeting.segments.length === 0}
            onClick={() => void exportAs(meeting.id, format)}
          >
            {EXPORT_LABELS[format]}
          </button>
        ))}
        <span className="spacer" />
        <button
          type="button"
          className="ghost small danger-text"
          onClick={() => {
            if (confirm(`Delete "${meeting.title}" and its transcript?`)) void remove(meeting.id);
          }}
        >
          Delete meeting
        </button>
      </fieldset>

      <div className="meeting-body">
        <div className="meeting-side">
          <SummaryPanel meeting={meeting} />
          <Speakers meeting={meeting} />
        </div>
        <Transcript segments={meeting.segments} currentTime={currentTime} onSeek={seek} live={running} />
      </div>
    </div>
  );
}
