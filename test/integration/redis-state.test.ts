import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BudgetGuard, budgetPeriodKey, type Reservation } from '../../electron/engine/accounting/budget.ts';
import { UsageLedger } from '../../electron/engine/accounting/ledger.ts';
import type { UsageEvent } from '../../electron/engine/accounting/types.ts';
import type { BudgetConfig } from '../../electron/engine/config/types.ts';
import { type RoutingState, STATISTIC, TURN } from '../../electron/engine/core/state.ts';
import { CircuitBreakers } from '../../electron/engine/routing/breaker.ts';
import { ManualClock, systemClock } from '../../electron/engine/routing/clock.ts';
import { RedisState } from '../../electron/engine/routing/redis-state.ts';
import { Router } from '../../electron/engine/routing/router.ts';
import { MemoryState } from '../../electron/engine/routing/state.ts';
import { type FakeServer, startFakeOpenAI } from '../fakes/providers.ts';
import { connectPair, startRedis, type TestRedis } from '../support/redis.ts';
import { adaptersFor, chat, engineConfig, provider } from '../unit/routing/helpers.ts';

/** The routing state shared through a real Redis by two "instances" (two RedisState objects, two connections each). */

let redis: TestRedis;
const open: RedisState[] = [];
let namespace = 0;

const pair = () => connectPair(redis.url, `test${++namespace}`, open);

beforeAll(async () => {
  redis = await startRedis();
});
const fakes: FakeServer[] = [];
const routers: Router[] = [];
afterEach(async () => {
  for (const router of routers.splice(0)) router.close();
  await Promise.all(fakes.splice(0).map((fake) => fake.close()));
  await Promise.all(open.splice(0).map((state) => state.close()));
});
afterAll(async () => {
  await redis?.close();
});

function usageEvent(overrides: Partial<UsageEvent>): UsageEvent {
  return {
    id: `event-${Math.random()}`,
    time: Date.now(),
    kind: 'chat',
    providerId: 'groq',
    model: 'llama',
    profile: 'default',
    strategy: 'priority',
    inputTokens: 10,
    outputTokens: 5,
    tokensEstimated: false,
    costUsd: 0,
    latencyMs: 100,
    outcome: 'success',
    fallbackDepth: 0,
    ...overrides,
  };
}

describe('RedisState', () => {
  it('shares counters and records between instances, each change reaching the other', async () => {
    const [a, b] = await pair();
    expect(a.status()).toMatchObject({ backend: 'redis', shared: true });
    await a.incr('limiter', 'inflight:groq', 3);
    expect(await b.incr('limiter', 'inflight:groq', 2)).toBe(5);
    await b.set('sticky', 'alice', { providerId: 'groq', forced: true });
    await expect.poll(() => a.get('sticky', 'alice')).toEqual({ providerId: 'groq', forced: true });
    await a.delete('sticky', 'alice');
    await expect.poll(() => b.get('sticky', 'alice')).toBeUndefined();
  });

  it('carries any key through the packed batch and the published change: quotes, newlines, slashes, non-ASCII', async () => {
    const [a, b] = await pair();
    const key = 'user "ünï"\nline 2 / tab\t end';
    await a.set('sticky', key, { providerId: 'groq' });
    expect(await a.incr('limiter', `inflight:${key}`, 2, 0, { perProcess: true })).toBe(2);
    await expect.poll(() => b.get('sticky', key)).toEqual({ providerId: 'groq' });
    await expect.poll(() => b.get('limiter', `inflight:${key}`)).toBe(2);
    expect([...b.entries('sticky')].map(([name]) => name)).toEqual([key]);
  });

  it('sends the writes of one turn in order in one batch: the other instance sees their end result', async () => {
    const [a, b] = await pair();
    void a.set('sticky', 'bob', { providerId: 'groq' });
    void a.incr('usage', 'spend:global', 0.25);
    void a.delete('sticky', 'bob');
    void a.set('sticky', 'carol', { providerId: 'openai' });
    void a.incr('usage', 'spend:global', 0.5);
    const window = a.update<{ n: number }>('limiter', 'w', (current = { n: 0 }) => ({ n: current.n + 1 }));
    expect(await window).toEqual({ n: 1 });
    await expect.poll(() => b.get('sticky', 'carol')).toEqual({ providerId: 'openai' });
    expect(b.get('sticky', 'bob')).toBeUndefined();
    expect(b.get('usage', 'spend:global')).toBe(0.75);
    expect(b.get('limiter', 'w')).toEqual({ n: 1 });
  });

  it('chains updates of one record made in one turn: one script, each built on the one before', async () => {
    const [a, b] = await pair();
    const admin = new Redis(redis.url);
    const scripts = async () =>
      Number(/cmdstat_evalsha:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0) +
      Number(/cmdstat_eval:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
    try {
      const bump = () => a.update<{ n: number }>('limiter', 'w', (current = { n: 0 }) => ({ n: current.n + 1 }));
      await bump();
      const before = await scripts();
      expect(await Promise.all([bump(), bump(), bump()])).toEqual([{ n: 2 }, { n: 3 }, { n: 4 }]);
      expect((await scripts()) - before).toBe(1);
      await expect.poll(() => b.get('limiter', 'w')).toEqual({ n: 4 });
      // Chained to a write another instance got in before: the whole chain is taken again on its record.
      await b.update<{ n: number }>('limiter', 'w', (current = { n: 0 }) => ({ n: current.n + 10 }));
      await Promise.all([bump(), bump()]);
      await expect.poll(() => b.get('limiter', 'w')).toEqual({ n: 16 });
    } finally {
      admin.disconnect();
    }
  });

  it('answers a balancing turn at once from its copy; the increment still reaches the shared count', async () => {
    const [a, b] = await pair();
    expect(a.incr('balance', 'rr:chat', 1, 0, TURN)).toBe(1);
    await expect.poll(() => b.get('balance', 'rr:chat')).toBe(1);
    expect(await b.incr('balance', 'rr:chat', 1)).toBe(2);
    await expect.poll(() => a.get('balance', 'rr:chat')).toBe(2);
    expect(a.incr('balance', 'rr:chat', 1, 0, TURN)).toBe(3);
  });

  it('runs concurrent updates of one record from two instances without losing any', async () => {
    const [a, b] = await pair();
    const bump = (state: RedisState) =>
      state.update<{ n: number }>('limiter', 'window', (current = { n: 0 }) => ({ n: current.n + 1 }));
    await Promise.all(Array.from({ length: 60 }, (_, i) => bump(i % 2 === 0 ? a : b)));
    await expect.poll(() => a.get<{ n: number }>('limiter', 'window')?.n).toBe(60);
    await expect.poll(() => b.get<{ n: number }>('limiter', 'window')?.n).toBe(60);
  });

  it('admits exactly the limit between two instances when both test and take in one update', async () => {
    const [a, b] = await pair();
    let admitted = 0;
    const take = async (state: RedisState) => {
      let ok = false;
      await state.update<number>('limiter', 'rpm', (used = 0) => {
        ok = used < 4;
        return ok ? used + 1 : used;
      });
      if (ok) admitted++;
    };
    await Promise.all(Array.from({ length: 16 }, (_, i) => take(i % 2 === 0 ? a : b)));
    expect(admitted).toBe(4);
  });

  it('holds a budget between two instances with the check and the hold in one step: never past the limit', async () => {
    const [a, b] = await pair();
    const clock = new ManualClock(Date.UTC(2026, 4, 10, 12));
    const config: BudgetConfig = {
      global: { daily: 1 },
      providers: { p: { monthly: 5 } },
      alertThreshold: 0.8,
      hardStop: 'refuse',
    };
    // $0.20 already spent today, on record before either instance looked.
    const history = { spend: (period: string) => (period === 'daily' ? 0.2 : 0) };
    const guards = [a, b].map((state) => new BudgetGuard(state, clock, config, () => {}, history));
    // All asked at once: each instance's copy still shows nothing held when it asks.
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => guards[i % 2]!.reserveWithin('p', 0.3)));
    const held = answers.filter((answer) => 'keys' in answer);
    expect(held).toHaveLength(2);
    for (const answer of answers.filter((answer) => !('keys' in answer))) {
      expect(answer).toMatchObject({ scope: 'global', period: 'daily', limitUsd: 1 });
    }
    for (const guard of guards) {
      await expect
        .poll(() => guard.status().find((budget) => budget.scope === 'global'))
        .toMatchObject({ spentUsd: expect.closeTo(0.2, 9), reservedUsd: expect.closeTo(0.6, 9) });
    }
    // Settled at what the answers cost: the holds go, the spend stays, and the next hold fits again.
    for (const [i, reservation] of held.entries()) guards[i % 2]!.settle(reservation as Reservation, 0.25);
    await expect
      .poll(() => guards[1]!.status().find((budget) => budget.scope === 'global'))
      .toMatchObject({ spentUsd: expect.closeTo(0.7, 9), reservedUsd: expect.closeTo(0, 9) });
    expect(await guards[1]!.reserveWithin('p', 0.3)).toMatchObject({ keys: expect.any(Array) });
    expect(await guards[0]!.reserveWithin('p', 0.01)).toMatchObject({ scope: 'global', exceeded: false });
  });

  it('a settled request’s spend and the release of its hold reach the other instance together: until then the hold counts', async () => {
    const [a, b] = await pair();
    const clock = new ManualClock(Date.UTC(2026, 4, 10, 12));
    const config: BudgetConfig = { global: { daily: 1 }, providers: {}, alertThreshold: 0.8, hardStop: 'refuse' };
    const history = { spend: () => 0 };
    const [guardA, guardB] = [a, b].map((state) => new BudgetGuard(state, clock, config, () => {}, history));
    const global = (guard: BudgetGuard) => guard.status().find((budget) => budget.scope === 'global')!;
    const reservation = (await guardA!.reserveWithin('p', 0.6)) as Reservation;
    await expect.poll(() => global(guardB!).reservedUsd).toBeCloseTo(0.6, 9);
    guardA!.settle(reservation, 0.6);
    // This instance counts it at once; the other sees it as held, then as spent, never as neither.
    expect(global(guardA!)).toMatchObject({ spentUsd: expect.closeTo(0.6, 9), reservedUsd: expect.closeTo(0, 9) });
    const seen: number[] = [];
    for (let waited = 0; global(guardB!).spentUsd < 0.6 - 1e-9 && waited < 2_000; waited += 10) {
      seen.push(global(guardB!).spentUsd + global(guardB!).reservedUsd);
      expect(await guardB!.reserveWithin('p', 0.5)).toMatchObject({ scope: 'global', limitUsd: 1 });
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(global(guardB!)).toMatchObject({ spentUsd: expect.closeTo(0.6, 9), reservedUsd: expect.closeTo(0, 9) });
    for (const counted of seen) expect(counted).toBeGreaterThanOrEqual(0.6 - 1e-9);
  });

  it('an update of a record takes along this instance’s statistic updates of it not written yet: one write, in order', async () => {
    const [a, b] = await pair();
    const admin = new Redis(redis.url);
    // Each batch script publishes its changes once (the heartbeat's sweep publishes none here).
    const writes = async () => Number(/cmdstat_publish:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
    const append =
      (word: string) =>
      (current: string[] = []) => [...current, word];
    try {
      await a.update('limiter', 'tpm', append('admitted'));
      await expect.poll(() => b.get('limiter', 'tpm')).toEqual(['admitted']);
      const before = await writes();
      expect(a.update('limiter', 'tpm', append('corrected'), 0, STATISTIC)).toEqual(['admitted', 'corrected']);
      expect(await a.update('limiter', 'tpm', append('admitted again'))).toEqual([
        'admitted',
        'corrected',
        'admitted again',
      ]);
      await expect.poll(() => b.get('limiter', 'tpm')).toEqual(['admitted', 'corrected', 'admitted again']);
      // Past the interval statistics are written in: nothing was left to write on its own.
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect((await writes()) - before).toBe(1);
    } finally {
      admin.disconnect();
    }
  });

  it('counts successes on a closed breaker without a write each; a failure takes them along, and the other instance sees all', async () => {
    const [a, b] = await pair();
    const settings = { maxFailures: 3, failureRate: 0.5, minRequests: 10, windowMs: 60_000, recoveryMs: 30_000 };
    const [breakersA, breakersB] = [a, b].map((state) => new CircuitBreakers(state, systemClock, () => settings));
    for (let i = 0; i < 4; i++) await breakersA!.success('groq/llama');
    await breakersA!.failure('groq/llama');
    await expect
      .poll(() => breakersB!.views()[0])
      .toMatchObject({ state: 'closed', windowRequests: 5, windowFailures: 1, consecutiveFailures: 1 });
    // Three failures in a row since the last success open it, on both.
    await breakersA!.failure('groq/llama');
    await breakersA!.failure('groq/llama');
    await expect.poll(() => breakersB!.stateOf('groq/llama')).toBe('open');
  });

  it('local_only: a budget used up in Redis refuses even a free call, though this copy has not heard of the spending yet', async () => {
    const [a] = await pair();
    const clock = new ManualClock(Date.UTC(2026, 4, 10, 12));
    const config: BudgetConfig = {
      global: { monthly: 0.05 },
      providers: {},
      alertThreshold: 0.8,
      hardStop: 'local_only',
    };
    const guard = new BudgetGuard(a, clock, config, () => {});
    expect(await guard.reserveWithin('p', 0)).toMatchObject({ keys: [] });
    // Another instance spent the rest; its change has not reached this one (written behind its back).
    const admin = new Redis(redis.url);
    try {
      await admin.hset(`test${namespace}:usage:spend:global:monthly:${budgetPeriodKey('monthly', clock.now())}`, {
        v: 1_000_000,
        d: '0.05',
      });
    } finally {
      admin.disconnect();
    }
    expect(guard.exhausted('p')).toBeUndefined();
    expect(await guard.reserveWithin('p', 0)).toMatchObject({ scope: 'global', period: 'monthly', exceeded: true });
    // Only local_only refuses a free call: under refuse it still fits (it holds nothing).
    guard.config = { ...config, hardStop: 'refuse' };
    expect(await guard.reserveWithin('p', 0)).toMatchObject({ keys: [] });
    expect(await guard.reserveWithin('p', 0.01)).toMatchObject({ scope: 'global', exceeded: true });
  });

  it('fills a spending counter it has not heard of from the record only where Redis has none: another instance’s stays', async () => {
    const [a] = await pair();
    const clock = new ManualClock(Date.UTC(2026, 4, 10, 12));
    const config: BudgetConfig = { global: { daily: 1 }, providers: {}, alertThreshold: 0.8, hardStop: 'refuse' };
    // Another instance seeded today's spend, $0.10, and its change has not reached this one (written behind
    // its back). The record this one reads says $0.70: the other's requests in flight have their rows there
    // already, at their estimate, and their holds count in Redis too.
    const spentKey = `test${namespace}:usage:spend:global:daily:${budgetPeriodKey('daily', clock.now())}`;
    const admin = new Redis(redis.url);
    try {
      await admin.hset(spentKey, { v: 1_000_000, d: '0.1' });
      const guard = new BudgetGuard(a, clock, config, () => {}, { spend: () => 0.7 });
      // $0.10 spent and $0.50 asked fit in $1; the record written over Redis's $0.10 ($1.20) would not.
      expect(await guard.reserveWithin('p', 0.5)).toMatchObject({ keys: expect.any(Array) });
      await expect.poll(() => guard.status().find((budget) => budget.scope === 'global')?.spentUsd).toBeCloseTo(0.1, 9);
      expect(Number(await admin.hget(spentKey, 'd'))).toBeCloseTo(0.1, 9);
    } finally {
      admin.disconnect();
    }
  });

  it('drops the per-process counts of an instance that died', async () => {
    const [a, b] = await pair();
    await a.incr('usage', 'hold:global', 0.5, 0, { perProcess: true });
    await b.incr('usage', 'hold:global', 0.25, 0, { perProcess: true });
    expect(b.get('usage', 'hold:global')).toBe(0.75);
    // `a` stops saying it is alive (its heartbeat ends, as when the process is killed).
    await a.close();
    await expect.poll(() => b.get('usage', 'hold:global'), { timeout: 5_000 }).toBe(0.25);
  });

  it('keeps answering on its own state while Redis is away, says so, and hands its counts over when Redis is back', async () => {
    const [a] = await pair();
    const changes: boolean[] = [];
    a.on('status', (status) => changes.push(status.shared));
    await a.incr('usage', 'spend:global', 1);
    await redis.kill();
    await expect.poll(() => a.status().shared, { timeout: 5_000 }).toBe(false);
    expect(a.status().message).toMatch(/unreachable.*keeps its own/);
    // Every operation still answers, from the local copy.
    expect(await a.incr('limiter', 'inflight:groq', 1, 0, { perProcess: true })).toBe(1);
    await a.set('sticky', 'bob', { providerId: 'openai' });
    expect(a.get('sticky', 'bob')).toEqual({ providerId: 'openai' });
    expect(await a.update<number>('limiter', 'rpm', (n = 0) => n + 1)).toBe(1);
    await redis.start();
    await expect.poll(() => a.status().shared, { timeout: 10_000 }).toBe(true);
    expect(changes).toEqual([false, true]);
    // Redis lost everything (nothing persisted): what was set and counted while it was away is there again.
    const fresh = await RedisState.connect({ url: redis.url, namespace: `test${namespace}` });
    open.push(fresh);
    expect(fresh.get('sticky', 'bob')).toEqual({ providerId: 'openai' });
    // A per-process count is this process's to give back; a plain counter Redis lost is not rebuilt
    // from one process's part of it.
    expect(fresh.get('limiter', 'inflight:groq')).toBe(1);
    expect(fresh.get('usage', 'spend:global')).toBeUndefined();
  });

  it('writes usage totals gathered over an interval as one update per record; both instances see both totals', async () => {
    const [a, b] = await pair();
    const [ledgerA, ledgerB] = [new UsageLedger(a), new UsageLedger(b)];
    for (let i = 0; i < 10; i++) ledgerA.add(usageEvent({ costUsd: 0.01 }));
    for (let i = 0; i < 5; i++) ledgerB.add(usageEvent({ costUsd: 0.02 }));
    // Each instance counts its own at once; the other's arrive with the next write of the interval.
    expect(ledgerA.report('provider').total.requests).toBe(10);
    expect(ledgerB.report('provider').total.requests).toBe(5);
    for (const ledger of [ledgerA, ledgerB]) {
      await expect.poll(() => ledger.report('provider').total.requests).toBe(15);
      expect(ledger.report('provider').total.costUsd).toBeCloseTo(0.2, 9);
      expect(ledger.report('key').rows.map((row) => [row.key, row.requests])).toEqual([['api-token', 15]]);
    }
  });

  it('writes the statistics not written yet when it is closed, and those counted while Redis was away when it is back', async () => {
    const [a] = await pair();
    new UsageLedger(a).add(usageEvent({ costUsd: 0.5 }));
    await a.close();
    const b = await RedisState.connect({ url: redis.url, namespace: `test${namespace}` });
    open.push(b);
    expect(new UsageLedger(b).report('provider').total).toMatchObject({ requests: 1, costUsd: 0.5 });

    await redis.kill();
    await expect.poll(() => b.status().shared, { timeout: 5_000 }).toBe(false);
    new UsageLedger(b).add(usageEvent({ costUsd: 0.25 }));
    await redis.start();
    await expect.poll(() => b.status().shared, { timeout: 10_000 }).toBe(true);
    // Redis lost everything (nothing persisted): the totals counted while it was away are written to it.
    const fresh = await RedisState.connect({ url: redis.url, namespace: `test${namespace}` });
    open.push(fresh);
    await expect.poll(() => new UsageLedger(fresh).report('provider').total.requests).toBe(1);
    expect(new UsageLedger(fresh).report('provider').total.costUsd).toBeCloseTo(0.25, 9);
  });

  it('starts on its own state when Redis cannot be reached, and joins it when it comes', async () => {
    await redis.kill();
    const state = await RedisState.connect({ url: redis.url, namespace: `test${++namespace}`, connectTimeoutMs: 300 });
    open.push(state);
    expect(state.status()).toMatchObject({ backend: 'redis', shared: false });
    expect(await state.incr('balance', 'rr:default', 1)).toBe(1);
    await state.set('sticky', 'carol', { providerId: 'groq', forced: true });
    await redis.start();
    await expect.poll(() => state.status().shared, { timeout: 10_000 }).toBe(true);
    const other = await RedisState.connect({ url: redis.url, namespace: `test${namespace}` });
    open.push(other);
    expect(other.get('sticky', 'carol')).toEqual({ providerId: 'groq', forced: true });
  });
});

describe.each([
  ['in memory', async (): Promise<RoutingState> => new MemoryState(systemClock)],
  ['on Redis', async (): Promise<RoutingState> => (await pair())[0]],
])('the rate limit and the budget, entered together (%s)', (_name, makeState) => {
  // $1,000 per million tokens: about $0.012 for each request below, so $0.05 pays for four.
  const expensive = { '*': { inputPerMTok: 1_000, outputPerMTok: 1_000 } };

  async function cloudRouter(limits: { rpm: number; concurrency?: number }, monthly: number) {
    const cloud = await startFakeOpenAI({ apiKey: undefined, text: 'Answer from the cloud.' });
    fakes.push(cloud);
    const config = engineConfig(
      [provider('cloud', cloud.url, { prices: expensive, limits: { ...limits, onLimit: 'skip', maxQueueMs: 0 } })],
      { budgets: { global: { monthly }, providers: {}, alertThreshold: 0.8, hardStop: 'refuse' } },
    );
    const router = new Router(config, adaptersFor(config), { state: await makeState() });
    routers.push(router);
    return { router, cloud, config };
  }
  const sent = (cloud: FakeServer) => cloud.requests.filter((r) => r.path.endsWith('/chat/completions')).length;
  const ask = (router: Router) => chat(router, 'Say hello.', { maxOutputTokens: 5 });

  it('a request the budget refuses gives back its concurrency slot and its place in the RPM window', async () => {
    const { router, cloud, config } = await cloudRouter({ rpm: 20, concurrency: 20 }, 0.05);
    // Twenty at once: each is admitted by the rate limit while the budget holds for only the first few.
    const burst = await Promise.all(Array.from({ length: 20 }, () => ask(router)));
    const paid = sent(cloud);
    expect(paid).toBeGreaterThan(0);
    expect(burst.filter((o) => o.error?.code === 'BUDGET_EXCEEDED')).toHaveLength(20 - paid);
    await expect.poll(() => router.limiter.inFlight('cloud')).toBe(0);
    await expect.poll(() => router.budgets.status()[0]!.reservedUsd).toBeCloseTo(0, 9);
    // With money again, the RPM window still has room for exactly what was not sent.
    router.configure({ ...config, budgets: { ...config.budgets, global: { monthly: 100 } } }, router.adapters);
    const after = [];
    for (let i = 0; i < 25; i++) after.push(await ask(router));
    expect(after.filter((o) => !o.error)).toHaveLength(20 - paid);
    expect(after.at(-1)!.error?.message).toMatch(/per-minute limit is used up/);
  });

  it('a request the rate limit refuses lets go of its budget hold', async () => {
    const { router, cloud } = await cloudRouter({ rpm: 2 }, 0.05);
    const burst = await Promise.all(Array.from({ length: 6 }, () => ask(router)));
    expect(burst.filter((o) => !o.error)).toHaveLength(2);
    expect(sent(cloud)).toBe(2);
    await expect.poll(() => router.budgets.status()[0]!.reservedUsd).toBeCloseTo(0, 9);
    // Nothing of the refused ones is held: the money left pays for the requests the window lets through again.
    const spent = router.budgets.status()[0]!.spentUsd;
    expect(spent).toBeGreaterThan(0);
    expect(router.budgets.status()[0]!.remainingUsd).toBeCloseTo(0.05 - spent, 9);
  });
});
