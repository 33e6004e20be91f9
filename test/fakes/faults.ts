/**
 * Fault injection for the fake providers. A plan is a function from the request just received to the
 * fault to inject (or none), so a test can aim at one request, a sequence, or a random mix.
 */

export const FAULT_KINDS = [
  'unauthorized',
  'forbidden',
  'unknown-model',
  'rate-limit',
  'quota',
  'content-filter',
  'server-error',
  'unavailable',
  'context-too-long',
  /** 400 for a request the upstream finds malformed: the client's fault, whoever it goes to. */
  'bad-request',
  'hang',
  'reset',
  'malformed',
  'cut',
  'stream-error',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export type Fault =
  | FaultKind
  /** 429 with `Retry-After: <retryAfter>` (seconds or an HTTP-date; default "1") and optional retry-after-ms. */
  | { kind: 'rate-limit'; retryAfter?: string; retryAfterMs?: number }
  /** The answer stops after `afterChunks` stream frames (default 3): the socket is destroyed, or the body ends cleanly. */
  | { kind: 'cut'; afterChunks?: number; how?: 'destroy' | 'end' }
  /** No answer at all, or (with afterChunks) a stream that stalls after that many frames. */
  | { kind: 'hang'; afterChunks?: number }
  /** The protocol's own in-stream error event after `afterChunks` frames (default 3); a plain 500 for JSON answers. */
  | { kind: 'stream-error'; afterChunks?: number };

/** What a plan sees of a request: enough to aim faults at a path, a model or the nth call. */
export interface FaultTarget {
  index: number;
  method: string;
  path: string;
  model?: string;
  stream: boolean;
  /** The parsed request body, to aim at requests by what they ask (as an upstream validates them). */
  body?: unknown;
}

export type FaultPlan = (request: FaultTarget) => Fault | undefined;

export function faultKind(fault: Fault): FaultKind {
  return typeof fault === 'string' ? fault : fault.kind;
}

/** The nth request gets the nth fault (undefined = answer normally); requests past the list are answered normally. */
export function faultSequence(...faults: (Fault | undefined)[]): FaultPlan {
  return (request) => faults[request.index];
}

/** Every request gets this fault. */
export function always(fault: Fault): FaultPlan {
  return () => fault;
}

/**
 * A seeded random mix: `{ 'rate-limit': 0.1, reset: 0.05 }` fails 10 % of requests with 429 and 5 % with a
 * reset; the rest are answered normally. Probabilities must sum to at most 1. Fault objects can be given
 * as `[fault, probability]` pairs for options such as `afterChunks`.
 */
export function faultMix(
  mix: Partial<Record<FaultKind, number>> | [Fault, number][],
  options: { seed?: number } = {},
): FaultPlan {
  const entries: [Fault, number][] = Array.isArray(mix) ? mix : (Object.entries(mix) as [FaultKind, number][]);
  const total = entries.reduce((sum, [, p]) => sum + p, 0);
  if (total > 1 + 1e-9) throw new Error(`fault probabilities sum to ${total}, more than 1`);
  const random = mulberry32(options.seed ?? 1);
  return () => {
    let roll = random();
    for (const [fault, p] of entries) {
      if (roll < p) return fault;
      roll -= p;
    }
    return undefined;
  };
}

// A tiny seeded PRNG so that a chaos run can be replayed exactly.
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
