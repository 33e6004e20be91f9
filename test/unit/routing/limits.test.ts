import { describe, expect, it } from 'vitest';
import type { EngineProvider } from '../../../electron/engine/config/types.ts';
import type { Clock } from '../../../electron/engine/core/clock.ts';
import { ManualClock, systemClock } from '../../../electron/engine/routing/clock.ts';
import { isLimitRefusal, RateLimiter } from '../../../electron/engine/routing/limiter.ts';
import { MemoryState } from '../../../electron/engine/routing/state.ts';
import { chat, chatRequest, chats, closedAfterEach, engineConfig, provider, reportsOf } from './helpers.ts';

const { fake, router: track } = closedAfterEach();

function router(providers: EngineProvider[], clock: Clock, config: Parameters<typeof engineConfig>[1] = {}) {
  return track(engineConfig(providers, config), { clock });
}

describe('rate limits', () => {
  it('RPM 60: a burst of 100 sends at most 60 in the first minute to that provider', async () => {
    const clock = new ManualClock();
    const a = await fake('Answer from A.');
    const b = await fake('Answer from B.');
    const r = router(
      [provider('a', a.url, { limits: { rpm: 60, onLimit: 'skip', maxQueueMs: 0 } }), provider('b', b.url)],
      clock,
    );
    const burst = await Promise.all(Array.from({ length: 100 }, () => chat(r)));
    expect(burst.every((o) => o.error === undefined)).toBe(true);
    expect(chats(a)).toHaveLength(60);
    expect(chats(b)).toHaveLength(40);
    await clock.advance(30_000);
    for (let i = 0; i < 10; i++) expect((await chat(r)).text).toBe('Answer from B.');
    expect(chats(a)).toHaveLength(60);
    // A minute after the burst its requests leave the window and a takes traffic again.
    await clock.advance(30_000);
    expect((await chat(r)).text).toBe('Answer from A.');
  });

  it('onLimit queue: a request waits for the window instead of failing, up to maxQueueMs', async () => {
    const clock = new ManualClock();
    const a = await fake('Answer from A.');
    const r = router([provider('a', a.url, { limits: { rpm: 2, onLimit: 'queue', maxQueueMs: 90_000 } })], clock);
    expect((await chat(r)).text).toBe('Answer from A.');
    expect((await chat(r)).text).toBe('Answer from A.');
    const third = chat(r);
    await clock.advance(10_000);
    expect(chats(a)).toHaveLength(2);
    await clock.advance(50_500);
    expect((await third).text).toBe('Answer from A.');
    expect(chats(a)).toHaveLength(3);
  });

  it('a queue longer than maxQueueMs moves on with a clear reason', async () => {
    const clock = new ManualClock();
    const a = await fake('Answer from A.');
    const r = router([provider('a', a.url, { limits: { rpm: 1, onLimit: 'queue', maxQueueMs: 1_000 } })], clock);
    await chat(r);
    const outcome = await chat(r);
    expect(outcome.error?.code).toBe('ALL_PROVIDERS_FAILED');
    expect(outcome.error?.message).toMatch(/per-minute limit/);
  });

  it('TPM: requests whose tokens would pass the per-minute budget go elsewhere; answers correct the estimate', async () => {
    const clock = new ManualClock();
    const a = await fake('Answer from A.');
    const b = await fake('Answer from B.');
    const r = router(
      [provider('a', a.url, { limits: { tpm: 1_000, onLimit: 'skip', maxQueueMs: 0 } }), provider('b', b.url)],
      clock,
    );
    const request = { maxOutputTokens: 100 };
    // In flight, each request is charged its estimate, 404 tokens (304 for the prompt + 100 max output):
    // six at once, two fit in 1,000 and the rest go to b.
    const burst = await Promise.all(Array.from({ length: 6 }, () => chat(r, 'word '.repeat(240), request)));
    expect(burst.filter((o) => o.text === 'Answer from A.')).toHaveLength(2);
    // Once answered, the window holds what the answers reported (243 tokens each), so a third fits
    // this minute where the estimates alone would have sent it elsewhere; a fourth does not.
    expect((await chat(r, 'word '.repeat(240), request)).text).toBe('Answer from A.');
    expect((await chat(r, 'word '.repeat(240), request)).text).toBe('Answer from B.');
  });

  it('max concurrency: requests beyond it wait for a slot; least_connections sees the in-flight ones', async () => {
    const a = await fake('one two three four five', { tokenDelayMs: 40 });
    const b = await fake('Answer from B.');
    const r = router(
      [provider('a', a.url, { limits: { concurrency: 1, onLimit: 'queue', maxQueueMs: 5_000 } }), provider('b', b.url)],
      systemClock,
      { strategy: 'least_connections' },
    );
    const first = chat(r, 'hi', { providerId: 'a' });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(
      reportsOf(r)
        .stats()
        .providers.find((p) => p.providerId === 'a')!.inFlight,
    ).toBe(1);
    expect((await r.plan(chatRequest()))[0]!.provider.id).toBe('b');
    const second = chat(r, 'hi', { providerId: 'a' });
    await new Promise((resolve) => setTimeout(resolve, 60));
    // The second waits in the queue: a has seen only one request so far.
    expect(chats(a)).toHaveLength(1);
    expect((await first).text).toBe('one two three four five');
    expect((await second).text).toBe('one two three four five');
    expect(chats(a)).toHaveLength(2);
    expect(
      reportsOf(r)
        .stats()
        .providers.find((p) => p.providerId === 'a')!.inFlight,
    ).toBe(0);
  });

  it('asks for the slot and both windows at once: what a request refused for one put in the others is taken back', async () => {
    const clock = new ManualClock(Date.UTC(2026, 4, 10, 12));
    const limiter = new RateLimiter(new MemoryState(clock), clock);
    const limited = provider('a', 'http://127.0.0.1:9', {
      limits: { rpm: 3, tpm: 1_000, concurrency: 1, onLimit: 'skip', maxQueueMs: 0 },
    });
    const signal = new AbortController().signal;
    const first = await limiter.admit(limited, ['k'], 100, signal);
    expect(isLimitRefusal(first)).toBe(false);
    // No slot: its 100 tokens and its request are not left in the windows.
    expect(await limiter.admit(limited, ['k'], 100, signal)).toMatchObject({
      reason: expect.stringMatching(/in flight/),
    });
    expect(limiter.remainingTokens(limited, 'k')).toBe(900);
    limiter.release('a');
    // The TPM window is full for 950 tokens: the request it would have counted is taken back too.
    expect(await limiter.admit(limited, ['k'], 950, signal)).toMatchObject({
      reason: expect.stringMatching(/per-minute/),
    });
    expect(limiter.inFlight('a')).toBe(0);
    for (let i = 0; i < 2; i++) {
      const admitted = await limiter.admit(limited, ['k'], 10, signal);
      expect(isLimitRefusal(admitted)).toBe(false);
      limiter.release('a');
    }
    // Three requests admitted in all: the RPM window is full now, and nothing else was counted in it.
    expect(await limiter.admit(limited, ['k'], 10, signal)).toMatchObject({
      reason: expect.stringMatching(/per-minute/),
    });
    expect(limiter.remainingTokens(limited, 'k')).toBe(880);
  });
});
