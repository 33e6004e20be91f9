/** Codes the engine maps one-to-one onto its SwitchboardError codes (native/ cannot import them). */
export type DiarizationErrorCode = 'AUDIO_INVALID' | 'MODEL_NOT_INSTALLED' | 'CANCELLED' | 'INTERNAL';

/** A diarization failure with a message a person can act on. */
export class DiarizationError extends Error {
  readonly code: DiarizationErrorCode;

  constructor(code: DiarizationErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DiarizationError';
    this.code = code;
  }
}
