/**
 * Errors are values: a stable code, a message a person can act on, and the facts routing needs
 * (which provider, whether another try may help, how long to wait). Never a key in clear.
 */
export const ERROR_CODES = [
  'PROVIDER_UNAUTHORIZED',
  'PROVIDER_FORBIDDEN',
  'MODEL_NOT_FOUND',
  'RATE_LIMITED',
  /** The provider's quota or credit for Switchboard's key is used up (HTTP 402, or a 429 about billing). */
  'QUOTA_EXCEEDED',
  'PROVIDER_UNAVAILABLE',
  'TIMEOUT',
  'CONNECTION_FAILED',
  'BAD_RESPONSE',
  'STREAM_INTERRUPTED',
  'CONTEXT_TOO_LONG',
  /** The provider refused the content under its usage policy. */
  'CONTENT_FILTERED',
  'INVALID_REQUEST',
  'CANCELLED',
  'CLOUD_DISABLED',
  'CONSENT_REQUIRED',
  'NO_PROVIDER',
  'ALL_PROVIDERS_FAILED',
  'BUDGET_EXCEEDED',
  /** The app key the request came with may not use this model. */
  'KEY_NOT_ALLOWED',
  'CIRCUIT_OPEN',
  'CONFIG_INVALID',
  'NOT_SUPPORTED',
  'NOT_FOUND',
  'AUDIO_INVALID',
  'MODEL_NOT_INSTALLED',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorFacts {
  providerId?: string;
  /** HTTP status from the upstream, where there was one. */
  status?: number;
  /** Milliseconds the upstream asked us to wait (Retry-After), where it said. */
  retryAfterMs?: number;
  /** Whether trying the same provider again may succeed. */
  retryable?: boolean;
  /** Per-candidate failures, for ALL_PROVIDERS_FAILED; a rate-limited one says how long it asked to wait. */
  attempts?: { providerId: string; model?: string; code: ErrorCode; message: string; retryAfterMs?: number }[];
  cause?: unknown;
}

const RETRYABLE_BY_DEFAULT: ReadonlySet<ErrorCode> = new Set([
  'RATE_LIMITED',
  'PROVIDER_UNAVAILABLE',
  'TIMEOUT',
  'CONNECTION_FAILED',
  'STREAM_INTERRUPTED',
  'BAD_RESPONSE',
]);

export class SwitchboardError extends Error {
  readonly code: ErrorCode;
  readonly providerId?: string;
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly retryable: boolean;
  readonly attempts?: ErrorFacts['attempts'];

  constructor(code: ErrorCode, message: string, facts: ErrorFacts = {}) {
    super(`${code}: ${message}`, facts.cause === undefined ? undefined : { cause: facts.cause });
    this.name = 'SwitchboardError';
    this.code = code;
    this.providerId = facts.providerId;
    this.status = facts.status;
    this.retryAfterMs = facts.retryAfterMs;
    this.retryable = facts.retryable ?? RETRYABLE_BY_DEFAULT.has(code);
    this.attempts = facts.attempts;
  }

  /** The message without the code prefix. */
  get detail(): string {
    return this.message.slice(this.code.length + 2);
  }

  toJSON(): SerializedError {
    return {
      code: this.code,
      message: this.message,
      providerId: this.providerId,
      status: this.status,
      retryAfterMs: this.retryAfterMs,
      attempts: this.attempts,
    };
  }
}

export interface SerializedError {
  code: ErrorCode;
  message: string;
  providerId?: string;
  status?: number;
  retryAfterMs?: number;
  attempts?: ErrorFacts['attempts'];
}

export function isSwitchboardError(value: unknown): value is SwitchboardError {
  return value instanceof SwitchboardError;
}

/** Wraps anything thrown into a SwitchboardError without losing one that already is. */
export function toSwitchboardError(error: unknown, fallback: ErrorCode = 'INTERNAL'): SwitchboardError {
  if (error instanceof SwitchboardError) return error;
  if (error instanceof Error && error.name === 'AbortError') {
    return new SwitchboardError('CANCELLED', 'the request was cancelled', { cause: error });
  }
  // Errors from layers that cannot import this class (native/) carry one of its codes and "CODE: " first.
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof Error && typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code)) {
    const detail = error.message.startsWith(`${code}: `) ? error.message.slice(code.length + 2) : error.message;
    return new SwitchboardError(code as ErrorCode, detail, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new SwitchboardError(fallback, message, { cause: error });
}

/** A wait or a limit as a message says it: "25 ms" under a second, else seconds to a tenth ("2 s", "1.5 s"). */
export function describeDuration(ms: number): string {
  return ms < 1000 ? `${Math.ceil(Math.max(0, ms))} ms` : `${Math.round(ms / 100) / 10} s`;
}

/** `…a9f2`: the most of a key that may ever be shown. */
export function maskKey(key: string | undefined): string {
  if (!key) return '(none)';
  return key.length <= 8 ? '…' : `…${key.slice(-4)}`;
}

/** Replaces every occurrence of any of the given secrets in a text with its mask. */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 6) out = out.split(secret).join(maskKey(secret));
  }
  return out;
}
