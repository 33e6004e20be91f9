import { ERROR_CODES, type ErrorCode, SwitchboardError, toSwitchboardError } from '../contract/errors.ts';

const KNOWN_CODES: ReadonlySet<string> = new Set(ERROR_CODES);

/**
 * Like toSwitchboardError, but keeps the code of errors from layers that cannot import the engine's
 * error class (native/audio's AudioDecodeError carries code AUDIO_INVALID).
 */
export function asSwitchboardError(error: unknown): SwitchboardError {
  if (error instanceof Error && !(error instanceof SwitchboardError) && error.name !== 'AbortError') {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && KNOWN_CODES.has(code)) {
      return new SwitchboardError(code as ErrorCode, error.message, { cause: error });
    }
  }
  return toSwitchboardError(error);
}
