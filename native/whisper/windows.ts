import type { Span } from '../vad/index.ts';

export interface DecodingWindow extends Span {
  utterances: Span[];
}

/**
 * Packs consecutive utterances into windows of at most maxSeconds (29 s: a full 30 s window trips
 * transformers.js issue #1358), so Whisper encodes each stretch of audio once while every window boundary
 * falls in a pause, never inside a word.
 */
export function planWindows(utterances: Span[], maxSeconds = 29): DecodingWindow[] {
  const windows: DecodingWindow[] = [];
  for (const utterance of utterances) {
    const current = windows.at(-1);
    if (current && utterance.end - current.start <= maxSeconds) {
      current.utterances.push(utterance);
      current.end = utterance.end;
    } else {
      windows.push({ start: utterance.start, end: utterance.end, utterances: [utterance] });
    }
  }
  return windows;
}
