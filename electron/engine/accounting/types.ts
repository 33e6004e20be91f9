import type { ErrorCode } from '../contract/errors.ts';

export type UsageOutcome = 'success' | 'error' | 'cancelled';

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
}
