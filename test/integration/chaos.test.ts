import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineProvider } from '../../electron/engine/config/types.ts';
import { ManualClock } from '../../electron/engine/routing/clock.ts';
import { Router } from '../../electron/engine/routing/router.ts';
import { always, type FakeServer, type Fault, faultMix, startFakeOpenAI } from '../fakes/providers.ts';
import {
  adaptersFor,
  type ChatOutcome,
  chat,
  engineConfig,
  provider,
  reportsOf,
  withFailover,
} from '../unit/routing/helpers.ts';

/**
 * Three providers, each failing 30 % of requests at random — 429 with Retry-After, 500, 503, hangs
 * (timeouts), connection resets, streams cut before any text and streams cut mid-text — and 2,000
 * requests through the router, 16 at a time. Every caller must get exactly one provider's whole text,
 * or a clear error; nobody may ever see text duplicated or spliced from two providers.
 */

const TEXTS: Record<string, string> = {
  alpha: 'Alpha answers: amber apples arrive at autumn after all.',
  bravo: 'Bravo answers: brown bears bake bread beside big boulders.',
  charlie: 'Charlie answers: calm cats chase cheerful crickets constantly.',
};
const REQUESTS = 2_000;
const CONCURRENCY = 16;

// 30 % in all. Mid-text cuts (afterChunks 3 = role frame + two words) are the one failure the router
// must surface instead of falling back, since text already reached the caller.
const MIX = (): [Fault, number][] => [
  [{ kind: 'rate-limit', retryAfter: '1', retryAfterMs: 25 }, 0.06],
  ['server-error', 0.06],
  ['unavailable', 0.05],
  [{ kind: 'hang' }, 0.03],
  ['reset', 0.04],
  [{ kind: 'cut', afterChunks: 1 }, 0.04],
  [{ kind: 'cut', afterChunks: 3 }, 0.02],
];

const fakes = new Map<string, FakeServer>();
let router: Router;

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
  let seed = 11;
  for (const id of Object.keys(TEXTS)) {
    fakes.set(
      id,
      await startFakeOpenAI({ apiKey: undefined, text: TEXTS[id], faults: faultMix(MIX(), { seed: seed++ }) }),
    );
  }
  // Random failures at 24 % (429s do not count) practically never make 8 in a row; a provider that
  // is really down does within a few requests.
  const config = engineConfig(
    withFailover(
      Object.keys(TEXTS).map((id, i) => chaosProvider(id, fakes.get(id)!, i)),
      { maxFailures: 8, failureRate: 0.9, minRequests: 50, recoveryMs: 1_000 },
    ),
    { strategy: 'round_robin' },
  );
  router = new Router(config, adaptersFor(config), { backoff: { maxRetryWaitMs: 1_000 } });
});

afterAll(async () => {
  router?.close();
  await Promise.all([...fakes.values()].map((f) => f.close()));
});

async function pool(count: number, concurrency: number, run: (index: number) => Promise<ChatOutcome>) {
  const outcomes: ChatOutcome[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const index = next++;
        outcomes[index] = await run(index);
      }
    }),
  );
  return outcomes;
}

const chatsTo = (id: string) => fakes.get(id)!.requests.filter((r) => r.path.endsWith('/chat/completions')).length;

describe('chaos', () => {
  it('2,000 requests over three flaky providers: whole answers from one provider, or clear errors', async () => {
    const outcomes = await pool(REQUESTS, CONCURRENCY, (i) => chat(router, `Question ${i}?`));
    const full = new Set(Object.values(TEXTS));
    let answered = 0;
    let cutMidText = 0;
    let allFailed = 0;
    for (const outcome of outcomes) {
      if (!outcome.error) {
        expect(full.has(outcome.text), `spliced or partial answer: ${outcome.text}`).toBe(true);
        answered++;
        continue;
      }
      if (outcome.text.length > 0) {
        // Text had reached the caller: the stream ends with an error, and what came is a prefix of
        // one provider's text — not followed by another provider's.
        const owners = Object.values(TEXTS).filter((t) => t.startsWith(outcome.text));
        expect(owners, `spliced text: ${outcome.text}`).toHaveLength(1);
        expect(outcome.error.code).toBe('STREAM_INTERRUPTED');
        expect(outcome.error.message).toMatch(/incomplete/);
        cutMidText++;
        continue;
      }
      // Nothing came: only when every provider failed the request or could not take it, and the
      // error says which and why.
      expect(outcome.error.code).toBe('ALL_PROVIDERS_FAILED');
      const named = new Set(outcome.error.attempts?.map((a) => a.providerId));
      expect([...named].sort()).toEqual(['alpha', 'bravo', 'charlie']);
      for (const id of Object.keys(TEXTS)) expect(outcome.error.message).toContain(`${id} (gpt-4o-mini)`);
      allFailed++;
    }
    expect(answered + cutMidText + allFailed).toBe(REQUESTS);
    // A request fails outright only when all three fail it: rare at 30 % each with a retry.
    expect(allFailed / REQUESTS).toBeLessThan(0.02);
    expect(answered / REQUESTS).toBeGreaterThan(0.9);
    // Every fault kind was exercised, and each provider answered its share.
    const faults = new Set([...fakes.values()].flatMap((f) => f.requests.map((r) => r.fault)));
    for (const kind of ['rate-limit', 'server-error', 'unavailable', 'hang', 'reset', 'cut'])
      expect(faults).toContain(kind);
    for (const id of Object.keys(TEXTS)) expect(chatsTo(id)).toBeGreaterThan(REQUESTS / 5);
    // One usage event per request, whatever happened to it.
    expect(reportsOf(router).costReport('provider').total.requests).toBe(REQUESTS);
    expect(
      reportsOf(router)
        .breakers()
        .every((b) => b.state === 'closed'),
    ).toBe(true);
  }, 120_000);

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
      for (let round = 0; state() !== 'open' && round < 20; round++) await pool(4, 4, (i) => chat(down, `Down ${i}?`));
      const atOpen = chatsTo('charlie');
      expect(state()).toBe('open');
      // While open: 100 more requests, none of them to charlie, all answered by the others.
      await clock.advance(29_000);
      const whileOpen = await pool(100, 8, (i) => chat(down, `Open ${i}?`));
      expect(chatsTo('charlie')).toBe(atOpen);
      expect(whileOpen.every((o) => o.text === TEXTS.alpha || o.text === TEXTS.bravo)).toBe(true);
      // After the recovery time: one probe among many concurrent requests; it fails and re-opens.
      await clock.advance(1_000);
      const probing = await pool(40, 8, (i) => chat(down, `Probe ${i}?`));
      expect(chatsTo('charlie')).toBe(atOpen + 1);
      expect(probing.every((o) => o.text === TEXTS.alpha || o.text === TEXTS.bravo)).toBe(true);
      expect(state()).toBe('open');
      // It comes back: the next probe succeeds and closes the breaker; traffic returns.
      charlie.setFaults(undefined);
      await clock.advance(30_000);
      const back = await pool(30, 1, (i) => chat(down, `Back ${i}?`));
      expect(state()).toBe('closed');
      expect(back.filter((o) => o.text === TEXTS.charlie)).toHaveLength(10);
    } finally {
      down.close();
    }
  }, 60_000);
});
