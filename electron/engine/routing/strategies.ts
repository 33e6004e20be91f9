import type { StrategyName } from '../config/schema.ts';
import { latencyKey } from './latency.ts';
import type { Candidate, RoutingRequest } from './types.ts';

/** What strategies read about providers; each answer must be cheap (no I/O, no large allocation). */
export interface StrategySignals {
  inFlight(providerId: string): number;
  /** Fraction (0..1) of the minute's token budget left on the provider's keys; 1 without a TPM limit. */
  tokenHeadroom(candidate: Candidate): number;
  /** Estimated USD for this request on this candidate; undefined when the price is unknown. */
  estimatedCost(candidate: Candidate, request: RoutingRequest): number | undefined;
  /** Expected ms for the whole reply (0 = never measured). */
  expectedLatencyMs(key: string, outputTokens: number): number;
  /** Share of recent requests that succeeded (1 with no history). */
  successRate(providerId: string): number;
}

/** Strategies that take turns: they need the candidate set's balancing turn (a shared counter). */
export const TURN_TAKING: ReadonlySet<StrategyName> = new Set(['round_robin', 'weighted_round_robin', 'latency']);

export interface StrategySettings {
  /** Latency strategy: candidates within this fraction of the fastest, plus latencyToleranceMs, share load. */
  latencyTolerance: number;
  /** …so providers a few milliseconds apart (noise on a fast link) count as equally fast. */
  latencyToleranceMs: number;
  /** Output tokens assumed when a request sets no max_tokens (cost and latency estimates). */
  expectedOutputTokens: number;
}

export const DEFAULT_STRATEGY_SETTINGS: StrategySettings = {
  latencyTolerance: 0.15,
  latencyToleranceMs: 20,
  expectedOutputTokens: 256,
};

/** Scores reused between decisions: strategies sort by them without allocating. */
const scores = new Float64Array(256);

/** Stable insertion sort of candidates by ascending score (n is small; no allocation). */
function sortByScore(candidates: Candidate[], n: number): void {
  for (let i = 1; i < n; i++) {
    const c = candidates[i]!;
    const s = scores[i]!;
    let j = i - 1;
    while (j >= 0 && scores[j]! > s) {
      candidates[j + 1] = candidates[j]!;
      scores[j + 1] = scores[j]!;
      j--;
    }
    candidates[j + 1] = c;
    scores[j + 1] = s;
  }
}

/** Moves candidates[index] to the front, keeping the others in order. */
export function toFront(candidates: Candidate[], index: number): void {
  const chosen = candidates[index]!;
  for (let i = index; i > 0; i--) candidates[i] = candidates[i - 1]!;
  candidates[0] = chosen;
}

function rotate(candidates: Candidate[], n: number, by: number): void {
  const shift = by % n;
  if (shift === 0) return;
  reverse(candidates, 0, shift - 1);
  reverse(candidates, shift, n - 1);
  reverse(candidates, 0, n - 1);
}

function reverse(candidates: Candidate[], from: number, to: number): void {
  for (let i = from, j = to; i < j; i++, j--) {
    const t = candidates[i]!;
    candidates[i] = candidates[j]!;
    candidates[j] = t;
  }
}

function outputTokens(request: RoutingRequest, settings: StrategySettings): number {
  return request.maxOutputTokens ?? settings.expectedOutputTokens;
}

/**
 * Orders the first `n` candidates (those that can take traffic now) in place for one strategy; the
 * router walks the result in order, failures moving down it. Returns how many stay eligible (weighted
 * round robin drops providers of weight 0). `turn` counts the requests of this candidate set so far
 * (profile + capability), for the strategies that take turns.
 */
export function applyStrategy(
  name: StrategyName,
  candidates: Candidate[],
  n: number,
  request: RoutingRequest,
  turn: number,
  signals: StrategySignals,
  settings: StrategySettings,
): number {
  if (n <= 1 || n > scores.length) return n;
  switch (name) {
    case 'fallback':
      return n;
    case 'priority':
      for (let i = 0; i < n; i++) scores[i] = candidates[i]!.provider.priority;
      sortByScore(candidates, n);
      return n;
    case 'round_robin':
      rotate(candidates, n, turn);
      return n;
    case 'weighted_round_robin':
      return weightedRoundRobin(candidates, n, turn);
    case 'least_cost':
      for (let i = 0; i < n; i++) {
        scores[i] = signals.estimatedCost(candidates[i]!, request) ?? Number.POSITIVE_INFINITY;
      }
      sortByScore(candidates, n);
      return n;
    case 'latency':
      latency(candidates, n, request, turn, signals, settings);
      return n;
    case 'least_connections':
      for (let i = 0; i < n; i++) scores[i] = signals.inFlight(candidates[i]!.provider.id);
      sortByScore(candidates, n);
      return n;
    case 'token_load':
      for (let i = 0; i < n; i++) scores[i] = -signals.tokenHeadroom(candidates[i]!);
      sortByScore(candidates, n);
      return n;
    case 'capability':
      for (let i = 0; i < n; i++) scores[i] = capabilityScore(candidates[i]!, i, signals);
      sortByScore(candidates, n);
      return n;
    case 'sticky':
      // Chosen by the router before availability reorders the list: the hash ring needs the
      // configured order, and a user's provider that is out needs its ring successor (sticky.ts).
      return n;
  }
}

/**
 * Best first: most reliable recently, then the configured order. Used by the capability strategy and
 * bestProviderFor().
 */
export function capabilityScore(
  candidate: Candidate,
  index: number,
  signals: Pick<StrategySignals, 'successRate'>,
): number {
  return 1 - signals.successRate(candidate.provider.id) + index * 1e-6;
}

interface WeightedSequence {
  ids: string[];
  weights: number[];
  /** For each turn of a cycle (sum of weights long), the index of the provider it goes to. */
  picks: Uint16Array;
}

/** Sequences per provider set, reused while the set and its weights stay the same. */
const sequences: WeightedSequence[] = [];
const MAX_SEQUENCES = 64;

/**
 * Smooth weighted round robin (nginx's) over one cycle: each pick adds every weight to its running
 * total, takes the largest and subtracts the sum of weights from it. Over any cycle of sum(weights)
 * picks each provider gets exactly its share, spread out rather than in bursts.
 */
function weightedSequence(candidates: Candidate[], n: number): WeightedSequence {
  for (const sequence of sequences) {
    if (sequence.ids.length !== n) continue;
    let same = true;
    for (let i = 0; i < n && same; i++) {
      const { id, weight } = candidates[i]!.provider;
      same = sequence.ids[i] === id && sequence.weights[i] === weight;
    }
    if (same) return sequence;
  }
  const ids = candidates.slice(0, n).map((c) => c.provider.id);
  const weights = candidates.slice(0, n).map((c) => Math.max(0, c.provider.weight));
  // Weights are whole numbers in practice; fractional ones are scaled so the cycle stays exact.
  const scale = weights.every(Number.isInteger) ? 1 : 100;
  const scaled = weights.map((w) => Math.round(w * scale));
  const total = scaled.reduce((sum, w) => sum + w, 0);
  const running = new Array<number>(n).fill(0);
  const picks = new Uint16Array(total);
  for (let turn = 0; turn < total; turn++) {
    let best = -1;
    for (let i = 0; i < n; i++) {
      if (scaled[i]! <= 0) continue;
      running[i]! += scaled[i]!;
      if (best < 0 || running[i]! > running[best]!) best = i;
    }
    running[best]! -= total;
    picks[turn] = best;
  }
  const sequence = { ids, weights, picks };
  if (sequences.length >= MAX_SEQUENCES) sequences.shift();
  sequences.push(sequence);
  return sequence;
}

/**
 * Weighted round robin: this turn's pick of the set's smooth cycle goes first. Weight 0 drains a
 * provider: it gets no new traffic, not even as a fallback, unless every provider is at 0.
 */
function weightedRoundRobin(candidates: Candidate[], n: number, turn: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) total += Math.max(0, candidates[i]!.provider.weight);
  if (total <= 0) return n;
  const { picks } = weightedSequence(candidates, n);
  toFront(candidates, picks[turn % picks.length]!);
  // Drained providers leave the list; the rest keep their order.
  let kept = 0;
  for (let i = 0; i < n; i++) {
    if (candidates[i]!.provider.weight > 0) candidates[kept++] = candidates[i]!;
  }
  for (let i = n; i < candidates.length; i++) candidates[kept + i - n] = candidates[i]!;
  candidates.length = kept + candidates.length - n;
  return kept;
}

/**
 * Fastest expected reply first; those within the tolerance of the fastest take turns at the front,
 * so a few milliseconds of noise do not send all traffic to one provider.
 */
function latency(
  candidates: Candidate[],
  n: number,
  request: RoutingRequest,
  turn: number,
  signals: StrategySignals,
  settings: StrategySettings,
): void {
  const tokens = outputTokens(request, settings);
  for (let i = 0; i < n; i++) {
    const c = candidates[i]!;
    scores[i] = signals.expectedLatencyMs(latencyKey(c.provider.id, c.model), tokens);
  }
  sortByScore(candidates, n);
  const limit = scores[0]! * (1 + settings.latencyTolerance) + settings.latencyToleranceMs;
  let ties = 1;
  while (ties < n && scores[ties]! <= limit) ties++;
  if (ties > 1) toFront(candidates, turn % ties);
}
