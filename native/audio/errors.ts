/**
 * A file that cannot be turned into audio samples. native/ does not import the engine's error type;
 * the engine maps `code` to its own SwitchboardError (AUDIO_INVALID is one of its codes).
 */
export class AudioDecodeError extends Error {
  readonly code = 'AUDIO_INVALID';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AudioDecodeError';
  }
}
