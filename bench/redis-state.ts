/**
 * What shared state costs a request:
 *   npx node bench/redis-state.ts [--requests N] [--rounds N] [--providers N] [--gap-ms N] [--also <label>=<checkout>]…
 *
 * The same routed request — through Router.run with every stage that touches state (an RPM and TPM
 * window admission, a concurrency slot, a daily budget under a hard stop, the round-robin turn, the
 * breaker, usage totals), answered at once by an operation that does no I/O — timed one request at a
 * time on routers on the in-process MemoryState and on RedisState against a real redis-server on
 * loopback (Debian's, started here on a free port, nothing persisted). `--also` adds a RedisState and
 * Router loaded from another checkout (its own modules, its own namespace on the same Redis): before
 * and after side by side in one run. Rounds rotate which goes first; the added latency is a Redis
 * state's median minus memory's, per round, and its median over rounds. Results go to bench/RESULTS.md.
 *
 * The limits are far above what a lease needs (core/state.ts, LEASE_SHARE), so back to back most
 * requests are admitted from a lease; `--gap-ms` spaces the timed requests (a gap longer than a
 * lease's 200 ms life shows a request that finds none, as one a second under RPM 60 does).
 */
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { EngineConfig } from '../electron/engine/config/types.ts';
import type { ChatStreamEvent } from '../electron/engine/contract/chat.ts';
import type { RoutingState } from '../electron/engine/core/state.ts';
import type { ProviderAdapter } from '../electron/engine/providers/types.ts';
import type { Router } from '../electron/engine/routing/router.ts';
import type { Operation, RoutingRequest } from '../electron/engine/routing/types.ts';
import { startRedis } from '../test/support/redis.ts';
import { writeResultsSection } from './results.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '5' },
    /** Providers taking turns (round robin); with one, every request updates the same rate windows. */
    providers: { type: 'string', default: '2' },
    /** A pause before each timed request (not timed). */
    'gap-ms': { type: 'string', default: '0' },
    also: { type: 'string', multiple: true, default: [] },
    /** What this run measures: the heading of its subsection in bench/RESULTS.md, under the date. */
    label: { type: 'string', default: 'a run' },
  },
});
const RUN_LABEL = values.label;
const REQUESTS = Number(values.requests);
const ROUNDS = Number(values.rounds);
const PROVIDERS = Number(values.providers);
const GAP_MS = Number(values['gap-ms']);

/** The modules a variant runs on: this checkout's, or another's (`--also`). */
async function modulesOf(checkout: string) {
  const load = <T>(file: string): Promise<T> => import(pathToFileURL(resolve(checkout, file)).href) as Promise<T>;
  return {
    config: await load<typeof import('../electron/engine/config/load.ts')>('electron/engine/config/load.ts'),
    clock: await load<typeof import('../electron/engine/routing/clock.ts')>('electron/engine/routing/clock.ts'),
    redisState: await load<typeof import('../electron/engine/routing/redis-state.ts')>(
      'electron/engine/routing/redis-state.ts',
    ),
    router: await load<typeof import('../electron/engine/routing/router.ts')>('electron/engine/routing/router.ts'),
    state: await load<typeof import('../electron/engine/routing/state.ts')>('electron/engine/routing/state.ts'),
  };
}
type Modules = Awaited<ReturnType<typeof modulesOf>>;

function benchConfig(modules: Modules): EngineConfig {
  return modules.config.loadConfig({
    env: {},
    overrides: {
      local: { enabled: false },
      strategy: 'round_robin',
      providers: Object.fromEntries(
        Array.from({ length: PROVIDERS }, (_, i) => String.fromCharCode(97 + i)).map((id) => [
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
}

function adaptersFor(config: EngineConfig): Map<string, ProviderAdapter> {
  return new Map<string, ProviderAdapter>(
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
}
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

async function timeRequests(router: Router, count: number, gapMs = 0): Promise<Float64Array> {
  const times = new Float64Array(count);
  const signal = new AbortController().signal;
  for (let i = 0; i < count; i++) {
    if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
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

const loadAtStart = loadavg()[0]!;
const redis = await startRedis();
const here = await modulesOf(resolve(import.meta.dirname, '..'));

interface Variant {
  label: string;
  router: Router;
  state: RoutingState;
}

async function redisVariant(label: string, modules: Modules, namespace: string): Promise<Variant> {
  const state = await modules.redisState.RedisState.connect({ url: redis.url, namespace });
  if (!state.status().shared) throw new Error(`${label}: Redis did not connect: ${state.status().message}`);
  const config = benchConfig(modules);
  return { label, state, router: new modules.router.Router(config, adaptersFor(config), { state }) };
}

const memoryState = new here.state.MemoryState(here.clock.systemClock);
const hereConfig = benchConfig(here);
const memory: Variant = {
  label: 'memory',
  state: memoryState,
  router: new here.router.Router(hereConfig, adaptersFor(hereConfig), { state: memoryState }),
};
const shared: Variant[] = [await redisVariant('Redis', here, 'bench')];
for (const [index, also] of values.also.entries()) {
  const [label, checkout] = also.split('=');
  if (!label || !checkout) throw new Error(`--also wants <label>=<checkout>, not "${also}"`);
  shared.push(await redisVariant(`Redis, ${label}`, await modulesOf(resolve(checkout)), `bench-also${index}`));
}
const variants = [memory, ...shared];

/** What Redis has done so far: batch scripts run (each one round trip) and its own CPU seconds. */
async function redisCounters(client: Redis): Promise<{ scripts: number; cpuMs: number }> {
  const [stats, cpu] = await Promise.all([client.info('commandstats'), client.info('cpu')]);
  let scripts = 0;
  for (const match of stats.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) scripts += Number(match[1]);
  const seconds = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? 0);
  return { scripts, cpuMs: (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1000 };
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

interface Measured {
  p50: number;
  p99: number;
  /** This process's CPU per request, ms. */
  cpu: number;
  /** Redis's CPU per request, ms (Redis variants). */
  redisCpu?: number;
  scripts?: number;
}

const rows: string[] = [];
const perRound: Map<string, Measured>[] = [];
const pings: number[] = [];
const admin = new Redis(redis.url);
try {
  // Warm-up: JIT, connections, scripts loaded into Redis.
  for (const variant of variants) await timeRequests(variant.router, 300);
  for (let round = 1; round <= ROUNDS; round++) {
    const shift = (round - 1) % variants.length;
    const order = [...variants.slice(shift), ...variants.slice(0, shift)];
    const measured = new Map<string, Measured>();
    for (const variant of order) {
      const before = await redisCounters(admin);
      const cpuBefore = process.cpuUsage();
      const times = await timeRequests(variant.router, REQUESTS, GAP_MS);
      const used = process.cpuUsage(cpuBefore);
      const result: Measured = {
        p50: median(times),
        p99: p99(times),
        cpu: (used.user + used.system) / 1000 / REQUESTS,
      };
      if (variant !== memory) {
        // Writes that need no answer go with the next batch: let the last request's settle in first.
        await new Promise((resolve) => setTimeout(resolve, 20));
        const after = await redisCounters(admin);
        result.scripts = (after.scripts - before.scripts) / REQUESTS;
        result.redisCpu = (after.cpuMs - before.cpuMs) / REQUESTS;
      }
      measured.set(variant.label, result);
    }
    perRound.push(measured);
    pings.push(await pingMedian(REQUESTS));
    const base = measured.get('memory')!;
    for (const variant of variants) {
      const m = measured.get(variant.label)!;
      const redisOnly =
        variant === memory
          ? ['—', '—', '—', '—']
          : [ms(m.p50 - base.p50), `${(m.p50 / base.p50).toFixed(1)}×`, ms(m.redisCpu!), m.scripts!.toFixed(3)];
      rows.push(
        `| ${round} | ${variant.label} | ${ms(m.p50)} | ${ms(m.p99)} | ${redisOnly[0]} | ${redisOnly[1]} | ${ms(m.cpu)} | ${redisOnly[2]} | ${redisOnly[3]} |`,
      );
      process.stdout.write(`${rows.at(-1)}\n`);
    }
  }
} finally {
  admin.disconnect();
  for (const variant of variants) variant.router.close();
  for (const variant of shared) await variant.state.close();
  await redis.close();
}
const loadAtEnd = loadavg()[0]!;

const middle = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
const over = (label: string, pick: (m: Measured, base: Measured) => number) =>
  middle(perRound.map((round) => pick(round.get(label)!, round.get('memory')!)));
const pingTypical = middle(pings);
const summary = shared.map((variant) => {
  const added = over(variant.label, (m, base) => m.p50 - base.p50);
  return `- ${variant.label}: added latency at p50, median over the rounds, **${ms(added)}** (goal ≤ 0.3 ms), ${over(variant.label, (m, base) => m.p50 / base.p50).toFixed(1)}× memory's p50; this process's CPU ${ms(over(variant.label, (m) => m.cpu))} per request (memory: ${ms(over('memory', (m) => m.cpu))}), Redis's ${ms(over(variant.label, (m) => m.redisCpu!))}; ${over(variant.label, (m) => m.scripts!).toFixed(3)} scripts per request; about ${(added / pingTypical).toFixed(1)} PINGs.`;
});
const versus = shared.slice(1).map((other) => {
  const ratio = (pick: (m: Measured) => number) =>
    middle(perRound.map((round) => pick(round.get(other.label)!) / pick(round.get('Redis')!))).toFixed(2);
  return `- ${other.label} ÷ Redis (this checkout), per round then the median: p50 ${ratio((m) => m.p50)}×, this process's CPU ${ratio((m) => m.cpu)}×, Redis's CPU ${ratio((m) => m.redisCpu!)}×.`;
});
const alsoArgs = values.also.map((also) => ` --also ${also.split('=')[0]}=<checkout>`).join('');
const section = `## Shared state on Redis: added latency per request

\`npx node bench/redis-state.ts --requests ${REQUESTS} --rounds ${ROUNDS} --providers ${PROVIDERS}${GAP_MS > 0 ? ` --gap-ms ${GAP_MS}` : ''}${alsoArgs}\` — one routed request at a time through
Router.run on the in-process state and on RedisState (a real redis-server on 127.0.0.1), with every stage
that touches state at work: RPM/TPM window admission, a concurrency slot, a daily budget under a hard stop
(checked and held in one atomic step), the round-robin turn and the key rotation, the breaker, the latency
averages and the usage totals; the answer itself costs nothing, so the difference is the state's. CPU is
this process's user+system time per request; Redis's CPU is the server's own (INFO cpu) per request;
scripts per request are the batch scripts Redis ran (INFO commandstats), each one round trip. Rows labelled
"Redis, <label>" run RedisState and Router from another checkout (\`--also\`), in the same rounds. The
limits (RPM 10⁹, TPM 10¹², 1,000 in flight, $10⁹ a day) are far from the lease threshold (16 requests'
worth left): back to back, most requests are admitted from a lease (core/state.ts, LEASE_SHARE).

### ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC: ${RUN_LABEL}

Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, load average ${loadAtStart.toFixed(1)} at the start and ${loadAtEnd.toFixed(1)} at the end, Node ${process.version},
redis-server from Debian on loopback (one PING ${ms(pingTypical)} at p50). Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.

| round | state | p50 | p99 | added at p50 | ÷ memory, p50 | CPU per request | Redis CPU per request | scripts per request |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

${[...summary, ...versus].join('\n')}
`;
await writeResultsSection('Shared state on Redis: added latency per request', section);
process.stdout.write(`${[...summary, ...versus].join('\n')}\n`);
