import type { UsageEvent } from '../accounting/types.ts';
import type { ErrorCode } from '../contract/errors.ts';
import type { ErrorClass, Verdict } from './policy.ts';
import type { AttemptScope, RequestScope } from './stage.ts';
import type { Candidate } from './types.ts';

/** How an attempt that reached the provider ended, and what the pipeline decided about it. */
export interface AttemptEnd {
  outcome: 'success' | 'error' | 'cancelled';
  errorCode?: ErrorCode;
  errorClass?: ErrorClass;
  /** The upstream's HTTP status, where it answered with one. */
  status?: number;
  /** After a failure before any output: retry here, another key, the next candidate, or stop (policy.ts). */
  verdict?: Verdict;
}

/**
 * What the pipeline decided while it ran one request, told as it happens: each attempt sent upstream and
 * how it ended, each candidate a stage refused, each move to the next candidate, and the request's one
 * usage event. Metrics and traces listen here instead of working the decisions out again; a listener
 * never changes the outcome, and must not throw.
 */
export interface RequestWatch {
  /** A stage refused the candidate before anything was sent, or ended the whole request (`stage`: its name). */
  refused(attempt: AttemptScope, stage: string, code: ErrorCode): void;
  /** Every stage admitted the attempt: it goes to the provider now. `retry` is 0 for the first try on this candidate. */
  sent(attempt: AttemptScope, retry: number): void;
  ended(attempt: AttemptScope, end: AttemptEnd): void;
  /** The request left `from` for `to` after `code` (a failure upstream, or a stage's refusal). */
  fellBack(from: Candidate, to: Candidate, code: ErrorCode): void;
  finished(event: UsageEvent): void;
}

/** Hands out a watch per request (a shared one where it keeps nothing per request). */
export interface PipelineWatcher {
  watch(scope: RequestScope): RequestWatch;
}

/** Several watchers as one: the router's metrics and, where enabled, the traces. */
export function watchAll(watchers: readonly PipelineWatcher[]): PipelineWatcher {
  if (watchers.length === 1) return watchers[0]!;
  return {
    watch(scope) {
      const watches = watchers.map((w) => w.watch(scope));
      return {
        refused: (attempt, stage, code) => {
          for (const w of watches) w.refused(attempt, stage, code);
        },
        sent: (attempt, retry) => {
          for (const w of watches) w.sent(attempt, retry);
        },
        ended: (attempt, end) => {
          for (const w of watches) w.ended(attempt, end);
        },
        fellBack: (from, to, code) => {
          for (const w of watches) w.fellBack(from, to, code);
        },
        finished: (event) => {
          for (const w of watches) w.finished(event);
        },
      };
    },
  };
}
