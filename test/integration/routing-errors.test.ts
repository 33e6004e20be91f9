import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '../../electron/engine/config/errors.ts';
import { loadConfig } from '../../electron/engine/config/load.ts';
import { always, FAKE_OPENAI_KEY, faultSequence } from '../fakes/providers.ts';
import { answeredBy, chatsTo, custom, type Gateway, gatewayPerTest } from './routing-harness.ts';

/**
 * What each class of upstream failure does to a request and to the provider, as a client of the local
 * API meets it: fake OpenAI-protocol upstreams on 127.0.0.1 answering in their real error shapes, and
 * the failover / on_status_codes settings written in providers.yaml.
 */

const { upstreams, open } = gatewayPerTest();

const depthOf = (reply: { headers: Headers }) => reply.headers.get('x-switchboard-fallback-depth');
const breakerOf = (sb: Gateway, id: string) =>
  sb.services.engine.reports.stats().providers.find((p) => p.providerId === id)?.breaker;

describe('error classes', () => {
  it('quota used up: the next provider answers, and the spent key is not asked again', async () => {
    const spent = await upstreams.start({ text: 'spent', faults: always('quota') });
    const backup = await upstreams.start({ text: 'backup' });
    const sb = await open({
      providers: { spent: custom(spent, { priority: 1 }), backup: custom(backup, { priority: 2 }) },
    });
    const first = await sb.chat();
    expect(first.status).toBe(200);
    expect(answeredBy(first)).toBe('backup');
    expect(depthOf(first)).toBe('1');
    for (let i = 0; i < 3; i++) expect(answeredBy(await sb.chat())).toBe('backup');
    // One call found the quota spent; no retry on it, and its key rests instead of failing every request.
    expect(chatsTo(spent)).toBe(1);
  });

  it('quota used up with nowhere else to go: 402 QUOTA_EXCEEDED that says to check billing', async () => {
    const spent = await upstreams.start({ faults: always('quota') });
    const sb = await open({ providers: { spent: custom(spent) } });
    const reply = await sb.chat();
    expect(reply.status).toBe(402);
    expect(reply.json.error.message).toMatch(/says the quota or credit is used up/);
    expect(reply.json.error.message).toMatch(/billing/);
  });

  it('a rejected key is taken out and named by its last digits; the next key of the provider answers', async () => {
    const upstream = await upstreams.start({ apiKey: FAKE_OPENAI_KEY, text: 'with the good key' });
    const badKey = 'sk-revoked-key-000000000000009f2a';
    const sb = await open({
      providers: { multi: custom(upstream, { api_keys: [badKey, FAKE_OPENAI_KEY] }) },
      strategy: 'priority',
    });
    for (let i = 0; i < 4; i++) {
      const reply = await sb.chat();
      expect(reply.status).toBe(200);
      expect(reply.json.choices[0].message.content).toBe('with the good key');
    }
    const sentWith = upstream.requests.map((r) => r.headers.authorization);
    // The pool takes turns, so the bad key was tried, once: its 401 took it out of the pool.
    expect(sentWith.filter((h) => h === `Bearer ${badKey}`)).toHaveLength(1);
    const keys = sb.services.engine.reports.stats().providers.find((p) => p.providerId === 'multi')!.keys;
    expect(keys).toContainEqual(expect.objectContaining({ key: '…9f2a', status: 'disabled' }));
    expect(JSON.stringify(keys)).not.toContain(badKey);
    expect(breakerOf(sb, 'multi')).toBe('closed');
  });

  it('context overflow moves on to a model with a larger window, past models no larger than the one that refused', async () => {
    const small = await upstreams.start({ text: 'small', faults: always('context-too-long') });
    const same = await upstreams.start({ text: 'same size' });
    const large = await upstreams.start({ text: 'large' });
    const windows = (size: number) => ({ context_windows: { 'gpt-4o-mini': size } });
    const sb = await open({
      providers: {
        small: custom(small, { priority: 1, ...windows(16_000) }),
        same: custom(same, { priority: 2, ...windows(16_000) }),
        large: custom(large, { priority: 3, ...windows(128_000) }),
      },
    });
    const reply = await sb.chat();
    expect(reply.status).toBe(200);
    expect(answeredBy(reply)).toBe('large');
    expect(chatsTo(small)).toBe(1);
    expect(chatsTo(same)).toBe(0);
    expect(breakerOf(sb, 'small')).toBe('closed');
  });

  it("a refusal under one provider's content policy goes to another provider", async () => {
    const strict = await upstreams.start({ faults: always('content-filter') });
    const other = await upstreams.start({ text: 'answered elsewhere' });
    const sb = await open({
      providers: { strict: custom(strict, { priority: 1 }), other: custom(other, { priority: 2 }) },
    });
    const reply = await sb.chat();
    expect(reply.status).toBe(200);
    expect(answeredBy(reply)).toBe('other');
    expect(chatsTo(strict)).toBe(1);
  });

  it('an invalid request goes back to the client at once and never counts against the provider', async () => {
    const picky = await upstreams.start({ text: 'fine', faults: always('bad-request') });
    const other = await upstreams.start({ text: 'other' });
    const sb = await open({
      failover: { max_failures: 2 },
      providers: { picky: custom(picky, { priority: 1 }), other: custom(other, { priority: 2 }) },
    });
    for (let i = 0; i < 6; i++) expect((await sb.chat()).status).toBe(400);
    // Every provider would have said the same: nothing was sent elsewhere, nothing retried.
    expect(chatsTo(other)).toBe(0);
    expect(chatsTo(picky)).toBe(6);
    expect(breakerOf(sb, 'picky')).toBe('closed');
    picky.setFaults(undefined);
    expect(answeredBy(await sb.chat())).toBe('picky');
  });
});

describe('failover: in providers.yaml', () => {
  it('max_failures opens the breaker: the failing provider gets no more traffic until recovery_timeout', async () => {
    const flaky = await upstreams.start({ faults: always('server-error') });
    const steady = await upstreams.start({ text: 'steady' });
    const sb = await open({
      failover: { max_failures: 2, recovery_timeout: 600 },
      providers: {
        flaky: custom(flaky, { priority: 1, retry: { max_attempts: 1 } }),
        steady: custom(steady, { priority: 2 }),
      },
    });
    for (let i = 0; i < 6; i++) expect(answeredBy(await sb.chat())).toBe('steady');
    expect(chatsTo(flaky)).toBe(2);
    expect(breakerOf(sb, 'flaky')).toBe('open');
  });

  it("a provider's own failover block overrides the global one", async () => {
    const flaky = await upstreams.start({ faults: always('server-error') });
    const steady = await upstreams.start({ text: 'steady' });
    const sb = await open({
      failover: { max_failures: 2, recovery_timeout: 600 },
      providers: {
        flaky: custom(flaky, { priority: 1, retry: { max_attempts: 1 }, failover: { max_failures: 4 } }),
        steady: custom(steady, { priority: 2 }),
      },
    });
    for (let i = 0; i < 6; i++) expect(answeredBy(await sb.chat())).toBe('steady');
    expect(chatsTo(flaky)).toBe(4);
  });

  it('primary and fallback_providers name the default chain, which keeps its order under a balancing strategy', async () => {
    const main = await upstreams.start({ text: 'main' });
    const standby = await upstreams.start({ text: 'standby' });
    const spare = await upstreams.start({ text: 'spare' });
    const sb = await open({
      strategy: 'round_robin',
      failover: { primary: 'main', fallback_providers: ['standby'] },
      providers: { spare: custom(spare), main: custom(main), standby: custom(standby) },
    });
    for (let i = 0; i < 6; i++) expect(answeredBy(await sb.chat())).toBe('main');
    main.setFaults(always('unavailable'));
    expect(answeredBy(await sb.chat())).toBe('standby');
    expect(chatsTo(spare)).toBe(0);
  });

  it("provider/model falls back to the named provider's own fallback_providers first", async () => {
    const named = await upstreams.start({ faults: always('unavailable') });
    const group = await upstreams.start({ text: 'same model elsewhere' });
    const chosen = await upstreams.start({ text: 'its chosen stand-by', models: ['llama-3.1-8b'] });
    const sb = await open({
      providers: {
        group: custom(group, { priority: 1 }),
        named: custom(named, { priority: 2, retry: { max_attempts: 1 }, failover: { fallback_providers: ['chosen'] } }),
        chosen: custom(chosen, { priority: 3, default_model: 'llama-3.1-8b' }),
      },
    });
    const reply = await sb.chat('named/gpt-4o-mini');
    expect(reply.status).toBe(200);
    expect(answeredBy(reply)).toBe('chosen');
    expect(chatsTo(group)).toBe(0);
  });

  it('a failover block naming a provider that is not configured is a config problem with its path and the fix', async () => {
    const only = await upstreams.start();
    const dir = mkdtempSync(join(tmpdir(), 'sb-failover-'));
    const file = join(dir, 'providers.yaml');
    writeFileSync(file, stringify({ failover: { primary: 'nowhere' }, providers: { only: custom(only) } }));
    try {
      const issues = (() => {
        try {
          loadConfig({ file, env: {} });
        } catch (error) {
          if (error instanceof ConfigError) return error.issues;
        }
        throw new Error('expected the configuration to be refused');
      })();
      expect(issues).toContainEqual(
        expect.objectContaining({
          path: 'failover',
          message: expect.stringMatching(/"nowhere", which is not configured: add it under providers: .*only\)/),
        }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('on_status_codes', () => {
  it('fallback.on_status_codes: only the listed statuses move on; any other goes back to the client', async () => {
    const first = await upstreams.start({ text: 'first' });
    const second = await upstreams.start({ text: 'second' });
    const sb = await open({
      fallback: { on_status_codes: [503] },
      providers: {
        first: custom(first, { priority: 1, retry: { max_attempts: 1 } }),
        second: custom(second, { priority: 2 }),
      },
    });
    first.setFaults(always('server-error'));
    expect((await sb.chat()).status).toBeGreaterThanOrEqual(500);
    expect(chatsTo(second)).toBe(0);
    first.setFaults(always('unavailable'));
    const reply = await sb.chat();
    expect(reply.status).toBe(200);
    expect(answeredBy(reply)).toBe('second');
  });

  it('retry.on_status_codes retries the listed statuses on the same provider, even ones it would not', async () => {
    const upstream = await upstreams.start({ text: 'after a retry', faults: faultSequence('bad-request') });
    const other = await upstreams.start({ text: 'other' });
    const sb = await open({
      providers: {
        first: custom(upstream, { priority: 1, retry: { max_attempts: 2, backoff_factor: 0, on_status_codes: [400] } }),
        other: custom(other, { priority: 2 }),
      },
    });
    const reply = await sb.chat();
    expect(reply.status).toBe(200);
    expect(reply.json.choices[0].message.content).toBe('after a retry');
    expect(chatsTo(upstream)).toBe(2);
    expect(chatsTo(other)).toBe(0);
  });
});
