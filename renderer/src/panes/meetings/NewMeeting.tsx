import { useRef, useState } from 'react';
import { Icon } from '../../components/Icon.tsx';
import { ProgressBar } from '../../components/ProgressBar.tsx';
import { useMeetings } from '../../stores/meetings.ts';
import { Recorder } from './Recorder.tsx';

const AUDIO_ACCEPT = 'audio/*,video/mp4,video/webm,.wav,.mp3,.m4a,.ogg,.opus,.webm,.flac';

/** Start a meeting: drop an audio file, pick one, or record from the microphone. */
export function NewMeeting() {
  const { transcribe, uploading, importBundle } = useMeetings();
  const picker = useRef<HTMLInputElement>(null);
  const bundlePicker = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);

  const take = (files: FileList | null) => {
    const file = files?.[0];
    if (file) void transcribe(file, file.name, file.name.replace(/\.[^.]+$/, ''));
  };

  return (
    <div className="new-meeting">
      <h1>New meeting</h1>
      <p className="muted">
        Transcription runs on this machine. Audio goes to a cloud provider only if you allow it: for every meeting in
        Settings, or once, when this machine cannot transcribe a file and the app asks.
      </p>
      {uploading ? (
        <ProgressBar label={`Sending ${uploading} to the transcriber`} fraction={null} />
      ) : (
        <>
          {/* biome-ignore lint/a11y/noStaticElementInteractions: the drop target; its button below is the keyboard path */}
          <div
            className={over ? 'dropzone over' : 'dropzone'}
            onDragOver={(event) => {
              event.preventDefault();
              setOver(true);
            }}
            onDragLeave={() => setOver(false)}
            onDrop={(event) => {
              event.preventDefault();
              setOver(false);
              take(event.dataTransfer.files);
            }}
          >
            <Icon name="upload" size={32} />
            <p>Drop an audio file here (wav, mp3, m4a, ogg, webm, flac)</p>
            <button type="button" className="primary" onClick={() => picker.current?.click()}>
              Choose an audio file…
            </button>
            <input
              ref={picker}
              type="file"
              accept={AUDIO_ACCEPT}
              hidden
              aria-label="Audio file to transcribe"
              data-testid="audio-file-input"
              onChange={(event) => {
                take(event.target.files);
                event.target.value = '';
              }}
            />
          </div>
          <div className="or">or</div>
          <Recorder />
          <p className="muted small">
            <button type="button" className="ghost small" onClick={() => bundlePicker.current?.click()}>
              Import a meeting exported as JSON…
            </button>
            <input
              ref={bundlePicker}
              type="file"
              accept=".json,application/json"
              hidden
              aria-label="Meeting export to import"
              data-testid="meeting-import-input"
              onChange={(event) => {
                const file = event.target.files?.[0];
                if (file) void importBundle(file);
                event.target.value = '';
              }}
            />
          </p>
        </>
      )}
    </div>
  );
}
