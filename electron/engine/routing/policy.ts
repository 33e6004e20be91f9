import type { ErrorCode, SwitchboardError } from '../contract/errors.ts';

/**
 * What a failure says, as routing reacts to it. Adapters have already turned the upstream's answer
 * into a SwitchboardError (providers/http-errors.ts, the one translation); this groups their codes
 * into the classes that drive cooldowns, breakers and fallbacks.
 */
export type ErrorClass =
  /** 429 with a wait: the key rests for it, the request goes where it can be answered now. */
  | 'rate_limited'
  /** 402, or a quota used up: the key has no credit left; it rests long, another key or provider answers. */
  | 'quota'
  /** The provider refused the content under its policy; another provider's policy may differ. */
  | 'content_policy'
  /** 401/403: this key is no good here; another key (or provider) may be. */
  | 'auth'
  /** 5xx, a reply that is not the protocol's: the provider is unwell. */
  | 'server'
  | 'timeout'
  | 'connection'
  /** A stream that stopped before its end. */
  | 'interrupted'
  /** The prompt does not fit this model: a larger window may take it. */
  | 'context_overflow'
  /** This provider or model cannot do this request (unknown model, not supported, not installed). */
  | 'unsuited'
  /** The client's request is wrong; every provider would say so. */
  | 'invalid_request'
  /** The gateway itself failed before the provider had a say (a bug, an input it could not handle). */
  | 'internal'
  /** The caller left, or a budget refused: nobody else should be asked. */
  | 'final';

const CLASS_OF: Record<ErrorCode, ErrorClass> = {
  PROVIDER_UNAUTHORIZED: 'auth',
  PROVIDER_FORBIDDEN: 'auth',
  MODEL_NOT_FOUND: 'unsuited',
  RATE_LIMITED: 'rate_limited',
  QUOTA_EXCEEDED: 'quota',
  CONTENT_FILTERED: 'content_policy',
  PROVIDER_UNAVAILABLE: 'server',
  TIMEOUT: 'timeout',
  CONNECTION_FAILED: 'connection',
  BAD_RESPONSE: 'server',
  STREAM_INTERRUPTED: 'interrupted',
  CONTEXT_TOO_LONG: 'context_overflow',
  INVALID_REQUEST: 'invalid_request',
  CANCELLED: 'final',
  CLOUD_DISABLED: 'unsuited',
  CONSENT_REQUIRED: 'unsuited',
  NO_PROVIDER: 'unsuited',
  ALL_PROVIDERS_FAILED: 'server',
  BUDGET_EXCEEDED: 'final',
  KEY_NOT_ALLOWED: 'final',
  CIRCUIT_OPEN: 'unsuited',
  CONFIG_INVALID: 'unsuited',
  NOT_SUPPORTED: 'unsuited',
  NOT_FOUND: 'unsuited',
  // Local Whisper's decoder could not read the file; a cloud provider's may (the privacy consent stage decides
  // whether it may be asked), so this is one provider's limit, not a wrong request.
  AUDIO_INVALID: 'unsuited',
  MODEL_NOT_INSTALLED: 'unsuited',
  INTERNAL: 'internal',
};

export function classify(error: SwitchboardError): ErrorClass {
  return CLASS_OF[error.code];
}

/** Whether a failure of this class says the provider is unwell (its breaker and success rate count it). */
export function countsAgainstProvider(errorClass: ErrorClass): boolean {
  return (
    errorClass === 'server' || errorClass === 'timeout' || errorClass === 'connection' || errorClass === 'interrupted'
  );
}

/**
 * What the router does after a failed attempt that produced no output:
 * - `retry`: the same provider again after a backoff (transient: 5xx, timeouts, resets, cut streams);
 * - `next-key`: the same provider at once with another of its keys (this key was rejected or limited);
 * - `next`: the next candidate (this provider cannot answer this request now);
 * - `stop`: nobody else can help (the caller cancelled, a budget refused, the request itself is wrong).
 */
export type Verdict = 'retry' | 'next-key' | 'next' | 'stop';

export interface FailureScene {
  /** Another candidate after this one could take the request. */
  hasAlternative: boolean;
  /** Another usable key remains on this provider. */
  hasOtherKey: boolean;
  /** Attempts left on this provider (the retry policy's). */
  attemptsLeft: number;
  /** Longest wait worth doing for this provider before moving on. */
  maxRetryWaitMs: number;
  /** The provider's `retry.on_status_codes`: only these upstream statuses are retried. */
  retryOn?: readonly number[];
  /** The configuration's `fallback.on_status_codes`: only these upstream statuses move on; others stop. */
  fallbackOn?: readonly number[];
}

/**
 * What to do after a failure. The error's class decides by default; where the configuration lists the
 * upstream statuses to retry or to fall back on (as Portkey's `on_status_codes` do), a failure that has
 * a status follows those lists. Failures without one (a timeout, a reset) keep the default.
 */
export function decide(error: SwitchboardError, errorClass: ErrorClass, scene: FailureScene): Verdict {
  const verdict = byClass(error, errorClass, scene);
  const status = error.status;
  if (status === undefined || verdict === 'next-key' || errorClass === 'final' || errorClass === 'internal')
    return verdict;
  let chosen = verdict;
  if (scene.retryOn) {
    const waitOk = (error.retryAfterMs ?? 0) <= scene.maxRetryWaitMs;
    if (scene.retryOn.includes(status) && scene.attemptsLeft > 0 && waitOk) return 'retry';
    if (chosen === 'retry') chosen = 'next';
  }
  if (scene.fallbackOn) {
    if (chosen === 'next' && !scene.fallbackOn.includes(status)) return 'stop';
    if (chosen === 'stop' && scene.fallbackOn.includes(status)) return 'next';
  }
  return chosen;
}

function byClass(error: SwitchboardError, errorClass: ErrorClass, scene: FailureScene): Verdict {
  switch (errorClass) {
    case 'final':
    case 'internal':
    case 'invalid_request':
      return 'stop';
    case 'auth':
    case 'quota':
      // Never the same key again (quota: not for a long while); another key of the provider may well work.
      return scene.hasOtherKey ? 'next-key' : 'next';
    case 'rate_limited': {
      // 429 means busy, not broken: the key rests for its Retry-After; the request goes where it can
      // be answered now — another provider, else another key, else wait here if the wait is short.
      if (scene.hasAlternative) return 'next';
      if (scene.hasOtherKey) return 'next-key';
      const wait = error.retryAfterMs ?? 0;
      return error.retryable && scene.attemptsLeft > 0 && wait <= scene.maxRetryWaitMs ? 'retry' : 'next';
    }
    case 'unsuited':
    case 'context_overflow':
    case 'content_policy':
      return 'next';
  }
  const waitOk = (error.retryAfterMs ?? 0) <= scene.maxRetryWaitMs;
  return error.retryable && scene.attemptsLeft > 0 && waitOk ? 'retry' : 'next';
}

export interface BackoffSettings {
  /** Longest single wait between attempts. */
  maxBackoffMs: number;
  /**
   * Longest Retry-After the router waits out on one provider instead of moving on; also a request's
   * patience in all for candidates that are resting (counted from its arrival).
   */
  maxRetryWaitMs: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = { maxBackoffMs: 30_000, maxRetryWaitMs: 20_000 };

/**
 * Exponential backoff with jitter: backoffFactor × 2^(attempt-1) seconds, scaled by a random 50–100 %
 * so clients that failed together do not retry together; a Retry-After from the provider wins.
 */
export function backoffMs(
  attempt: number,
  backoffFactor: number,
  retryAfterMs: number | undefined,
  settings: BackoffSettings,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, settings.maxRetryWaitMs);
  const exponential = backoffFactor * 1000 * 2 ** (attempt - 1);
  return Math.min(settings.maxBackoffMs, exponential * (0.5 + random() / 2));
}
