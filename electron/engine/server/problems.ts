import type { z } from 'zod';
import { type ErrorCode, type SerializedError, type SwitchboardError, toSwitchboardError } from '../contract/errors.ts';

/**
 * A failure as HTTP sees it: a status, a stable code and a message a person can act on. Every front
 * of the server (OpenAI, Anthropic, the app API, the seeds' endpoints) writes one in its own dialect.
 */
export interface Problem {
  status: number;
  /** Lower-case code as OpenAI spells them (model_not_found, rate_limited, invalid_api_key, …). */
  code: string;
  message: string;
  /** The request field at fault, where there is one (OpenAI's `param`). */
  param: string | null;
  retryAfterSeconds?: number;
  /** The engine's error as the app API returns it. */
  serialized: SerializedError;
}

/** A failure of the HTTP layer itself (auth, size, route), before the engine is involved. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly param: string | null;

  constructor(status: number, code: string, message: string, param: string | null = null) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.param = param;
  }
}

/** The engine's codes that mean "every candidate failed for a passing reason": 503, try later. */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set([
  'RATE_LIMITED',
  'PROVIDER_UNAVAILABLE',
  'TIMEOUT',
  'CONNECTION_FAILED',
  'CIRCUIT_OPEN',
]);

const STATUS: Record<ErrorCode, number> = {
  // The upstream refused our key: the caller's request is fine, the gateway's setup is not.
  PROVIDER_UNAUTHORIZED: 502,
  PROVIDER_FORBIDDEN: 502,
  MODEL_NOT_FOUND: 404,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 402,
  PROVIDER_UNAVAILABLE: 503,
  TIMEOUT: 504,
  CONNECTION_FAILED: 502,
  BAD_RESPONSE: 502,
  STREAM_INTERRUPTED: 502,
  CONTEXT_TOO_LONG: 400,
  CONTENT_FILTERED: 400,
  INVALID_REQUEST: 400,
  CANCELLED: 499,
  CLOUD_DISABLED: 403,
  CONSENT_REQUIRED: 403,
  NO_PROVIDER: 503,
  ALL_PROVIDERS_FAILED: 502,
  BUDGET_EXCEEDED: 402,
  KEY_NOT_ALLOWED: 403,
  CIRCUIT_OPEN: 503,
  CONFIG_INVALID: 400,
  NOT_SUPPORTED: 400,
  NOT_FOUND: 404,
  AUDIO_INVALID: 400,
  MODEL_NOT_INSTALLED: 404,
  INTERNAL: 500,
};

/** Codes OpenAI spells otherwise, which its clients look for by name. */
const OPENAI_CODES: Partial<Record<ErrorCode, string>> = { CONTEXT_TOO_LONG: 'context_length_exceeded' };

const UPSTREAM_KEY_HINT: Partial<Record<ErrorCode, string>> = {
  PROVIDER_UNAUTHORIZED:
    ' (the upstream provider rejected the API key configured in Switchboard; your Switchboard token is fine: fix the provider key with `switchboard providers` or providers.yaml)',
  PROVIDER_FORBIDDEN:
    ' (the upstream provider refused this key for this request; check the key’s permissions in providers.yaml)',
};

/**
 * The code that says what happened: when every candidate failed the same way (the one provider
 * rate-limited, or rejected our key), that way, so the client sees 429 or the key hint, not a bare 502.
 */
function effectiveCode(error: SwitchboardError): ErrorCode {
  const attempts = error.attempts ?? [];
  if (
    error.code === 'ALL_PROVIDERS_FAILED' &&
    attempts.length > 0 &&
    attempts.every((a) => a.code === attempts[0]!.code)
  ) {
    return attempts[0]!.code;
  }
  return error.code;
}

export function statusOf(error: SwitchboardError): number {
  const code = effectiveCode(error);
  if (code === 'ALL_PROVIDERS_FAILED' && error.attempts?.length) {
    return error.attempts.every((attempt) => TRANSIENT.has(attempt.code)) ? 503 : 502;
  }
  return STATUS[code];
}

/** A 400 naming the zod issue a person should fix first, as `param` and in the message. */
export function invalidRequest(error: z.ZodError): HttpError {
  const issue = error.issues[0];
  const path = (issue?.path ?? []).map(String).join('.');
  const message = issue ? `${path ? `${path}: ` : ''}${issue.message}` : 'the request body is not valid';
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem(s))` : '';
  return new HttpError(400, 'invalid_request', `${message}${more}`, path || null);
}

/**
 * Turns anything thrown into a Problem. `redact` removes secrets (provider keys, the API token)
 * from messages: adapters should never put them there, this makes sure.
 */
export function toProblem(thrown: unknown, redact: (text: string) => string): Problem {
  if (thrown instanceof HttpError) {
    const message = redact(thrown.message);
    return {
      status: thrown.status,
      code: thrown.code,
      message,
      param: thrown.param,
      serialized: { code: thrown.status === 404 ? 'NOT_FOUND' : 'INVALID_REQUEST', message },
    };
  }
  const error = toSwitchboardError(thrown);
  const code = effectiveCode(error);
  const hinted = error.attempts?.find((a) => UPSTREAM_KEY_HINT[a.code])?.code ?? code;
  const message = redact(`${error.detail}${UPSTREAM_KEY_HINT[hinted] ?? ''}`);
  const serialized = error.toJSON();
  serialized.message = redact(serialized.message);
  if (serialized.attempts) serialized.attempts = serialized.attempts.map((a) => ({ ...a, message: redact(a.message) }));
  return {
    status: statusOf(error),
    code: OPENAI_CODES[code] ?? code.toLowerCase(),
    message,
    param: code === 'MODEL_NOT_FOUND' ? 'model' : null,
    retryAfterSeconds: error.retryAfterMs !== undefined ? Math.max(1, Math.ceil(error.retryAfterMs / 1000)) : undefined,
    serialized,
  };
}

const OPENAI_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'insufficient_quota',
  403: 'permission_error',
  404: 'invalid_request_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
  429: 'rate_limit_error',
};

/** `{ error: { message, type, param, code } }`, which the openai SDK parses into its error classes. */
export function openAIErrorBody(problem: Problem): unknown {
  const type = OPENAI_TYPES[problem.status] ?? (problem.status >= 500 ? 'api_error' : 'invalid_request_error');
  return { error: { message: problem.message, type, param: problem.param, code: problem.code } };
}

const ANTHROPIC_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  503: 'overloaded_error',
};

/** `{ type: 'error', error: { type, message } }`, as the Anthropic API spells errors. */
export function anthropicErrorBody(problem: Problem): unknown {
  const type = ANTHROPIC_TYPES[problem.status] ?? (problem.status >= 500 ? 'api_error' : 'invalid_request_error');
  return { type: 'error', error: { type, message: problem.message } };
}

/** `{ error: SerializedError }`, the app API's transport rule (contract/api.ts). */
export function appErrorBody(problem: Problem): unknown {
  return { error: problem.serialized };
}
