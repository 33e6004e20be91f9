import { EventEmitter } from 'node:events';
import { type BudgetAlert, BudgetGuard, type SpendHistory } from '../accounting/budget.ts';
import { type CostHistory, UsageLedger } from '../accounting/ledger.ts';
import { PriceBook } from '../accounting/prices.ts';
import type { UsageEvent, UsageSink } from '../accounting/types.ts';
import { MemoryUsageSink, type UsageHistory } from '../accounting/usage-log.ts';
import { failoverOf } from '../config/normalize.ts';
import type { EngineConfig, EngineProvider } from '../config/types.ts';
import type { ErrorCode } from '../contract/errors.ts';
import type { Clock } from '../core/clock.ts';
import { isPromise, type RoutingState, TURN } from '../core/state.ts';
import type { ProviderAdapter } from '../providers/types.ts';
import { type AppKeySpendHistory, appKeyStage } from './app-key.ts';
import { type BreakerSettings, breakerKey, breakerStage, CircuitBreakers } from './breaker.ts';
import { budgetStage } from './budget.ts';
import { resolveTarget } from './candidates.ts';
import { systemClock } from './clock.ts';
import { contextWindowStage } from './context-window.ts';
import type { RoutingEvents } from './events.ts';
import { HealthMonitor, type ProviderHealth } from './health.ts';
import { KeyPools, keyIdOf, keyPoolStage } from './keys.ts';
import { LatencyTracker, observeStage } from './latency.ts';
import { RateLimiter, rateLimitStage } from './limiter.ts';
import { RoutingMetrics } from './metrics.ts';
import { type PipelineParts, runPipeline } from './pipeline.ts';
import { type PlanInputs, plan, setKeyOf } from './plan.ts';
import { type BackoffSettings, DEFAULT_BACKOFF } from './policy.ts';
import type { Stage } from './stage.ts';
import { MemoryState } from './state.ts';
import { StickyAssignments } from './sticky.ts';
import { DEFAULT_STRATEGY_SETTINGS, type StrategySettings, type StrategySignals, TURN_TAKING } from './strategies.ts';
import { timeoutStage } from './timeout.ts';
import type { Candidate, Operation, OperationKind, Plan, RoutedEvent, RoutingRequest } from './types.ts';
import { type PipelineWatcher, watchAll } from './watch.ts';

/** Tuning the configuration file does not (yet) expose; every field has a default. */
export interface RouterOptions {
  clock?: Clock;
  state?: RoutingState;
  /**
   * Where usage events go besides the router's own totals; default: an in-memory log. A sink with
   * history (the store's UsageRepository) also serves the usage pane's series and seeds budgets with
   * the spending on record.
   */
  sink?: UsageSink & Partial<UsageHistory> & Partial<SpendHistory> & Partial<CostHistory> & Partial<AppKeySpendHistory>;
  /** Models each provider reported (listModels), so bare model ids find their provider. */
  knownModels?: ReadonlyMap<string, ReadonlySet<string>>;
  backoff?: Partial<BackoffSettings>;
  strategy?: Partial<StrategySettings>;
  /** Who hears the pipeline's decisions besides the metrics (the trace export, where enabled). */
  watchers?: readonly PipelineWatcher[];
}

/**
 * The routing core behind the Engine: it owns the routing state (breakers, limits, key pools, sticky
 * pins, balancing turns, latency, budgets, usage totals), plans each request (plan.ts) and runs it
 * through the pipeline of stages (pipeline.ts). Only the Engine holds one; reports read it.
 *
 * All mutable routing state lives in one RoutingState (memory by default), so a shared backend can
 * take its place; every map in it is capped, so memory stays bounded however long the app runs.
 */
export class Router extends EventEmitter<RoutingEvents> {
  private currentConfig: EngineConfig;
  private currentAdapters: ReadonlyMap<string, ProviderAdapter>;
  readonly knownModels: ReadonlyMap<string, ReadonlySet<string>>;
  readonly clock: Clock;
  readonly state: RoutingState;
  readonly sink: UsageSink &
    Partial<UsageHistory> &
    Partial<SpendHistory> &
    Partial<CostHistory> &
    Partial<AppKeySpendHistory>;
  readonly breakers: CircuitBreakers;
  readonly limiter: RateLimiter;
  readonly keyPools: KeyPools;
  readonly prices = new PriceBook();
  readonly budgets: BudgetGuard;
  readonly monitor: HealthMonitor;
  readonly latency: LatencyTracker;
  readonly ledger: UsageLedger;
  readonly metrics: RoutingMetrics;
  readonly sticky: StickyAssignments;
  readonly strategySettings: StrategySettings;
  private readonly backoff: BackoffSettings;
  /** Each provider's breaker thresholds, from its failover settings; rebuilt with each configuration. */
  private breakerSettings = new Map<string, BreakerSettings>();
  private readonly signals: StrategySignals;
  private readonly stages: readonly Stage[];
  private readonly pipeline: PipelineParts;
  private readonly planInputs: PlanInputs;
  /** The stages that apply, per provider and kind of work; rebuilt with each configuration. */
  private stageLists = new Map<string, readonly Stage[]>();
  /** Model ids per provider, resolved once per configuration for breaker look-ups. */
  private modelsByProvider = new Map<string, string[]>();

  constructor(config: EngineConfig, adapters: ReadonlyMap<string, ProviderAdapter>, options: RouterOptions = {}) {
    super();
    this.currentConfig = config;
    this.currentAdapters = adapters;
    this.knownModels = options.knownModels ?? new Map();
    this.clock = options.clock ?? systemClock;
    this.state = options.state ?? new MemoryState(this.clock);
    this.sink = options.sink ?? new MemoryUsageSink();
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.strategySettings = { ...DEFAULT_STRATEGY_SETTINGS, ...options.strategy };
    this.breakers = new CircuitBreakers(
      this.state,
      this.clock,
      (providerId) => this.breakerSettings.get(providerId) ?? failoverOf(),
      (key, from, to) => {
        const slash = key.indexOf('/');
        const providerId = key.slice(0, slash);
        const event = { key, providerId, model: key.slice(slash + 1), from };
        if (to === 'open') {
          this.metrics.breakerOpened(providerId);
          this.emit('breaker.open', event);
        } else if (to === 'closed') this.emit('breaker.close', event);
        this.monitor.noteBreaker(providerId);
      },
    );
    this.limiter = new RateLimiter(this.state, this.clock);
    this.keyPools = new KeyPools(
      this.state,
      this.clock,
      (providerId, key, reason) => this.emit('key.disabled', { providerId, key, reason }),
      (providerId, key) => this.emit('key.restored', { providerId, key }),
    );
    const sink = this.sink;
    this.budgets = new BudgetGuard(
      this.state,
      this.clock,
      config.budgets,
      (alert: BudgetAlert) => this.emit(alert.level === 'exceeded' ? 'budget.exhausted' : 'budget.threshold', alert),
      sink.spend ? { spend: (period, providerId, now) => sink.spend!(period, providerId, now) } : undefined,
    );
    this.latency = new LatencyTracker(this.state, this.clock);
    this.ledger = new UsageLedger(this.state);
    this.sticky = new StickyAssignments(this.state, this.clock, config.sticky.rotationWindowMs);
    this.monitor = new HealthMonitor({
      clock: this.clock,
      keyFor: (provider) => this.keyPools.firstUsable(provider),
      breakerOpen: (providerId) => this.anyBreakerOpen(providerId),
      onChange: (change) => {
        this.emit('health.change', change);
        if (change.to === 'down') this.emit('health.down', change);
        else if (change.to === 'healthy' && (change.from === 'down' || change.from === 'degraded'))
          this.emit('health.up', change);
      },
    });
    this.metrics = new RoutingMetrics({
      inFlight: () => this.config.providers.map((p) => ({ providerId: p.id, count: this.limiter.inFlight(p.id) })),
      breakers: () => this.breakers.views(),
      budgets: () => this.budgets.status(),
      keys: () =>
        this.config.providers.flatMap((provider) =>
          this.keyPools.views(provider).map((view, index) => ({
            providerId: provider.id,
            keyLabel: String(index + 1),
            status: view.status,
          })),
        ),
      health: () =>
        this.config.providers
          .filter((p) => p.enabled)
          .map((p) => ({ providerId: p.id, up: this.monitor.statusOf(p.id) !== 'down' })),
      configuredModel: (providerId, model) => this.modelsOf(providerId).includes(model),
    });
    this.signals = {
      inFlight: (providerId) => this.limiter.inFlight(providerId),
      tokenHeadroom: ({ provider }) => {
        const tpm = provider.limits.tpm;
        if (!tpm) return 1;
        let best = 0;
        for (const key of provider.keys.length > 0 ? provider.keys : [undefined]) {
          best = Math.max(best, this.limiter.remainingTokens(provider, keyIdOf(key)));
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
    };
    // The order is the order of concerns: cheap refusals first, the slot and the money last, the clock
    // started right before the call.
    this.stages = [
      appKeyStage({
        state: this.state,
        clock: this.clock,
        limiter: this.limiter,
        prices: this.prices,
        expectedOutputTokens: this.strategySettings.expectedOutputTokens,
        history: sink.appKeySpend ? { appKeySpend: (...args) => sink.appKeySpend!(...args) } : undefined,
      }),
      contextWindowStage(this.prices),
      breakerStage(this.breakers, this.clock),
      keyPoolStage(this.keyPools, this.clock),
      rateLimitStage(this.limiter),
      budgetStage({
        guard: this.budgets,
        prices: this.prices,
        expectedOutputTokens: this.strategySettings.expectedOutputTokens,
      }),
      timeoutStage(this.clock),
      observeStage(this.latency, this.monitor, this.clock),
    ];
    this.planInputs = {
      config,
      adapters,
      knownModels: this.knownModels,
      availability: (candidate) => this.availability(candidate),
      sticky: this.sticky,
      signals: this.signals,
      settings: this.strategySettings,
    };
    this.pipeline = {
      clock: this.clock,
      backoff: this.backoff,
      expectedOutputTokens: this.strategySettings.expectedOutputTokens,
      stagesFor: (provider, kind) => this.stagesFor(provider, kind),
      filters: this.stages.filter((stage) => stage.filter),
      available: (candidate) => this.availability(candidate) < 2,
      hasOtherKey: (provider, key) => this.keyPools.anyUsable(provider, key),
      fallbackOnStatus: () => this.config.fallbackOnStatus,
      costOf: (candidate, usage) =>
        usage ? this.prices.cost(candidate.provider, candidate.model, usage.inputTokens, usage.outputTokens) : 0,
      record: (event) => this.record(event),
      watcher: watchAll([this.metrics, ...(options.watchers ?? [])]),
      // As with record: a failing disk must not fail the answer; the settled event still counts.
      reserve: (event) => {
        try {
          return this.sink.reserve?.(event).catch(() => {});
        } catch {
          return undefined;
        }
      },
    };
    this.configure(config, adapters);
  }

  get config(): EngineConfig {
    return this.currentConfig;
  }

  get adapters(): ReadonlyMap<string, ProviderAdapter> {
    return this.currentAdapters;
  }

  /** Takes a new configuration (hot reload, settings change) without losing state it can keep. */
  configure(config: EngineConfig, adapters: ReadonlyMap<string, ProviderAdapter>): void {
    this.currentConfig = config;
    this.currentAdapters = adapters;
    this.planInputs.config = config;
    this.planInputs.adapters = adapters;
    this.prices.clear();
    this.budgets.config = config.budgets;
    this.sticky.windowMs = config.sticky.rotationWindowMs;
    this.stageLists = new Map();
    this.breakerSettings = new Map(config.providers.map((p) => [p.id, p.failover]));
    this.modelsByProvider = new Map(
      config.providers.map((p) => [p.id, [...new Set([...(p.defaultModel ? [p.defaultModel] : []), ...p.models])]]),
    );
    this.monitor.configure(config, adapters);
  }

  private stagesFor(provider: EngineProvider, kind: OperationKind): readonly Stage[] {
    const key = `${provider.id}|${kind}`;
    let stages = this.stageLists.get(key);
    if (!stages) {
      stages = this.stages.filter((stage) => stage.applies(provider, kind));
      this.stageLists.set(key, stages);
    }
    return stages;
  }

  private availability(candidate: Candidate): 0 | 1 | 2 {
    const { provider, model } = candidate;
    if (!this.breakers.isAvailable(breakerKey(provider.id, model)) || !this.keyPools.anyUsable(provider)) return 2;
    return this.monitor.statusOf(provider.id) === 'down' ? 1 : 0;
  }

  /**
   * The routing decision for a request: its candidates in the order they will be tried. It takes the
   * candidate set's balancing turn and makes sticky assignments, as a real request does.
   */
  decide(request: RoutingRequest): Plan | Promise<Plan> {
    const target = resolveTarget(this.config, request);
    const strategy = target.profile.strategy ?? this.config.strategy;
    if (!TURN_TAKING.has(strategy)) return plan(request, target, 0, this.planInputs);
    const turn = this.state.incr('balance', `rr:${setKeyOf(target.profile.name, request.capability)}`, 1, 0, TURN);
    return isPromise(turn)
      ? turn.then((t) => plan(request, target, t - 1, this.planInputs))
      : plan(request, target, turn - 1, this.planInputs);
  }

  /** A model's context window as configured (context_windows) or catalogued; undefined where unknown. */
  contextWindow(provider: EngineProvider, model: string): number | undefined {
    return this.prices.contextWindow(provider, model);
  }

  /** The candidates in the order they would be tried now. */
  async plan(request: RoutingRequest): Promise<Candidate[]> {
    return (await this.decide(request)).candidates;
  }

  /**
   * Runs the operation: candidates in plan order through the pipeline; failures before the first
   * output move on to the next candidate; once output has reached the caller a failure ends the
   * stream with an error (never a silent replay elsewhere). Yields `route` once, right before the
   * first data.
   */
  run<T>(request: RoutingRequest, operation: Operation<T>, signal: AbortSignal): AsyncGenerator<RoutedEvent<T>> {
    return runPipeline(this.pipeline, () => this.decide(request), request, operation, signal);
  }

  /**
   * Accounts a request no provider could answer and the fallback responder did: a move to the next in
   * the chain like any other (from the last provider tried, `none` if none was), and a settled request
   * like any other — in `usage`, stats and `switchboard_requests_total`.
   */
  recordLastResort(event: UsageEvent, fromProvider: string, reason: ErrorCode): void {
    this.metrics.fellBack(fromProvider, event.providerId, reason);
    this.record(event);
  }

  /** Accounts a settled request: running totals, metrics, the usage store and the `usage` event. */
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

  /** Whether any of a provider's breakers is open (its health then reads degraded at best). */
  anyBreakerOpen(providerId: string): boolean {
    for (const model of this.modelsByProvider.get(providerId) ?? []) {
      if (this.breakers.stateOf(breakerKey(providerId, model)) === 'open') return true;
    }
    for (const view of this.breakers.views()) if (view.providerId === providerId && view.state === 'open') return true;
    return false;
  }

  /** Model ids of a provider (its default first), as configured. */
  modelsOf(providerId: string): readonly string[] {
    return this.modelsByProvider.get(providerId) ?? [];
  }

  /** Checks one provider now with a cheap call (list models) and keeps the result for routing. */
  checkHealth(providerId: string): Promise<ProviderHealth> {
    return this.monitor.check(providerId);
  }

  /** The same for every provider. */
  healthCheckAll(): Promise<ProviderHealth[]> {
    return this.monitor.checkAll();
  }

  close(): void {
    this.monitor.close();
  }
}
