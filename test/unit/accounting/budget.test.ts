import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type BudgetAlert, BudgetGuard, type Reservation } from '../../../electron/engine/accounting/budget.ts';
import type { BudgetConfig } from '../../../electron/engine/config/types.ts';
import { ManualClock } from '../../../electron/engine/routing/clock.ts';
import { Router } from '../../../electron/engine/routing/router.ts';
import { MemoryState } from '../../../electron/engine/routing/state.ts';
import { openStore } from '../../../electron/engine/store/store.ts';
import { adaptersFor, chat, closedAfterEach, engineConfig, provider, reportsOf } from '../routing/helpers.ts';

const { fake, router } = closedAfterEach();

function budgets(overrides: Partial<BudgetConfig>): BudgetConfig {
  return { global: {}, providers: {}, alertThreshold: 0.8, hardStop: 'refuse', ...overrides };
}

describe('BudgetGuard', () => {
  it('reserves estimated cost so concurrent requests cannot together pass a limit', () => {
    const clock = new ManualClock();
    const guard = new BudgetGuard(new MemoryState(clock), clock, budgets({ global: { daily: 1 } }), () => {});
    const holds = [guard.reserve('p', 0.3), guard.reserve('p', 0.3), guard.reserve('p', 0.3)];
    expect(guard.wouldExceed('p', 0.3)).toMatchObject({ scope: 'global', period: 'daily', limitUsd: 1 });
    expect(guard.wouldExceed('p', 0.05)).toBeUndefined();
    expect(guard.wouldExceed('p', 0)).toBeUndefined();
    for (const hold of holds) guard.settle(hold, 0.1);
    expect(guard.status()[0]).toMatchObject({ spentUsd: expect.closeTo(0.3, 9), reservedUsd: 0, exceeded: false });
    expect(guard.wouldExceed('p', 0.3)).toBeUndefined();
  });

  it('checks and holds in one step: a hold that would pass any budget holds nothing; a free call always fits', () => {
    const clock = new ManualClock();
    const state = new MemoryState(clock);
    const guard = new BudgetGuard(
      state,
      clock,
      budgets({ global: { daily: 1 }, providers: { p: { daily: 0.5 } } }),
      () => {},
    );
    const first = guard.reserveWithin('p', 0.3);
    expect(first).toMatchObject({ keys: expect.any(Array), amountUsd: 0.3 });
    // The provider's $0.50 would be passed, the global $1 not: refused on the provider's, and the global holds nothing.
    expect(guard.reserveWithin('p', 0.3)).toMatchObject({ scope: 'p', limitUsd: 0.5, reservedUsd: 0.3 });
    expect(guard.status().find((budget) => budget.scope === 'global')).toMatchObject({ reservedUsd: 0.3 });
    expect(guard.reserveWithin('p', 0)).toMatchObject({ keys: [] });
    guard.settle(first as Reservation, 0.3);
    expect(guard.reserveWithin('p', 0.2)).toMatchObject({ keys: expect.any(Array) });
  });

  it('alerts once at the threshold and once at the limit, per scope and period; a new day starts afresh', async () => {
    const clock = new ManualClock(Date.UTC(2026, 4, 10, 12));
    const alerts: BudgetAlert[] = [];
    const guard = new BudgetGuard(
      new MemoryState(clock),
      clock,
      budgets({ global: { daily: 1 }, providers: { p: { monthly: 10 } } }),
      (alert) => alerts.push(alert),
    );
    const spend = (usd: number) => guard.settle(guard.reserve('p', usd), usd);
    spend(0.5);
    expect(alerts).toEqual([]);
    spend(0.35);
    expect(alerts).toEqual([expect.objectContaining({ scope: 'global', period: 'daily', level: 'threshold' })]);
    spend(0.01);
    expect(alerts).toHaveLength(1);
    spend(0.2);
    expect(alerts.map((a) => a.level)).toEqual(['threshold', 'exceeded']);
    await clock.advance(24 * 3_600_000);
    expect(guard.status().find((s) => s.period === 'daily')).toMatchObject({ spentUsd: 0, exceeded: false });
    expect(guard.status().find((s) => s.scope === 'p')).toMatchObject({ spentUsd: expect.closeTo(1.06, 9) });
  });
});

describe('budget hard stop in routing', () => {
  // $1,000 per million tokens: a cent per ten tokens, so a few requests reach a few cents.
  const expensive = { '*': { inputPerMTok: 1_000, outputPerMTok: 1_000 } };

  async function setup(hardStop: BudgetConfig['hardStop'], withLocal: boolean) {
    const cloud = await fake('Answer from the cloud.');
    const local = await fake('Answer from this machine.');
    const providers = [provider('cloud', cloud.url, { prices: expensive, priority: 1 })];
    if (withLocal) providers.push(provider('home', local.url, { onMachine: true, priority: 2 }));
    const config = engineConfig(providers, { budgets: budgets({ global: { monthly: 0.05 }, hardStop }) });
    const r = router(config, { clock: new ManualClock() });
    return { r, cloud, local };
  }

  it('refuse: the request that would pass the monthly budget gets BUDGET_EXCEEDED, and spending never overshoots', async () => {
    const { r } = await setup('refuse', false);
    const outcomes = [];
    // Twenty at once: reservations stop the ones that would not fit before they are sent.
    outcomes.push(
      ...(await Promise.all(Array.from({ length: 20 }, () => chat(r, 'Say hello.', { maxOutputTokens: 5 })))),
    );
    const refused = outcomes.filter((o) => o.error?.code === 'BUDGET_EXCEEDED');
    expect(refused.length).toBeGreaterThan(0);
    // The rate limit admitted the refused ones beside the budget's check: each let its slot go again.
    expect(
      reportsOf(r)
        .stats()
        .providers.find((p) => p.providerId === 'cloud')!.inFlight,
    ).toBe(0);
    // While the last paid requests are in flight, the next one would only pass the budget: it says so.
    expect(refused[0]!.error!.message).toMatch(/would take the monthly budget of \$0\.05 past its limit/);
    const spent = reportsOf(r).costReport('provider').total.costUsd;
    const perRequest = spent / outcomes.filter((o) => !o.error).length;
    expect(spent).toBeLessThanOrEqual(0.05 + perRequest);
    expect(reportsOf(r).budgetStatus()[0]).toMatchObject({ scope: 'global', period: 'monthly', limitUsd: 0.05 });
    expect(await reportsOf(r).metricsText()).toMatch(
      /switchboard_budget_remaining_usd\{scope="global",period="monthly"\} [\d.e-]+\n/,
    );
    // Money is left, just not enough for this request: the refusal does not call the budget spent.
    expect(refused.every((o) => !/is spent/.test(o.error!.message))).toBe(true);
  });

  it('refuse: a request the first choice cannot afford goes to a $0 provider further down', async () => {
    const { r, cloud, local } = await setup('refuse', true);
    const texts: string[] = [];
    for (let i = 0; i < 15; i++) texts.push((await chat(r, 'Say hello.', { maxOutputTokens: 5 })).text);
    expect(texts[0]).toBe('Answer from the cloud.');
    expect(texts.at(-1)).toBe('Answer from this machine.');
    expect(local.requests.length).toBeGreaterThan(0);
    expect(reportsOf(r).costReport('provider').total.costUsd).toBeLessThanOrEqual(0.05);
    expect(cloud.requests.length).toBeLessThan(15);
  });

  it('local_only: once the budget is spent, requests go to the local provider', async () => {
    const { r, local } = await setup('local_only', true);
    const texts: string[] = [];
    for (let i = 0; i < 15; i++) texts.push((await chat(r, 'Say hello.', { maxOutputTokens: 5 })).text);
    expect(texts[0]).toBe('Answer from the cloud.');
    expect(texts.at(-1)).toBe('Answer from this machine.');
    expect(local.requests.length).toBeGreaterThan(0);
    expect(
      reportsOf(r)
        .costReport('provider')
        .rows.find((row) => row.key === 'home')?.costUsd,
    ).toBe(0);
  });

  it('local_only with nothing local to go to refuses with a clear error', async () => {
    const { r } = await setup('local_only', false);
    let last: Awaited<ReturnType<typeof chat>> | undefined;
    for (let i = 0; i < 15; i++) last = await chat(r, 'Say hello.', { maxOutputTokens: 5 });
    expect(last?.error?.code).toBe('BUDGET_EXCEEDED');
    expect(last?.error?.message).toMatch(/no provider on this machine can take it/);
  });

  it('budgets hold across a restart: spending on record in the store counts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-budget-'));
    const store = openStore({ file: join(dir, 'switchboard.db') });
    const cloud = await fake('Answer from the cloud.');
    const clock = new ManualClock();
    const config = engineConfig([provider('cloud', cloud.url, { prices: expensive })], {
      budgets: budgets({ global: { daily: 0.05 }, hardStop: 'refuse' }),
    });
    try {
      const first = new Router(config, adaptersFor(config), { clock, sink: store.usage });
      let refused = false;
      for (let i = 0; i < 30 && !refused; i++)
        refused = (await chat(first, 'Say hello.', { maxOutputTokens: 5 })).error?.code === 'BUDGET_EXCEEDED';
      expect(refused).toBe(true);
      first.close();
      // A new process on the same database: the first request is refused, nothing is sent.
      const sent = cloud.requests.length;
      const second = router(config, { clock, sink: store.usage });
      expect((await chat(second, 'Say hello.', { maxOutputTokens: 5 })).error?.code).toBe('BUDGET_EXCEEDED');
      expect(cloud.requests.length).toBe(sent);
      const report = reportsOf(second).costReport('provider');
      expect(report.source).toBe('history');
      expect(report.rows[0]).toMatchObject({ key: 'cloud' });
      expect(report.total.costUsd).toBeGreaterThan(0.04);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
