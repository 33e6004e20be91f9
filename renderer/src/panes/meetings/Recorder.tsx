import { useEffect, useRef, useState } from 'react';
import { Icon } from '../../components/Icon.tsx';
import { formatClock } from '../../lib/format.ts';
import { useMeetings } from '../../stores/meetings.ts';

/** Containers MediaRecorder may offer, best first; each has a file extension the transcriber decodes. */
const RECORDING_TYPES = [
  { mimeType: 'audio/webm;codecs=opus', extension: 'webm' },
  { mimeType: 'audio/ogg;codecs=opus', extension: 'ogg' },
  { mimeType: 'audio/mp4', extension: 'm4a' },
] as const;

function microphoneError(error: unknown): string {
  const name = error instanceof DOMException ? error.name : '';
  if (name === 'NotAllowedError') return 'Microphone access was refused. Allow it for Switchboard and try again.';
  if (name === 'NotFoundError') return 'No microphone was found. Connect one and try again.';
  return `The microphone could not start${error instanceof Error ? `: ${error.message}` : ''}.`;
}

/** Records a meeting from the microphone; on stop the recording is saved as a file and transcribed. */
export function Recorder() {
  const transcribe = useMeetings((state) => state.transcribe);
  const [startedAt, setStartedAt] = useState<number | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const [error, setError] = useState<string | null>(null);
  const recorder = useRef<MediaRecorder | null>(null);

  // Leaving the pane mid-recording stops the microphone (and keeps what was recorded).
  useEffect(() => () => recorder.current?.stop(), []);

  useEffect(() => {
    if (startedAt === null) return;
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, [startedAt]);

  const start = async () => {
    setError(null);
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
    } catch (cause) {
      setError(microphoneError(cause));
      return;
    }
    const type =
      RECORDING_TYPES.find((candidate) => MediaRecorder.isTypeSupported(candidate.mimeType)) ?? RECORDING_TYPES[0];
    const media = new MediaRecorder(stream, { mimeType: type.mimeType });
    const chunks: Blob[] = [];
    const startedAt = new Date();
    media.ondataavailable = (event) => {
      if (event.data.size > 0) chunks.push(event.data);
    };
    media.onstop = () => {
      for (const track of stream.getTracks()) track.stop();
      recorder.current = null;
      setStartedAt(null);
      const blob = new Blob(chunks, { type: type.mimeType });
      if (blob.size === 0) {
        setError('Nothing was recorded.');
        return;
      }
      const stamp = startedAt.toISOString().slice(0, 16).replace('T', ' ');
      void transcribe(blob, `recording-${startedAt.getTime()}.${type.extension}`, `Recording ${stamp}`);
    };
    // A chunk every second: a crash mid-meeting loses at most a second of what was said.
    media.start(1000);
    recorder.current = media;
    setNow(Date.now());
    setStartedAt(Date.now());
  };

  return (
    <div className="recorder">
      {startedAt === null ? (
        <button type="button" className="record" onClick={() => void start()}>
          <Icon name="record" /> Record from the microphone
        </button>
      ) : (
        <div className="recording" role="status">
          <span className="rec-dot" aria-hidden="true" />
          <span>Recording {formatClock((now - startedAt) / 1000)}</span>
          <button type="button" className="danger" onClick={() => recorder.current?.stop()}>
            <Icon name="stop" /> Stop and transcribe
          </button>
        </div>
      )}
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
