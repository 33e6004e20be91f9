import { describe, expect, it } from 'vitest';
import type { EngineProvider, FailoverSettings } from '../../../electron/engine/config/types.ts';
import { ManualClock, systemClock } from '../../../electron/engine/routing/clock.ts';
import type { Router, RouterOptions } from '../../../electron/engine/routing/router.ts';
import { always, FAKE_OPENAI_KEY, faultSequence } from '../../fakes/providers.ts';
import { chat, chats, closedAfterEach, engineConfig, provider, reportsOf, withFailover } from './helpers.ts';

const { fake, router: track } = closedAfterEach();

function router(
  providers: EngineProvider[],
  { breaker, ...options }: RouterOptions & { breaker?: Partial<FailoverSettings> } = {},
  config: Parameters<typeof engineConfig>[1] = {},
): Router {
  return track(engineConfig(breaker ? withFailover(providers, breaker) : providers, config), {
    clock: systemClock,
    ...options,
  });
}

describe('retries and fallback', () => {
  it('retries a 500 on the same provider, then falls back; the caller gets one whole answer', async () => {
    const a = await fake('Answer from A.', { faults: always('server-error') });
    const b = await fake('Answer from B.');
    const r = router([provider('a', a.url), provider('b', b.url)]);
    const outcome = await chat(r);
    expect(outcome.error).toBeUndefined();
    expect(outcome.text).toBe('Answer from B.');
    expect(outcome.route).toMatchObject({ providerId: 'b', fallbackDepth: 1 });
    expect(chats(a)).toHaveLength(2);
    expect(chats(b)).toHaveLength(1);
  });

  it('a retry succeeds on the same provider after a transient 503', async () => {
    const a = await fake('Answer from A.', { faults: faultSequence('unavailable') });
    const b = await fake('Answer from B.');
    const r = router([provider('a', a.url), provider('b', b.url)]);
    const outcome = await chat(r);
    expect(outcome.text).toBe('Answer from A.');
    expect(chats(a)).toHaveLength(2);
    expect(chats(b)).toHaveLength(0);
  });

  it('a 401 key is disabled and reported, the next key answers, and the bad key is not used again', async () => {
    const a = await fake('Answer from A.', { apiKey: FAKE_OPENAI_KEY });
    const r = router([provider('a', a.url, { keys: ['sk-revoked-key-111111111', FAKE_OPENAI_KEY] })]);
    const disabled: { key: string }[] = [];
    r.on('key.disabled', (event) => disabled.push(event));
    const first = await chat(r);
    expect(first.text).toBe('Answer from A.');
    expect(disabled).toEqual([expect.objectContaining({ providerId: 'a', key: '…1111' })]);
    expect(JSON.stringify(disabled)).not.toContain('sk-revoked');
    for (let i = 0; i < 4; i++) expect((await chat(r)).text).toBe('Answer from A.');
    expect(chats(a).map((q) => q.fault)).toEqual(['bad-key', undefined, undefined, undefined, undefined, undefined]);
    expect(
      reportsOf(r)
        .stats()
        .providers[0]!.keys.map((k) => k.status),
    ).toEqual(['disabled', 'active']);
  });

  it('a 429 moves on to another provider at once and the limited key rests for its Retry-After', async () => {
    const a = await fake('Answer from A.', {
      faults: faultSequence({ kind: 'rate-limit', retryAfter: '1', retryAfterMs: 300 }),
    });
    const b = await fake('Answer from B.');
    const r = router([provider('a', a.url), provider('b', b.url)]);
    expect((await chat(r)).text).toBe('Answer from B.');
    // While a rests, requests go straight to b without knocking on a.
    expect((await chat(r)).text).toBe('Answer from B.');
    expect(chats(a)).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect((await chat(r)).text).toBe('Answer from A.');
  });

  it('a 429 with nowhere else to go waits out the Retry-After and tries again', async () => {
    const a = await fake('Answer from A.', { faults: faultSequence({ kind: 'rate-limit', retryAfterMs: 50 }) });
    const r = router([provider('a', a.url)]);
    const started = Date.now();
    expect((await chat(r)).text).toBe('Answer from A.');
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(chats(a)).toHaveLength(2);
  });

  it("waits while other requests' 429s keep every provider resting, and fails at once past its patience", async () => {
    const a = await fake('Answer from A.');
    const b = await fake('Answer from B.');
    const providers = [provider('a', a.url), provider('b', b.url)];
    const r = router(providers, { backoff: { maxRetryWaitMs: 2_000 } });
    // A first answer loads what a first call loads, so that no load blocks the loop while the rests run.
    expect((await chat(r)).text).toBe('Answer from A.');
    // As concurrent requests' 429s would: a and b rest 60 ms, again and again every 10 ms for 300 ms. The
    // request goes to the back of the queue many times (more than any fixed count of turns) and is answered.
    const restAll = (ms: number) => {
      for (const p of providers) r.keyPools.coolDown(p, undefined, ms);
    };
    restAll(60);
    let ticks = 0;
    const resting = setInterval(() => {
      restAll(60);
      if (++ticks === 30) clearInterval(resting);
    }, 10);
    const started = Date.now();
    const outcome = await chat(r);
    clearInterval(resting);
    expect(outcome.error?.message).toBeUndefined();
    // Whichever rest ended first answers; nothing was sent while they rested.
    expect(outcome.text).toMatch(/^Answer from [AB]\.$/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(chats(a).length + chats(b).length).toBe(2);

    // A rest longer than the request's patience is not waited for: it fails at once, saying when to come back.
    r.keyPools.coolDown(providers[0]!, undefined, 5_000);
    r.keyPools.coolDown(providers[1]!, undefined, 3_000);
    const refusedAt = Date.now();
    const refused = await chat(r);
    expect(refused.error?.code).toBe('ALL_PROVIDERS_FAILED');
    expect(refused.error?.message).toMatch(/Provider a .*resting for 5 s; Provider b .*resting for 3 s$/);
    expect(refused.error?.retryAfterMs).toBeGreaterThan(2_900);
    expect(Date.now() - refusedAt).toBeLessThan(1_000);
  });

  it('a request whose patience runs out after many turns names each resting provider once, with its last wait', async () => {
    const a = await fake('Answer from A.');
    const b = await fake('Answer from B.');
    const providers = [provider('a', a.url), provider('b', b.url)];
    const r = router(providers, { backoff: { maxRetryWaitMs: 150 } });
    // Rests of 100 ms renewed every 10 ms: the patience of 150 ms runs out on the second turn.
    const restAll = () => {
      for (const p of providers) r.keyPools.coolDown(p, undefined, 100);
    };
    restAll();
    const resting = setInterval(restAll, 10);
    const outcome = await chat(r);
    clearInterval(resting);
    expect(outcome.error?.code).toBe('ALL_PROVIDERS_FAILED');
    // Each provider was skipped on several turns: one line each, not one per turn.
    expect(outcome.error?.attempts?.map((attempt) => attempt.providerId)).toEqual(['a', 'b']);
    expect(outcome.error?.message).toMatch(
      /^ALL_PROVIDERS_FAILED: no provider could answer — Provider a \(gpt-4o-mini\): skipped: rate limited, resting for \d+ ms; Provider b \(gpt-4o-mini\): skipped: rate limited, resting for \d+ ms$/,
    );
    expect(chats(a).length + chats(b).length).toBe(0);
  });

  it('once output reached the caller, a cut stream ends with an error and is never replayed elsewhere', async () => {
    const a = await fake('one two three four five six seven', { faults: always({ kind: 'cut', afterChunks: 3 }) });
    const b = await fake('Answer from B.');
    const r = router([provider('a', a.url), provider('b', b.url)]);
    const outcome = await chat(r);
    expect(outcome.error?.code).toBe('STREAM_INTERRUPTED');
    expect(outcome.error?.message).toContain('incomplete');
    expect(outcome.text.length).toBeGreaterThan(0);
    expect('one two three four five six seven'.startsWith(outcome.text)).toBe(true);
    expect(chats(b)).toHaveLength(0);
  });

  it('a provider that sends nothing within first_token_timeout is abandoned for the next', async () => {
    const a = await fake('Answer from A.', { faults: always('hang') });
    const b = await fake('Answer from B.');
    const r = router([
      provider('a', a.url, { firstTokenTimeoutMs: 150, retry: { attempts: 1, backoffFactor: 0 } }),
      provider('b', b.url),
    ]);
    const started = Date.now();
    const outcome = await chat(r);
    expect(outcome.text).toBe('Answer from B.');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('context-window fallback: a prompt too long for one model goes to a larger one', async () => {
    const a = await fake('Answer from A.');
    const b = await fake('Answer from B.', { faults: always('context-too-long') });
    const c = await fake('Answer from C.');
    const r = router([
      provider('a', a.url, { contextWindows: { 'gpt-4o-mini': 1_000 } }),
      provider('b', b.url, { contextWindows: { 'gpt-4o-mini': 8_000 } }),
      provider('c', c.url, { contextWindows: { 'gpt-4o-mini': 200_000 } }),
    ]);
    const outcome = await chat(r, 'word '.repeat(2_000));
    expect(outcome.text).toBe('Answer from C.');
    // a is known to be too small and is not even called; b says so itself and is not retried.
    expect(chats(a)).toHaveLength(0);
    expect(chats(b)).toHaveLength(1);
    expect((await chat(r, 'short')).text).toBe('Answer from A.');
  });

  it('when nothing can answer, the error names each provider tried and why', async () => {
    const a = await fake('A', { faults: always('server-error') });
    const b = await fake('B', { apiKey: FAKE_OPENAI_KEY });
    const r = router([
      provider('a', a.url, { label: 'Alpha' }),
      provider('b', b.url, { label: 'Beta', keys: ['sk-wrong-key-22222222'] }),
    ]);
    const outcome = await chat(r);
    expect(outcome.error?.code).toBe('ALL_PROVIDERS_FAILED');
    expect(outcome.error?.message).toMatch(/Alpha \(gpt-4o-mini\): .*500|Alpha \(gpt-4o-mini\): .*server/i);
    expect(outcome.error?.message).toContain('Beta (gpt-4o-mini)');
    expect(outcome.error?.attempts?.map((f) => [f.providerId, f.code])).toEqual([
      ['a', 'PROVIDER_UNAVAILABLE'],
      ['a', 'PROVIDER_UNAVAILABLE'],
      ['b', 'PROVIDER_UNAUTHORIZED'],
    ]);
    expect(outcome.error?.message).not.toContain('sk-wrong-key');
  });
});

describe('circuit breakers', () => {
  it('open after repeated failures: no traffic while open, then exactly one probe; success closes', async () => {
    const a = await fake('Answer from A.', { faults: always('unavailable') });
    const b = await fake('Answer from B.');
    // A manual clock: the recovery period passes when the test says, however slow the machine.
    const clock = new ManualClock();
    const r = router([provider('a', a.url, { retry: { attempts: 1, backoffFactor: 0 } }), provider('b', b.url)], {
      breaker: { maxFailures: 3, recoveryMs: 400 },
      clock,
    });
    const transitions: string[] = [];
    r.on('breaker.open', (e) => transitions.push(`${e.providerId}:${e.from}->open`));
    r.on('breaker.close', (e) => transitions.push(`${e.providerId}:${e.from}->closed`));
    for (let i = 0; i < 3; i++) expect((await chat(r)).text).toBe('Answer from B.');
    expect(chats(a)).toHaveLength(3);
    expect(
      reportsOf(r)
        .breakers()
        .find((b) => b.providerId === 'a'),
    ).toMatchObject({ key: 'a/gpt-4o-mini', state: 'open' });
    // Open: a gets nothing, and the answer does not wait on it.
    for (let i = 0; i < 20; i++) expect((await chat(r)).text).toBe('Answer from B.');
    expect(chats(a)).toHaveLength(3);

    await clock.advance(399);
    expect((await chat(r)).text).toBe('Answer from B.');
    expect(chats(a)).toHaveLength(3);
    await clock.advance(1);
    a.setFaults(undefined);
    a.setText('Answer from A, recovered.');
    // Ten requests at once after recovery: one probe reaches a, the rest go to b meanwhile.
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => chat(r)));
    expect(chats(a)).toHaveLength(4);
    expect(outcomes.filter((o) => o.text === 'Answer from A, recovered.')).toHaveLength(1);
    expect(outcomes.filter((o) => o.text === 'Answer from B.')).toHaveLength(9);
    expect(reportsOf(r).breakers()[0]!.state).toBe('closed');
    expect(transitions).toEqual(['a:closed->open', 'a:half_open->closed']);
    expect((await chat(r)).text).toBe('Answer from A, recovered.');
  });

  it('a failed probe re-opens the breaker for another recovery period', async () => {
    const a = await fake('A', { faults: always('server-error') });
    const b = await fake('Answer from B.');
    const clock = new ManualClock();
    const r = router([provider('a', a.url, { retry: { attempts: 1, backoffFactor: 0 } }), provider('b', b.url)], {
      breaker: { maxFailures: 2, recoveryMs: 200 },
      clock,
    });
    await chat(r);
    await chat(r);
    expect(reportsOf(r).breakers()[0]!.state).toBe('open');
    await clock.advance(200);
    await chat(r);
    expect(chats(a)).toHaveLength(3);
    expect(reportsOf(r).breakers()[0]!.state).toBe('open');
    await chat(r);
    expect(chats(a)).toHaveLength(3);
  });

  it('retries count toward the breaker: it opens mid-request and the remaining retries are not sent', async () => {
    const a = await fake('A', { faults: always('server-error') });
    const b = await fake('Answer from B.');
    const r = router([provider('a', a.url, { retry: { attempts: 5, backoffFactor: 0.001 } }), provider('b', b.url)], {
      breaker: { maxFailures: 2, recoveryMs: 60_000 },
    });
    const outcome = await chat(r);
    expect(outcome.text).toBe('Answer from B.');
    expect(chats(a)).toHaveLength(2);
    expect(outcome.route?.fallbackDepth).toBe(1);
  });

  it('opens on a failure percentage over a minimum number of requests', async () => {
    // Every other request fails: never 3 in a row, but 50 % of 10.
    const a = await fake('Answer from A.', {
      faults: (request) => (request.index % 2 === 1 ? 'server-error' : undefined),
    });
    const b = await fake('Answer from B.');
    const r = router([provider('a', a.url, { retry: { attempts: 1, backoffFactor: 0 } }), provider('b', b.url)], {
      breaker: { maxFailures: 3, failureRate: 0.5, minRequests: 10, recoveryMs: 60_000 },
    });
    for (let i = 0; i < 10; i++) await chat(r);
    expect(reportsOf(r).breakers()[0]!.state).toBe('open');
    const before = chats(a).length;
    await chat(r);
    expect(chats(a)).toHaveLength(before);
  });
});
