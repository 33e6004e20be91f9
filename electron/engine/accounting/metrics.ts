import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BreakerState } from '../routing/breaker.ts';
import type { BudgetStatus } from './budget.ts';
import { API_TOKEN_KEY } from './ledger.ts';
import type { UsageEvent } from './types.ts';

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

/** What the metrics read at scrape time instead of being told on every change. */
export interface MetricsSources {
  inFlight(): { providerId: string; count: number }[];
  breakers(): { providerId: string; model: string; state: BreakerState }[];
  budgets(): BudgetStatus[];
}

/**
 * Prometheus metrics of the provider manager, on a registry of its own (never prom-client's global
 * one, so several engines in one process — tests, the app with its server — do not collide).
 */
export class RoutingMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'provider' | 'status' | 'key'>;
  private readonly latency: Histogram<'provider'>;
  private readonly ttft: Histogram<'provider'>;
  private readonly tokens: Counter<'provider' | 'direction'>;
  private readonly cost: Counter<'provider' | 'key'>;
  private readonly breakerOpens: Counter<'provider'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'switchboard_requests_total',
      // No model label: model names come from requests, and label sets live as long as the registry.
      help: 'Requests by provider, outcome (success, error, cancelled) and app key (api-token: the API token and the app)',
      labelNames: ['provider', 'status', 'key'],
      registers,
    });
    this.latency = new Histogram({
      name: 'switchboard_response_seconds',
      help: 'Time from request to the end of the answer',
      labelNames: ['provider'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers,
    });
    this.ttft = new Histogram({
      name: 'switchboard_time_to_first_token_seconds',
      help: 'Time from request to the first token or segment',
      labelNames: ['provider'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    });
    this.tokens = new Counter({
      name: 'switchboard_tokens_total',
      help: 'Tokens by provider and direction (input, output)',
      labelNames: ['provider', 'direction'],
      registers,
    });
    this.cost = new Counter({
      name: 'switchboard_cost_usd_total',
      help: 'Spending in US dollars by provider and app key (api-token: the API token and the app)',
      labelNames: ['provider', 'key'],
      registers,
    });
    this.breakerOpens = new Counter({
      name: 'switchboard_circuit_breaker_opens_total',
      help: 'Times a circuit breaker opened, by provider (a state gauge alone misses one that opened and closed between scrapes)',
      labelNames: ['provider'],
      registers,
    });
    new Gauge({
      name: 'switchboard_in_flight_requests',
      help: 'Requests being answered now, by provider',
      labelNames: ['provider'],
      registers,
      collect() {
        this.reset();
        for (const { providerId, count } of sources.inFlight()) this.set({ provider: providerId }, count);
      },
    });
    new Gauge({
      name: 'switchboard_circuit_breaker_state',
      help: 'Circuit breaker per provider and model: 0 closed, 1 half-open, 2 open',
      labelNames: ['provider', 'model'],
      registers,
      collect() {
        this.reset();
        for (const b of sources.breakers())
          this.set({ provider: b.providerId, model: b.model }, BREAKER_VALUE[b.state]);
      },
    });
    new Gauge({
      name: 'switchboard_budget_remaining_usd',
      help: 'Budget left in the current period, by scope (global or provider) and period',
      labelNames: ['scope', 'period'],
      registers,
      collect() {
        this.reset();
        for (const b of sources.budgets()) this.set({ scope: b.scope, period: b.period }, b.remainingUsd);
      },
    });
  }

  observe(event: UsageEvent): void {
    const provider = event.providerId;
    // App keys are few and made by the user (`switchboard keys`), so their ids are a bounded label.
    const key = event.appKeyId ?? API_TOKEN_KEY;
    this.requests.inc({ provider, status: event.outcome, key });
    this.latency.observe({ provider }, event.latencyMs / 1000);
    if (event.ttftMs !== undefined) this.ttft.observe({ provider }, event.ttftMs / 1000);
    if (event.inputTokens) this.tokens.inc({ provider, direction: 'input' }, event.inputTokens);
    if (event.outputTokens) this.tokens.inc({ provider, direction: 'output' }, event.outputTokens);
    if (event.costUsd) this.cost.inc({ provider, key }, event.costUsd);
  }

  breakerOpened(providerId: string): void {
    this.breakerOpens.inc({ provider: providerId });
  }

  /** The Prometheus text exposition, for GET /metrics. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
