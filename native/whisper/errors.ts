/** Codes the engine maps one-to-one onto its SwitchboardError codes. */
export type TranscriptionErrorCode =
  | 'AUDIO_INVALID'
  | 'MODEL_NOT_INSTALLED'
  | 'INVALID_REQUEST'
  | 'CANCELLED'
  | 'INTERNAL';

/** A transcription failure with a message a person can act on. */
export class TranscriptionError extends Error {
  readonly code: TranscriptionErrorCode;

  constructor(code: TranscriptionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TranscriptionError';
    this.code = code;
  }
}
