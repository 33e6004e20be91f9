import { randomUUID } from 'node:crypto';
import type { UsageEvent } from '../accounting/types.ts';
import type { EngineProvider } from '../config/types.ts';
import type { Usage } from '../contract/chat.ts';
import { type ErrorCode, maskKey, SwitchboardError, toSwitchboardError } from '../contract/errors.ts';
import type { Clock } from '../core/clock.ts';
import { type Awaitable, isPromise } from '../core/state.ts';
import { type BackoffSettings, backoffMs, classify, decide, type Verdict } from './policy.ts';
import {
  type AttemptOutcome,
  type AttemptScope,
  type Entry,
  isRefusal,
  type Pass,
  type Refusal,
  type RequestScope,
  type Stage,
} from './stage.ts';
import type { Candidate, Operation, OperationKind, Plan, RoutedEvent, RouteInfo, RoutingRequest } from './types.ts';
import type { PipelineWatcher, RequestWatch } from './watch.ts';

/** What the pipeline needs from the router that owns the state. */
export interface PipelineParts {
  clock: Clock;
  backoff: BackoffSettings;
  /** Output tokens assumed when the request sets no maximum (rate limits, cost estimates). */
  expectedOutputTokens: number;
  /** The stages that apply to a provider and kind of work, in order (built once per configuration). */
  stagesFor(provider: EngineProvider, kind: OperationKind): readonly Stage[];
  /** The stages that narrow a plan before any attempt. */
  filters: readonly Stage[];
  /** Whether a candidate could take traffic now (its breaker and keys): is there anywhere else to go? */
  available(candidate: Candidate): boolean;
  /** The configuration's fallback.on_status_codes, where it lists them. */
  fallbackOnStatus(): readonly number[] | undefined;
  /** Whether the provider has a usable key besides `key`. */
  hasOtherKey(provider: EngineProvider, key: string): boolean;
  /** What an answer cost. */
  costOf(candidate: Candidate, usage: Usage | undefined): number;
  /** Books the request's one usage event. */
  record(event: UsageEvent): void;
  /**
   * Puts the request's usage row on disk before its answer reaches the caller (the answer waits for the
   * promise); `record` settles it.
   */
  reserve(event: UsageEvent): Promise<void> | undefined;
  /** Hears the pipeline's decisions (attempts, refusals, fallbacks): metrics and traces. */
  watcher: PipelineWatcher;
}

type Failure = NonNullable<SwitchboardError['attempts']>[number];

interface QueueEntry {
  candidate: Candidate;
  depth: number;
  /** Set when the candidate was deferred: it rests or is at a rate limit until then. */
  readyAt?: number;
  /** How many times the upstream itself answered 429 and sent it to the back of the queue. */
  limitedByUpstream?: number;
  /**
   * Where in the request's failures its last refusal (resting, at a rate limit) is: refused again for the
   * same reason after its wait, it keeps that one line with the latest wait, however many turns it waits.
   */
  refusedAs?: number;
}

/**
 * How often one candidate's own 429 may send it to the back of the queue: each time is a request sent.
 * A candidate skipped before sending (resting after other requests' 429s, at its rate limit) costs the
 * upstream nothing, so only the request's patience bounds those.
 */
const MAX_UPSTREAM_DEFERRALS = 3;

/** How the stages entered hear that an attempt was refused (or ended) before it was sent. */
const UNSENT: AttemptOutcome = { type: 'released', unsent: true };

const cancelled = () => new SwitchboardError('CANCELLED', 'the request was cancelled');

/** A stage's entry, with a synchronous throw turned into a rejection (so a group's other entries are still let go). */
function tryEnter(stage: Stage, attempt: AttemptScope): Entry | Promise<Entry> {
  try {
    return stage.enter(attempt);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** What entering the stages came to: the passes to let go of when the attempt ends, or why it was refused. */
interface Entered {
  passes: Pass[];
  refusal?: Failure;
}

/** A group's entries, settled: at once when none of them is a promise (the memory state's stages). */
function enterGroup(group: readonly Stage[], attempt: AttemptScope): Awaitable<PromiseSettledResult<Entry>[]> {
  const entries = group.map((member) => tryEnter(member, attempt));
  if (entries.some(isPromise)) return Promise.allSettled(entries);
  return entries.map((value) => ({ status: 'fulfilled', value: value as Entry }));
}

/**
 * Enters every stage in order; on a refusal, the stages already entered are released. A stage marked
 * `concurrent` is entered together with the one before it (the rate limit's admission and the budget's
 * hold: one round trip on a shared state); the first refusal or error among them, in stage order,
 * counts, and what the others admitted is released with the rest. A refusal, or a stage ending the
 * whole request (an app key's rate limit), is told to the watch. Stages that answer at once are entered
 * without a promise, so a request on the memory state waits for no microtask here.
 */
function enterStages(
  stages: readonly Stage[],
  attempt: AttemptScope,
  watch: RequestWatch,
  from = 0,
  passes: Pass[] = [],
): Awaitable<Entered> {
  for (let i = from; i < stages.length; ) {
    const group = [stages[i]!];
    while (stages[i + group.length]?.concurrent) group.push(stages[i + group.length]!);
    i += group.length;
    const settled = enterGroup(group, attempt);
    if (isPromise(settled)) {
      const next = i;
      return settled.then(
        (results) =>
          groupRefused(group, results, attempt, watch, passes) ?? enterStages(stages, attempt, watch, next, passes),
      );
    }
    const refused = groupRefused(group, settled, attempt, watch, passes);
    if (refused) return refused;
  }
  return { passes };
}

/**
 * Keeps a group's passes; on its first refusal (in stage order) lets go of every pass and says why, and on
 * its first error lets go of them and throws the error (CANCELLED once the caller left).
 */
function groupRefused(
  group: readonly Stage[],
  results: readonly PromiseSettledResult<Entry>[],
  attempt: AttemptScope,
  watch: RequestWatch,
  passes: Pass[],
): Entered | undefined {
  for (const result of results) {
    if (result.status === 'fulfilled' && !isRefusal(result.value)) passes.push(result.value);
  }
  const failed = results.findIndex((result) => result.status === 'rejected' || isRefusal(result.value));
  if (failed < 0) return undefined;
  leaveAll(passes, UNSENT);
  const stage = group[failed]!;
  const result = results[failed]!;
  if (result.status === 'rejected') {
    if (attempt.scope.signal.aborted) throw cancelled();
    const stopped = toSwitchboardError(result.reason);
    if (stopped.code !== 'CANCELLED') watch.refused(attempt, stage.name, stopped.code);
    throw stopped;
  }
  const entry = result.value as Refusal;
  watch.refused(attempt, stage.name, entry.code);
  const { provider } = attempt.candidate;
  return {
    passes: [],
    refusal: {
      providerId: provider.id,
      model: attempt.candidate.model,
      code: entry.code,
      message: entry.message,
      retryAfterMs: entry.retryInMs,
    },
  };
}

/** Tells the stages how the attempt ended, innermost first. */
function leaveAll(passes: readonly Pass[], outcome: AttemptOutcome): void {
  for (let i = passes.length - 1; i >= 0; i--) passes[i]!.leave(outcome);
}

/**
 * Runs one request against its plan (`planOf`): candidates in order; each attempt passes the stages that apply
 * to its provider (stage.ts), which may refuse it (the candidate is skipped, or comes back once its
 * short wait is over); failures before any output retry or move on per the error's class (policy.ts);
 * once output has reached the caller a failure ends the stream with that error, never a replay
 * elsewhere. Exactly one usage event is recorded per request, whatever happens (the caller leaving
 * included).
 */
export async function* runPipeline<T>(
  parts: PipelineParts,
  planOf: () => Awaitable<Plan>,
  request: RoutingRequest,
  operation: Operation<T>,
  signal: AbortSignal,
): AsyncGenerator<RoutedEvent<T>> {
  const { clock } = parts;
  // Decided as the caller starts reading (a plan takes a balancing turn), awaited only when it is a promise.
  const decided = planOf();
  const plan = isPromise(decided) ? await decided : decided;
  const scope: RequestScope = {
    request,
    plan,
    kind: operation.kind,
    signal,
    started: clock.now(),
    minContextWindow: 0,
  };
  const failures: Failure[] = [];
  const watch = parts.watcher.watch(scope);
  // The candidate the request last left and why: the next one tried is where it fell back to.
  let leaving: { candidate: Candidate; code: ErrorCode } | undefined;
  const estimatedTokens = request.estimatedInputTokens + (request.maxOutputTokens ?? parts.expectedOutputTokens);
  const id = randomUUID();
  let recorded = false;
  type Settled = { candidate: Candidate; depth: number; apiKey?: string; usage?: Usage; costUsd?: number };
  const usageEvent = (
    attempt: Settled,
    outcome: UsageEvent['outcome'],
    errorCode?: ErrorCode,
    ttftMs?: number,
  ): UsageEvent => {
    const usage = attempt.usage;
    return {
      id,
      time: scope.started,
      kind: operation.kind,
      providerId: attempt.candidate.provider.id,
      model: attempt.candidate.model,
      keyId: attempt.apiKey ? maskKey(attempt.apiKey) : undefined,
      userId: request.userId,
      appKeyId: request.appKey?.id,
      profile: plan.profile.name,
      strategy: plan.strategy,
      inputTokens: usage?.inputTokens ?? (outcome === 'success' ? request.estimatedInputTokens : 0),
      outputTokens: usage?.outputTokens ?? 0,
      tokensEstimated: usage ? usage.estimated : outcome === 'success',
      costUsd: attempt.costUsd ?? 0,
      latencyMs: clock.now() - scope.started,
      ttftMs,
      outcome,
      errorCode,
      fallbackDepth: attempt.depth,
    };
  };
  const finish = (attempt: Settled, outcome: UsageEvent['outcome'], errorCode?: ErrorCode, ttftMs?: number) => {
    if (recorded) return;
    recorded = true;
    const event = usageEvent(attempt, outcome, errorCode, ttftMs);
    parts.record(event);
    watch.finished(event);
    request.onSettled?.(event);
  };
  // Before the answer reaches the caller its row is on disk, priced as the estimate (the request's own
  // output limit, else the usual one): a crash leaves it there, marked interrupted, never missing. Each
  // attempt reserves as it is sent and its first output waits for the commit, so the disk write overlaps
  // the upstream's work instead of following it; a later attempt's reservation replaces an earlier one's.
  const reserve = (attempt: Settled) => {
    const usage: Usage = {
      inputTokens: request.estimatedInputTokens,
      outputTokens: request.maxOutputTokens ?? parts.expectedOutputTokens,
      estimated: true,
    };
    const costUsd = parts.costOf(attempt.candidate, usage);
    return parts.reserve(usageEvent({ ...attempt, usage, costUsd }, 'interrupted'));
  };

  let candidates = plan.candidates;
  for (const stage of parts.filters) if (stage.filter) candidates = stage.filter(scope, candidates);

  // Candidates skipped only because they were resting or at a rate limit for a short while go to the
  // back of the queue: tried after everyone else, when their wait is over, instead of failing a request
  // that a few milliseconds' patience would answer. Under concurrency other requests' 429s can keep every
  // candidate resting by turns, so the request waits as long as its patience lasts (maxRetryWaitMs from its
  // arrival), not a number of turns; a wait beyond that fails it at once, with the soonest retry.
  const queue: QueueEntry[] = candidates.map((candidate, depth) => ({ candidate, depth }));
  let index = 0;
  const defer = (entry: QueueEntry, waitMs: number | undefined, byUpstream: boolean): void => {
    const limitedByUpstream = (entry.limitedByUpstream ?? 0) + (byUpstream ? 1 : 0);
    if (waitMs === undefined || limitedByUpstream > MAX_UPSTREAM_DEFERRALS) return;
    // At least a millisecond: a wait that ends "now" must not make a tight loop of turns.
    const readyAt = clock.now() + Math.max(waitMs, 1);
    if (!(readyAt - scope.started <= parts.backoff.maxRetryWaitMs)) return;
    // Among the deferred, the one back soonest is asked first.
    let at = queue.length;
    while (at > index + 1 && (queue[at - 1]!.readyAt ?? 0) > readyAt) at--;
    queue.splice(at, 0, { ...entry, readyAt, limitedByUpstream });
  };

  for (; index < queue.length; index++) {
    const entry = queue[index]!;
    const { candidate, depth } = entry;
    const { provider } = candidate;
    const stages = parts.stagesFor(provider, operation.kind);
    if (leaving && leaving.candidate !== candidate) watch.fellBack(leaving.candidate, candidate, leaving.code);
    leaving = undefined;
    if (entry.readyAt !== undefined && entry.readyAt > clock.now()) {
      try {
        await clock.sleep(entry.readyAt - clock.now(), signal);
      } catch {
        finish({ candidate, depth }, 'cancelled', 'CANCELLED');
        throw cancelled();
      }
    }
    let attemptNumber = 0;
    let keySwitches = 0;
    let sent = 0;
    for (;;) {
      if (signal.aborted) {
        finish({ candidate, depth }, 'cancelled', 'CANCELLED');
        throw cancelled();
      }
      const attempt: AttemptScope = {
        scope,
        candidate,
        depth,
        controller: new AbortController(),
        keys: [undefined],
        estimatedTokens,
        costUsd: 0,
      };
      let entered: Entered;
      try {
        const entering = enterStages(stages, attempt, watch);
        entered = isPromise(entering) ? await entering : entering;
      } catch (error) {
        const stopped = toSwitchboardError(error);
        finish(attempt, stopped.code === 'CANCELLED' ? 'cancelled' : 'error', stopped.code);
        throw stopped;
      }
      if (entered.refusal) {
        const { refusal } = entered;
        leaving = { candidate, code: refusal.code };
        const again = entry.refusedAs !== undefined && failures[entry.refusedAs]!.code === refusal.code;
        const refusedAs = again ? entry.refusedAs! : failures.length;
        failures[refusedAs] = refusal;
        defer({ ...entry, refusedAs }, refusal.retryAfterMs, false);
        break;
      }
      const { passes } = entered;

      attemptNumber++;
      watch.sent(attempt, sent++);
      let delivered = false;
      let ttftMs: number | undefined;
      let ended = false;
      // The caller's abort reaches the attempt through a listener (AbortSignal.any costs more per call).
      const onCallerAbort = () => attempt.controller.abort(signal.reason);
      signal.addEventListener('abort', onCallerAbort, { once: true });
      const end = (outcome: AttemptOutcome) => {
        ended = true;
        signal.removeEventListener('abort', onCallerAbort);
        attempt.costUsd = parts.costOf(candidate, attempt.usage);
        leaveAll(passes, outcome);
      };
      try {
        const written = reserve(attempt);
        const ctx = { signal: attempt.controller.signal, apiKey: attempt.apiKey };
        for await (const item of operation.invoke(candidate, ctx)) {
          if (!delivered) {
            delivered = true;
            ttftMs = clock.now() - scope.started;
            for (const pass of passes) pass.firstOutput?.();
            if (written) await written;
            yield { type: 'route', route: routeInfo(candidate, depth, attempt.apiKey, plan) };
          }
          const usage = operation.usageOf?.(item);
          if (usage) attempt.usage = usage;
          yield { type: 'data', data: item };
        }
        end({ type: 'success' });
        watch.ended(attempt, { outcome: 'success' });
        finish(attempt, 'success', undefined, ttftMs);
        return;
      } catch (thrown) {
        const error = toSwitchboardError(thrown);
        if (signal.aborted || error.code === 'CANCELLED') {
          end({ type: 'released' });
          watch.ended(attempt, { outcome: 'cancelled', errorCode: 'CANCELLED' });
          finish(attempt, 'cancelled', 'CANCELLED', ttftMs);
          throw error.code === 'CANCELLED' ? error : cancelled();
        }
        const errorClass = classify(error);
        const later = queue.slice(index + 1);
        const decided = decide(error, errorClass, {
          hasAlternative: later.some((e) => parts.available(e.candidate)),
          hasOtherKey: attempt.apiKey !== undefined && parts.hasOtherKey(provider, attempt.apiKey),
          attemptsLeft: provider.retry.attempts - attemptNumber,
          maxRetryWaitMs: parts.backoff.maxRetryWaitMs,
          retryOn: provider.retryOnStatus,
          fallbackOn: parts.fallbackOnStatus(),
        });
        end({ type: 'failure', error, errorClass });
        const failed = { outcome: 'error', errorCode: error.code, errorClass, status: error.status } as const;
        // Output already reached the caller: report, never replay elsewhere (no duplicated text).
        if (delivered) {
          watch.ended(attempt, failed);
          finish(attempt, 'error', error.code, ttftMs);
          throw new SwitchboardError(
            error.code,
            `${provider.label} failed after its answer had started, so the answer is incomplete: ${error.detail}`,
            { providerId: provider.id, status: error.status, retryable: false, cause: error },
          );
        }
        failures.push({
          providerId: provider.id,
          model: candidate.model,
          code: error.code,
          message: error.detail,
          retryAfterMs: error.retryAfterMs,
        });
        // Another key only while the provider has keys not yet switched to; else the next candidate.
        const verdict: Verdict = decided === 'next-key' && keySwitches++ >= provider.keys.length ? 'next' : decided;
        watch.ended(attempt, { ...failed, verdict });
        if (verdict === 'stop') {
          finish(attempt, 'error', error.code);
          throw error;
        }
        if (verdict === 'next-key') {
          attemptNumber--;
          continue;
        }
        if (verdict === 'retry') {
          try {
            await clock.sleep(
              backoffMs(attemptNumber, provider.retry.backoffFactor, error.retryAfterMs, parts.backoff),
              signal,
            );
          } catch {
            finish({ candidate, depth }, 'cancelled', 'CANCELLED');
            throw cancelled();
          }
          continue;
        }
        // Busy for a moment only (a short Retry-After): worth asking again once the others were tried.
        if (errorClass === 'rate_limited') defer({ ...entry, refusedAs: undefined }, error.retryAfterMs, true);
        leaving = { candidate, code: error.code };
        break;
      } finally {
        if (!ended) {
          // The caller stopped reading mid-stream: the provider did nothing wrong.
          end({ type: 'released' });
          watch.ended(attempt, { outcome: 'cancelled', errorCode: 'CANCELLED' });
          finish(attempt, 'cancelled', 'CANCELLED', ttftMs);
        }
      }
    }
  }

  const last = candidates[candidates.length - 1]!;
  // Refused by the budget wherever it could have gone: that is the answer, not a provider failure.
  if (failures.length > 0 && failures.every((f) => f.code === 'BUDGET_EXCEEDED')) {
    finish({ candidate: last, depth: candidates.length - 1 }, 'error', 'BUDGET_EXCEEDED');
    throw new SwitchboardError('BUDGET_EXCEEDED', failures[0]!.message, { retryable: false });
  }
  finish({ candidate: last, depth: candidates.length - 1 }, 'error', 'ALL_PROVIDERS_FAILED');
  const labels = new Map(candidates.map((c) => [c.provider.id, c.provider.label]));
  const summary = failures
    .map((f) => `${labels.get(f.providerId) ?? f.providerId} (${f.model}): ${f.message}`)
    .join('; ');
  throw new SwitchboardError('ALL_PROVIDERS_FAILED', `no provider could answer — ${summary || 'nothing was tried'}`, {
    attempts: failures,
    retryAfterMs: soonestRetry(failures),
    retryable: false,
  });
}

/** The shortest wait any rate-limited candidate asked for (upstream Retry-After, or a rate window's): when to try again. */
function soonestRetry(failures: readonly Failure[]): number | undefined {
  let soonest: number | undefined;
  for (const failure of failures) {
    if (failure.code !== 'RATE_LIMITED' || failure.retryAfterMs === undefined) continue;
    soonest = Math.min(soonest ?? Number.POSITIVE_INFINITY, failure.retryAfterMs);
  }
  return soonest;
}

function routeInfo(candidate: Candidate, depth: number, apiKey: string | undefined, plan: Plan): RouteInfo {
  return {
    providerId: candidate.provider.id,
    providerLabel: candidate.provider.label,
    model: candidate.model,
    onMachine: candidate.provider.onMachine,
    fallbackDepth: depth,
    keyId: apiKey ? maskKey(apiKey) : undefined,
    profile: plan.profile.name,
    strategy: plan.strategy,
  };
}
