import { EventEmitter } from 'node:events';
import { type BudgetAlert, BudgetGuard, type BudgetStatus, type SpendHistory } from '../accounting/budget.ts';
import {
  type CostReport,
  type ReportDimension,
  reportFromSeries,
  UsageLedger,
  type UsageStatistics,
} from '../accounting/ledger.ts';
import { RoutingMetrics } from '../accounting/metrics.ts';
import { PriceBook, type TokenPrice } from '../accounting/prices.ts';
import { countMessageTokens } from '../accounting/tokens.ts';
import type { UsageEvent, UsageSink } from '../accounting/types.ts';
import { MemoryUsageSink, type SeriesBucket, type UsageHistory } from '../accounting/usage-log.ts';
import type { StrategyName } from '../config/schema.ts';
import type { EngineConfig, EngineProvider } from '../config/types.ts';
import type { UsagePoint, UsageView } from '../contract/api.ts';
import type { Capability } from '../contract/capabilities.ts';
import type { ChatRequest, ChatStreamEvent } from '../contract/chat.ts';
import { SwitchboardError, toSwitchboardError } from '../contract/errors.ts';
import { collectChat } from '../providers/collect.ts';
import type { ProviderAdapter } from '../providers/types.ts';
import {
  type BreakerSettings,
  type BreakerState,
  type BreakerView,
  breakerKey,
  CircuitBreakers,
  DEFAULT_BREAKER,
} from './breaker.ts';
import { mayReach, resolveCandidates, resolveTarget } from './candidates.ts';
import { type Clock, systemClock } from './clock.ts';
import { dispatch, type Plan } from './dispatch.ts';
import { type HealthChange, HealthMonitor, type ProviderHealth } from './health.ts';
import { KeyPools, type KeyView } from './keys.ts';
import { LatencyTracker, latencyKey } from './latency.ts';
import { RateLimiter } from './limiter.ts';
import { chatOperation } from './operations.ts';
import { type BackoffSettings, DEFAULT_BACKOFF } from './policy.ts';
import { MemoryState, type RoutingState } from './state.ts';
import { StickyAssignments, type StickyStatistics } from './sticky.ts';
import {
  applyStrategy,
  capabilityScore,
  DEFAULT_STRATEGY_SETTINGS,
  type StrategySettings,
  type StrategySignals,
  toFront,
} from './strategies.ts';
import type { Candidate, Operation, RoutedEvent, Router, RoutingRequest } from './types.ts';

/** Tuning the configuration file does not (yet) expose; every field has a default. */
export interface RoutingOptions {
  clock?: Clock;
  state?: RoutingState;
  /**
   * Where usage events go besides the routing service's own totals; default: an in-memory log. A
   * sink with history (the store's UsageRepository) also serves the usage pane's series and seeds
   * budgets with the spending on record.
   */
  sink?: UsageSink & Partial<UsageHistory> & Partial<SpendHistory>;
  /** Models each provider reported (listModels), so bare model ids find their provider. */
  knownModels?: ReadonlyMap<string, ReadonlySet<string>>;
  breaker?: Partial<BreakerSettings>;
  backoff?: Partial<BackoffSettings>;
  strategy?: Partial<StrategySettings>;
}

export interface RoutingEvents {
  breaker: [{ key: string; providerId: string; model: string; from: BreakerState; to: BreakerState }];
  health: [HealthChange];
  'key-disabled': [{ providerId: string; key: string; reason: string }];
  'budget-alert': [BudgetAlert];
  usage: [UsageEvent];
}

export interface ProviderStats {
  providerId: string;
  label: string;
  health: ProviderHealth['status'];
  /** Worst breaker state among the provider's models. */
  breaker: BreakerState;
  inFlight: number;
  requests: number;
  errors: number;
  costUsd: number;
  avgLatencyMs: number;
  successRate: number;
  /** Moving average of time to first token on the default model, where measured. */
  ttftMs?: number;
  tokensPerSecond?: number;
  keys: KeyView[];
}

export interface RoutingStats {
  strategy: StrategyName;
  providers: ProviderStats[];
  usage: UsageStatistics;
  sticky: StickyStatistics;
}

export interface CompareRequest {
  capability?: Capability;
  model?: string;
  /** Either messages (tokens are counted) or a token estimate. */
  messages?: ChatRequest['messages'];
  estimatedInputTokens?: number;
  maxOutputTokens?: number;
}

export interface ProviderQuote {
  providerId: string;
  label: string;
  model: string;
  price?: TokenPrice;
  /** Undefined where the price is unknown. */
  estimatedCostUsd?: number;
  onMachine: boolean;
}

export interface ComparedResponse {
  providerId: string;
  model: string;
  text?: string;
  latencyMs: number;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number;
  error?: string;
}

export interface ModelChoice {
  providerId: string;
  model: string;
  price: TokenPrice;
}

const BREAKER_RANK: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };
/** Availability ranks, reused between decisions: 0 can take traffic, 1 last resort (down), 2 skipped. */
const ranks = new Uint8Array(256);

/**
 * The provider manager's brain, behind the Router interface the Engine calls: strategies, circuit
 * breakers, retries, rate limits, key pools, health checks, budgets, usage accounting and metrics.
 * Also the one facade the Engine, the HTTP server and the CLI use for statistics and operations.
 *
 * All mutable routing state lives in one RoutingState (memory by default), so a shared backend can
 * take its place; every map in it is capped, so memory stays bounded however long the app runs.
 */
export class RoutingService extends EventEmitter<RoutingEvents> implements Router {
  private config: EngineConfig;
  private adapters: ReadonlyMap<string, ProviderAdapter>;
  private readonly knownModels: ReadonlyMap<string, ReadonlySet<string>>;
  readonly clock: Clock;
  readonly state: RoutingState;
  readonly sink: UsageSink & Partial<UsageHistory> & Partial<SpendHistory>;
  private readonly breakersImpl: CircuitBreakers;
  private readonly limiter: RateLimiter;
  private readonly keyPools: KeyPools;
  private readonly prices = new PriceBook();
  private readonly budgets: BudgetGuard;
  private readonly monitor: HealthMonitor;
  private readonly latency: LatencyTracker;
  private readonly ledger: UsageLedger;
  private readonly metrics: RoutingMetrics;
  private readonly stickyImpl: StickyAssignments;
  private readonly backoff: BackoffSettings;
  private readonly strategySettings: StrategySettings;
  private readonly signals: StrategySignals;
  private readonly setKeys = new Map<string, Map<string, string>>();
  private readonly stickyIds: string[] = [];
  private readonly isEligible = (index: number) => ranks[index] === 0;
  /** Model ids per provider, resolved once per configuration for breaker look-ups. */
  private modelsByProvider = new Map<string, string[]>();

  constructor(config: EngineConfig, adapters: ReadonlyMap<string, ProviderAdapter>, options: RoutingOptions = {}) {
    super();
    this.config = config;
    this.adapters = adapters;
    this.knownModels = options.knownModels ?? new Map();
    this.clock = options.clock ?? systemClock;
    this.state = options.state ?? new MemoryState(this.clock);
    this.sink = options.sink ?? new MemoryUsageSink();
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.strategySettings = { ...DEFAULT_STRATEGY_SETTINGS, ...options.strategy };
    this.breakersImpl = new CircuitBreakers(
      this.state,
      this.clock,
      { ...DEFAULT_BREAKER, ...options.breaker },
      (key, from, to) => {
        const slash = key.indexOf('/');
        const providerId = key.slice(0, slash);
        this.emit('breaker', { key, providerId, model: key.slice(slash + 1), from, to });
        this.monitor.noteBreaker(providerId);
      },
    );
    this.limiter = new RateLimiter(this.state, this.clock);
    this.keyPools = new KeyPools(this.state, this.clock, (providerId, key, reason) =>
      this.emit('key-disabled', { providerId, key, reason }),
    );
    const sink = this.sink;
    this.budgets = new BudgetGuard(
      this.state,
      this.clock,
      config.budgets,
      (alert) => this.emit('budget-alert', alert),
      sink.spend ? { spend: (period, providerId, now) => sink.spend!(period, providerId, now) } : undefined,
    );
    this.latency = new LatencyTracker(this.state);
    this.ledger = new UsageLedger(this.state);
    this.stickyImpl = new StickyAssignments(this.state, this.clock, config.sticky.rotationWindowMs);
    this.monitor = new HealthMonitor({
      clock: this.clock,
      keyFor: (provider) => this.keyPools.usable(provider)[0],
      breakerOpen: (providerId) => this.anyBreakerOpen(providerId),
      onChange: (change) => this.emit('health', change),
    });
    this.metrics = new RoutingMetrics({
      inFlight: () => this.config.providers.map((p) => ({ providerId: p.id, count: this.limiter.inFlight(p.id) })),
      breakers: () => this.breakersImpl.views(),
      budgets: () => this.budgets.status(),
    });
    this.signals = this.createSignals();
    this.configure(config, adapters);
  }

  private createSignals(): StrategySignals {
    return {
      inFlight: (providerId) => this.limiter.inFlight(providerId),
      tokenHeadroom: ({ provider }) => {
        const tpm = provider.limits.tpm;
        if (!tpm) return 1;
        let best = 0;
        for (const key of provider.keys.length > 0 ? provider.keys : [undefined]) {
          best = Math.max(best, this.limiter.remainingTokens(provider, this.keyPools.idOf(key)));
        }
        return best / tpm;
      },
      estimatedCost: (candidate, request) =>
        this.prices.estimate(
          candidate.provider,
          candidate.model,
          request.estimatedInputTokens,
          request.maxOutputTokens ?? this.strategySettings.expectedOutputTokens,
        ),
      expectedLatencyMs: (key, outputTokens) => this.latency.expectedMs(key, outputTokens),
      successRate: (providerId) => this.latency.successRate(providerId),
      next: (key) => this.state.add('balance', `rr:${key}`, 1) - 1,
      weights: (key) => {
        let weights = this.state.get<Map<string, number>>('balance', `wrr:${key}`);
        if (!weights) {
          weights = new Map();
          this.state.set('balance', `wrr:${key}`, weights);
        }
        return weights;
      },
    };
  }

  // ---- Router ------------------------------------------------------------------------------

  configure(config: EngineConfig, adapters: ReadonlyMap<string, ProviderAdapter>): void {
    this.config = config;
    this.adapters = adapters;
    this.prices.clear();
    this.keyPools.forget();
    this.budgets.config = config.budgets;
    this.stickyImpl.windowMs = config.sticky.rotationWindowMs;
    this.modelsByProvider = new Map(
      config.providers.map((p) => [p.id, [...new Set([...(p.defaultModel ? [p.defaultModel] : []), ...p.models])]]),
    );
    this.monitor.configure(config, adapters);
  }

  /**
   * The candidates in the order they would be tried now. This is the routing decision itself: it
   * moves round-robin cursors and makes sticky assignments, as a real request would.
   */
  plan(request: RoutingRequest): Candidate[] {
    return this.decide(request).candidates;
  }

  contextWindow(provider: EngineProvider, model: string): number | undefined {
    return this.prices.contextWindow(provider, model);
  }

  private decide(request: RoutingRequest): Plan {
    const config = this.config;
    const candidates = resolveCandidates(config, this.adapters, request, this.knownModels);
    const profile = resolveTarget(config, request).profile;
    const strategy = profile.strategy ?? config.strategy;
    if (candidates.length === 1) return { candidates, profile, strategy };
    // Those that can take traffic first (the strategy orders them), then providers whose health
    // checks fail (last resort), then those the router will skip (breaker open, every key resting).
    const n = Math.min(candidates.length, ranks.length);
    let eligible = 0;
    for (let i = 0; i < n; i++) {
      const { provider, model } = candidates[i]!;
      const rank =
        !this.breakersImpl.isAvailable(breakerKey(provider.id, model)) || !this.keyPools.anyUsable(provider)
          ? 2
          : this.monitor.statusOf(provider.id) === 'down'
            ? 1
            : 0;
      ranks[i] = rank;
      if (rank === 0) eligible++;
    }
    const setKey = this.setKey(profile.name, request.capability);
    if (strategy === 'sticky' && request.userId) {
      const ids = this.stickyIds;
      ids.length = n;
      for (let i = 0; i < n; i++) ids[i] = candidates[i]!.provider.id;
      const chosen = this.stickyImpl.choose(request.userId, setKey, ids, this.isEligible);
      const rank = ranks[chosen]!;
      for (let i = chosen; i > 0; i--) ranks[i] = ranks[i - 1]!;
      ranks[0] = rank;
      toFront(candidates, chosen);
    }
    if (eligible < n) stableByRank(candidates, n);
    // A profile that names its chain (provider, fallback_providers) has said what comes first: `priority`
    // keeps that order instead of re-sorting by the providers' global priorities.
    const chained = Boolean(profile.provider) || profile.fallbackProviders.length > 0;
    const ordering = strategy === 'priority' && chained ? 'fallback' : strategy;
    applyStrategy(ordering, candidates, eligible, request, setKey, this.signals, this.strategySettings);
    // Fallback switched off: the strategy's choice alone (trimmed after the strategy, so balancing still works).
    if (!config.fallbackEnabled) candidates.length = 1;
    return { candidates, profile, strategy };
  }

  private setKey(profile: string, capability: string): string {
    let byCapability = this.setKeys.get(profile);
    if (!byCapability) {
      byCapability = new Map();
      this.setKeys.set(profile, byCapability);
    }
    let key = byCapability.get(capability);
    if (!key) {
      key = `${profile}|${capability}`;
      byCapability.set(capability, key);
    }
    return key;
  }

  run<T>(request: RoutingRequest, operation: Operation<T>, signal: AbortSignal): AsyncIterable<RoutedEvent<T>> {
    const plan = this.decide(request);
    return dispatch(
      {
        clock: this.clock,
        breakers: this.breakersImpl,
        limiter: this.limiter,
        keys: this.keyPools,
        prices: this.prices,
        budgets: this.budgets,
        health: this.monitor,
        latency: this.latency,
        backoff: this.backoff,
        expectedOutputTokens: this.strategySettings.expectedOutputTokens,
        budgetConfig: () => this.config.budgets,
        record: (event) => this.record(event),
      },
      plan,
      request,
      operation,
      signal,
    );
  }

  private record(event: UsageEvent): void {
    this.ledger.add(event);
    this.metrics.observe(event);
    try {
      this.sink.record(event);
    } catch {
      // A failing sink (disk full) must not fail the request it describes; the totals above hold it.
    }
    this.emit('usage', event);
  }

  close(): void {
    this.monitor.close();
  }

  // ---- facade: statistics and operations ------------------------------------------------------

  private anyBreakerOpen(providerId: string): boolean {
    for (const model of this.modelsByProvider.get(providerId) ?? []) {
      if (this.breakersImpl.stateOf(breakerKey(providerId, model)) === 'open') return true;
    }
    for (const view of this.breakersImpl.views())
      if (view.providerId === providerId && view.state === 'open') return true;
    return false;
  }

  stats(): RoutingStats {
    const report = new Map(this.costReport('provider').rows.map((row) => [row.key, row]));
    const breakers = this.breakersImpl.views();
    return {
      strategy: this.config.strategy,
      providers: this.config.providers.map((provider) => {
        const row = report.get(provider.id);
        const states = breakers.filter((b) => b.providerId === provider.id).map((b) => b.state);
        const latency = provider.defaultModel
          ? this.latency.get(latencyKey(provider.id, provider.defaultModel))
          : undefined;
        return {
          providerId: provider.id,
          label: provider.label,
          health: this.monitor.statusOf(provider.id),
          breaker: states.reduce<BreakerState>(
            (worst, s) => (BREAKER_RANK[s] > BREAKER_RANK[worst] ? s : worst),
            'closed',
          ),
          inFlight: this.limiter.inFlight(provider.id),
          requests: row?.requests ?? 0,
          errors: row?.errors ?? 0,
          costUsd: row?.costUsd ?? 0,
          avgLatencyMs: row?.avgLatencyMs ?? 0,
          successRate: this.latency.successRate(provider.id),
          ttftMs: latency ? Math.round(latency.ttftMs) : undefined,
          tokensPerSecond: latency?.tokensPerSecond ? Math.round(latency.tokensPerSecond) : undefined,
          keys: this.keyPools.views(provider),
        };
      }),
      usage: this.ledger.statistics(),
      sticky: this.stickyImpl.statistics(),
    };
  }

  /** Health as last seen (scheduled checks and requests), without calling anyone. */
  health(): ProviderHealth[] {
    return this.monitor.all();
  }

  /** Checks every provider now (a cheap list-models call each). */
  healthCheckAll(): Promise<ProviderHealth[]> {
    return this.monitor.checkAll();
  }

  checkHealth(providerId: string): Promise<ProviderHealth> {
    return this.monitor.check(providerId);
  }

  breakers(): BreakerView[] {
    return this.breakersImpl.views();
  }

  /** Closes one breaker (`provider/model`) or all of them, e.g. after fixing a provider. */
  resetBreakers(key?: string): void {
    this.breakersImpl.reset(key);
  }

  readonly sticky = {
    forceProvider: (userId: string, providerId: string): void => {
      if (!this.config.providers.some((p) => p.id === providerId)) {
        throw new SwitchboardError('NOT_FOUND', `provider "${providerId}" is not configured`, { retryable: false });
      }
      this.stickyImpl.forceProvider(userId, providerId);
    },
    clearUser: (userId: string): void => this.stickyImpl.clearUser(userId),
    forceRotation: (): void => this.stickyImpl.forceRotation(),
    assignment: (userId: string): string | undefined => this.stickyImpl.assignment(userId),
    statistics: (): StickyStatistics => this.stickyImpl.statistics(),
  };

  /**
   * Spending and requests by provider, model or day. From the sink's history where it has one (the
   * store: everything on record, by provider or day), else from what this process routed.
   */
  costReport(by: ReportDimension = 'provider', options: { sinceMs?: number; session?: boolean } = {}): CostReport {
    if (by !== 'model' && this.sink.series && !options.session) {
      return reportFromSeries(by, this.sink.series(options.sinceMs ?? 0, 'day'));
    }
    return this.ledger.report(by);
  }

  usageStatistics(): UsageStatistics {
    return this.ledger.statistics();
  }

  budgetStatus(): BudgetStatus[] {
    return this.budgets.status();
  }

  metricsText(): Promise<string> {
    return this.metrics.text();
  }

  get metricsContentType(): string {
    return this.metrics.contentType;
  }

  private usableProviders(capability: Capability): EngineProvider[] {
    const config = this.config;
    return config.providers
      .filter((p) => p.enabled && mayReach(config, p) && p.capabilities.includes(capability) && this.adapters.has(p.id))
      .sort((a, b) => a.priority - b.priority);
  }

  /** Estimated cost of a request on each provider that can answer it, cheapest first (unknown prices last). */
  compareProviders(request: CompareRequest): { quotes: ProviderQuote[]; cheapest?: ProviderQuote } {
    const capability = request.capability ?? 'chat';
    const input = request.estimatedInputTokens ?? (request.messages ? countMessageTokens(request.messages) : 0);
    const output = request.maxOutputTokens ?? this.strategySettings.expectedOutputTokens;
    const quotes = this.usableProviders(capability).map((provider): ProviderQuote => {
      const model =
        request.model &&
        (provider.models.includes(request.model) || this.knownModels.get(provider.id)?.has(request.model))
          ? request.model
          : (provider.defaultModel ?? '');
      return {
        providerId: provider.id,
        label: provider.label,
        model,
        price: this.prices.price(provider, model),
        estimatedCostUsd: this.prices.estimate(provider, model, input, output),
        onMachine: provider.onMachine,
      };
    });
    quotes.sort(
      (a, b) => (a.estimatedCostUsd ?? Number.POSITIVE_INFINITY) - (b.estimatedCostUsd ?? Number.POSITIVE_INFINITY),
    );
    return { quotes, cheapest: quotes.find((q) => q.estimatedCostUsd !== undefined) };
  }

  /** The cheapest configured model for a capability (by input + output price); `freeOnly`: only those costing nothing. */
  cheapestModelFor(capability: Capability, options: { freeOnly?: boolean } = {}): ModelChoice | undefined {
    let best: ModelChoice | undefined;
    let bestPrice = Number.POSITIVE_INFINITY;
    for (const provider of this.usableProviders(capability)) {
      for (const model of this.modelsByProvider.get(provider.id) ?? []) {
        const price = this.prices.price(provider, model);
        if (!price) continue;
        const blended = price.inputPerMTok + price.outputPerMTok;
        if (options.freeOnly && blended > 0) continue;
        if (blended < bestPrice) {
          best = { providerId: provider.id, model, price };
          bestPrice = blended;
        }
      }
    }
    return best;
  }

  /** The provider most likely to answer a capability well now: reachable, most reliable lately, then priority. */
  bestProviderFor(capability: Capability): EngineProvider | undefined {
    const providers = this.usableProviders(capability).filter(
      (p) =>
        this.monitor.statusOf(p.id) !== 'down' &&
        this.keyPools.anyUsable(p) &&
        this.breakersImpl.isAvailable(breakerKey(p.id, p.defaultModel ?? '')),
    );
    let best: EngineProvider | undefined;
    let bestScore = Number.POSITIVE_INFINITY;
    providers.forEach((provider, index) => {
      const adapter = this.adapters.get(provider.id)!;
      const score = capabilityScore({ provider, adapter, model: provider.defaultModel ?? '' }, index, this.signals);
      if (score < bestScore) {
        best = provider;
        bestScore = score;
      }
    });
    return best;
  }

  /** Runs one chat routed to a given provider and collects it (for comparisons and batches). */
  private async ask(prompt: string, providerId: string, signal?: AbortSignal): Promise<ComparedResponse> {
    const started = this.clock.now();
    const messages: ChatRequest['messages'] = [{ role: 'user', content: prompt }];
    let route: { providerId: string; model: string } | undefined;
    try {
      const answer = await collectChat(
        (async function* (events: AsyncIterable<RoutedEvent<ChatStreamEvent>>) {
          for await (const event of events) {
            if (event.type === 'route') route = event.route;
            else yield event.data;
          }
        })(
          this.run(
            { capability: 'chat', providerId, estimatedInputTokens: countMessageTokens(messages) },
            chatOperation({ messages }),
            signal ?? new AbortController().signal,
          ),
        ),
      );
      const provider = this.config.providers.find((p) => p.id === providerId)!;
      const model = route?.model || answer.model;
      return {
        providerId,
        model,
        text: answer.text,
        latencyMs: this.clock.now() - started,
        inputTokens: answer.usage.inputTokens,
        outputTokens: answer.usage.outputTokens,
        costUsd: this.prices.cost(provider, model, answer.usage.inputTokens, answer.usage.outputTokens),
      };
    } catch (error) {
      return {
        providerId,
        model: route?.model ?? '',
        latencyMs: this.clock.now() - started,
        error: toSwitchboardError(error).message,
      };
    }
  }

  /** The same prompt to several providers at once, side by side. */
  compareResponses(prompt: string, providerIds: string[], signal?: AbortSignal): Promise<ComparedResponse[]> {
    return Promise.all(providerIds.map((id) => this.ask(prompt, id, signal)));
  }

  /** Many prompts to one provider, at most `concurrency` at a time; answers in prompt order. */
  async batchQuery(
    prompts: string[],
    providerId: string,
    options: { concurrency?: number; signal?: AbortSignal } = {},
  ): Promise<ComparedResponse[]> {
    const results: ComparedResponse[] = new Array(prompts.length);
    let next = 0;
    const worker = async () => {
      while (next < prompts.length) {
        const index = next++;
        results[index] = await this.ask(prompts[index]!, providerId, options.signal);
      }
    };
    const workers = Math.max(1, Math.min(options.concurrency ?? 4, prompts.length));
    await Promise.all(Array.from({ length: workers }, worker));
    return results;
  }

  /** The usage pane's view: series from the sink's history, totals, shares and budgets. */
  usageView(sinceMs: number, bucket: SeriesBucket): UsageView {
    const series: UsagePoint[] = this.sink.series?.(sinceMs, bucket) ?? [];
    const totals = { requests: 0, errors: 0, costUsd: 0, inputTokens: 0, outputTokens: 0 };
    const byProvider = new Map<string, { requests: number; costUsd: number }>();
    if (this.sink.series) {
      for (const point of series) {
        totals.requests += point.requests;
        totals.errors += point.errors;
        totals.costUsd += point.costUsd;
        totals.inputTokens += point.inputTokens;
        totals.outputTokens += point.outputTokens;
        const entry = byProvider.get(point.providerId) ?? { requests: 0, costUsd: 0 };
        entry.requests += point.requests;
        entry.costUsd += point.costUsd;
        byProvider.set(point.providerId, entry);
      }
    } else {
      // No history to cut by time: the running totals since start are the best answer.
      for (const row of this.ledger.report('provider').rows) {
        totals.requests += row.requests;
        totals.errors += row.errors;
        totals.costUsd += row.costUsd;
        totals.inputTokens += row.inputTokens;
        totals.outputTokens += row.outputTokens;
        byProvider.set(row.key, { requests: row.requests, costUsd: row.costUsd });
      }
    }
    return {
      series,
      totals,
      byProvider: [...byProvider.entries()]
        .map(([providerId, entry]) => ({
          providerId,
          requests: entry.requests,
          share: totals.requests === 0 ? 0 : entry.requests / totals.requests,
          costUsd: entry.costUsd,
        }))
        .sort((a, b) => b.requests - a.requests),
      budgets: this.budgets
        .status()
        .map((b) => ({ scope: b.scope, period: b.period, limitUsd: b.limitUsd, spentUsd: b.spentUsd })),
    };
  }
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

/** The name bootstrap.ts constructs today; it takes the same (config, adapters) and is the full router. */
export const FallbackRouter = RoutingService;
