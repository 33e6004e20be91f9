/** A stretch of audio, in seconds from the start of the stream. */
export interface Span {
  start: number;
  end: number;
}

export interface SegmenterOptions {
  /** Speech starts when a frame's speech probability reaches this. */
  threshold: number;
  /** …and ends once it stays below this (hysteresis: brief dips inside a word do not end it). */
  negThreshold: number;
  /** Pauses shorter than this stay inside one utterance. */
  minSilenceSeconds: number;
  /** Bursts shorter than this (clicks, breaths) are not speech. */
  minSpeechSeconds: number;
  /** Kept around each utterance so soft word onsets and endings are not clipped. */
  padSeconds: number;
  /** Longer speech is cut at its least speech-like frame (Whisper hears at most 30 s at a time). */
  maxUtteranceSeconds: number;
}

/** Silero's own defaults for the thresholds; pauses and padding sized for transcription by utterance. */
export const DEFAULT_SEGMENTER: SegmenterOptions = {
  threshold: 0.5,
  negThreshold: 0.35,
  minSilenceSeconds: 0.5,
  minSpeechSeconds: 0.25,
  padSeconds: 0.25,
  maxUtteranceSeconds: 29,
};

/**
 * Turns a stream of per-frame speech probabilities into utterances, as they end: the state machine of
 * Silero's get_speech_timestamps (threshold to start, a lower threshold held for minSilence to end), run
 * incrementally so the same code cuts a live recording and a whole file identically.
 */
export class SpeechSegmenter {
  private readonly options: SegmenterOptions;
  private readonly frameSeconds: number;
  /** Frames seen so far. */
  private frames = 0;
  /** First frame of the utterance in progress, if one is. */
  private start: number | undefined;
  /** First frame of the pause in progress inside it, if one is. */
  private pauseStart: number | undefined;
  /** Probabilities of the utterance in progress, to find where to cut one that runs too long. */
  private probabilities: number[] = [];
  /** Where the last emitted utterance ended (seconds), so padding never reaches back into it. */
  private lastEnd = 0;

  constructor(frameSeconds: number, options: SegmenterOptions = DEFAULT_SEGMENTER) {
    this.frameSeconds = frameSeconds;
    this.options = options;
  }

  /** Seconds of audio consumed. */
  get position(): number {
    return this.frames * this.frameSeconds;
  }

  /** Whether an utterance has started and not yet ended. */
  get inSpeech(): boolean {
    return this.start !== undefined;
  }

  /** Consumes one frame's probability; returns the utterances this frame ended (at most two). */
  push(probability: number): Span[] {
    const { threshold, negThreshold, minSilenceSeconds, maxUtteranceSeconds } = this.options;
    const frame = this.frames++;
    const ended: Span[] = [];
    if (this.start === undefined) {
      if (probability >= threshold) {
        this.start = frame;
        this.probabilities = [probability];
      }
      return ended;
    }
    this.probabilities.push(probability);
    if (probability >= threshold) this.pauseStart = undefined;
    else if (probability < negThreshold) {
      this.pauseStart ??= frame;
      if ((frame + 1 - this.pauseStart) * this.frameSeconds >= minSilenceSeconds) {
        const span = this.finish(this.pauseStart, this.frames);
        if (span) ended.push(span);
        return ended;
      }
    }
    if ((this.frames - this.start) * this.frameSeconds >= maxUtteranceSeconds) ended.push(this.cutLong());
    return ended;
  }

  /** Ends the stream: the utterance in progress, if any, ends where the audio does. */
  flush(): Span[] {
    if (this.start === undefined) return [];
    const span = this.finish(this.pauseStart ?? this.frames, this.frames);
    return span ? [span] : [];
  }

  /** Closes the utterance in progress at frame `end`; `limit` is how far its padding may reach. */
  private finish(end: number, limit: number): Span | undefined {
    const { minSpeechSeconds, padSeconds } = this.options;
    const start = this.start!;
    this.start = undefined;
    this.pauseStart = undefined;
    this.probabilities = [];
    if ((end - start) * this.frameSeconds < minSpeechSeconds) return undefined;
    const span = {
      start: Math.max(start * this.frameSeconds - padSeconds, this.lastEnd, 0),
      end: Math.min(end * this.frameSeconds + padSeconds, limit * this.frameSeconds),
    };
    this.lastEnd = span.end;
    return round(span);
  }

  /** Cuts an over-long utterance at its least speech-like frame in its second half; the rest goes on. */
  private cutLong(): Span {
    const start = this.start!;
    const half = Math.floor(this.probabilities.length / 2);
    let cut = half;
    for (let i = half; i < this.probabilities.length; i++) {
      if (this.probabilities[i]! < this.probabilities[cut]!) cut = i;
    }
    const at = start + cut;
    const span = round({
      start: Math.max(start * this.frameSeconds - this.options.padSeconds, this.lastEnd, 0),
      end: at * this.frameSeconds,
    });
    this.lastEnd = span.end;
    this.start = at;
    this.probabilities = this.probabilities.slice(cut);
    if (this.pauseStart !== undefined && this.pauseStart < at) this.pauseStart = undefined;
    return span;
  }
}

/** Millisecond precision: finer than any frame, and stable in JSON. */
function round(span: Span): Span {
  return { start: Math.round(span.start * 1000) / 1000, end: Math.round(span.end * 1000) / 1000 };
}
