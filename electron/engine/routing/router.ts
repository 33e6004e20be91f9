import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { UsageEvent, UsageSink } from '../accounting/types.ts';
import type { EngineConfig } from '../config/types.ts';
import { maskKey, SwitchboardError, toSwitchboardError } from '../contract/errors.ts';
import type { ProviderAdapter } from '../providers/types.ts';
import { resolveCandidates, resolveTarget } from './candidates.ts';
import type { Candidate, Operation, RoutedEvent, Router, RoutingRequest } from './types.ts';

/** Errors that another attempt on the same provider cannot fix. */
const MOVE_ON_AT_ONCE = new Set([
  'PROVIDER_UNAUTHORIZED',
  'PROVIDER_FORBIDDEN',
  'MODEL_NOT_FOUND',
  'CONTEXT_TOO_LONG',
  'NOT_SUPPORTED',
  'MODEL_NOT_INSTALLED',
]);
const MAX_BACKOFF_MS = 30_000;

export interface RouterOptions {
  usage?: UsageSink;
  /** Models each provider reported (listModels), so bare model ids find their provider. */
  knownModels?: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Priority order with fallback to the next candidate; retries with backoff on the same one. */
export class FallbackRouter implements Router {
  private config: EngineConfig;
  private adapters: ReadonlyMap<string, ProviderAdapter>;
  private readonly options: RouterOptions;
  private keyCursor = new Map<string, number>();

  constructor(config: EngineConfig, adapters: ReadonlyMap<string, ProviderAdapter>, options: RouterOptions = {}) {
    this.config = config;
    this.adapters = adapters;
    this.options = options;
  }

  configure(config: EngineConfig, adapters: ReadonlyMap<string, ProviderAdapter>): void {
    this.config = config;
    this.adapters = adapters;
  }

  plan(request: RoutingRequest): Candidate[] {
    return resolveCandidates(this.config, this.adapters, request, this.options.knownModels);
  }

  private nextKey(candidate: Candidate): string | undefined {
    const keys = candidate.provider.keys;
    if (keys.length === 0) return undefined;
    const cursor = this.keyCursor.get(candidate.provider.id) ?? 0;
    this.keyCursor.set(candidate.provider.id, cursor + 1);
    return keys[cursor % keys.length];
  }

  async *run<T>(request: RoutingRequest, operation: Operation<T>, signal: AbortSignal): AsyncIterable<RoutedEvent<T>> {
    const candidates = this.plan(request);
    const profile = resolveTarget(this.config, request).profile;
    const strategy = profile.strategy ?? this.config.strategy;
    const started = Date.now();
    const failures: NonNullable<SwitchboardError['attempts']> = [];
    for (const [depth, candidate] of candidates.entries()) {
      for (let attempt = 1; attempt <= candidate.provider.retry.attempts; attempt++) {
        if (signal.aborted) throw new SwitchboardError('CANCELLED', 'the request was cancelled');
        const apiKey = this.nextKey(candidate);
        let delivered = false;
        let ttftMs: number | undefined;
        const usage = { inputTokens: 0, outputTokens: 0, estimated: false };
        const event = (outcome: UsageEvent['outcome'], errorCode?: UsageEvent['errorCode']): UsageEvent => ({
          id: randomUUID(),
          time: started,
          kind: operation.kind,
          providerId: candidate.provider.id,
          model: candidate.model,
          keyId: apiKey ? maskKey(apiKey) : undefined,
          userId: request.userId,
          profile: profile.name,
          strategy,
          inputTokens: usage.inputTokens,
          outputTokens: usage.outputTokens,
          tokensEstimated: usage.estimated,
          costUsd: 0,
          latencyMs: Date.now() - started,
          ttftMs,
          outcome,
          errorCode,
          fallbackDepth: depth,
        });
        try {
          for await (const item of operation.invoke(candidate, { signal, apiKey })) {
            if (!delivered) {
              delivered = true;
              ttftMs = Date.now() - started;
              yield {
                type: 'route',
                route: {
                  providerId: candidate.provider.id,
                  providerLabel: candidate.provider.label,
                  model: candidate.model,
                  fallbackDepth: depth,
                  keyId: apiKey ? maskKey(apiKey) : undefined,
                  profile: profile.name,
                  strategy,
                },
              };
            }
            const itemUsage = operation.usageOf?.(item);
            if (itemUsage) Object.assign(usage, itemUsage);
            yield { type: 'data', data: item };
          }
          this.options.usage?.record(event('success'));
          return;
        } catch (thrown) {
          const error = toSwitchboardError(thrown);
          if (error.code === 'CANCELLED' || signal.aborted) {
            this.options.usage?.record(event('cancelled', 'CANCELLED'));
            throw error;
          }
          // Output already reached the caller: report, never replay elsewhere (no duplicated text).
          if (delivered) {
            this.options.usage?.record(event('error', error.code));
            throw error;
          }
          failures.push({
            providerId: candidate.provider.id,
            model: candidate.model,
            code: error.code,
            message: error.message,
          });
          if (!error.retryable || MOVE_ON_AT_ONCE.has(error.code) || attempt === candidate.provider.retry.attempts)
            break;
          const backoff =
            candidate.provider.retry.backoffFactor * 1000 * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
          await sleep(Math.min(error.retryAfterMs ?? backoff, MAX_BACKOFF_MS), undefined, { signal }).catch(
            () => undefined,
          );
        }
      }
    }
    this.options.usage?.record({
      id: randomUUID(),
      time: started,
      kind: operation.kind,
      providerId: candidates[0]!.provider.id,
      model: candidates[0]!.model,
      userId: request.userId,
      profile: profile.name,
      strategy,
      inputTokens: 0,
      outputTokens: 0,
      tokensEstimated: false,
      costUsd: 0,
      latencyMs: Date.now() - started,
      outcome: 'error',
      errorCode: 'ALL_PROVIDERS_FAILED',
      fallbackDepth: candidates.length - 1,
    });
    const summary = failures.map((f) => `${f.providerId}: ${f.message}`).join('; ');
    throw new SwitchboardError('ALL_PROVIDERS_FAILED', `every provider tried failed — ${summary}`, {
      attempts: failures,
      retryable: false,
    });
  }

  close(): void {}
}
