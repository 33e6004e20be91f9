import { describe, expect, it } from 'vitest';
import type { EngineProvider } from '../../../electron/engine/config/types.ts';
import type { Clock } from '../../../electron/engine/core/clock.ts';
import { ManualClock, systemClock } from '../../../electron/engine/routing/clock.ts';
import type { RouterOptions } from '../../../electron/engine/routing/router.ts';
import { always, faultSequence } from '../../fakes/providers.ts';
import {
  chat,
  chatRequest,
  chats,
  closedAfterEach,
  engineConfig,
  provider,
  reportsOf,
  withFailover,
} from './helpers.ts';

/** Strategies that learn from traffic (latency, token load, reliability) and per-user fallback, over real HTTP. */

const { fake, router: track } = closedAfterEach();

function router(
  providers: EngineProvider[],
  config: Parameters<typeof engineConfig>[1],
  clock: Clock = systemClock,
  strategy: RouterOptions['strategy'] = {},
) {
  return track(engineConfig(withFailover(providers, { maxFailures: 2, recoveryMs: 60_000 }), config), {
    clock,
    strategy,
  });
}

describe('adaptive strategies', () => {
  it('latency: measured-faster providers go first; near-ties within the tolerance share the load', async () => {
    // A wide absolute tolerance absorbs the noise of a loaded 2-core machine (a cold first request, a GC
    // pause) between the two equal providers; the slow one stays far outside it.
    const slow = await fake('one two three four five six', { tokenDelayMs: 250 });
    const fast = await fake('one two three four five six');
    const twin = await fake('one two three four five six');
    const r = router(
      [provider('slow', slow.url), provider('fast', fast.url), provider('twin', twin.url)],
      { strategy: 'latency' },
      systemClock,
      { latencyToleranceMs: 100 },
    );
    // Providers not yet measured twice are tried first, so each gets measured (a first answer may be a cold start).
    for (let i = 0; i < 30 && chats(slow).length < 2; i++) await chat(r);
    expect(chats(slow)).toHaveLength(2);
    const slowBefore = chats(slow).length;
    for (let i = 0; i < 20; i++) await chat(r);
    expect(chats(slow)).toHaveLength(slowBefore);
    // fast and twin answer alike (both well under a millisecond apart): both keep getting traffic.
    expect(chats(fast).length).toBeGreaterThan(5);
    expect(chats(twin).length).toBeGreaterThan(5);
    const stats = reportsOf(r)
      .stats()
      .providers.find((p) => p.providerId === 'slow')!;
    expect(stats.ttftMs).toBeGreaterThan(30);
  });

  it('token_load: the provider with the most of its minute token budget left goes first', async () => {
    const a = await fake('Answer from A.');
    const b = await fake('Answer from B.');
    const r = router(
      [
        provider('a', a.url, { limits: { tpm: 10_000, onLimit: 'skip', maxQueueMs: 0 } }),
        provider('b', b.url, { limits: { tpm: 10_000, onLimit: 'skip', maxQueueMs: 0 } }),
      ],
      { strategy: 'token_load' },
      new ManualClock(),
    );
    expect((await chat(r, 'word '.repeat(400), { maxOutputTokens: 100 })).text).toBe('Answer from A.');
    // a has spent ~500 of its 10,000 tokens; b none: b leads, then they alternate as they even out.
    expect((await chat(r, 'hi', { maxOutputTokens: 100 })).text).toBe('Answer from B.');
    expect((await r.plan(chatRequest()))[0]!.provider.id).toBe('b');
  });

  it('capability: the most reliable provider lately leads; bestProviderFor says which', async () => {
    const a = await fake('Answer from A.', { faults: faultSequence('server-error', 'server-error', 'server-error') });
    const b = await fake('Answer from B.');
    const r = router([provider('a', a.url, { retry: { attempts: 1, backoffFactor: 0 } }), provider('b', b.url)], {
      strategy: 'capability',
    });
    expect(reportsOf(r).bestProviderFor('chat')?.id).toBe('a');
    await chat(r);
    expect((await r.plan(chatRequest()))[0]!.provider.id).toBe('b');
    expect(reportsOf(r).bestProviderFor('chat')?.id).toBe('b');
    expect(reportsOf(r).bestProviderFor('transcription')).toBeUndefined();
  });

  it('sticky: when a user’s provider fails, the user falls back to the next on the ring and returns after recovery', async () => {
    const servers = await Promise.all(['A', 'B', 'C'].map((name) => fake(`Answer from ${name}.`)));
    const ids = ['a', 'b', 'c'];
    const clock = new ManualClock();
    const r = router(
      ids.map((id, i) => provider(id, servers[i]!.url, { retry: { attempts: 1, backoffFactor: 0 } })),
      { strategy: 'sticky' },
      clock,
    );
    const user = { userId: 'dana' };
    const home = (await r.plan(chatRequest('hi', user)))[0]!.provider.id;
    const homeServer = servers[ids.indexOf(home)]!;
    homeServer.setFaults(always('unavailable'));
    // Two failures open home's breaker; each request is still answered by a fallback.
    for (let i = 0; i < 2; i++) expect((await chat(r, 'hi', user)).error).toBeUndefined();
    const away = (await r.plan(chatRequest('hi', user)))[0]!.provider.id;
    expect(away).not.toBe(home);
    const texts = new Set<string>();
    for (let i = 0; i < 5; i++) texts.add((await chat(r, 'hi', user)).text);
    expect(texts.size).toBe(1);
    expect(r.sticky.assignment('dana')).toBe(home);
    homeServer.setFaults(undefined);
    await clock.advance(60_000);
    await chat(r, 'hi', user);
    expect((await r.plan(chatRequest('hi', user)))[0]!.provider.id).toBe(home);
  });

  it('key pools: a key that gets 429 rests while the provider’s other key carries on', async () => {
    const a = await fake('Answer from A.', { faults: faultSequence({ kind: 'rate-limit', retryAfterMs: 60_000 }) });
    const clock = new ManualClock();
    const first = 'sk-first-key-aaaaaaaaaaaa';
    const second = 'sk-second-key-bbbbbbbbbbb';
    const r = router([provider('a', a.url, { keys: [first, second] })], {}, clock);
    const keyOf = (index: number) => chats(a)[index]!.headers.authorization?.replace('Bearer ', '');
    // The first key is limited: the same request goes again at once with the second key.
    expect((await chat(r)).text).toBe('Answer from A.');
    expect([keyOf(0), keyOf(1)]).toEqual([first, second]);
    for (let i = 0; i < 4; i++) await chat(r);
    expect(
      chats(a)
        .slice(2)
        .every((q) => q.headers.authorization === `Bearer ${second}`),
    ).toBe(true);
    expect(
      reportsOf(r)
        .stats()
        .providers[0]!.keys.map((k) => k.status),
    ).toEqual(['cooling', 'active']);
    // After its Retry-After the first key is back in rotation.
    await clock.advance(60_000);
    for (let i = 0; i < 4; i++) await chat(r);
    expect(
      new Set(
        chats(a)
          .slice(-4)
          .map((q) => q.headers.authorization),
      ),
    ).toEqual(new Set([`Bearer ${first}`, `Bearer ${second}`]));
  });
});
