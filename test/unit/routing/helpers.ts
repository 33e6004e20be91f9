import { afterEach } from 'vitest';
import { DEFAULT_BODY_LIMITS, DEFAULT_BUSY_POLL_MS, failoverOf } from '../../../electron/engine/config/normalize.ts';
import type { EngineConfig, EngineProvider, FailoverSettings } from '../../../electron/engine/config/types.ts';
import type { ChatStreamEvent } from '../../../electron/engine/contract/chat.ts';
import { type SwitchboardError, toSwitchboardError } from '../../../electron/engine/contract/errors.ts';
import { createAdapter } from '../../../electron/engine/providers/create-adapter.ts';
import type { ProviderAdapter } from '../../../electron/engine/providers/types.ts';
import { Reports } from '../../../electron/engine/reports/reports.ts';
import { chatOperation } from '../../../electron/engine/routing/operations.ts';
import { Router, type RouterOptions } from '../../../electron/engine/routing/router.ts';
import type { RoutedChatEvent, RouteInfo, RoutingRequest } from '../../../electron/engine/routing/types.ts';
import { type FakeServer, startFakeOpenAI } from '../../fakes/providers.ts';
import { providerConfig } from '../../support/provider-config.ts';

/** An OpenAI-compatible provider as config/normalize.ts would produce it, aimed at `url` (a fake's). */
export function provider(id: string, url: string, overrides: Partial<EngineProvider> = {}): EngineProvider {
  return {
    ...providerConfig({ kind: 'openai-compatible', vendor: 'custom', label: `Provider ${id}` }),
    id,
    baseUrl: `${url}/v1`,
    models: ['gpt-4o-mini'],
    defaultModel: 'gpt-4o-mini',
    capabilities: ['chat', 'text_generation', 'summarization'],
    priority: 10,
    retry: { attempts: 2, backoffFactor: 0.001 },
    timeoutMs: 10_000,
    vendor: 'custom',
    onMachine: false,
    source: 'test',
    failover: failoverOf(),
    ...overrides,
  };
}

/** The providers with these breaker settings (as a providers.yaml failover block gives them). */
export function withFailover(providers: EngineProvider[], settings: Partial<FailoverSettings>): EngineProvider[] {
  return providers.map((p) => ({ ...p, failover: { ...p.failover, ...settings } }));
}

export function engineConfig(providers: EngineProvider[], overrides: Partial<EngineConfig> = {}): EngineConfig {
  return {
    cloudFallback: true,
    meetingsCloud: false,
    localOnly: false,
    fallbackEnabled: true,
    fallbackResponder: true,
    strategy: 'fallback',
    providers,
    profiles: { default: { name: 'default', fallbackProviders: [] } },
    budgets: { global: {}, providers: {}, alertThreshold: 0.8, hardStop: 'off' },
    sticky: { rotationWindowMs: 3_600_000 },
    state: {},
    bodyLimits: DEFAULT_BODY_LIMITS,
    busyPollMs: DEFAULT_BUSY_POLL_MS,
    local: {
      enabled: false,
      priority: 0,
      quantization: '4bit',
      device: 'cpu',
      idleUnloadMs: 300_000,
    },
    ...overrides,
  };
}

export function adaptersFor(config: EngineConfig): Map<string, ProviderAdapter> {
  return new Map(config.providers.map((p) => [p.id, createAdapter(p)]));
}

/**
 * The fake servers and routers a test file starts, each closed after the test that started it: call once at
 * the top of the file.
 */
export function closedAfterEach() {
  const fakes: FakeServer[] = [];
  const routers: Router[] = [];
  afterEach(async () => {
    for (const r of routers.splice(0)) r.close();
    await Promise.all(fakes.splice(0).map((f) => f.close()));
  });
  /** A fake started some other way, closed all the same. */
  const track = <T extends FakeServer>(server: T): T => {
    fakes.push(server);
    return server;
  };
  return {
    /** A keyless OpenAI-compatible fake answering `text`. */
    fake: async (text: string, options: Parameters<typeof startFakeOpenAI>[0] = {}): Promise<FakeServer> =>
      track(await startFakeOpenAI({ apiKey: undefined, text, ...options })),
    track,
    /** A router over `config` with its providers' real adapters. */
    router: (config: EngineConfig, options: RouterOptions = {}): Router => {
      const router = new Router(config, adaptersFor(config), options);
      routers.push(router);
      return router;
    },
  };
}

/** The chat requests a fake received. */
export const chats = (server: FakeServer) => server.requests.filter((r) => r.path.endsWith('/chat/completions'));

export function chatRequest(text = 'Say hello.', extra: Partial<RoutingRequest> = {}): RoutingRequest {
  return { capability: 'chat', estimatedInputTokens: Math.ceil(text.length / 4) + 4, ...extra };
}

export interface ChatOutcome {
  text: string;
  route?: RouteInfo;
  error?: SwitchboardError;
  events: number;
}

/** Runs one chat through the router and collects what the caller saw. */
export async function chat(
  router: Router,
  prompt = 'Say hello.',
  extra: Partial<RoutingRequest> = {},
  signal: AbortSignal = new AbortController().signal,
): Promise<ChatOutcome> {
  const outcome: ChatOutcome = { text: '', events: 0 };
  try {
    for await (const event of router.run(
      chatRequest(prompt, extra),
      chatOperation({ messages: [{ role: 'user', content: prompt }] }),
      signal,
    )) {
      outcome.events++;
      if (event.type === 'route') outcome.route = event.route;
      else if ((event.data as ChatStreamEvent).type === 'text') outcome.text += (event.data as { text: string }).text;
    }
  } catch (error) {
    outcome.error = toSwitchboardError(error);
  }
  return outcome;
}

/** First-choice provider ids of `count` routing decisions. */
export async function firstChoices(
  router: Router,
  count: number,
  request: RoutingRequest = chatRequest(),
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const id = (await router.plan(request))[0]!.provider.id;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** The reports over a router, their chats routed by it as the Engine would. */
export function reportsOf(router: Router): Reports {
  return new Reports(router, (request, options) =>
    (async function* (): AsyncIterable<RoutedChatEvent> {
      for await (const event of router.run(
        { capability: 'chat', providerId: options.providerId, estimatedInputTokens: 10 },
        chatOperation(request),
        options.signal ?? new AbortController().signal,
      )) {
        yield event.type === 'route' ? event : event.data;
      }
    })(),
  );
}
