import type { TranscriptSegment } from '../../../../electron/engine/contract/transcription.ts';
import { formatClock } from '../../lib/format.ts';

/** The transcript, one line per segment; a timestamp plays the audio from there. */
export function Transcript({
  segments,
  currentTime,
  onSeek,
  live,
}: {
  segments: TranscriptSegment[];
  currentTime: number;
  onSeek: (seconds: number) => void;
  live: boolean;
}) {
  return (
    <section className="transcript" aria-label="Transcript">
      <h2>Transcript</h2>
      {segments.length === 0 ? (
        <p className="muted">{live ? 'The first words will appear here in a moment…' : 'No speech was found.'}</p>
      ) : (
        <ol className="segments" aria-live={live ? 'polite' : 'off'}>
          {segments.map((segment) => {
            const playing = currentTime >= segment.start && currentTime < segment.end;
            return (
              <li key={segment.index} className={playing ? 'segment playing' : 'segment'}>
                <button
                  type="button"
                  className="timestamp"
                  onClick={() => onSeek(segment.start)}
                  aria-label={`Play from ${formatClock(segment.start)}`}
                >
                  {formatClock(segment.start)}
                </button>
                {segment.speaker && <span className="speaker">{segment.speaker}</span>}
                <span className="segment-text">{segment.text.trim()}</span>
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}
