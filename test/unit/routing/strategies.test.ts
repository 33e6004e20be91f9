import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../electron/engine/routing/clock.ts';
import type { Router } from '../../../electron/engine/routing/router.ts';
import { chatRequest, closedAfterEach, engineConfig, firstChoices, provider, reportsOf } from './helpers.ts';

// Decisions only: plan() routes without calling anyone, so these providers point nowhere.
const NOWHERE = 'http://127.0.0.1:9';

const { router: track } = closedAfterEach();
const router = (...args: Parameters<typeof engineConfig>): Router =>
  track(engineConfig(...args), { clock: new ManualClock() });

describe('strategies', () => {
  it('weighted round robin splits 50/30/20 within 3 % over 10,000 decisions', async () => {
    const r = router(
      [
        provider('a', NOWHERE, { weight: 50 }),
        provider('b', NOWHERE, { weight: 30 }),
        provider('c', NOWHERE, { weight: 20 }),
      ],
      { strategy: 'weighted_round_robin' },
    );
    const counts = await firstChoices(r, 10_000);
    expect(Math.abs(counts.get('a')! / 10_000 - 0.5)).toBeLessThan(0.03);
    expect(Math.abs(counts.get('b')! / 10_000 - 0.3)).toBeLessThan(0.03);
    expect(Math.abs(counts.get('c')! / 10_000 - 0.2)).toBeLessThan(0.03);
  });

  it('weighted round robin: weight 0 drains a provider (no traffic, not even as fallback)', async () => {
    const r = router([provider('a', NOWHERE, { weight: 1 }), provider('b', NOWHERE, { weight: 0 })], {
      strategy: 'weighted_round_robin',
    });
    for (let i = 0; i < 100; i++) expect((await r.plan(chatRequest())).map((c) => c.provider.id)).toEqual(['a']);
  });

  it('round robin takes turns exactly', async () => {
    const r = router([provider('a', NOWHERE), provider('b', NOWHERE), provider('c', NOWHERE)], {
      strategy: 'round_robin',
    });
    const order: string[] = [];
    for (let i = 0; i < 9; i++) order.push((await r.plan(chatRequest()))[0]!.provider.id);
    expect(order).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c']);
    expect(await firstChoices(r, 3_000)).toEqual(
      new Map([
        ['a', 1_000],
        ['b', 1_000],
        ['c', 1_000],
      ]),
    );
  });

  it('with fallback switched off only the strategy’s choice is tried, and balancing still rotates it', async () => {
    const r = router([provider('a', NOWHERE), provider('b', NOWHERE)], {
      strategy: 'round_robin',
      fallbackEnabled: false,
    });
    const plans: string[][] = [];
    for (let i = 0; i < 4; i++) plans.push((await r.plan(chatRequest())).map((c) => c.provider.id));
    expect(plans).toEqual([['a'], ['b'], ['a'], ['b']]);
  });

  it('priority starts with the highest priority, unless the profile names its chain; fallback keeps the chain', async () => {
    const providers = [provider('x', NOWHERE, { priority: 30 }), provider('y', NOWHERE, { priority: 20 })];
    const profiles = { default: { name: 'default', provider: 'x', fallbackProviders: ['y'] } };
    expect((await router(providers, { strategy: 'priority' }).plan(chatRequest())).map((c) => c.provider.id)).toEqual([
      'y',
      'x',
    ]);
    // The profile said "x, then y": that is its priority order.
    expect(
      (await router(providers, { strategy: 'priority', profiles }).plan(chatRequest())).map((c) => c.provider.id),
    ).toEqual(['x', 'y']);
    expect(
      (await router(providers, { strategy: 'fallback', profiles }).plan(chatRequest())).map((c) => c.provider.id),
    ).toEqual(['x', 'y']);
  });

  it('least cost puts the cheapest first: local free, overrides, then the genai-prices catalog', async () => {
    const r = router(
      [
        provider('gpt4o', NOWHERE, { vendor: 'openai', models: ['gpt-4o'], defaultModel: 'gpt-4o', priority: 1 }),
        provider('mini', NOWHERE, { vendor: 'openai', priority: 2 }),
        provider('cheap', NOWHERE, { prices: { '*': { inputPerMTok: 0.01, outputPerMTok: 0.02 } }, priority: 3 }),
        provider('home', NOWHERE, { onMachine: true, priority: 4 }),
      ],
      { strategy: 'least_cost' },
    );
    expect((await r.plan(chatRequest('x'.repeat(4000)))).map((c) => c.provider.id)).toEqual([
      'home',
      'cheap',
      'mini',
      'gpt4o',
    ]);
    const { quotes, cheapest } = reportsOf(r).compareProviders({ estimatedInputTokens: 1_000_000, maxOutputTokens: 0 });
    expect(cheapest?.providerId).toBe('home');
    // gpt-4o-mini lists at $0.15 per million input tokens in @pydantic/genai-prices.
    expect(quotes.find((q) => q.providerId === 'mini')?.estimatedCostUsd).toBeCloseTo(0.15, 5);
    expect(reportsOf(r).cheapestModelFor('chat')?.providerId).toBe('home');
    expect(reportsOf(r).cheapestModelFor('chat', { freeOnly: true })?.providerId).toBe('home');
  });

  it('sticky keeps a user on one provider for 10,000 calls inside a window', async () => {
    const r = router([provider('a', NOWHERE), provider('b', NOWHERE), provider('c', NOWHERE), provider('d', NOWHERE)], {
      strategy: 'sticky',
    });
    for (const user of ['alice', 'bob', 'carol']) {
      const counts = await firstChoices(r, 10_000, chatRequest('hi', { userId: user }));
      expect(counts.size).toBe(1);
      expect(r.sticky.assignment(user)).toBe([...counts.keys()][0]);
    }
  });

  it('sticky spreads users evenly and adding a provider moves only about 1/N of them', async () => {
    const users = Array.from({ length: 4_000 }, (_, i) => `user-${i}`);
    const four = [provider('a', NOWHERE), provider('b', NOWHERE), provider('c', NOWHERE), provider('d', NOWHERE)];
    const before = router(four, { strategy: 'sticky' });
    const after = router([...four, provider('e', NOWHERE)], { strategy: 'sticky' });
    const pick = async (r: Router, user: string) => (await r.plan(chatRequest('hi', { userId: user })))[0]!.provider.id;
    let moved = 0;
    for (const user of users) {
      const was = await pick(before, user);
      const now = await pick(after, user);
      if (was !== now) {
        moved++;
        // Consistent hashing: a user who moves moves to the new provider, never between old ones.
        expect(now).toBe('e');
      }
    }
    expect(moved / users.length).toBeGreaterThan(0.1);
    expect(moved / users.length).toBeLessThan(0.3);
    const shares = Object.values(before.sticky.statistics().distribution);
    for (const share of shares) expect(share).toBeGreaterThan(15);
  });

  it('sticky rotates users at the window boundary, and force/clear/forceRotation work', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 10, 0, 0));
    const config = engineConfig(
      [provider('a', NOWHERE), provider('b', NOWHERE), provider('c', NOWHERE), provider('d', NOWHERE)],
      { strategy: 'sticky', sticky: { rotationWindowMs: 3_600_000 } },
    );
    const r = track(config, { clock });
    const users = Array.from({ length: 400 }, (_, i) => `u${i}`);
    const pick = async (user: string) => (await r.plan(chatRequest('hi', { userId: user })))[0]!.provider.id;
    const first = users.map(pick);
    await clock.advance(59 * 60_000);
    expect(users.map(pick)).toEqual(first);
    await clock.advance(60_001);
    const rotated = users.map(pick);
    const moved = rotated.filter((p, i) => p !== first[i]).length;
    // A fresh spread over 4 providers moves about 3/4 of users.
    expect(moved / users.length).toBeGreaterThan(0.5);
    const stats = r.sticky.statistics();
    expect(stats.last_rotation).toBe(Date.UTC(2026, 0, 1, 11, 0, 0) / 1000);
    expect(stats.available_providers).toEqual(['a', 'b', 'c', 'd']);
    expect(stats.cache_size).toBe(400);

    r.sticky.forceProvider('u1', 'd');
    expect(await pick('u1')).toBe('d');
    r.sticky.forceRotation();
    expect(await pick('u1')).toBe('d');
    const afterForced = users.map(pick);
    expect(afterForced.filter((p, i) => p !== rotated[i]).length / users.length).toBeGreaterThan(0.5);
    r.sticky.clearUser('u1');
    expect(r.sticky.assignment('u1')).toBeUndefined();
    await pick('u1');
    expect(r.sticky.assignment('u1')).toBeDefined();
  });
});
