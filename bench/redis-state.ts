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

/** Scripts Redis has run so far (every write of RedisState is one batch script: one round trip). */
async function scriptsRun(client: Redis): Promise<number> {
  const stats = await client.info('commandstats');
  let calls = 0;
  for (const match of stats.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) calls += Number(match[1]);
  return calls;
}

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
const ratios: number[] = [];
const scriptsPerRequest: number[] = [];
const admin = new Redis(redis.url);
try {
  // Warm-up: JIT, connections, scripts loaded into Redis.
  for (const router of Object.values(routers)) await timeRequests(router, 300);
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 === 0 ? (['redis', 'memory'] as const) : (['memory', 'redis'] as const);
    const result: Partial<Record<'memory' | 'redis', Float64Array>> = {};
    const cpu: Partial<Record<'memory' | 'redis', number>> = {};
    for (const name of order) {
      const before = name === 'redis' ? await scriptsRun(admin) : 0;
      const cpuBefore = process.cpuUsage();
      result[name] = await timeRequests(routers[name], REQUESTS);
      const used = process.cpuUsage(cpuBefore);
      cpu[name] = (used.user + used.system) / 1000 / REQUESTS;
      // Writes that need no answer go with the next batch: let the last request's settle in first.
      if (name === 'redis') {
        await new Promise((resolve) => setTimeout(resolve, 20));
        scriptsPerRequest.push((await scriptsRun(admin)) / REQUESTS - before / REQUESTS);
      }
    }
    const memory = result.memory!;
    const shared = result.redis!;
    added.push(median(shared) - median(memory));
    ratios.push(median(shared) / median(memory));
    pings.push(await pingMedian(REQUESTS));
    rows.push(
      `| ${round} | ${ms(median(memory))} | ${ms(p99(memory))} | ${ms(median(shared))} | ${ms(p99(shared))} | ${ms(median(shared) - median(memory))} | ${ratios.at(-1)!.toFixed(1)}× | ${ms(cpu.memory!)} | ${ms(cpu.redis!)} | ${scriptsPerRequest.at(-1)!.toFixed(2)} | ${ms(pings.at(-1)!)} |`,
    );
    process.stdout.write(`${rows.at(-1)}\n`);
  }
} finally {
  admin.disconnect();
  for (const router of Object.values(routers)) router.close();
  await states.redis.close();
  await redis.close();
}

const middle = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
const addedMedian = middle(added);
const pingTypical = middle(pings);
const ratioMedian = middle(ratios);
const scriptsMedian = middle(scriptsPerRequest);
const section = `## Shared state on Redis: added latency per request

\`npx node bench/redis-state.ts --requests ${REQUESTS} --rounds ${ROUNDS}\` — one routed request at a time through
Router.run on the in-process state and on RedisState (a real redis-server on 127.0.0.1), with every stage
that touches state at work: RPM/TPM window admission, a concurrency slot, a daily budget under a hard stop
(checked and held in one atomic step), the round-robin turn and the key rotation, the breaker, the latency
averages and the usage totals; the answer itself costs nothing, so the difference is the state's. CPU is
this process's user+system time per request (Redis's own is not in it); scripts per request are the batch
scripts Redis ran (INFO commandstats), each one round trip.

Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores (load average ${loadavg()[0]!.toFixed(1)} when the run ended), Node ${process.version},
redis-server from Debian on loopback. Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.

| round | memory p50 | memory p99 | Redis p50 | Redis p99 | added at p50 | Redis ÷ memory, p50 | memory CPU | Redis CPU | scripts per request | one PING, p50 |
|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

- Added latency at p50, median over the rounds: **${ms(addedMedian)}** (goal ≤ 0.3 ms), Redis ÷ memory
  ${ratioMedian.toFixed(1)}× at p50; about ${(addedMedian / pingTypical).toFixed(1)} plain round trips to this Redis (a PING took
  ${ms(pingTypical)} at p50 in the same run); ${scriptsMedian.toFixed(2)} scripts per request.
- Round trips a request waits for: two — its admission (the concurrency slot and both windows, asked at
  once) and its budget hold (check and hold in one script). Every write goes into one batch script per turn
  of the event loop, in order, with one published message for all its changes; the writes that need no
  answer (settling: spend, releases, latency averages, usage totals, the breaker; balancing turns, answered
  from the local copy) travel with the next batch. Reads answer from the local copy kept current by those
  messages.
`;
await writeResultsSection('Shared state on Redis: added latency per request', section);
process.stdout.write(`added at p50 (median of rounds): ${ms(addedMedian)}\n`);
