import { useEffect, useState } from 'react';
import { Icon } from '../../components/Icon.tsx';
import { formatClock } from '../../lib/format.ts';
import { useMeetings } from '../../stores/meetings.ts';

/** Starts a live recording: from the microphone, and optionally the other side of a call. */
export function Recorder() {
  const { startRecording, recording, recordingError } = useMeetings();
  const [call, setCall] = useState(false);
  const [starting, setStarting] = useState(false);

  const start = async () => {
    setStarting(true);
    try {
      await startRecording({ call });
    } finally {
      setStarting(false);
    }
  };

  return (
    <div className="recorder">
      <button type="button" className="record" disabled={recording !== null || starting} onClick={() => void start()}>
        <Icon name="record" /> {recording ? 'Recording in progress…' : 'Record from the microphone'}
      </button>
      <label className="small muted">
        <input type="checkbox" checked={call} onChange={(event) => setCall(event.target.checked)} /> Also record the
        other side of a call (a browser tab's or the system's audio), as "them"
      </label>
      {recordingError && (
        <p className="error-text" role="alert">
          {recordingError}
        </p>
      )}
    </div>
  );
}

/** The bar over a meeting this window is recording: elapsed time, what is stored, and Stop. */
export function RecordingBar() {
  const { recording, stopRecording } = useMeetings();
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, []);
  if (!recording) return null;
  return (
    <div className="recording" role="status">
      <span className="rec-dot" aria-hidden="true" />
      <span>Recording {formatClock((now - recording.startedAt) / 1000)}</span>
      <span className="muted small">
        {recording.channels === 2 ? 'me and them' : 'microphone'} · {formatClock(recording.storedSeconds)} saved
      </span>
      <button type="button" className="danger" onClick={() => void stopRecording()}>
        <Icon name="stop" /> Stop
      </button>
    </div>
  );
}
