import { z } from 'zod';

export const transcriptSegmentSchema = z.object({
  index: z.number().int().nonnegative(),
  start: z.number().nonnegative(),
  end: z.number().nonnegative(),
  text: z.string(),
  speaker: z.string().nullable().default(null),
  confidence: z.number().min(0).max(1).nullable().default(null),
});
export type TranscriptSegment = z.infer<typeof transcriptSegmentSchema>;

export interface TranscriptionRequest {
  /** Absolute path of the audio file to transcribe. */
  filePath: string;
  model?: string;
  language?: string;
  prompt?: string;
  /** Skip audio before this many seconds (resuming an interrupted job). */
  startAt?: number;
}

export type TranscriptionEvent =
  | { type: 'progress'; fraction: number; processedSeconds: number; totalSeconds: number }
  | { type: 'segment'; segment: TranscriptSegment }
  | { type: 'done'; durationSeconds: number; language: string; model: string };

export interface TranscriptionResult {
  segments: TranscriptSegment[];
  text: string;
  durationSeconds: number;
  language: string;
  model: string;
}
