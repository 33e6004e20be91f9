import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineProvider } from '../../electron/engine/config/types.ts';
import { ManualClock } from '../../electron/engine/routing/clock.ts';
import { Router } from '../../electron/engine/routing/router.ts';
import { always, type FakeServer, startFakeOpenAI } from '../fakes/providers.ts';
import { adaptersFor, chat, engineConfig, provider, reportsOf, withFailover } from '../unit/routing/helpers.ts';
import { inPool } from './routing-harness.ts';

/**
 * A provider that goes fully down, on a manual clock: its breaker's exact probes. (The random-failure
 * chaos run goes through `switchboard serve`: chaos-serve.test.ts.)
 */

const TEXTS: Record<string, string> = {
  alpha: 'Alpha answers: amber apples arrive at autumn after all.',
  bravo: 'Bravo answers: brown bears bake bread beside big boulders.',
  charlie: 'Charlie answers: calm cats chase cheerful crickets constantly.',
};

const fakes = new Map<string, FakeServer>();

function chaosProvider(id: string, server: FakeServer, priority: number): EngineProvider {
  return provider(id, server.url, {
    label: id,
    priority,
    retry: { attempts: 2, backoffFactor: 0.002 },
    // Long enough that a loaded 2-core CI machine does not time out healthy answers; hangs cost this much.
    firstTokenTimeoutMs: 1_000,
    timeoutMs: 5_000,
  });
}

beforeAll(async () => {
  for (const id of Object.keys(TEXTS)) fakes.set(id, await startFakeOpenAI({ apiKey: undefined, text: TEXTS[id] }));
});

afterAll(async () => {
  await Promise.all([...fakes.values()].map((f) => f.close()));
});

const chatsTo = (id: string) => fakes.get(id)!.requests.filter((r) => r.path.endsWith('/chat/completions')).length;

describe('chaos', () => {
  it('a provider that goes fully down gets nothing while its breaker is open, then exactly one probe', async () => {
    // Its own router on a manual clock, so "while open" and "after recovery" do not depend on how
    // fast a loaded machine runs; charlie fails fast (no retries) so nothing sleeps on that clock.
    const clock = new ManualClock();
    const config = engineConfig(
      withFailover(
        Object.keys(TEXTS).map((id, i) => ({
          ...chaosProvider(id, fakes.get(id)!, i),
          retry: { attempts: 1, backoffFactor: 0 },
        })),
        { maxFailures: 5, failureRate: 0.9, minRequests: 50, recoveryMs: 30_000 },
      ),
      { strategy: 'round_robin' },
    );
    const down = new Router(config, adaptersFor(config), { clock });
    const charlie = fakes.get('charlie')!;
    for (const fake of fakes.values()) fake.setFaults(undefined);
    charlie.setFaults(always('unavailable'));
    const state = () =>
      reportsOf(down)
        .breakers()
        .find((b) => b.providerId === 'charlie')?.state;
    try {
      // Four at a time until the breaker opens; requests already sent to charlie then finish first.
      for (let round = 0; state() !== 'open' && round < 20; round++)
        await inPool(4, 4, (i) => chat(down, `Down ${i}?`));
      const atOpen = chatsTo('charlie');
      expect(state()).toBe('open');
      // While open: 100 more requests, none of them to charlie, all answered by the others.
      await clock.advance(29_000);
      const whileOpen = await inPool(100, 8, (i) => chat(down, `Open ${i}?`));
      expect(chatsTo('charlie')).toBe(atOpen);
      expect(whileOpen.every((o) => o.text === TEXTS.alpha || o.text === TEXTS.bravo)).toBe(true);
      // After the recovery time: one probe among many concurrent requests; it fails and re-opens.
      await clock.advance(1_000);
      const probing = await inPool(40, 8, (i) => chat(down, `Probe ${i}?`));
      expect(chatsTo('charlie')).toBe(atOpen + 1);
      expect(probing.every((o) => o.text === TEXTS.alpha || o.text === TEXTS.bravo)).toBe(true);
      expect(state()).toBe('open');
      // It comes back: the next probe succeeds and closes the breaker; traffic returns.
      charlie.setFaults(undefined);
      await clock.advance(30_000);
      const back = await inPool(30, 1, (i) => chat(down, `Back ${i}?`));
      expect(state()).toBe('closed');
      expect(back.filter((o) => o.text === TEXTS.charlie)).toHaveLength(10);
    } finally {
      down.close();
    }
  }, 60_000);
});
