/**
 * Time as routing and budgets see it. Breakers, limiters, backoffs, rotation windows and timeouts all
 * read this instead of Date/setTimeout, so tests and benchmarks can run hours of routing in a moment.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /**
   * Calls `fn` after `ms`; the returned function cancels it. The timer keeps the process alive: a
   * request waiting on it (a retry's backoff, a rate-limit queue, a timeout) must not be cut short
   * because nothing else was pending — a CLI run would exit mid-request.
   */
  timer(ms: number, fn: () => void): () => void;
  /** The same for housekeeping (scheduled health checks) that must never keep a process alive. */
  background(ms: number, fn: () => void): () => void;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}
