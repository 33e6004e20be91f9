import type { WhisperDevice } from './devices.ts';

/**
 * The transcription shapes the engine's contract (electron/engine/contract/transcription.ts) and its
 * LocalTranscriber interface use, declared here because native/ never imports from electron/; structural
 * typing lets the engine take these as its own.
 */
export interface TranscriptSegment {
  index: number;
  start: number;
  end: number;
  text: string;
  speaker: string | null;
  confidence: number | null;
  /** Which side of a two-channel call recording the speech is from (set by the caller, who knows the channels). */
  channel?: 'me' | 'them';
  /** Each word with its own times, for seeking to a word. */
  words?: { word: string; start: number; end: number }[];
}

export interface TranscriptionRequest {
  /** Absolute path of the audio file to transcribe. */
  filePath: string;
  /** A folder name under modelsDir, or an absolute model folder. Default: the first installed model. */
  model?: string;
  /** Language code ('en', 'de', …). English-only models accept only 'en'. */
  language?: string;
  /** Words to prime the decoder with (names, jargon). */
  prompt?: string;
  /** Skip audio before this many seconds (resuming an interrupted job; one utterance of a live recording). */
  startAt?: number;
  /** Stop at this many seconds (one utterance of a live recording). */
  endAt?: number;
  /** Transcribe only this channel of the file (0 = the first) instead of all channels mixed. */
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
      /** Where the model ran (cpu, cuda, dml, coreml), and why not on the GPU asked for when it did not. */
      device?: string;
      deviceNote?: string;
    };

export type Quantization = '4bit' | '8bit' | '16bit';

export interface WhisperTranscriberOptions {
  /** Folder whose subfolders are Whisper models in the transformers.js layout (config.json, onnx/…). */
  modelsDir: string;
  /** Which weights to load when a model has several; falls back to what the model folder holds. */
  quantization?: Quantization;
  /** onnxruntime intra-op threads (default: onnxruntime's choice, one per core). */
  threads?: number;
  /** Where to run: `auto` (default) tries this platform's GPU provider and falls back to the CPU. */
  device?: WhisperDevice;
}

export interface LocalTranscriber {
  listModels(): Promise<{ id: string }[]>;
  transcribe(request: TranscriptionRequest, signal: AbortSignal): AsyncIterable<TranscriptionEvent>;
  close(): Promise<void>;
}
