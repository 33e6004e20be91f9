import type { TranscriptSegment } from '../contract/transcription.ts';
import { requiredOnFirstUse } from '../core/required-on-first-use.ts';

const subtitle = requiredOnFirstUse<typeof import('subtitle')>('subtitle');

export const TRANSCRIPT_FORMATS = ['json', 'text', 'srt', 'vtt', 'verbose_json'] as const;
export type TranscriptFormat = (typeof TRANSCRIPT_FORMATS)[number];
/** OpenAI's timestamp_granularities: verbose_json carries segments, words, or both. */
export const TIMESTAMP_GRANULARITIES = ['segment', 'word'] as const;
export type TimestampGranularity = (typeof TIMESTAMP_GRANULARITIES)[number];

export interface Transcript {
  segments: TranscriptSegment[];
  duration: number;
  language: string;
}

const joinText = (segments: TranscriptSegment[]) =>
  segments
    .map((s) => s.text.trim())
    .filter(Boolean)
    .join(' ');

/** A transcript in OpenAI's response_format: an object for the JSON forms, a string for the others. */
export function formatTranscript(
  format: TranscriptFormat,
  transcript: Transcript,
  granularities: readonly TimestampGranularity[] = ['segment'],
): string | object {
  const text = joinText(transcript.segments);
  switch (format) {
    case 'json':
      return { text };
    case 'text':
      return `${text}\n`;
    case 'srt':
    case 'vtt':
      return subtitle().stringifySync(
        transcript.segments.map((s) => ({
          type: 'cue' as const,
          data: { start: Math.round(s.start * 1000), end: Math.round(s.end * 1000), text: s.text.trim() },
        })),
        { format: format === 'srt' ? 'SRT' : 'WebVTT' },
      );
    case 'verbose_json':
      return {
        task: 'transcribe',
        language: transcript.language,
        duration: transcript.duration,
        text,
        ...(granularities.includes('word') ? { words: transcript.segments.flatMap((s) => s.words ?? []) } : {}),
        ...(granularities.includes('segment') ? { segments: segmentsOf(transcript) } : {}),
      };
  }
}

function segmentsOf(transcript: Transcript) {
  return transcript.segments.map((s) => ({
    id: s.index,
    seek: 0,
    start: s.start,
    end: s.end,
    text: s.text,
    tokens: [],
    temperature: 0,
    avg_logprob: s.confidence === null ? null : Math.log(Math.max(s.confidence, 1e-6)),
    compression_ratio: null,
    no_speech_prob: null,
    ...(s.speaker ? { speaker: s.speaker } : {}),
  }));
}
