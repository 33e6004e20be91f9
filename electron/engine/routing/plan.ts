import type { StrategyName } from '../config/schema.ts';
import type { EngineConfig } from '../config/types.ts';
import type { ProviderAdapter } from '../providers/types.ts';
import { type ResolvedTarget, resolveCandidates } from './candidates.ts';
import type { StickyAssignments } from './sticky.ts';
import { applyStrategy, type StrategySettings, type StrategySignals, toFront } from './strategies.ts';
import type { Candidate, Plan, RoutingRequest } from './types.ts';

/**
 * Availability of a candidate now: 0 can take traffic, 1 last resort (its health checks fail), 2 to
 * be skipped for now (breaker open, every key resting).
 */
export type Availability = 0 | 1 | 2;

/** What a routing decision reads: the configuration and a view of the routing state, nothing else. */
export interface PlanInputs {
  config: EngineConfig;
  adapters: ReadonlyMap<string, ProviderAdapter>;
  /** Models each provider reported (listModels), so bare model ids find their provider. */
  knownModels: ReadonlyMap<string, ReadonlySet<string>>;
  availability(candidate: Candidate): Availability;
  sticky: StickyAssignments;
  signals: StrategySignals;
  settings: StrategySettings;
}

/** Availability ranks, reused between decisions: sorting by them allocates nothing. */
const ranks = new Uint8Array(256);
const isEligible = (index: number) => ranks[index] === 0;
const stickyIds: string[] = [];

const setKeys = new Map<string, Map<string, string>>();

/** The name of a candidate set (profile + capability): its balancing turn and sticky ring go by it. */
export function setKeyOf(profile: string, capability: string): string {
  let byCapability = setKeys.get(profile);
  if (!byCapability) {
    byCapability = new Map();
    setKeys.set(profile, byCapability);
  }
  let key = byCapability.get(capability);
  if (!key) {
    key = `${profile}|${capability}`;
    byCapability.set(capability, key);
  }
  return key;
}

/**
 * The routing decision: a request's candidates in the order they will be tried. Those that can take
 * traffic come first, in the strategy's order; then providers whose health checks fail (last
 * resort); then those routing will skip for now. A provider named in the model, or a profile's chain,
 * keeps its place at the front (pinned): the strategy orders only the rest. `turn` is the candidate
 * set's balancing turn (round robin and the strategies that take turns). Reads only its inputs; the one
 * thing it writes is a new user's sticky assignment.
 */
export function plan(request: RoutingRequest, target: ResolvedTarget, turn: number, inputs: PlanInputs): Plan {
  const { config } = inputs;
  const { candidates, pinned } = resolveCandidates(config, inputs.adapters, request, target, inputs.knownModels);
  const profile = target.profile;
  const strategy = profile.strategy ?? config.strategy;
  if (candidates.length > 1) {
    const setKey = setKeyOf(profile.name, request.capability);
    if (pinned === 0) order(candidates, request, turn, strategy, setKey, inputs);
    else if (pinned < candidates.length) {
      const rest = candidates.splice(pinned);
      order(rest, request, turn, strategy, setKey, inputs);
      candidates.push(...rest);
    }
    rank(candidates, inputs);
    stableByRank(candidates, Math.min(candidates.length, ranks.length));
  }
  // Fallback switched off: the first choice alone (trimmed after the strategy, so balancing still works).
  if (!config.fallbackEnabled) candidates.length = 1;
  return { candidates, profile, strategy };
}

/** Availability ranks of the candidates, in `ranks`; answers how many can take traffic now. */
function rank(candidates: Candidate[], inputs: PlanInputs): number {
  const n = Math.min(candidates.length, ranks.length);
  let eligible = 0;
  for (let i = 0; i < n; i++) {
    const value = inputs.availability(candidates[i]!);
    ranks[i] = value;
    if (value === 0) eligible++;
  }
  return eligible;
}

/** Orders candidates for a strategy: those that can take traffic first, in the strategy's order. */
function order(
  candidates: Candidate[],
  request: RoutingRequest,
  turn: number,
  strategy: StrategyName,
  setKey: string,
  inputs: PlanInputs,
): void {
  const n = Math.min(candidates.length, ranks.length);
  const eligible = rank(candidates, inputs);
  if (strategy === 'sticky' && request.userId) {
    // Chosen before availability reorders the list: the hash ring needs the configured order, and a
    // user's provider that is out needs its ring successor (sticky.ts).
    stickyIds.length = n;
    for (let i = 0; i < n; i++) stickyIds[i] = candidates[i]!.provider.id;
    const chosen = inputs.sticky.choose(request.userId, setKey, stickyIds, isEligible);
    const chosenRank = ranks[chosen]!;
    for (let i = chosen; i > 0; i--) ranks[i] = ranks[i - 1]!;
    ranks[0] = chosenRank;
    toFront(candidates, chosen);
  }
  if (eligible < n) stableByRank(candidates, n);
  applyStrategy(strategy, candidates, eligible, request, turn, inputs.signals, inputs.settings);
}

/** Stable sort of the first n candidates by `ranks` (insertion sort: n is small, nothing allocated). */
function stableByRank(candidates: Candidate[], n: number): void {
  for (let i = 1; i < n; i++) {
    const c = candidates[i]!;
    const r = ranks[i]!;
    let j = i - 1;
    while (j >= 0 && ranks[j]! > r) {
      candidates[j + 1] = candidates[j]!;
      ranks[j + 1] = ranks[j]!;
      j--;
    }
    candidates[j + 1] = c;
    ranks[j + 1] = r;
  }
}
