/**
 * Codes a local-model failure can carry. They are a subset of the engine's error codes on purpose:
 * native/ may not import the engine, and the local adapter turns these into SwitchboardErrors by code.
 */
export type LocalModelErrorCode =
  | 'MODEL_NOT_INSTALLED'
  | 'NOT_FOUND'
  | 'CONNECTION_FAILED'
  | 'BAD_RESPONSE'
  | 'CANCELLED'
  | 'INVALID_REQUEST'
  | 'NOT_SUPPORTED'
  | 'PROVIDER_UNAVAILABLE'
  | 'CONTEXT_TOO_LONG'
  | 'INTERNAL';

export class LocalModelError extends Error {
  readonly code: LocalModelErrorCode;

  constructor(code: LocalModelErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = 'LocalModelError';
    this.code = code;
  }

  /** The message without the code prefix. */
  get detail(): string {
    return this.message.slice(this.code.length + 2);
  }
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

export function cancelledError(cause?: unknown): LocalModelError {
  return new LocalModelError('CANCELLED', 'the request was cancelled', { cause });
}
