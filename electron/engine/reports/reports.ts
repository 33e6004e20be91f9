import type { BudgetStatus } from '../accounting/budget.ts';
import type { CostReport, ReportDimension, UsageStatistics } from '../accounting/ledger.ts';
import type { TokenPrice } from '../accounting/prices.ts';
import { countMessageTokens } from '../accounting/tokens.ts';
import type { SeriesBucket } from '../accounting/usage-log.ts';
import type { StrategyName } from '../config/schema.ts';
import type { EngineProvider } from '../config/types.ts';
import type { UsagePoint, UsageView } from '../contract/api.ts';
import type { Capability } from '../contract/capabilities.ts';
import type { ChatRequest, ChatStreamEvent } from '../contract/chat.ts';
import { toSwitchboardError } from '../contract/errors.ts';
import { collectChat } from '../providers/collect.ts';
import { type BreakerState, type BreakerView, breakerKey } from '../routing/breaker.ts';
import type { ProviderHealth } from '../routing/health.ts';
import type { KeyView } from '../routing/keys.ts';
import { latencyKey } from '../routing/latency.ts';
import type { Router } from '../routing/router.ts';
import type { StickyStatistics } from '../routing/sticky.ts';
import { capabilityScore } from '../routing/strategies.ts';
import type { RoutedChatEvent } from '../routing/types.ts';
import { isUsable } from '../routing/usable.ts';

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

/** How reports ask for an answer: through the Engine's front door, as any caller does. */
export type ChatRunner = (
  request: ChatRequest,
  options: { providerId: string; signal?: AbortSignal },
) => AsyncIterable<RoutedChatEvent>;

/** How far back the usage pane looks when it does not say. */
const DEFAULT_SPAN_MS = { hour: 2 * 86_400_000, day: 30 * 86_400_000 } as const;

const BREAKER_RANK: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

/**
 * What the provider manager reports: statistics, spending, budgets, health as last seen, price
 * comparisons and side-by-side answers. Reports read the routing state; they decide nothing, and the
 * requests they make (comparisons, batches) go through the Engine like any other.
 */
export class Reports {
  private readonly router: Router;
  private readonly chat: ChatRunner;

  constructor(router: Router, chat: ChatRunner) {
    this.router = router;
    this.chat = chat;
  }

  stats(): RoutingStats {
    const router = this.router;
    const report = new Map(this.costReport('provider').rows.map((row) => [row.key, row]));
    const breakers = router.breakers.views();
    return {
      strategy: router.config.strategy,
      providers: router.config.providers.map((provider) => {
        const row = report.get(provider.id);
        const states = breakers.filter((b) => b.providerId === provider.id).map((b) => b.state);
        const latency = provider.defaultModel
          ? router.latency.get(latencyKey(provider.id, provider.defaultModel))
          : undefined;
        return {
          providerId: provider.id,
          label: provider.label,
          health: router.monitor.statusOf(provider.id),
          breaker: states.reduce<BreakerState>(
            (worst, s) => (BREAKER_RANK[s] > BREAKER_RANK[worst] ? s : worst),
            'closed',
          ),
          inFlight: router.limiter.inFlight(provider.id),
          requests: row?.requests ?? 0,
          errors: row?.errors ?? 0,
          costUsd: row?.costUsd ?? 0,
          avgLatencyMs: row?.avgLatencyMs ?? 0,
          successRate: router.latency.successRate(provider.id),
          ttftMs: latency ? Math.round(latency.ttftMs) : undefined,
          tokensPerSecond: latency?.tokensPerSecond ? Math.round(latency.tokensPerSecond) : undefined,
          keys: router.keyPools.views(provider),
        };
      }),
      usage: router.ledger.statistics(),
      sticky: router.sticky.statistics(),
    };
  }

  /** Health as last seen (scheduled checks and requests), without calling anyone. */
  health(): ProviderHealth[] {
    return this.router.monitor.all();
  }

  breakers(): BreakerView[] {
    return this.router.breakers.views();
  }

  /**
   * Spending and requests by provider, model or day. From the usage on record where there is a store
   * (every process's requests), else from what this process routed.
   */
  costReport(by: ReportDimension = 'provider', options: { sinceMs?: number; session?: boolean } = {}): CostReport {
    const { sink, ledger } = this.router;
    if (sink.costReport && !options.session) return sink.costReport(by, options.sinceMs ?? 0);
    return ledger.report(by);
  }

  usageStatistics(): UsageStatistics {
    return this.router.ledger.statistics();
  }

  budgetStatus(): BudgetStatus[] {
    return this.router.budgets.status();
  }

  metricsText(): Promise<string> {
    return this.router.metrics.text();
  }

  get metricsContentType(): string {
    return this.router.metrics.contentType;
  }

  /** Providers that could answer a capability now, by priority. */
  private usableProviders(capability: Capability): EngineProvider[] {
    const { config, adapters } = this.router;
    return config.providers
      .filter((p) => isUsable(config, p, adapters, capability))
      .sort((a, b) => a.priority - b.priority);
  }

  /** Estimated cost of a request on each provider that can answer it, cheapest first (unknown prices last). */
  compareProviders(request: CompareRequest): { quotes: ProviderQuote[]; cheapest?: ProviderQuote } {
    const { prices, knownModels, strategySettings } = this.router;
    const capability = request.capability ?? 'chat';
    const input = request.estimatedInputTokens ?? (request.messages ? countMessageTokens(request.messages) : 0);
    const output = request.maxOutputTokens ?? strategySettings.expectedOutputTokens;
    const quotes = this.usableProviders(capability).map((provider): ProviderQuote => {
      const model =
        request.model && (provider.models.includes(request.model) || knownModels.get(provider.id)?.has(request.model))
          ? request.model
          : (provider.defaultModel ?? '');
      return {
        providerId: provider.id,
        label: provider.label,
        model,
        price: prices.price(provider, model),
        estimatedCostUsd: prices.estimate(provider, model, input, output),
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
      for (const model of this.router.modelsOf(provider.id)) {
        const price = this.router.prices.price(provider, model);
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
    const router = this.router;
    const providers = this.usableProviders(capability).filter(
      (p) =>
        router.monitor.statusOf(p.id) !== 'down' &&
        router.keyPools.anyUsable(p) &&
        router.breakers.isAvailable(breakerKey(p.id, p.defaultModel ?? '')),
    );
    const signals = { successRate: (providerId: string) => router.latency.successRate(providerId) };
    let best: EngineProvider | undefined;
    let bestScore = Number.POSITIVE_INFINITY;
    providers.forEach((provider, index) => {
      const adapter = router.adapters.get(provider.id)!;
      const score = capabilityScore({ provider, adapter, model: provider.defaultModel ?? '' }, index, signals);
      if (score < bestScore) {
        best = provider;
        bestScore = score;
      }
    });
    return best;
  }

  /** Runs one chat routed to a given provider and collects it (for comparisons and batches). */
  private async ask(prompt: string, providerId: string, signal?: AbortSignal): Promise<ComparedResponse> {
    const { clock, config, prices } = this.router;
    const started = clock.now();
    let route: { providerId: string; model: string } | undefined;
    const events = this.chat({ messages: [{ role: 'user', content: prompt }] }, { providerId, signal });
    try {
      const answer = await collectChat(
        (async function* (): AsyncIterable<ChatStreamEvent> {
          for await (const event of events) {
            if (event.type === 'route') route = event.route;
            else yield event;
          }
        })(),
      );
      const provider = config.providers.find((p) => p.id === providerId)!;
      const model = route?.model || answer.model;
      return {
        providerId,
        model,
        text: answer.text,
        latencyMs: clock.now() - started,
        inputTokens: answer.usage.inputTokens,
        outputTokens: answer.usage.outputTokens,
        costUsd: prices.cost(provider, model, answer.usage.inputTokens, answer.usage.outputTokens),
      };
    } catch (error) {
      return {
        providerId,
        model: route?.model ?? '',
        latencyMs: clock.now() - started,
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
    options: { concurrency?: number; signal?: AbortSignal; onAnswer?: (index: number) => void } = {},
  ): Promise<ComparedResponse[]> {
    const results: ComparedResponse[] = new Array(prompts.length);
    let next = 0;
    const worker = async () => {
      while (next < prompts.length) {
        const index = next++;
        results[index] = await this.ask(prompts[index]!, providerId, options.signal);
        options.onAnswer?.(index);
      }
    };
    const workers = Math.max(1, Math.min(options.concurrency ?? 4, prompts.length));
    await Promise.all(Array.from({ length: workers }, worker));
    return results;
  }

  /**
   * The usage pane's view: series from the usage history, totals, shares, spend per app key and budgets,
   * since `sinceMs` (default: two days of hours, or thirty days). `nameOfKey` names an app key's row.
   */
  usageView(
    sinceMs: number | undefined,
    bucket: SeriesBucket,
    nameOfKey: (keyId: string) => string = (keyId) => keyId,
  ): UsageView {
    const { sink, ledger, clock } = this.router;
    sinceMs ??= clock.now() - DEFAULT_SPAN_MS[bucket];
    const series: UsagePoint[] = sink.series?.(sinceMs, bucket) ?? [];
    const totals = { requests: 0, errors: 0, costUsd: 0, inputTokens: 0, outputTokens: 0 };
    const byProvider = new Map<string, { requests: number; costUsd: number }>();
    if (sink.series) {
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
      for (const row of ledger.report('provider').rows) {
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
      byKey: this.costReport('key', { sinceMs })
        .rows.map((row) => ({
          keyId: row.key,
          name: nameOfKey(row.key),
          requests: row.requests,
          errors: row.errors,
          costUsd: row.costUsd,
        }))
        .sort((a, b) => b.requests - a.requests || a.name.localeCompare(b.name)),
      budgets: this.budgetStatus().map((b) => ({
        scope: b.scope,
        period: b.period,
        limitUsd: b.limitUsd,
        spentUsd: b.spentUsd,
      })),
    };
  }
}
