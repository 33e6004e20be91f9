import { describe, expect, it } from 'vitest';
import { API_TOKEN_KEY, API_TOKEN_KEY_NAME } from '../../../electron/engine/accounting/ledger.ts';
import { PriceBook } from '../../../electron/engine/accounting/prices.ts';
import type { UsageEvent } from '../../../electron/engine/accounting/types.ts';
import { MemoryUsageSink } from '../../../electron/engine/accounting/usage-log.ts';
import { createUsageHandlers } from '../../../electron/engine/app-api/usage.ts';
import { ManualClock } from '../../../electron/engine/routing/clock.ts';
import type { Store } from '../../../electron/engine/store/store.ts';
import { always } from '../../fakes/providers.ts';
import { chat, closedAfterEach, engineConfig, provider, reportsOf } from '../routing/helpers.ts';

const { fake, router } = closedAfterEach();

describe('prices', () => {
  const book = new PriceBook();
  const base = { prices: {}, contextWindows: {} };

  it('come from @pydantic/genai-prices by vendor and model, with overrides and free local models', () => {
    expect(book.price({ ...base, id: 'o', vendor: 'openai' }, 'gpt-4o-mini')).toMatchObject({
      inputPerMTok: 0.15,
      outputPerMTok: 0.6,
      source: 'catalog',
    });
    expect(book.price({ ...base, id: 'g', vendor: 'gemini' }, 'gemini-2.0-flash')?.source).toBe('catalog');
    const custom = {
      ...base,
      id: 'c',
      vendor: 'custom',
      prices: { 'my-model': { inputPerMTok: 1, outputPerMTok: 2 } },
    };
    expect(book.price(custom, 'my-model')).toMatchObject({ inputPerMTok: 1, outputPerMTok: 2, source: 'override' });
    expect(book.price({ ...base, id: 'c2', vendor: 'custom' }, 'no-such-model-anywhere')).toBeUndefined();
    expect(book.cost({ ...base, id: 'l', vendor: 'local', onMachine: true }, 'anything', 1e6, 1e6)).toBe(0);
    expect(book.cost({ ...base, id: 'o', vendor: 'openai' }, 'gpt-4o-mini', 1_000_000, 1_000_000)).toBeCloseTo(0.75, 6);
    expect(book.contextWindow({ ...base, id: 'o', vendor: 'openai' }, 'gpt-4o-mini')).toBe(128_000);
    expect(
      book.contextWindow({ ...base, id: 'o', vendor: 'openai', contextWindows: { 'gpt-4o-mini': 9 } }, 'gpt-4o-mini'),
    ).toBe(9);
  });
});

describe('usage accounting', () => {
  it('one usage event per request with tokens and cost; reports by provider, model and day; metrics', async () => {
    const a = await fake('one two three four');
    const b = await fake('five six', { faults: always('server-error') });
    const clock = new ManualClock(Date.UTC(2026, 2, 1, 23, 59, 0));
    const sink = new MemoryUsageSink(100);
    const config = engineConfig(
      [
        provider('b', b.url, { vendor: 'openai', retry: { attempts: 1, backoffFactor: 0 } }),
        provider('a', a.url, { vendor: 'openai' }),
      ],
      { strategy: 'fallback' },
    );
    const r = router(config, { clock, sink });
    const events: UsageEvent[] = [];
    r.on('usage', (event) => events.push(event));

    await chat(r);
    await chat(r);
    await clock.advance(120_000);
    await chat(r);
    expect(events).toHaveLength(3);
    expect([...sink.events()]).toEqual(events);
    const event = events[0]!;
    expect(event).toMatchObject({ providerId: 'a', model: 'gpt-4o-mini', outcome: 'success', fallbackDepth: 1 });
    expect(event.outputTokens).toBe(4);
    expect(event.inputTokens).toBeGreaterThan(0);
    // gpt-4o-mini: $0.15 in / $0.60 out per million tokens.
    expect(event.costUsd).toBeCloseTo((event.inputTokens * 0.15 + 4 * 0.6) / 1e6, 12);

    const byProvider = reportsOf(r).costReport('provider');
    expect(byProvider.total.requests).toBe(3);
    expect(byProvider.rows.map((row) => [row.key, row.requests])).toEqual([['a', 3]]);
    expect(byProvider.total.costUsd).toBeCloseTo(event.costUsd * 3, 12);
    expect(reportsOf(r).costReport('model').rows[0]!.key).toBe('a/gpt-4o-mini');
    expect(
      reportsOf(r)
        .costReport('day')
        .rows.map((row) => [row.key, row.requests]),
    ).toEqual([
      ['2026-03-01', 2],
      ['2026-03-02', 1],
    ]);
    expect(reportsOf(r).usageStatistics()).toEqual({
      total_requests: 3,
      request_counts: { a: 3 },
      distribution: { a: 100 },
    });

    const noAppKeys = { appKeys: { list: () => [] } } as unknown as Pick<Store, 'appKeys'>;
    const view = await createUsageHandlers({ engine: { reports: reportsOf(r) }, store: noAppKeys })['usage.get']({
      bucket: 'day',
    });
    expect(view.totals.requests).toBe(3);
    expect(view.series.map((p) => p.requests)).toEqual([2, 1]);
    expect(view.byProvider).toEqual([{ providerId: 'a', requests: 3, share: 1, costUsd: expect.any(Number) }]);
    expect(view.byKey).toEqual([
      { keyId: API_TOKEN_KEY, name: API_TOKEN_KEY_NAME, requests: 3, errors: 0, costUsd: view.totals.costUsd },
    ]);

    const metrics = await reportsOf(r).metricsText();
    expect(metrics).toMatch(
      /switchboard_requests_total\{provider="a",model="gpt-4o-mini",status="success",key="api-token"\} 3/,
    );
    expect(metrics).toMatch(
      /switchboard_tokens_total\{provider="a",model="gpt-4o-mini",direction="output",key="api-token"\} 12/,
    );
    expect(metrics).toContain('switchboard_response_seconds_bucket');
    expect(metrics).toContain('switchboard_time_to_first_token_seconds_bucket');
    expect(metrics).toMatch(/switchboard_circuit_breaker_state\{provider="b",model="gpt-4o-mini"\} 0/);
    expect(metrics).toMatch(/switchboard_in_flight_requests\{provider="a"\} 0/);
    expect(metrics).toContain('switchboard_cost_usd_total');
  });

  it('the in-memory sink keeps a bounded number of events', () => {
    const sink = new MemoryUsageSink(3);
    for (let i = 0; i < 10; i++) {
      sink.record({
        id: String(i),
        time: i,
        kind: 'chat',
        providerId: 'p',
        model: 'm',
        profile: 'default',
        strategy: 'fallback',
        inputTokens: 1,
        outputTokens: 1,
        tokensEstimated: false,
        costUsd: 0,
        latencyMs: 1,
        outcome: 'success',
        fallbackDepth: 0,
      });
    }
    expect([...sink.events()].map((e) => e.id)).toEqual(['7', '8', '9']);
    expect(sink.size).toBe(3);
  });

  it('compareResponses and batchQuery run real requests, with bounded concurrency', async () => {
    const a = await fake('Answer from A.', { tokenDelayMs: 5 });
    const b = await fake('Answer from B.');
    const config = engineConfig([provider('a', a.url), provider('b', b.url)]);
    const r = router(config);
    const compared = await reportsOf(r).compareResponses('Hello?', ['a', 'b']);
    expect(compared.map((c) => [c.providerId, c.text])).toEqual([
      ['a', 'Answer from A.'],
      ['b', 'Answer from B.'],
    ]);
    let peak = 0;
    const timer = setInterval(() => {
      peak = Math.max(peak, reportsOf(r).stats().providers[0]!.inFlight);
    }, 1);
    const batch = await reportsOf(r).batchQuery(
      Array.from({ length: 12 }, (_, i) => `prompt ${i}`),
      'a',
      { concurrency: 3 },
    );
    clearInterval(timer);
    expect(batch).toHaveLength(12);
    expect(batch.every((answer) => answer.text === 'Answer from A.')).toBe(true);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(3);
  });
});
