import { Fragment } from 'react';
import type { TranscriptSegment } from '#contract/transcription.ts';
import { formatClock } from '../../lib/format.ts';

/** A segment's words, each one a place to play from; the one playing is marked. */
function Words({
  segment,
  currentTime,
  onSeek,
}: {
  segment: TranscriptSegment;
  currentTime: number;
  onSeek: (seconds: number) => void;
}) {
  if (!segment.words?.length) return <span className="segment-text">{segment.text.trim()}</span>;
  return (
    <span className="segment-text">
      {segment.words.map((word, i) => (
        // Words come trimmed; the spaces between them go outside the buttons (they ran together).
        // biome-ignore lint/suspicious/noArrayIndexKey: a segment's words never move
        <Fragment key={i}>
          {i > 0 && ' '}
          <button
            type="button"
            className={currentTime >= word.start && currentTime < word.end ? 'word playing' : 'word'}
            title={`Play from ${formatClock(word.start)}`}
            onClick={() => onSeek(word.start)}
          >
            {word.word.trim()}
          </button>
        </Fragment>
      ))}
    </span>
  );
}

/** The transcript, one line per segment; a timestamp (or a word) plays the audio from there. */
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
                {segment.channel && <span className={`channel channel-${segment.channel}`}>{segment.channel}</span>}
                {segment.speaker && <span className="speaker">{segment.speaker}</span>}
                <Words segment={segment} currentTime={currentTime} onSeek={onSeek} />
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}
