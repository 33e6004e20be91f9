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

/** A stopped job's stored error ("CODE: message") as an error again, for callers that wait on the job. */
export function jobError(meeting: { id: string; status: string; error?: string }): SwitchboardError {
  if (meeting.status === 'cancelled')
    return new SwitchboardError('CANCELLED', `the transcription of meeting ${meeting.id} was cancelled`);
  const stored = meeting.error ?? `transcription ${meeting.status}`;
  const [code, ...rest] = stored.split(': ');
  const known = code !== undefined && KNOWN_CODES.has(code) && rest.length > 0;
  return new SwitchboardError(
    known ? (code as ErrorCode) : 'INTERNAL',
    `${known ? rest.join(': ') : stored} (meeting ${meeting.id})`,
  );
}
