import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BudgetGuard, budgetPeriodKey, type Reservation } from '../../electron/engine/accounting/budget.ts';
import type { BudgetConfig } from '../../electron/engine/config/types.ts';
import { ManualClock } from '../../electron/engine/routing/clock.ts';
import { isLimitRefusal, RateLimiter } from '../../electron/engine/routing/limiter.ts';
import { RedisState } from '../../electron/engine/routing/redis-state.ts';
import { Router } from '../../electron/engine/routing/router.ts';
import { type FakeServer, startFakeOpenAI } from '../fakes/providers.ts';
import { connectPair, scriptsRun, startRedis, type TestRedis } from '../support/redis.ts';
import { adaptersFor, chat, engineConfig, provider } from '../unit/routing/helpers.ts';

/**
 * Leases (core/state.ts, LEASE_SHARE): far from a limit an instance admits from a share it took in
 * the admitting step, without asking Redis; near it, every admission is Redis's; a lease goes back
 * within 200 ms or with its process.
 */

let redis: TestRedis;
let admin: Redis;
const open: RedisState[] = [];
const fakes: FakeServer[] = [];
const routers: Router[] = [];
let namespace = 0;

const pair = () => connectPair(redis.url, `lease${++namespace}`, open);

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
  // Redis is killed in one test: this connection's errors are expected then.
  admin.on('error', () => {});
});
afterEach(async () => {
  for (const router of routers.splice(0)) router.close();
  await Promise.all(fakes.splice(0).map((fake) => fake.close()));
  await Promise.all(open.splice(0).map((state) => state.close()));
});
afterAll(async () => {
  admin?.disconnect();
  await redis?.close();
});

const signal = new AbortController().signal;
/** A limiter per instance on one fixed second: a lease is good in the second it was counted in. */
function limiters(states: RedisState[]): RateLimiter[] {
  const clock = new ManualClock(Date.UTC(2026, 4, 10, 12));
  return states.map((state) => new RateLimiter(state, clock));
}
const limited = (rpm: number, concurrency?: number) =>
  provider('cloud', 'http://127.0.0.1:9', { limits: { rpm, concurrency, onLimit: 'skip', maxQueueMs: 0 } });

describe('leases on a shared state', () => {
  it('far from the limits, one request after another is admitted and held without a script each', async () => {
    const [a] = await pair();
    const [limiter] = limiters([a]);
    const clock = new ManualClock(Date.UTC(2026, 4, 10, 12));
    const config: BudgetConfig = { global: { daily: 100 }, providers: {}, alertThreshold: 0.8, hardStop: 'refuse' };
    const budget = new BudgetGuard(a, clock, config, () => {}, { spend: () => 0 });
    const provider = limited(6_000, 100);
    const before = await scriptsRun(admin);
    for (let i = 0; i < 200; i++) {
      const [admission, reservation] = await Promise.all([
        limiter!.admit(provider, [], 50, signal),
        budget.reserveWithin('cloud', 0.001),
      ]);
      expect(isLimitRefusal(admission)).toBe(false);
      expect(reservation).toMatchObject({ amountUsd: 0.001 });
      limiter!.release('cloud');
      budget.settle(reservation as Reservation, 0.001);
    }
    // Without leases: one script per request (window, slot and budget hold asked together). With them:
    // one per lease used up, plus the writes gathered every 200 ms.
    expect((await scriptsRun(admin)) - before).toBeLessThan(50);
  });

  it('a lease running low is topped up in the background: requests one after another find one, and the count stays exact', async () => {
    const [a, b] = await pair();
    const [limiter] = limiters([a]);
    const provider = limited(400);
    let waited = 0;
    for (let i = 0; i < 200; i++) {
      const admission = limiter!.admit(provider, [], 1, signal);
      // Admitted from the lease: before the next turn of the event loop; through Redis: after a round trip.
      const first = await Promise.race([admission, new Promise((resolve) => setImmediate(() => resolve('waited')))]);
      if (first === 'waited') waited++;
      expect(isLimitRefusal(await admission)).toBe(false);
      limiter!.release('cloud');
      // Requests a millisecond apart: a top-up's round trip ends before a dozen more have come.
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    // Without top-ups: one wait per lease used up (24, 22, 21, … as the window fills), about ten. With
    // them: the first two requests (no lease yet), and about one after each 200 ms give-back.
    expect(waited).toBeLessThan(6);
    const window = () => b.get<{ total: number }>('limiter', 'rpm:cloud:')?.total;
    await expect.poll(window, { timeout: 2_000 }).toBe(200);
  });

  it('a budget lease running low is topped up in the background, and the budget is never passed', async () => {
    const [a, b] = await pair();
    const clock = new ManualClock(Date.UTC(2026, 4, 10, 12));
    const config: BudgetConfig = { global: { daily: 2 }, providers: {}, alertThreshold: 0.8, hardStop: 'refuse' };
    const [guard, other] = [a, b].map((state) => new BudgetGuard(state, clock, config, () => {}, { spend: () => 0 }));
    let waited = 0;
    for (let i = 0; i < 150; i++) {
      const answer = guard!.reserveWithin('p', 0.01);
      const first = await Promise.race([answer, new Promise((resolve) => setImmediate(() => resolve('waited')))]);
      if (first === 'waited') waited++;
      const reservation = await answer;
      expect(reservation).toMatchObject({ amountUsd: 0.01 });
      guard!.settle(reservation as Reservation, 0.01);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    // Without top-ups: one wait per lease used up (12 requests' worth at first, fewer as the day's
    // budget goes), about fifteen; with them, the first two and about one per 200 ms give-back.
    expect(waited).toBeLessThan(8);
    const global = () => other!.status().find((budget) => budget.scope === 'global')!;
    await expect.poll(() => global().spentUsd).toBeCloseTo(1.5, 6);
    await expect.poll(() => global().reservedUsd).toBeCloseTo(0, 6);
  });

  it('what a lease did not use goes back: after a run of requests the other instance sees exactly them', async () => {
    const [a, b] = await pair();
    const cloud = await startFakeOpenAI({ apiKey: undefined, text: 'Answer from the cloud.' });
    fakes.push(cloud);
    const config = engineConfig(
      [provider('cloud', cloud.url, { limits: { rpm: 6_000, concurrency: 100, onLimit: 'skip', maxQueueMs: 0 } })],
      { budgets: { global: { daily: 100 }, providers: {}, alertThreshold: 0.8, hardStop: 'refuse' } },
    );
    const router = new Router(config, adaptersFor(config), { state: a });
    routers.push(router);
    for (let i = 0; i < 40; i++) {
      expect((await chat(router, 'Say hello.', { maxOutputTokens: 5 })).error).toBeUndefined();
    }
    const window = () => [...b.entries<{ total: number }>('limiter')].find(([key]) => key.startsWith('rpm:cloud'))?.[1];
    await expect.poll(() => window()?.total, { timeout: 2_000 }).toBe(40);
    await expect.poll(() => b.get('limiter', 'inflight:cloud'), { timeout: 2_000 }).toBe(0);
    await expect
      .poll(() => [...b.entries<number>('usage')].filter(([key]) => key.startsWith('hold:')).map(([, v]) => v))
      .toEqual([expect.closeTo(0, 9)]);
  });

  it('requests further apart than a lease lives take none: each is counted alone, in Redis too', async () => {
    const [a, b] = await pair();
    const clock = new ManualClock(Date.UTC(2026, 4, 10, 12));
    const limiter = new RateLimiter(a, clock);
    for (let i = 1; i <= 3; i++) {
      expect(isLimitRefusal(await limiter.admit(limited(6_000, 100), [], 1, signal))).toBe(false);
      expect(a.get<{ total: number }>('limiter', 'rpm:cloud:')?.total).toBe(i);
      expect(a.get('limiter', 'inflight:cloud')).toBe(i);
      await clock.advance(300);
    }
    await expect.poll(() => b.get<{ total: number }>('limiter', 'rpm:cloud:')?.total).toBe(3);
  });

  it('near the limit, two instances admit exactly the limit between them', async () => {
    const [limiterA, limiterB] = limiters(await pair());
    const provider = limited(40);
    let admitted = 0;
    // Alternating, then all at once: leases early in the window, one by one near its end.
    for (let i = 0; i < 40; i++) {
      const admission = await (i % 2 === 0 ? limiterA! : limiterB!).admit(provider, [], 1, signal);
      if (!isLimitRefusal(admission)) admitted++;
    }
    const burst = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? limiterA! : limiterB!).admit(provider, [], 1, signal)),
    );
    admitted += burst.filter((admission) => !isLimitRefusal(admission)).length;
    expect(admitted).toBe(40);
  });

  it('an idle instance’s unused lease goes back, and the other instance can use it', async () => {
    const [a, b] = await pair();
    const [limiterA, limiterB] = limiters([a, b]);
    const provider = limited(40);
    // Two requests on A (a lease is taken from the second on): room for 38 more after the second, A
    // leases 2 of them (37 / 16) and goes idle.
    for (let i = 0; i < 2; i++) expect(isLimitRefusal(await limiterA!.admit(provider, [], 1, signal))).toBe(false);
    let onB = 0;
    while (!isLimitRefusal(await limiterB!.admit(provider, [], 1, signal))) onB++;
    expect(onB).toBeLessThanOrEqual(38);
    // Within one gathering interval (200 ms) A's lease is back in the shared window.
    await new Promise((resolve) => setTimeout(resolve, 400));
    while (!isLimitRefusal(await limiterB!.admit(provider, [], 1, signal))) onB++;
    expect(onB).toBe(38);
  });

  it('a concurrency limit: a slot lease goes back to the shared count, and the other instance gets every slot', async () => {
    const [a, b] = await pair();
    const [limiterA, limiterB] = limiters([a, b]);
    const provider = limited(10_000, 40);
    for (let i = 0; i < 2; i++) {
      expect(isLimitRefusal(await limiterA!.admit(provider, [], 1, signal))).toBe(false);
      limiterA!.release('cloud');
    }
    expect(limiterA!.inFlight('cloud')).toBe(0);
    await expect.poll(() => b.get('limiter', 'inflight:cloud'), { timeout: 2_000 }).toBe(0);
    let onB = 0;
    while (!isLimitRefusal(await limiterB!.admit(provider, [], 1, signal))) onB++;
    expect(onB).toBe(40);
    expect(isLimitRefusal(await limiterA!.admit(provider, [], 1, signal))).toBe(true);
  });

  it('a budget with leases is never passed: spend and holds stay within the limit, and every cent of it can be used', async () => {
    const [a, b] = await pair();
    const clock = new ManualClock(Date.UTC(2026, 4, 10, 12));
    const config: BudgetConfig = { global: { daily: 1 }, providers: {}, alertThreshold: 0.8, hardStop: 'refuse' };
    const guards = [a, b].map((state) => new BudgetGuard(state, clock, config, () => {}, { spend: () => 0 }));
    const global = () => guards[1]!.status().find((budget) => budget.scope === 'global')!;
    // One after another on one instance, far from the limit: most are held from the lease.
    const before = await scriptsRun(admin);
    const first = [];
    for (let i = 0; i < 20; i++) first.push((await guards[0]!.reserveWithin('p', 0.01)) as Reservation);
    expect((await scriptsRun(admin)) - before).toBeLessThan(first.length);
    for (const reservation of first) guards[0]!.settle(reservation, 0.01);
    let paid = first.length;
    // $0.01 a request, $1 a day: waves of eight at once across both instances, each settled at its estimate.
    for (let wave = 0; wave < 20; wave++) {
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) => guards[i % 2]!.reserveWithin('p', 0.01) as Promise<Reservation>),
      );
      for (const [i, answer] of answers.entries()) {
        if (!('keys' in answer)) continue;
        paid++;
        guards[i % 2]!.settle(answer, 0.01);
      }
      // In Redis: what was spent and what is held (leases included) never pass the limit together.
      const [spent, held] = await Promise.all(
        ['spend', 'hold'].map((counter) =>
          admin.hget(`lease${namespace}:usage:${counter}:global:daily:${budgetPeriodKey('daily', clock.now())}`, 'd'),
        ),
      );
      expect(Number(spent) + Number(held)).toBeLessThanOrEqual(1 + 1e-9);
    }
    expect(paid).toBeLessThanOrEqual(100);
    // Once the leases are back, what is left of the day's budget is there for whoever asks.
    await new Promise((resolve) => setTimeout(resolve, 400));
    while ('keys' in (await guards[0]!.reserveWithin('p', 0.01))) paid++;
    expect(paid).toBe(100);
    await expect.poll(() => global().spentUsd + global().reservedUsd).toBeCloseTo(1, 6);
  });

  it('a process killed with leases: its slots and budget holds are dropped with it', async () => {
    const [, b] = await pair();
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
        const { RedisState } = await import(${JSON.stringify(pathToFileURL('electron/engine/routing/redis-state.ts').href)});
        const { RateLimiter } = await import(${JSON.stringify(pathToFileURL('electron/engine/routing/limiter.ts').href)});
        const { systemClock } = await import(${JSON.stringify(pathToFileURL('electron/engine/routing/clock.ts').href)});
        const state = await RedisState.connect({ url: ${JSON.stringify(redis.url)}, namespace: 'lease${namespace}', heartbeatMs: 200 });
        const limiter = new RateLimiter(state, systemClock);
        const cloud = { id: 'cloud', limits: { concurrency: 1000, onLimit: 'skip', maxQueueMs: 0 } };
        // Twice each: a lease is taken where requests come close together.
        for (let i = 0; i < 2; i++) await limiter.admit(cloud, [], 1, new AbortController().signal);
        const budget = { spent: 'spent', seed: 0, held: 'held', limit: 100, ttlMs: 0 };
        for (let i = 0; i < 2; i++) await state.reserve('usage', [budget], 0.01);
        process.stdout.write('leased\\n');
        setInterval(() => {}, 1000);
        `,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await once(child.stdout!, 'data');
    // The slot in flight and the 0.01 held, each with a lease beyond it.
    await expect.poll(() => b.get<number>('limiter', 'inflight:cloud')).toBeGreaterThan(2);
    await expect.poll(() => b.get<number>('usage', 'held')).toBeGreaterThan(0.02);
    child.kill('SIGKILL');
    await once(child, 'exit');
    await expect.poll(() => b.get('limiter', 'inflight:cloud'), { timeout: 5_000 }).toBe(0);
    await expect.poll(() => b.get('usage', 'held'), { timeout: 5_000 }).toBe(0);
  });

  it('while Redis is away leases are void; back, the counts are exact and leasing starts again', async () => {
    const [a] = await pair();
    const [limiter] = limiters([a]);
    const provider = limited(10_000, 1_000);
    for (let i = 0; i < 2; i++) expect(isLimitRefusal(await limiter!.admit(provider, [], 1, signal))).toBe(false);
    expect(a.leasing()).toBe(true);
    expect(a.get<number>('limiter', 'inflight:cloud')).toBeGreaterThan(2);
    await redis.kill();
    await expect.poll(() => a.status().shared, { timeout: 5_000 }).toBe(false);
    expect(a.leasing()).toBe(false);
    // Its lease given back: the local count is the two requests in flight.
    expect(limiter!.inFlight('cloud')).toBe(2);
    expect(a.get('limiter', 'inflight:cloud')).toBe(2);
    expect(isLimitRefusal(await limiter!.admit(provider, [], 1, signal))).toBe(false);
    expect(a.get('limiter', 'inflight:cloud')).toBe(3);
    await redis.start();
    await expect.poll(() => a.status().shared, { timeout: 10_000 }).toBe(true);
    expect(a.leasing()).toBe(true);
    // The hand-over: Redis counts this process's three requests in flight, not their leases.
    const other = await RedisState.connect({ url: redis.url, namespace: `lease${namespace}` });
    open.push(other);
    expect(other.get('limiter', 'inflight:cloud')).toBe(3);
  });
});
