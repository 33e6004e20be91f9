import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BudgetStatus } from '../accounting/budget.ts';
import { API_TOKEN_KEY } from '../accounting/ledger.ts';
import type { UsageEvent } from '../accounting/types.ts';
import type { ErrorCode } from '../contract/errors.ts';
import type { BreakerState } from './breaker.ts';
import type { KeyView } from './keys.ts';
import type { AttemptScope } from './stage.ts';
import type { PipelineWatcher, RequestWatch } from './watch.ts';

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };
const KEY_STATES: readonly KeyView['status'][] = ['active', 'cooling', 'disabled'];
/** The model label of a model the configuration does not name (requests may name any). */
export const OTHER_MODEL = 'other';

/** What the metrics read at scrape time instead of being told on every change. */
export interface MetricsSources {
  inFlight(): { providerId: string; count: number }[];
  breakers(): { providerId: string; model: string; state: BreakerState }[];
  budgets(): BudgetStatus[];
  /** Each provider key's state, by its place in the provider's list (1, 2, …): never the key. */
  keys(): { providerId: string; keyLabel: string; status: KeyView['status'] }[];
  /** Each enabled provider: false while health checks or requests find it down. */
  health(): { providerId: string; up: boolean }[];
  /**
   * Whether the configuration names this model for the provider. Label sets live as long as the registry
   * and requests may name any model, so other models are counted as `other`.
   */
  configuredModel(providerId: string, model: string): boolean;
}

/** An error code as a label value: `RATE_LIMITED` → `rate_limited`. */
const reasonOf = (code: ErrorCode) => code.toLowerCase();

/**
 * Prometheus metrics of the provider manager, on a registry of its own (never prom-client's global
 * one, so several engines in one process — tests, the app with its server — do not collide).
 */
export class RoutingMetrics implements PipelineWatcher {
  readonly registry = new Registry();
  private readonly sources: MetricsSources;
  private readonly requests: Counter<'provider' | 'model' | 'status' | 'key'>;
  private readonly latency: Histogram<'provider' | 'model' | 'key'>;
  private readonly ttft: Histogram<'provider' | 'model'>;
  private readonly tokens: Counter<'provider' | 'model' | 'direction' | 'key'>;
  private readonly cost: Counter<'provider' | 'model' | 'key'>;
  private readonly breakerOpens: Counter<'provider'>;
  private readonly fallbacks: Counter<'from_provider' | 'to_provider' | 'reason'>;
  private readonly retries: Counter<'provider' | 'reason'>;
  private readonly rateLimited: Counter<'provider' | 'source' | 'key'>;
  /** The same for every request: the counters keep nothing per request. */
  private readonly requestWatch: RequestWatch;

  constructor(sources: MetricsSources) {
    this.sources = sources;
    const registers = [this.registry];
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      new Counter<L>({ name, help, labelNames, registers });
    const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]) =>
      new Histogram<L>({ name, help, labelNames, buckets, registers });
    /** A gauge set afresh at each scrape, from what `read` hands to `set`. */
    const gauge = <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      read: (set: (labels: Record<L, string>, value: number) => void) => void,
    ) =>
      new Gauge<L>({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          read((labels, value) => this.set(labels, value));
        },
      });
    // `key` is the app key (`switchboard keys`): few, made by the user, so a bounded label; `api-token`
    // stands for the API token and the app itself. `model` is bounded by the configuration (OTHER_MODEL).
    this.requests = counter(
      'switchboard_requests_total',
      'Requests by provider, model, outcome (success, error, cancelled) and app key (api-token: the API token and the app)',
      ['provider', 'model', 'status', 'key'],
    );
    this.latency = histogram(
      'switchboard_response_seconds',
      'Time from request to the end of the answer, by provider, model and app key',
      ['provider', 'model', 'key'],
      [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
    );
    this.ttft = histogram(
      'switchboard_time_to_first_token_seconds',
      'Time from request to the first token or segment, by provider and model',
      ['provider', 'model'],
      [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    );
    this.tokens = counter(
      'switchboard_tokens_total',
      'Tokens by provider, model, direction (input, output) and app key',
      ['provider', 'model', 'direction', 'key'],
    );
    this.cost = counter(
      'switchboard_cost_usd_total',
      'Spending in US dollars by provider, model and app key (api-token: the API token and the app)',
      ['provider', 'model', 'key'],
    );
    this.fallbacks = counter(
      'switchboard_fallbacks_total',
      'Times a request moved on from one provider to the next (to_provider="fallback-responder": none could answer), by the error or refusal that made it (its code, lower case)',
      ['from_provider', 'to_provider', 'reason'],
    );
    this.retries = counter(
      'switchboard_retries_total',
      'Times a request was sent to the same provider again (after a backoff, or at once with another key), by the error code that made it',
      ['provider', 'reason'],
    );
    this.rateLimited = counter(
      'switchboard_rate_limited_total',
      "Rate-limit refusals: 429s from the provider (source=upstream) and our own (source=local: RPM, TPM, concurrency, an app key's limits, a key resting after a 429), by app key",
      ['provider', 'source', 'key'],
    );
    this.breakerOpens = counter(
      'switchboard_circuit_breaker_opens_total',
      'Times a circuit breaker opened, by provider (a state gauge alone misses one that opened and closed between scrapes)',
      ['provider'],
    );
    gauge('switchboard_in_flight_requests', 'Requests being answered now, by provider', ['provider'], (set) => {
      for (const { providerId, count } of sources.inFlight()) set({ provider: providerId }, count);
    });
    gauge(
      'switchboard_circuit_breaker_state',
      'Circuit breaker per provider and model: 0 closed, 1 half-open, 2 open',
      ['provider', 'model'],
      (set) => {
        for (const b of sources.breakers()) set({ provider: b.providerId, model: b.model }, BREAKER_VALUE[b.state]);
      },
    );
    gauge(
      'switchboard_budget_remaining_usd',
      'Budget left in the current period, by scope (global or provider) and period',
      ['scope', 'period'],
      (set) => {
        for (const b of sources.budgets()) set({ scope: b.scope, period: b.period }, b.remainingUsd);
      },
    );
    gauge(
      'switchboard_key_state',
      "Each provider key's state, 1 for the state it is in (active, cooling after a 429, disabled after a 401/403); key_label is its place in the provider's list, never the key",
      ['provider', 'key_label', 'state'],
      (set) => {
        for (const key of sources.keys()) {
          for (const state of KEY_STATES) {
            set({ provider: key.providerId, key_label: key.keyLabel, state }, key.status === state ? 1 : 0);
          }
        }
      },
    );
    gauge(
      'switchboard_provider_health',
      'Each enabled provider: 1 up (healthy, degraded or not yet checked), 0 down',
      ['provider'],
      (set) => {
        for (const { providerId, up } of sources.health()) set({ provider: providerId }, up ? 1 : 0);
      },
    );
    const keyOf = (attempt: AttemptScope) => attempt.scope.request.appKey?.id ?? API_TOKEN_KEY;
    this.requestWatch = {
      refused: (attempt, _stage, code) => {
        if (code === 'RATE_LIMITED') {
          this.rateLimited.inc({ provider: attempt.candidate.provider.id, source: 'local', key: keyOf(attempt) });
        }
      },
      sent: () => {},
      ended: (attempt, end) => {
        const provider = attempt.candidate.provider.id;
        if (end.errorCode === 'RATE_LIMITED')
          this.rateLimited.inc({ provider, source: 'upstream', key: keyOf(attempt) });
        if ((end.verdict === 'retry' || end.verdict === 'next-key') && end.errorCode) {
          this.retries.inc({ provider, reason: reasonOf(end.errorCode) });
        }
      },
      fellBack: (from, to, code) => this.fellBack(from.provider.id, to.provider.id, code),
      finished: () => {},
    };
  }

  watch(): RequestWatch {
    return this.requestWatch;
  }

  observe(event: UsageEvent): void {
    const provider = event.providerId;
    const model = this.sources.configuredModel(provider, event.model) ? event.model : OTHER_MODEL;
    const key = event.appKeyId ?? API_TOKEN_KEY;
    this.requests.inc({ provider, model, status: event.outcome, key });
    this.latency.observe({ provider, model, key }, event.latencyMs / 1000);
    if (event.ttftMs !== undefined) this.ttft.observe({ provider, model }, event.ttftMs / 1000);
    if (event.inputTokens) this.tokens.inc({ provider, model, direction: 'input', key }, event.inputTokens);
    if (event.outputTokens) this.tokens.inc({ provider, model, direction: 'output', key }, event.outputTokens);
    if (event.costUsd) this.cost.inc({ provider, model, key }, event.costUsd);
  }

  /** The request moved on from one provider to the next (or, when none could answer, to the fallback responder). */
  fellBack(fromProvider: string, toProvider: string, code: ErrorCode): void {
    this.fallbacks.inc({ from_provider: fromProvider, to_provider: toProvider, reason: reasonOf(code) });
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
