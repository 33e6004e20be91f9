import { z } from 'zod';

export const transcriptWordSchema = z.object({
  word: z.string(),
  start: z.number().nonnegative(),
  end: z.number().nonnegative(),
});
export type TranscriptWord = z.infer<typeof transcriptWordSchema>;

/** The sides of a call recorded as two channels: the microphone ("me") and the system audio ("them"). */
export const SEGMENT_CHANNELS = ['me', 'them'] as const;
export type SegmentChannel = (typeof SEGMENT_CHANNELS)[number];

export const transcriptSegmentSchema = z.object({
  index: z.number().int().nonnegative(),
  start: z.number().nonnegative(),
  end: z.number().nonnegative(),
  text: z.string(),
  speaker: z.string().nullable().default(null),
  confidence: z.number().min(0).max(1).nullable().default(null),
  /** Which side of a two-channel call recording the speech came from; absent for a one-channel recording. */
  channel: z.enum(SEGMENT_CHANNELS).optional(),
  /** Each word with its own times (used for seeking to a word); absent where the transcriber gave none. */
  words: z.array(transcriptWordSchema).optional(),
});
export type TranscriptSegment = z.infer<typeof transcriptSegmentSchema>;

export interface TranscriptionRequest {
  /** Absolute path of the audio file to transcribe. */
  filePath: string;
  model?: string;
  /** A language code ("en", "de"…); absent or "auto": a multilingual model detects it. */
  language?: string;
  prompt?: string;
  /** Skip audio before this many seconds (resuming an interrupted job; one utterance of a live recording). */
  startAt?: number;
  /** Stop at this many seconds (one utterance of a live recording). */
  endAt?: number;
  /** Only this channel of the file (0 = the first) instead of all channels mixed. */
  channel?: number;
}

export type TranscriptionEvent =
  | { type: 'progress'; fraction: number; processedSeconds: number; totalSeconds: number }
  | { type: 'segment'; segment: TranscriptSegment }
  | {
      type: 'done';
      durationSeconds: number;
      language: string;
      model: string;
      /** Where a local model ran (cpu, cuda, dml, coreml), and why not on the GPU asked for when it did not. */
      device?: string;
      deviceNote?: string;
    };

export interface TranscriptionResult {
  segments: TranscriptSegment[];
  text: string;
  durationSeconds: number;
  language: string;
  model: string;
}
