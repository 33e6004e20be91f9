/** A stretch of audio, in seconds from the start of the file. */
export interface Span {
  start: number;
  end: number;
}

export interface VadOptions {
  frameSeconds: number;
  /** Pauses shorter than this stay inside one utterance. */
  minSilenceSeconds: number;
  /** Bursts shorter than this (clicks, breaths) are not speech. */
  minSpeechSeconds: number;
  /** Kept around each utterance so soft word onsets and endings are not clipped. */
  padSeconds: number;
  /** Longer utterances are cut at their quietest point (Whisper hears at most 30 s at a time). */
  maxUtteranceSeconds: number;
}

export const DEFAULT_VAD: VadOptions = {
  frameSeconds: 0.03,
  minSilenceSeconds: 0.5,
  minSpeechSeconds: 0.2,
  padSeconds: 0.15,
  maxUtteranceSeconds: 29,
};

/**
 * Energy voice-activity detection: a frame is speech when its level is well above the recording's own
 * noise floor (its 10th-percentile frame) and not far below its loud frames, so it adapts to quiet and noisy
 * recordings alike. Skipping silence saves Whisper work and keeps it from hallucinating text into silence.
 */
export function detectSpeech(samples: Float32Array, sampleRate: number, options: VadOptions = DEFAULT_VAD): Span[] {
  const frameLength = Math.max(1, Math.round(options.frameSeconds * sampleRate));
  const frameSeconds = frameLength / sampleRate;
  const levels = frameLevels(samples, frameLength);
  if (levels.length === 0) return [];
  const sorted = Float64Array.from(levels).sort();
  const floor = sorted[Math.floor(sorted.length * 0.1)]!;
  const loud = sorted[Math.floor(sorted.length * 0.99)]!;
  const threshold = Math.max(floor + 10, loud - 40, -60);

  // Runs of speech frames, with short pauses bridged.
  const runs: [number, number][] = [];
  const maxGap = Math.round(options.minSilenceSeconds / frameSeconds);
  for (let i = 0; i < levels.length; i++) {
    if (levels[i]! < threshold) continue;
    const last = runs.at(-1);
    if (last && i - last[1] <= maxGap) last[1] = i + 1;
    else runs.push([i, i + 1]);
  }
  const minFrames = Math.round(options.minSpeechSeconds / frameSeconds);
  const speech = runs.filter(([a, b]) => b - a >= minFrames);

  const duration = samples.length / sampleRate;
  const maxFrames = Math.floor(options.maxUtteranceSeconds / frameSeconds);
  const spans: Span[] = [];
  speech.forEach(([a, b], i) => {
    // Padding never reaches past the middle of the pause to a neighbour.
    const previousEnd = i > 0 ? speech[i - 1]![1] * frameSeconds : 0;
    const nextStart = i + 1 < speech.length ? speech[i + 1]![0] * frameSeconds : duration;
    const start = Math.max(a * frameSeconds - options.padSeconds, (previousEnd + a * frameSeconds) / 2, 0);
    const end = Math.min(b * frameSeconds + options.padSeconds, (b * frameSeconds + nextStart) / 2, duration);
    for (const part of splitLong(start, end, levels, frameSeconds, maxFrames)) spans.push(part);
  });
  return spans;
}

/** Per-frame level in dBFS. */
function frameLevels(samples: Float32Array, frameLength: number): Float64Array {
  const count = Math.floor(samples.length / frameLength);
  const levels = new Float64Array(count);
  for (let f = 0; f < count; f++) {
    let energy = 0;
    for (let i = f * frameLength; i < (f + 1) * frameLength; i++) energy += samples[i]! * samples[i]!;
    levels[f] = 10 * Math.log10(energy / frameLength + 1e-10);
  }
  return levels;
}

/** Cuts a span longer than maxFrames at the quietest frame of the second half of each piece. */
function splitLong(start: number, end: number, levels: Float64Array, frameSeconds: number, maxFrames: number): Span[] {
  const pieces: Span[] = [];
  let from = start;
  while ((end - from) / frameSeconds > maxFrames) {
    const first = Math.ceil(from / frameSeconds + maxFrames / 2);
    const last = Math.floor(from / frameSeconds + maxFrames) - 1;
    let cut = last;
    for (let f = first; f <= last; f++) if (levels[f]! < levels[cut]!) cut = f;
    pieces.push({ start: from, end: cut * frameSeconds });
    from = cut * frameSeconds;
  }
  pieces.push({ start: from, end });
  return pieces;
}

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
