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
 * 3. Whole routed requests against a real HTTP upstream (bench/gateway/upstream.ts, a child process):
 *    the same non-streaming chat through Router.run (every stage: breaker, key pool, limits, budget,
 *    the one timeout, accounting with usage rows in SQLite) and through the adapter called directly, in alternating blocks of
 *    one run — wall time and this process's CPU time per request, and their ratio. Also routed with OpenTelemetry
 *    traces exported (OTLP/HTTP JSON to a receiver in its own process, bench/gateway/collector.ts), as
 *    OTEL_EXPORTER_OTLP_ENDPOINT turns on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DEFAULT_BODY_LIMITS, DEFAULT_BUSY_POLL_MS, failoverOf } from '../electron/engine/config/normalize.ts';
import { STRATEGIES, type StrategyName } from '../electron/engine/config/schema.ts';
import type { EngineConfig, EngineProvider } from '../electron/engine/config/types.ts';
import type { ChatRequest, ChatStreamEvent } from '../electron/engine/contract/chat.ts';
import { startTracing } from '../electron/engine/operations/tracing.ts';
import { createAdapter } from '../electron/engine/providers/create-adapter.ts';
import type { ProviderAdapter } from '../electron/engine/providers/types.ts';
import { ManualClock } from '../electron/engine/routing/clock.ts';
import { chatOperation } from '../electron/engine/routing/operations.ts';
import { Router } from '../electron/engine/routing/router.ts';
import { MemoryState } from '../electron/engine/routing/state.ts';
import type { Operation, RoutingRequest } from '../electron/engine/routing/types.ts';
import { openStore } from '../electron/engine/store/store.ts';
import { startChild, UPSTREAM_KEY } from './gateway/processes.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function arg(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}
const DECISIONS = arg('decisions', 200_000);
const MEMORY_RUNS = arg('memory', 1_000_000);
const WHOLE_BLOCKS = arg('blocks', 10);
const WHOLE_BLOCK = 500;
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
    fallbackResponder: true,
    strategy,
    providers: providers(),
    profiles: { default: { name: 'default', fallbackProviders: [] } },
    budgets: { global: { monthly: 1e9 }, providers: {}, alertThreshold: 0.8, hardStop: 'off' },
    sticky: { rotationWindowMs: 3_600_000 },
    local: { enabled: false, priority: 0, quantization: '4bit', device: 'cpu', idleUnloadMs: 0 },
    state: {},
    bodyLimits: DEFAULT_BODY_LIMITS,
    busyPollMs: DEFAULT_BUSY_POLL_MS,
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

interface Cost {
  wallUs: number;
  cpuUs: number;
}

async function timeBlock(run: () => Promise<void>): Promise<Cost> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < WHOLE_BLOCK; i++) await run();
  const { user, system } = process.cpuUsage(cpu);
  return { wallUs: ((performance.now() - start) * 1000) / WHOLE_BLOCK, cpuUs: (user + system) / WHOLE_BLOCK };
}

async function benchWholeRequests(): Promise<void> {
  const upstream = await startChild('./upstream.ts');
  const collector = await startChild('./collector.ts');
  try {
    const provider: EngineProvider = {
      ...providers()[0]!,
      id: 'upstream',
      baseUrl: `${upstream.url}/v1`,
      keys: [UPSTREAM_KEY],
      models: ['bench-model'],
      defaultModel: 'bench-model',
      prices: { '*': { inputPerMTok: 0.1, outputPerMTok: 0.2 } },
    };
    const cfg: EngineConfig = { ...config('priority'), providers: [provider] };
    const adapter = createAdapter(provider);
    // Usage in memory, and in SQLite as in the app (each answered request reserves its row on disk, then
    // settles it in the next batch).
    const dir = mkdtempSync(join(tmpdir(), 'sb-bench-routing-'));
    const store = openStore({ file: join(dir, 'switchboard.db') });
    const adapters = new Map([[provider.id, adapter]]);
    const inMemory = new Router(cfg, adapters);
    const onDisk = new Router(cfg, adapters, { sink: store.usage });
    const tracing = (await startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url }))!;
    const traced = new Router(cfg, adapters, { watchers: [tracing] });
    const signal = new AbortController().signal;
    const chat: ChatRequest = { messages: [{ role: 'user', content: 'Say hello' }], stream: false };
    const request: RoutingRequest = { capability: 'chat', estimatedInputTokens: 8, maxOutputTokens: 64 };
    const direct = async () => {
      for await (const _event of adapter.chat({ ...chat, model: 'bench-model' }, { signal, apiKey: UPSTREAM_KEY })) {
        // drained
      }
    };
    const through = (router: Router) => async () => {
      for await (const _event of router.run(request, chatOperation(chat), signal)) {
        // drained
      }
    };
    const paths = {
      direct,
      'routed, usage in memory': through(inMemory),
      'routed, usage in SQLite': through(onDisk),
      'routed, usage in memory, traces exported': through(traced),
    };
    type Path = keyof typeof paths;
    const blocks = new Map<Path, Cost[]>(Object.keys(paths).map((path) => [path as Path, []]));
    for (const run of Object.values(paths)) await timeBlock(run);
    for (let i = 0; i < WHOLE_BLOCKS; i++) {
      for (const [path, run] of Object.entries(paths)) blocks.get(path as Path)!.push(await timeBlock(run));
    }
    inMemory.close();
    onDisk.close();
    traced.close();
    await tracing.shutdown();
    store.close();
    rmSync(dir, { recursive: true, force: true });
    const median = (costs: Cost[], field: keyof Cost) => {
      const sorted = costs.map((c) => c[field]).sort((a, b) => a - b);
      return sorted[Math.floor(sorted.length / 2)]!;
    };
    console.log(
      `\nWhole non-streaming requests to a local HTTP upstream, ${WHOLE_BLOCKS} alternating blocks of ${WHOLE_BLOCK} (medians of the blocks):`,
    );
    console.log('| path | wall µs/request | CPU µs/request (this process) | wall vs direct | CPU vs direct |');
    console.log('|---|---|---|---|---|');
    const base = blocks.get('direct')!;
    for (const [path, costs] of blocks) {
      const wall = median(costs, 'wallUs');
      const cpu = median(costs, 'cpuUs');
      console.log(
        `| ${path} | ${wall.toFixed(1)} | ${cpu.toFixed(1)} | ${(wall / median(base, 'wallUs')).toFixed(2)}× | ${(cpu / median(base, 'cpuUs')).toFixed(2)}× |`,
      );
    }
    const received = await new Promise<string>((resolve) => {
      let out = '';
      collector.process.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const counts = /RECEIVED (\d+) (\d+)/.exec(out);
        if (counts) resolve(`${counts[1]} request spans and ${counts[2]} attempt spans`);
      });
      collector.stop();
    });
    console.log(`  the receiver got ${received} for ${(WHOLE_BLOCKS + 1) * WHOLE_BLOCK} traced requests`);
  } finally {
    upstream.process.kill('SIGKILL');
    collector.process.kill('SIGKILL');
  }
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
await benchWholeRequests();
