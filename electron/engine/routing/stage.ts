import type { EngineProvider } from '../config/types.ts';
import type { Usage } from '../contract/chat.ts';
import type { ErrorCode, SwitchboardError } from '../contract/errors.ts';
import type { ErrorClass } from './policy.ts';
import type { Candidate, OperationKind, Plan, RoutingRequest } from './types.ts';

/**
 * The pipeline's parts. A request is planned (plan.ts: the ordered candidates), then each attempt on a
 * candidate goes through a chain of stages, each the only owner of its concern — context window,
 * breaker, key pool, rate limit, budget, the one timeout, observation — in the spirit of Hono's
 * middleware: a stage looks at the attempt on the way in (and may refuse it), hears when its first
 * output arrived, and hears how it ended. pipeline.ts drives them; retry and fallback by error class
 * are policy.ts's; the request's one usage event is accounting's.
 */

/** One request as it goes through the pipeline. */
export interface RequestScope {
  readonly request: RoutingRequest;
  readonly plan: Plan;
  readonly kind: OperationKind;
  /** The caller's signal. */
  readonly signal: AbortSignal;
  readonly started: number;
  /** After a model said the prompt is too long, only windows larger than this are tried. */
  minContextWindow: number;
}

/** One try on one candidate; stages fill in what they own. */
export interface AttemptScope {
  readonly scope: RequestScope;
  readonly candidate: Candidate;
  readonly depth: number;
  /** Aborted by the caller's signal, and by the timeout stage with an AttemptTimeout reason. */
  readonly controller: AbortController;
  /** Keys usable now, in rotation order (the key pool's); `[undefined]` for a keyless provider. */
  keys: (string | undefined)[];
  /** The key this attempt sends (the key pool's first, or the one the rate limit admitted). */
  apiKey?: string;
  /** Tokens the attempt is charged before its answer says (rate limits, TPM). */
  readonly estimatedTokens: number;
  /** Set as output arrives. */
  usage?: Usage;
  /** What the attempt cost, set when it ends. */
  costUsd: number;
}

export type AttemptOutcome =
  | { type: 'success' }
  | { type: 'failure'; error: SwitchboardError; errorClass: ErrorClass }
  /**
   * Nothing to say about the provider: the caller left, or a stage refused before anything was sent
   * (`unsent`: what the attempt was counted for, such as its place in a rate window, is given back).
   */
  | { type: 'released'; unsent?: boolean };

/** A stage's hold on an admitted attempt. */
export interface Pass {
  firstOutput?(): void;
  leave(outcome: AttemptOutcome): void;
}

/** A stage says this candidate cannot take the attempt now; the pipeline moves on (or comes back after `retryInMs`). */
export interface Refusal {
  refused: true;
  code: ErrorCode;
  message: string;
  retryInMs?: number;
}

export type Entry = Pass | Refusal;

export interface Stage {
  readonly name: string;
  /**
   * Entered together with the stage before it, without waiting for that one's answer: the stage reads
   * nothing an earlier stage sets on the attempt, so a shared state asks both in one round trip. When
   * either refuses (or throws), the pipeline lets go of what the other admitted.
   */
  readonly concurrent?: boolean;
  /** Whether the stage has anything to do for this provider and kind of work (a local job skips keys and budgets). */
  applies(provider: EngineProvider, kind: OperationKind): boolean;
  /** Narrows the plan before any attempt (budgets drop what would overspend). Throws to refuse the request. */
  filter?(scope: RequestScope, candidates: Candidate[]): Candidate[];
  /** Admits or refuses an attempt; throws a SwitchboardError to end the whole request. */
  enter(attempt: AttemptScope): Entry | Promise<Entry>;
}

/** A Pass that does nothing: for stages with nothing to undo. */
export const NO_HOLD: Pass = { leave: () => {} };

export function refuse(code: ErrorCode, message: string, retryInMs?: number): Refusal {
  return { refused: true, code, message, retryInMs };
}

export function isRefusal(entry: Entry): entry is Refusal {
  return (entry as Refusal).refused === true;
}
