import { randomUUID } from 'node:crypto';
import type { BudgetGuard, Reservation } from '../accounting/budget.ts';
import type { PriceBook } from '../accounting/prices.ts';
import type { UsageEvent } from '../accounting/types.ts';
import type { BudgetConfig, ProfileConfig } from '../config/types.ts';
import type { Usage } from '../contract/chat.ts';
import { type ErrorCode, maskKey, SwitchboardError, toSwitchboardError } from '../contract/errors.ts';
import { breakerKey, type CircuitBreakers } from './breaker.ts';
import type { Clock } from './clock.ts';
import type { HealthMonitor } from './health.ts';
import type { KeyPools } from './keys.ts';
import { type LatencyTracker, latencyKey } from './latency.ts';
import { isRefusal, type RateLimiter } from './limiter.ts';
import { type BackoffSettings, backoffMs, decide } from './policy.ts';
import type { Candidate, Operation, RoutedEvent, RouteInfo, RoutingRequest } from './types.ts';

/** A request's candidates in the order to try them, and how they were chosen. */
export interface Plan {
  candidates: Candidate[];
  profile: ProfileConfig;
  strategy: string;
}

/** Everything one routed request touches. */
export interface DispatchParts {
  clock: Clock;
  breakers: CircuitBreakers;
  limiter: RateLimiter;
  keys: KeyPools;
  prices: PriceBook;
  budgets: BudgetGuard;
  health: HealthMonitor;
  latency: LatencyTracker;
  backoff: BackoffSettings;
  /** Output tokens assumed when the request sets no maximum (cost estimates, TPM). */
  expectedOutputTokens: number;
  budgetConfig(): BudgetConfig;
  /** Books the request's one usage event (ledger, sink, metrics, listeners). */
  record(event: UsageEvent): void;
}

type Failure = NonNullable<SwitchboardError['attempts']>[number];

/** What the caller needs from a finished or failed request to describe it. */
interface Outcome {
  candidate: Candidate;
  depth: number;
  keyId?: string;
  usage?: Usage;
  ttftMs?: number;
  costUsd: number;
}

function estimatedCost(parts: DispatchParts, candidate: Candidate, request: RoutingRequest): number {
  const output = request.maxOutputTokens ?? parts.expectedOutputTokens;
  return parts.prices.estimate(candidate.provider, candidate.model, request.estimatedInputTokens, output) ?? 0;
}

function budgetError(
  parts: DispatchParts,
  candidate: Candidate,
  request: RoutingRequest,
): SwitchboardError | undefined {
  const cost = estimatedCost(parts, candidate, request);
  const over = parts.budgets.wouldExceed(candidate.provider.id, cost);
  if (!over) return undefined;
  const scope = over.scope === 'global' ? 'the' : `${candidate.provider.label}'s`;
  return new SwitchboardError(
    'BUDGET_EXCEEDED',
    `${scope} ${over.period} budget of $${over.limitUsd.toFixed(2)} is spent ($${over.spentUsd.toFixed(4)} used, $${over.reservedUsd.toFixed(4)} in flight) and this request would cost about $${cost.toFixed(4)}: raise the budget in Settings, wait for the next ${over.period === 'daily' ? 'day' : 'month'}, or use a local model`,
    { providerId: candidate.provider.id, retryable: false },
  );
}

/**
 * Applies a hard-stopped budget to the plan: `refuse` fails the request when its first choice would
 * overspend; `local_only` keeps only candidates that cost nothing (local, or free) once paid ones
 * would overspend.
 */
function withinBudget(parts: DispatchParts, plan: Plan, request: RoutingRequest): Candidate[] {
  const { hardStop } = parts.budgetConfig();
  if (hardStop === 'off' || !parts.budgets.hasBudgets) return plan.candidates;
  const first = plan.candidates[0];
  if (hardStop === 'refuse' && first) {
    const error = budgetError(parts, first, request);
    if (error) throw error;
  }
  const kept = plan.candidates.filter((c) => !budgetError(parts, c, request));
  if (kept.length === 0) {
    const error = budgetError(parts, plan.candidates[0]!, request)!;
    throw new SwitchboardError('BUDGET_EXCEEDED', `${error.detail} (no local or free provider can take it)`, {
      providerId: error.providerId,
      retryable: false,
    });
  }
  return kept;
}

function describeWait(ms: number): string {
  return ms >= 1000 ? `${Math.ceil(ms / 1000)} s` : `${Math.ceil(ms)} ms`;
}

/**
 * Runs one request against its plan: candidates in order; for each, the breaker, the key pool, the
 * rate limiter and the budget say whether it may go; failures before output retry or move on per
 * policy.ts; once output has reached the caller a failure ends the stream with that error. Exactly
 * one usage event is recorded per request, whatever happens (the caller leaving included).
 */
export async function* dispatch<T>(
  parts: DispatchParts,
  plan: Plan,
  request: RoutingRequest,
  operation: Operation<T>,
  signal: AbortSignal,
): AsyncGenerator<RoutedEvent<T>> {
  const { clock, breakers, limiter, keys } = parts;
  const started = clock.now();
  const failures: Failure[] = [];
  const candidates = withinBudget(parts, plan, request);
  const tokens = request.estimatedInputTokens + (request.maxOutputTokens ?? parts.expectedOutputTokens);
  let recorded = false;
  const finish = (outcome: Outcome, result: UsageEvent['outcome'], errorCode?: ErrorCode) => {
    if (recorded) return;
    recorded = true;
    const usage = outcome.usage;
    parts.record({
      id: randomUUID(),
      time: started,
      kind: operation.kind,
      providerId: outcome.candidate.provider.id,
      model: outcome.candidate.model,
      keyId: outcome.keyId,
      userId: request.userId,
      profile: plan.profile.name,
      strategy: plan.strategy,
      inputTokens: usage?.inputTokens ?? (result === 'success' ? request.estimatedInputTokens : 0),
      outputTokens: usage?.outputTokens ?? 0,
      tokensEstimated: usage ? usage.estimated : result === 'success',
      costUsd: outcome.costUsd,
      latencyMs: clock.now() - started,
      ttftMs: outcome.ttftMs,
      outcome: result,
      errorCode,
      fallbackDepth: outcome.depth,
    });
  };
  // Context-window fallback: once a model said the prompt is too long, only larger windows are tried.
  let contextFloor = 0;

  // Candidates skipped only because they were resting or at a rate limit for a short while go to
  // the back of the queue once: tried after everyone else, when their wait is over, instead of
  // failing a request that a few milliseconds' patience would answer.
  const queue: { candidate: Candidate; depth: number; readyAt?: number }[] = candidates.map((candidate, depth) => ({
    candidate,
    depth,
  }));
  const defer = (index: number, waitMs: number): boolean => {
    const entry = queue[index]!;
    if (entry.readyAt !== undefined || !(waitMs <= parts.backoff.maxRetryWaitMs)) return false;
    queue.push({ ...entry, readyAt: clock.now() + waitMs });
    return true;
  };
  for (let index = 0; index < queue.length; index++) {
    const { candidate, depth, readyAt } = queue[index]!;
    const { provider } = candidate;
    if (readyAt !== undefined && readyAt > clock.now()) {
      try {
        await clock.sleep(readyAt - clock.now(), signal);
      } catch {
        finish({ candidate, depth, costUsd: 0 }, 'cancelled', 'CANCELLED');
        throw new SwitchboardError('CANCELLED', 'the request was cancelled');
      }
    }
    const bKey = breakerKey(provider.id, candidate.model);
    const window = parts.prices.contextWindow(provider, candidate.model);
    if (window !== undefined && (request.estimatedInputTokens > window || window <= contextFloor)) {
      failures.push({
        providerId: provider.id,
        model: candidate.model,
        code: 'CONTEXT_TOO_LONG',
        message: `${candidate.model} holds ${window} tokens; the prompt needs about ${request.estimatedInputTokens}`,
      });
      continue;
    }
    let attempt = 0;
    let keySwitches = 0;
    for (;;) {
      if (signal.aborted) {
        finish({ candidate, depth, costUsd: 0 }, 'cancelled', 'CANCELLED');
        throw new SwitchboardError('CANCELLED', 'the request was cancelled');
      }
      const ticket = breakers.acquire(bKey);
      if (ticket === 'blocked') {
        failures.push({
          providerId: provider.id,
          model: candidate.model,
          code: 'CIRCUIT_OPEN',
          message: `skipped: its circuit breaker is open after repeated failures (next probe in ${describeWait(Math.max(0, (breakers.retryAt(bKey) ?? clock.now()) - clock.now()))})`,
        });
        break;
      }
      const usableKeys = keys.usable(provider);
      if (usableKeys.length === 0) {
        breakers.release(bKey);
        const back = keys.nextAvailableAt(provider);
        failures.push({
          providerId: provider.id,
          model: candidate.model,
          code: back === undefined ? 'PROVIDER_UNAUTHORIZED' : 'RATE_LIMITED',
          message:
            back === undefined
              ? 'skipped: every API key was rejected by the provider; fix the keys in Settings'
              : `skipped: rate limited, resting for ${describeWait(back - clock.now())}`,
        });
        if (back !== undefined) defer(index, back - clock.now());
        break;
      }
      const keyIds = usableKeys.map((key) => keys.idOf(key));
      let admission: Awaited<ReturnType<RateLimiter['admit']>>;
      try {
        admission = await limiter.admit(provider, keyIds, tokens, signal);
      } catch {
        breakers.release(bKey);
        finish({ candidate, depth, costUsd: 0 }, 'cancelled', 'CANCELLED');
        throw new SwitchboardError('CANCELLED', 'the request was cancelled');
      }
      if (isRefusal(admission)) {
        breakers.release(bKey);
        failures.push({
          providerId: provider.id,
          model: candidate.model,
          code: 'RATE_LIMITED',
          message: `skipped: ${admission.reason}`,
        });
        defer(index, admission.retryInMs);
        break;
      }
      const apiKey = usableKeys[keyIds.indexOf(admission.keyId)];
      const maskedKey = apiKey ? maskKey(apiKey) : undefined;
      // Budgets are checked again right before the call: other requests may have spent meanwhile.
      const overBudget = parts.budgetConfig().hardStop === 'off' ? undefined : budgetError(parts, candidate, request);
      if (overBudget) {
        limiter.release(provider.id);
        breakers.release(bKey);
        if (parts.budgetConfig().hardStop === 'refuse') {
          finish({ candidate, depth, costUsd: 0 }, 'error', 'BUDGET_EXCEEDED');
          throw overBudget;
        }
        failures.push({
          providerId: provider.id,
          model: candidate.model,
          code: overBudget.code,
          message: overBudget.detail,
        });
        break;
      }
      const reservation: Reservation = parts.budgets.reserve(provider.id, estimatedCost(parts, candidate, request));

      attempt++;
      const attemptStarted = clock.now();
      const controller = new AbortController();
      let timedOut: string | undefined;
      const timeout = (what: string, ms: number) =>
        clock.timer(ms, () => {
          timedOut = `${provider.label} sent ${what} within ${describeWait(ms)}`;
          controller.abort();
        });
      let cancelFirstToken =
        provider.firstTokenTimeoutMs > 0 ? timeout('nothing', provider.firstTokenTimeoutMs) : undefined;
      const cancelTotal = provider.timeoutMs > 0 ? timeout('no complete answer', provider.timeoutMs) : undefined;
      let delivered = false;
      let ttftMs: number | undefined;
      let firstAt: number | undefined;
      let usage: Usage | undefined;
      let settled = false;
      let onCallerAbort: (() => void) | undefined;
      const settle = () => {
        settled = true;
        if (onCallerAbort) signal.removeEventListener('abort', onCallerAbort);
        cancelFirstToken?.();
        cancelTotal?.();
        limiter.release(provider.id);
      };
      const cost = () =>
        usage ? parts.prices.cost(provider, candidate.model, usage.inputTokens, usage.outputTokens) : 0;
      try {
        const routeInfo = (): RouteInfo => ({
          providerId: provider.id,
          providerLabel: provider.label,
          model: candidate.model,
          fallbackDepth: depth,
          keyId: maskedKey,
          profile: plan.profile.name,
          strategy: plan.strategy,
        });
        // The caller's abort reaches the attempt through a listener (AbortSignal.any costs more per call).
        onCallerAbort = () => controller.abort(signal.reason);
        signal.addEventListener('abort', onCallerAbort, { once: true });
        const ctx = { signal: controller.signal, apiKey };
        for await (const item of operation.invoke(candidate, ctx)) {
          if (!delivered) {
            delivered = true;
            cancelFirstToken?.();
            cancelFirstToken = undefined;
            firstAt = clock.now();
            ttftMs = firstAt - started;
            yield { type: 'route', route: routeInfo() };
          }
          const itemUsage = operation.usageOf?.(item);
          if (itemUsage) usage = itemUsage;
          yield { type: 'data', data: item };
        }
        settle();
        breakers.success(bKey);
        parts.latency.outcome(provider.id, true);
        parts.health.noteSuccess(provider.id);
        if (firstAt !== undefined) {
          parts.latency.record(
            latencyKey(provider.id, candidate.model),
            firstAt - attemptStarted,
            usage?.outputTokens ?? 0,
            clock.now() - firstAt,
          );
        }
        const costUsd = cost();
        parts.budgets.settle(reservation, costUsd);
        finish({ candidate, depth, keyId: maskedKey, usage, ttftMs, costUsd }, 'success');
        return;
      } catch (thrown) {
        settle();
        const error =
          timedOut && !signal.aborted
            ? new SwitchboardError('TIMEOUT', `${timedOut}: try again, or raise timeout in providers.yaml`, {
                providerId: provider.id,
                retryable: true,
              })
            : toSwitchboardError(thrown);
        const costUsd = cost();
        parts.budgets.settle(reservation, costUsd);
        if (signal.aborted || error.code === 'CANCELLED') {
          breakers.release(bKey);
          finish({ candidate, depth, keyId: maskedKey, usage, ttftMs, costUsd }, 'cancelled', 'CANCELLED');
          throw error.code === 'CANCELLED' ? error : new SwitchboardError('CANCELLED', 'the request was cancelled');
        }
        const later = queue.slice(index + 1).map((entry) => entry.candidate);
        const decision = decide(error, {
          hasAlternative: later.some(
            (c) => breakers.isAvailable(breakerKey(c.provider.id, c.model)) && keys.anyUsable(c.provider),
          ),
          hasOtherKey: apiKey !== undefined && keys.anyUsable(provider, apiKey),
          attemptsLeft: provider.retry.attempts - attempt,
          maxRetryWaitMs: parts.backoff.maxRetryWaitMs,
        });
        if (decision.breaker === 'failure') breakers.failure(bKey);
        else breakers.release(bKey);
        parts.latency.outcome(provider.id, decision.breaker !== 'failure');
        if (decision.disableKey && apiKey) keys.disable(provider, apiKey, error.detail);
        if (decision.coolKey) keys.coolDown(provider, apiKey, error.retryAfterMs);
        // Output already reached the caller: report, never replay elsewhere (no duplicated text).
        if (delivered) {
          finish({ candidate, depth, keyId: maskedKey, usage, ttftMs, costUsd }, 'error', error.code);
          throw new SwitchboardError(
            error.code,
            `${provider.label} failed after its answer had started, so the answer is incomplete: ${error.detail}`,
            { providerId: provider.id, status: error.status, retryable: false, cause: error },
          );
        }
        failures.push({ providerId: provider.id, model: candidate.model, code: error.code, message: error.detail });
        if (error.code === 'CONTEXT_TOO_LONG') contextFloor = Math.max(contextFloor, window ?? 0);
        if (decision.verdict === 'stop') {
          finish({ candidate, depth, keyId: maskedKey, costUsd }, 'error', error.code);
          throw error;
        }
        if (decision.verdict === 'next-key' && keySwitches++ < provider.keys.length) {
          attempt--;
          continue;
        }
        if (decision.verdict === 'retry') {
          try {
            await clock.sleep(
              backoffMs(attempt, provider.retry.backoffFactor, error.retryAfterMs, parts.backoff),
              signal,
            );
          } catch {
            finish({ candidate, depth, costUsd: 0 }, 'cancelled', 'CANCELLED');
            throw new SwitchboardError('CANCELLED', 'the request was cancelled');
          }
          continue;
        }
        break;
      } finally {
        if (!settled) {
          // The caller stopped reading mid-stream: the provider did nothing wrong.
          settle();
          breakers.release(bKey);
          const costUsd = cost();
          parts.budgets.settle(reservation, costUsd);
          finish({ candidate, depth, keyId: maskedKey, usage, ttftMs, costUsd }, 'cancelled', 'CANCELLED');
        }
      }
    }
  }

  const last = candidates[candidates.length - 1]!;
  finish({ candidate: last, depth: candidates.length - 1, costUsd: 0 }, 'error', 'ALL_PROVIDERS_FAILED');
  const labels = new Map(candidates.map((c) => [c.provider.id, c.provider.label]));
  const summary = failures
    .map((f) => `${labels.get(f.providerId) ?? f.providerId} (${f.model}): ${f.message}`)
    .join('; ');
  throw new SwitchboardError('ALL_PROVIDERS_FAILED', `no provider could answer — ${summary || 'nothing was tried'}`, {
    attempts: failures,
    retryable: false,
  });
}
