import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../electron/engine/routing/clock.ts';
import type { HealthChange } from '../../../electron/engine/routing/health.ts';
import { always, type FakeServer } from '../../fakes/providers.ts';
import { chat, chatRequest, closedAfterEach, engineConfig, provider, reportsOf } from './helpers.ts';

const { fake, router } = closedAfterEach();

const modelChecks = (server: FakeServer) => server.requests.filter((r) => r.path === '/v1/models');

describe('health checks', () => {
  it('run on schedule, report state changes, demote a down provider, and recover automatically', async () => {
    const clock = new ManualClock();
    const a = await fake('Answer from A.');
    const b = await fake('Answer from B.');
    const config = engineConfig([
      provider('a', a.url, { healthCheckIntervalMs: 10_000 }),
      provider('b', b.url, { healthCheckIntervalMs: 0 }),
      provider('off', b.url, { enabled: false }),
    ]);
    const r = router(config, { clock });
    const changes: string[] = [];
    r.on('health.change', (change: HealthChange) => changes.push(`${change.providerId}:${change.from}->${change.to}`));

    expect(
      reportsOf(r)
        .health()
        .map((h) => [h.providerId, h.status]),
    ).toEqual([
      ['a', 'unknown'],
      ['b', 'unknown'],
      ['off', 'disabled'],
    ]);
    await clock.advance(10_000);
    await vi.waitFor(() => expect(reportsOf(r).health()[0]!.status).toBe('healthy'));
    expect(modelChecks(a)).toHaveLength(1);
    expect(modelChecks(b)).toHaveLength(0);

    a.setFaults(always('unavailable'));
    await clock.advance(10_000);
    await vi.waitFor(() => expect(reportsOf(r).health()[0]!.status).toBe('degraded'));
    await clock.advance(10_000);
    await vi.waitFor(() => expect(reportsOf(r).health()[0]!.status).toBe('down'));
    expect(reportsOf(r).health()[0]!.error).toMatch(/503|overloaded|unavailable/i);
    // A down provider is the last resort, not the first choice.
    expect((await r.plan(chatRequest())).map((c) => c.provider.id)).toEqual(['b', 'a']);

    a.setFaults(undefined);
    await clock.advance(10_000);
    await vi.waitFor(() => expect(reportsOf(r).health()[0]!.status).toBe('healthy'));
    expect((await r.plan(chatRequest())).map((c) => c.provider.id)).toEqual(['a', 'b']);
    expect(changes).toEqual(['a:unknown->healthy', 'a:healthy->degraded', 'a:degraded->down', 'a:down->healthy']);
  });

  it('healthCheckAll checks every provider now; a successful request also revives a down provider', async () => {
    const clock = new ManualClock();
    const a = await fake('Answer from A.', { faults: always('server-error') });
    const config = engineConfig([provider('a', a.url)]);
    const r = router(config, { clock });
    await r.healthCheckAll();
    await r.healthCheckAll();
    expect(reportsOf(r).health()[0]).toMatchObject({ status: 'down', consecutiveFailures: 2 });
    a.setFaults(undefined);
    expect((await chat(r)).text).toBe('Answer from A.');
    expect(reportsOf(r).health()[0]!.status).toBe('healthy');
    const [report] = await r.healthCheckAll();
    expect(report).toMatchObject({ providerId: 'a', status: 'healthy', models: 5 });
  });
});
