import type { ErrorCode, SwitchboardError } from '../contract/errors.ts';

/**
 * What the router does after a failed attempt that produced no output:
 * - `retry`: the same provider again after a backoff (transient: 5xx, timeouts, resets, cut streams);
 * - `next-key`: the same provider at once with another of its keys (this key was rejected or limited);
 * - `next`: the next candidate (this provider cannot answer this request now);
 * - `stop`: nobody else can help (the caller cancelled, a budget refused).
 */
export type Verdict = 'retry' | 'next-key' | 'next' | 'stop';

/** How an outcome counts for the provider's circuit breaker. */
export type BreakerEffect = 'failure' | 'neutral';

export interface FailureDecision {
  verdict: Verdict;
  breaker: BreakerEffect;
  /** The key is bad (401/403): disable it. */
  disableKey: boolean;
  /** The key hit a rate limit: rest it. */
  coolKey: boolean;
}

/** Errors that say the request does not suit this provider or model, not that the provider is unwell. */
const UNSUITED: ReadonlySet<ErrorCode> = new Set([
  'MODEL_NOT_FOUND',
  'CONTEXT_TOO_LONG',
  'NOT_SUPPORTED',
  'MODEL_NOT_INSTALLED',
  'INVALID_REQUEST',
  'NOT_FOUND',
  'CLOUD_DISABLED',
]);

export interface FailureScene {
  /** Another candidate after this one could take the request. */
  hasAlternative: boolean;
  /** Another usable key remains on this provider. */
  hasOtherKey: boolean;
  /** Attempts left on this provider (the retry policy's). */
  attemptsLeft: number;
  /** Longest wait worth doing for this provider before moving on. */
  maxRetryWaitMs: number;
}

export function decide(error: SwitchboardError, scene: FailureScene): FailureDecision {
  const base = { disableKey: false, coolKey: false };
  switch (error.code) {
    case 'CANCELLED':
    case 'BUDGET_EXCEEDED':
      return { ...base, verdict: 'stop', breaker: 'neutral' };
    case 'PROVIDER_UNAUTHORIZED':
    case 'PROVIDER_FORBIDDEN':
      // Never the same key again; another key of the provider may well work.
      return { ...base, disableKey: true, verdict: scene.hasOtherKey ? 'next-key' : 'next', breaker: 'neutral' };
    case 'RATE_LIMITED': {
      // 429 means busy, not broken: the key rests for its Retry-After; the request goes where it can
      // be answered now — another provider, else another key, else wait here if the wait is short.
      const wait = error.retryAfterMs ?? 0;
      const verdict = scene.hasAlternative
        ? 'next'
        : scene.hasOtherKey
          ? 'next-key'
          : scene.attemptsLeft > 0 && wait <= scene.maxRetryWaitMs
            ? 'retry'
            : 'next';
      return { ...base, coolKey: true, verdict, breaker: 'neutral' };
    }
  }
  if (UNSUITED.has(error.code)) return { ...base, verdict: 'next', breaker: 'neutral' };
  const waitOk = (error.retryAfterMs ?? 0) <= scene.maxRetryWaitMs;
  return {
    ...base,
    verdict: error.retryable && scene.attemptsLeft > 0 && waitOk ? 'retry' : 'next',
    breaker: 'failure',
  };
}

export interface BackoffSettings {
  /** Longest single wait between attempts. */
  maxBackoffMs: number;
  /** Longest Retry-After the router waits out on one provider instead of moving on. */
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
