/**
 * What shared state costs a request: `npx node bench/redis-state.ts [--requests N] [--rounds N]`.
 *
 * The same routed request — through Router.run with every stage that touches state (an RPM and TPM
 * window admission, a concurrency slot, a daily budget under a hard stop, the round-robin turn, the
 * breaker, usage totals), answered at once by an operation that does no I/O — timed one request at a
 * time on two routers: one on the in-process MemoryState, one on RedisState against a real
 * redis-server on loopback (Debian's, started here on a free port, nothing persisted). Rounds alternate
 * which goes first; the added latency is Redis's median minus memory's, per round, and its median over
 * rounds. Results go to bench/RESULTS.md.
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { loadConfig } from '../electron/engine/config/load.ts';
import type { EngineConfig } from '../electron/engine/config/types.ts';
import type { ChatStreamEvent } from '../electron/engine/contract/chat.ts';
import type { ProviderAdapter } from '../electron/engine/providers/types.ts';
import { systemClock } from '../electron/engine/routing/clock.ts';
import { RedisState } from '../electron/engine/routing/redis-state.ts';
import { Router } from '../electron/engine/routing/router.ts';
import { MemoryState, type RoutingState } from '../electron/engine/routing/state.ts';
import type { Operation, RoutingRequest } from '../electron/engine/routing/types.ts';
import { startRedis } from '../test/support/redis.ts';
import { writeResultsSection } from './results.ts';

function arg(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}
const REQUESTS = arg('requests', 2_000);
const ROUNDS = arg('rounds', 5);

const config: EngineConfig = loadConfig({
  env: {},
  overrides: {
    local: { enabled: false },
    strategy: 'round_robin',
    providers: Object.fromEntries(
      ['a', 'b'].map((id) => [
        id,
        {
          type: 'custom',
          base_url: 'http://127.0.0.1:9/v1',
          api_key: `sk-bench-${id}-000000000000`,
          models: ['house-model'],
          prices: { 'house-model': { input: 0.1, output: 0.2 } },
          rate_limit: { requests_per_minute: 1e9, tokens_per_minute: 1e12, max_concurrency: 1_000 },
        },
      ]),
    ),
    budgets: { daily: 1e9, hard_stop: 'refuse' },
  },
});

const adapters = new Map<string, ProviderAdapter>(
  config.providers.map((provider) => [
    provider.id,
    {
      config: provider,
      chat: () => {
        throw new Error('not called: the bench answers through its own operation');
      },
      listModels: async () => [],
    },
  ]),
);

const answer: Operation<ChatStreamEvent> = {
  kind: 'chat',
  async *invoke() {
    yield { type: 'text', text: 'ok' };
    yield { type: 'finish', reason: 'stop', usage: { inputTokens: 40, outputTokens: 12, estimated: false } };
  },
  usageOf: (event) => (event.type === 'finish' ? event.usage : undefined),
};

const request: RoutingRequest = {
  capability: 'chat',
  model: 'house-model',
  estimatedInputTokens: 40,
  maxOutputTokens: 16,
};

async function timeRequests(router: Router, count: number): Promise<Float64Array> {
  const times = new Float64Array(count);
  const signal = new AbortController().signal;
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    for await (const _event of router.run(request, answer, signal)) {
      // drained: the request's whole path, as a caller sees it
    }
    times[i] = performance.now() - start;
  }
  return times.sort();
}

const median = (sorted: Float64Array) => sorted[Math.floor(sorted.length / 2)]!;
const p99 = (sorted: Float64Array) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;
const ms = (value: number) => `${value.toFixed(3)} ms`;

const redis = await startRedis();
const states: Record<'memory' | 'redis', RoutingState> = {
  memory: new MemoryState(systemClock),
  redis: await RedisState.connect({ url: redis.url, namespace: 'bench' }),
};
if (!states.redis.status().shared) throw new Error(`Redis did not connect: ${states.redis.status().message}`);
const routers = {
  memory: new Router(config, adapters, { state: states.memory }),
  redis: new Router(config, adapters, { state: states.redis }),
};

/** One plain round trip to this Redis (PING), the unit the added latency is made of. */
async function pingMedian(count: number): Promise<number> {
  const client = new Redis(redis.url);
  try {
    const times = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const start = performance.now();
      await client.ping();
      times[i] = performance.now() - start;
    }
    return median(times.sort());
  } finally {
    client.disconnect();
  }
}

const rows: string[] = [];
const added: number[] = [];
const pings: number[] = [];
try {
  // Warm-up: JIT, connections, scripts loaded into Redis.
  for (const router of Object.values(routers)) await timeRequests(router, 300);
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 === 0 ? (['redis', 'memory'] as const) : (['memory', 'redis'] as const);
    const result: Partial<Record<'memory' | 'redis', Float64Array>> = {};
    for (const name of order) result[name] = await timeRequests(routers[name], REQUESTS);
    const memory = result.memory!;
    const shared = result.redis!;
    added.push(median(shared) - median(memory));
    pings.push(await pingMedian(REQUESTS));
    rows.push(
      `| ${round} | ${ms(median(memory))} | ${ms(p99(memory))} | ${ms(median(shared))} | ${ms(p99(shared))} | ${ms(median(shared) - median(memory))} | ${ms(pings.at(-1)!)} |`,
    );
    process.stdout.write(`${rows.at(-1)}\n`);
  }
} finally {
  for (const router of Object.values(routers)) router.close();
  await states.redis.close();
  await redis.close();
}

const middle = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
const addedMedian = middle(added);
const pingTypical = middle(pings);
const section = `## Shared state on Redis: added latency per request

\`npx node bench/redis-state.ts --requests ${REQUESTS} --rounds ${ROUNDS}\` — one routed request at a time through
Router.run on the in-process state and on RedisState (a real redis-server on 127.0.0.1), with every stage
that touches state at work: RPM/TPM window admission (a compare-and-set script in Redis), a concurrency slot
(an increment), a daily budget under a hard stop (its spend read afresh from Redis), the round-robin turn, the
breaker and the usage totals; the answer itself costs nothing, so the difference is the state's.

Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores (load average ${loadavg()[0]!.toFixed(1)} when the run ended), Node ${process.version},
redis-server from Debian on loopback. Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.

| round | memory p50 | memory p99 | Redis p50 | Redis p99 | added at p50 | one PING, p50 |
|---|---|---|---|---|---|---|
${rows.join('\n')}

- Added latency at p50, median over the rounds: **${ms(addedMedian)}** (goal ≤ 0.3 ms), about
  ${(addedMedian / pingTypical).toFixed(1)} plain round trips to this Redis (a PING took ${ms(pingTypical)} at p50 in the same run).
- The awaited round trips per request are the window admissions, the slot, the round-robin turn and the
  budget read (pipelined); the other writes (usage totals, latency averages, releases) are sent without
  waiting, and reads answer from the local copy kept current by Redis's published changes.
`;
await writeResultsSection('Shared state on Redis: added latency per request', section);
process.stdout.write(`added at p50 (median of rounds): ${ms(addedMedian)}\n`);
