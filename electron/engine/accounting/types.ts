import type { ErrorCode } from '../contract/errors.ts';

/**
 * How a request ended. `interrupted`: its answer had begun when the process stopped (a reserved row that
 * was never settled).
 */
export type UsageOutcome = 'success' | 'error' | 'cancelled' | 'interrupted';

/** One per request (not per attempt): what it cost and how it went. Never holds a key. */
export interface UsageEvent {
  id: string;
  /** Epoch milliseconds when the request started. */
  time: number;
  kind: 'chat' | 'embedding' | 'transcription' | 'moderation';
  providerId: string;
  model: string;
  /** Which of the provider's keys answered (its mask, e.g. …a9f2), never the key. */
  keyId?: string;
  userId?: string;
  /** The app key the request came with (its id); absent for the API token and the app itself. */
  appKeyId?: string;
  profile: string;
  strategy: string;
  inputTokens: number;
  outputTokens: number;
  tokensEstimated: boolean;
  costUsd: number;
  latencyMs: number;
  /** Time to first token/segment, where the operation streams. */
  ttftMs?: number;
  outcome: UsageOutcome;
  errorCode?: ErrorCode;
  /** 0 when the first candidate answered; n when the n-th fallback did. */
  fallbackDepth: number;
}

/** Where usage events go: memory now, SQLite once the store is wired. */
export interface UsageSink {
  record(event: UsageEvent): void;
  /**
   * Puts the request's row on disk before its answer reaches the caller (outcome `interrupted`, the
   * estimated tokens and cost), so a crash cannot lose an answered request nor let budgets under-count;
   * `record` with the same id settles it; the promise says when the row is on disk. Sinks that keep
   * nothing across a crash leave it out.
   */
  reserve?(event: UsageEvent): Promise<void>;
}
