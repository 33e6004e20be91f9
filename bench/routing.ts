/**
 * Routing decision speed and memory: `npx node bench/routing.ts [--decisions N] [--memory N]`.
 *
 * 1. For every strategy, with 20 providers: the time of one routing decision (Router.decide:
 *    profile and candidate resolution, availability from breakers/keys/health, the strategy's order),
 *    median and p99 over N decisions after a warm-up.
 * 2. Memory: 1,000,000 routed requests through Router.run — every strategy in turn, a new
 *    user id each time (the worst case for the sticky cache), usage accounting, breakers, latency
 *    averages, limiter windows and metrics all updated — with an operation that answers at once, so
 *    the router's own cost is all that is measured. Heap before, after, and after GC.
 */
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { failoverOf } from '../electron/engine/config/normalize.ts';
import { STRATEGIES, type StrategyName } from '../electron/engine/config/schema.ts';
import type { EngineConfig, EngineProvider } from '../electron/engine/config/types.ts';
import type { ChatStreamEvent } from '../electron/engine/contract/chat.ts';
import type { ProviderAdapter } from '../electron/engine/providers/types.ts';
import { ManualClock } from '../electron/engine/routing/clock.ts';
import { Router } from '../electron/engine/routing/router.ts';
import { MemoryState } from '../electron/engine/routing/state.ts';
import type { Operation, RoutingRequest } from '../electron/engine/routing/types.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function arg(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}
const DECISIONS = arg('decisions', 200_000);
const MEMORY_RUNS = arg('memory', 1_000_000);
const PROVIDERS = 20;
const STICKY_CAP = 20_000;

const VENDORS = ['openai', 'anthropic', 'gemini', 'groq', 'together', 'custom'] as const;
const MODELS: Record<(typeof VENDORS)[number], string> = {
  openai: 'gpt-4o-mini',
  anthropic: 'claude-3-5-haiku-latest',
  gemini: 'gemini-2.0-flash',
  groq: 'llama-3.1-8b-instant',
  together: 'meta-llama/Llama-3.3-70B-Instruct-Turbo',
  custom: 'house-model',
};

function providers(): EngineProvider[] {
  return Array.from({ length: PROVIDERS }, (_, i): EngineProvider => {
    const vendor = VENDORS[i % VENDORS.length]!;
    return {
      id: `p${i}`,
      kind: 'openai-compatible',
      vendor,
      label: `Provider ${i}`,
      baseUrl: 'http://127.0.0.1:9/v1',
      keys: [`sk-bench-key-${i}-a-000000`, `sk-bench-key-${i}-b-000000`],
      models: [MODELS[vendor]],
      defaultModel: MODELS[vendor],
      capabilities: ['chat', 'text_generation'],
      priority: 10 + i,
      weight: 1 + (i % 5),
      enabled: true,
      limits: { rpm: 100_000, tpm: 100_000_000, onLimit: 'skip', maxQueueMs: 0 },
      retry: { attempts: 2, backoffFactor: 0.5 },
      timeoutMs: 60_000,
      firstTokenTimeoutMs: 30_000,
      prices: vendor === 'custom' ? { '*': { inputPerMTok: 0.1, outputPerMTok: 0.2 } } : {},
      headers: {},
      contextWindows: {},
      healthCheckIntervalMs: 0,
      onMachine: false,
      source: 'bench',
      failover: failoverOf(),
    };
  });
}

function config(strategy: StrategyName): EngineConfig {
  return {
    cloudFallback: true,
    meetingsCloud: false,
    localOnly: false,
    fallbackEnabled: true,
    strategy,
    providers: providers(),
    profiles: { default: { name: 'default', fallbackProviders: [] } },
    budgets: { global: { monthly: 1e9 }, providers: {}, alertThreshold: 0.8, hardStop: 'off' },
    sticky: { rotationWindowMs: 3_600_000 },
    local: { enabled: false, priority: 0, quantization: '4bit', device: 'cpu', idleUnloadMs: 0 },
    state: {},
  };
}

/** Adapters that are never called by plan(); run() goes through `instantOperation` instead. */
function adapters(cfg: EngineConfig): Map<string, ProviderAdapter> {
  return new Map(
    cfg.providers.map((p) => [
      p.id,
      {
        config: p,
        chat: () => {
          throw new Error('not called');
        },
        listModels: async () => [],
      },
    ]),
  );
}

const FINISH: ChatStreamEvent = {
  type: 'finish',
  reason: 'stop',
  usage: { inputTokens: 40, outputTokens: 12, estimated: false },
};
const TEXT: ChatStreamEvent = { type: 'text', text: 'ok' };
const instantOperation: Operation<ChatStreamEvent> = {
  kind: 'chat',
  async *invoke() {
    yield TEXT;
    yield FINISH;
  },
  usageOf: (event) => (event.type === 'finish' ? event.usage : undefined),
};

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

function benchDecisions(strategy: StrategyName): { median: number; p99: number; mean: number } {
  const cfg = config(strategy);
  const router = new Router(cfg, adapters(cfg), { clock: new ManualClock() });
  const requests: RoutingRequest[] = Array.from({ length: 1024 }, (_, i) => ({
    capability: 'chat',
    estimatedInputTokens: 200 + (i % 50),
    maxOutputTokens: 256,
    userId: `user-${i}`,
  }));
  // With the in-memory state a decision is synchronous: decide() returns the plan itself.
  for (let i = 0; i < 20_000; i++) router.decide(requests[i & 1023]!);
  const times = new Float64Array(DECISIONS);
  for (let i = 0; i < DECISIONS; i++) {
    const request = requests[i & 1023]!;
    const start = performance.now();
    router.decide(request);
    times[i] = (performance.now() - start) * 1000;
  }
  router.close();
  const total = times.reduce((a, b) => a + b, 0);
  times.sort();
  return { median: percentile(times, 0.5), p99: percentile(times, 0.99), mean: total / DECISIONS };
}

async function benchMemory(): Promise<void> {
  const clock = new ManualClock();
  // The sticky cache capped at 20,000 users (default 100,000) so the run passes the cap and shows
  // the plateau; every other cache is at its default.
  const routers = STRATEGIES.map((strategy) => {
    const cfg = config(strategy);
    return new Router(cfg, adapters(cfg), { clock, state: new MemoryState(clock, { sticky: STICKY_CAP }) });
  });
  const signal = new AbortController().signal;
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  gc();
  const before = process.memoryUsage().heapUsed;
  const started = performance.now();
  const checkpoints: string[] = [];
  for (let i = 0; i < MEMORY_RUNS; i++) {
    const router = routers[i % routers.length]!;
    const request: RoutingRequest = {
      capability: 'chat',
      estimatedInputTokens: 40,
      maxOutputTokens: 64,
      userId: `user-${i}`,
    };
    for await (const _event of router.run(request, instantOperation, signal)) {
      // drained: the router books usage when the stream ends
    }
    // Simulated time: a day of traffic passes over the run (rate-limit windows, day buckets roll).
    if (i % 1_000 === 999) await clock.advance(86_400);
    if ((i + 1) % (MEMORY_RUNS / 10) === 0) {
      gc();
      checkpoints.push(`${(i + 1).toLocaleString('en')}: ${mb(process.memoryUsage().heapUsed)}`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const afterNoGc = process.memoryUsage().heapUsed;
  gc();
  const after = process.memoryUsage().heapUsed;
  const sticky = routers.find((_, i) => STRATEGIES[i] === 'sticky')!;
  console.log(
    `\nMemory over ${MEMORY_RUNS.toLocaleString('en')} routed requests (${STRATEGIES.length} routers, one per strategy):`,
  );
  console.log(
    `  heap before ${mb(before)}; after ${mb(afterNoGc)} (before GC), ${mb(after)} after GC; growth ${mb(after - before)}`,
  );
  console.log(`  heap after GC at each tenth: ${checkpoints.join(' | ')}`);
  console.log(
    `  sticky cache: ${sticky.sticky.statistics().cache_size.toLocaleString('en')} users (cap ${STICKY_CAP.toLocaleString('en')}), state sizes of one router: ${['breaker', 'limiter', 'keys', 'sticky', 'balance', 'latency', 'usage'].map((s) => `${s} ${sticky.state.size(s as never)}`).join(', ')}`,
  );
  console.log(
    `  throughput: ${Math.round(MEMORY_RUNS / seconds).toLocaleString('en')} routed requests/s (${((seconds * 1e6) / MEMORY_RUNS).toFixed(1)} µs each, accounting included)`,
  );
  for (const router of routers) router.close();
}

console.log(
  `Routing decision (Router.decide) with ${PROVIDERS} providers, ${DECISIONS.toLocaleString('en')} decisions each, Node ${process.version}`,
);
console.log('| strategy | median µs | p99 µs | mean µs |');
console.log('|---|---|---|---|');
for (const strategy of STRATEGIES) {
  const { median, p99, mean } = benchDecisions(strategy);
  console.log(`| ${strategy} | ${median.toFixed(2)} | ${p99.toFixed(2)} | ${mean.toFixed(2)} |`);
}
await benchMemory();
