import { describe, expect, it } from 'vitest';
import { always } from '../fakes/providers.ts';
import { answeredBy, chatsTo, custom, gatewayPerTest, TOKEN } from './routing-harness.ts';

/** The provider manager's promises, as a client of the local API meets them (fake upstreams on 127.0.0.1). */

const { upstreams, open } = gatewayPerTest();

describe('profiles', () => {
  it("a profile's capability keeps its requests on providers that have it", async () => {
    const plain = await upstreams.start({ text: 'plain' });
    const coder = await upstreams.start({ text: 'coder' });
    const sb = await open({
      providers: {
        plain: custom(plain, { capabilities: ['chat', 'text_generation'], priority: 1 }),
        coder: custom(coder, { capabilities: ['chat', 'text_generation', 'code_generation'], priority: 2 }),
      },
      profiles: { code: { capability: 'code_generation' } },
    });
    for (let i = 0; i < 6; i++) {
      const reply = await sb.chat('code');
      expect(reply.status).toBe(200);
      expect(answeredBy(reply)).toBe('coder');
    }
    expect(chatsTo(plain)).toBe(0);
  });

  it("under a balancing strategy a profile's fallback providers stand by; its provider takes the traffic", async () => {
    const primary = await upstreams.start({ text: 'primary' });
    const standby = await upstreams.start({ text: 'standby' });
    const sb = await open({
      strategy: 'round_robin',
      providers: { primary: custom(primary), standby: custom(standby) },
      profiles: { default: { provider: 'primary', fallback_providers: ['standby'] } },
    });
    for (let i = 0; i < 10; i++) expect(answeredBy(await sb.chat())).toBe('primary');
    expect(chatsTo(standby)).toBe(0);
    // …and takes over when the primary fails.
    primary.setFaults(always('unavailable'));
    expect(answeredBy(await sb.chat())).toBe('standby');
  });
});

describe('failures that are not the provider’s', () => {
  it('a request the gateway itself cannot handle (50,000-deep tool_choice) never opens a breaker', async () => {
    const only = await upstreams.start({ text: 'still here' });
    const sb = await open({ providers: { only: custom(only, { retry: { max_attempts: 1 } }) } });
    const depth = 50_000;
    const deep = `{"messages":[{"role":"user","content":"hi"}],"tool_choice":${'{"nested":'.repeat(depth)}"auto"${'}'.repeat(depth)}}`;
    for (let i = 0; i < 8; i++) {
      const reply = await sb.post('/v1/chat/completions', deep);
      expect(reply.status).toBeGreaterThanOrEqual(400);
    }
    const reply = await sb.chat();
    expect(reply.status).toBe(200);
    expect(answeredBy(reply)).toBe('only');
    expect(sb.services.engine.reports.breakers().every((b) => b.state === 'closed')).toBe(true);
  });
});

describe("Switchboard's own 429", () => {
  it('carries the wait the upstream asked for', async () => {
    const busy = await upstreams.start({ faults: always({ kind: 'rate-limit', retryAfter: '60' }) });
    const sb = await open({ providers: { busy: custom(busy) } });
    const reply = await sb.chat();
    expect(reply.status).toBe(429);
    expect(reply.headers.get('retry-after')).toBe('60');
  });

  it('carries the wait of its own RPM window', async () => {
    const limited = await upstreams.start();
    const sb = await open({
      providers: { limited: custom(limited, { rate_limit: { requests_per_minute: 1, on_limit: 'skip' } }) },
    });
    expect((await sb.chat()).status).toBe(200);
    const reply = await sb.chat();
    expect(reply.status).toBe(429);
    const wait = Number(reply.headers.get('retry-after'));
    expect(wait).toBeGreaterThanOrEqual(55);
    expect(wait).toBeLessThanOrEqual(60);
  });
});

describe('rate limits', () => {
  it('TPM counts the tokens answers report, not the estimate made before sending', async () => {
    // The fake reports the prompt's words: 240 in, 5 out. The estimate is 304 + 100 (max_tokens).
    const upstream = await upstreams.start();
    const sb = await open({
      providers: { tpm: custom(upstream, { rate_limit: { tokens_per_minute: 1_000, on_limit: 'skip' } }) },
    });
    const ask = () =>
      sb.post('/v1/chat/completions', { messages: [{ role: 'user', content: 'word '.repeat(240) }], max_tokens: 100 });
    // 245 + 245 answered, 404 for the third's estimate: it fits (by the estimates alone, 404 × 3 would not).
    for (let i = 0; i < 3; i++) expect((await ask()).status).toBe(200);
    expect((await ask()).status).toBe(429);
  });
});

describe('budgets with a hard stop', () => {
  const expensive = { '*': { input: 1_000, output: 1_000 } };

  it('refuse: the request goes to a $0 provider further down instead of failing on the first pick', async () => {
    const paid = await upstreams.start({ text: 'paid' });
    const free = await upstreams.start({ text: 'free' });
    const sb = await open({
      budgets: { daily: 0.05, hard_stop: 'refuse' },
      providers: { paid: custom(paid, { priority: 1, prices: expensive }), free: custom(free, { priority: 2 }) },
    });
    const reply = await sb.chat();
    expect(reply.status).toBe(200);
    expect(answeredBy(reply)).toBe('free');
    expect(chatsTo(paid)).toBe(0);
  });

  it('says the request would pass the budget, not that the budget is spent, when money is left', async () => {
    const paid = await upstreams.start({ text: 'paid' });
    const sb = await open({
      budgets: { daily: 0.05, hard_stop: 'refuse' },
      providers: { paid: custom(paid, { prices: expensive }) },
    });
    const reply = await sb.chat();
    expect(reply.status).toBe(402);
    expect(reply.json.error.message).toMatch(/would take the daily budget of \$0\.05 past its limit \(\$0\.0000 used/);
    expect(reply.json.error.message).not.toMatch(/is spent/);
  });
});

describe('sticky assignment', () => {
  it('a forced pin survives its provider being disabled and enabled again', async () => {
    const a = await upstreams.start({ text: 'a' });
    const b = await upstreams.start({ text: 'b' });
    const c = await upstreams.start({ text: 'c' });
    const sb = await open({ strategy: 'sticky', providers: { a: custom(a), b: custom(b), c: custom(c) } });
    const ask = async () => (await sb.post('/api/chat/query', { user_id: 'u1', query: 'Who answers?' })).json.provider;
    // Pin the user to a provider the ring would not have chosen, so losing the pin shows.
    const natural = await ask();
    const pinned = natural === 'a' ? 'b' : 'a';
    expect((await sb.post(`/api/chat/force-provider?user_id=u1&provider_name=${pinned}`, {})).status).toBe(200);
    expect(await ask()).toBe(pinned);
    await sb.post('/api/v1/providers/update', { provider: pinned, enabled: false });
    expect(await ask()).toBe(natural);
    await sb.post('/api/v1/providers/update', { provider: pinned, enabled: true });
    expect(await ask()).toBe(pinned);
  });
});

describe('latency strategy', () => {
  it('tries every provider, and one slow answer does not keep a provider out', async () => {
    const fast = await upstreams.start({ text: 'one two three' });
    const twin = await upstreams.start({ text: 'one two three' });
    const hiccup = await upstreams.start({ text: 'one two three', tokenDelayMs: 300 });
    const sb = await open({
      strategy: 'latency',
      providers: { fast: custom(fast), twin: custom(twin), hiccup: custom(hiccup) },
    });
    const stream = () => sb.chat(undefined, { stream: true });
    for (let i = 0; i < 54 && chatsTo(hiccup) === 0; i++) await stream();
    expect([chatsTo(fast), chatsTo(twin), chatsTo(hiccup)]).toEqual([1, 1, 1]);
    // Its first answer was slow (a cold start, say); now it is as fast as the others: it is tried again.
    hiccup.setTokenDelay(0);
    for (let i = 0; i < 30; i++) await stream();
    expect(chatsTo(hiccup)).toBeGreaterThan(1);
  });
});

describe('the local provider with no model installed', () => {
  it('is not the chat provider: requests go to the cloud at depth 0, and its health says why', async () => {
    const cloud = await upstreams.start({ text: 'from the cloud' });
    const sb = await open({ local: { enabled: true }, providers: { openai: custom(cloud, { priority: 1 }) } });
    const status = await sb.get('/api/chat/provider-status');
    expect(status.json.current_chat_provider).toBe('openai');
    const reply = await sb.chat();
    expect(answeredBy(reply)).toBe('openai');
    expect(reply.headers.get('x-switchboard-fallback-depth')).toBe('0');
    const health = await sb.services.engine.health('local');
    expect(health[0]).toMatchObject({
      status: 'degraded',
      models: 0,
      error: expect.stringMatching(/no model is installed/),
    });
  });
});

describe('embeddings', () => {
  it('without a model, ask the provider for its embedding model, never its chat model', async () => {
    const upstream = await upstreams.start();
    const sb = await open({
      providers: { openai: { ...custom(upstream), type: 'openai', api_key: 'sk-test-0000000000' } },
    });
    const reply = await sb.post('/v1/embeddings', { input: ['red apple', 'blue sky'] });
    expect(reply.status).toBe(200);
    const sent = upstream.requests
      .filter((r) => r.path.endsWith('/embeddings'))
      .map((r) => (r.body as { model: string }).model);
    expect(sent).toEqual(['text-embedding-3-small']);
  });

  it('with no embedding model anywhere, says how to name one instead of sending a chat model', async () => {
    const upstream = await upstreams.start();
    const sb = await open({
      providers: { house: custom(upstream, { capabilities: ['chat', 'embedding'] }) },
    });
    const reply = await sb.post('/v1/embeddings', { input: 'red apple' });
    expect(reply.status).toBe(503);
    expect(reply.json.error.message).toMatch(/name an embedding model/);
    expect(upstream.requests.filter((r) => r.path.endsWith('/embeddings'))).toHaveLength(0);
  });
});

describe('model groups', () => {
  it('provider/model goes to that provider; when it is rate limited, another provider of the model answers', async () => {
    const named = await upstreams.start({ text: 'named' });
    const other = await upstreams.start({ text: 'other' });
    const sb = await open({
      strategy: 'round_robin',
      providers: { named: custom(named), other: custom(other) },
    });
    for (let i = 0; i < 6; i++) expect(answeredBy(await sb.chat('named/gpt-4o-mini'))).toBe('named');
    const before = named.requests.length;
    named.setFaults((request) => (request.index === before ? { kind: 'rate-limit', retryAfter: '30' } : undefined));
    const reply = await sb.chat('named/gpt-4o-mini');
    expect(reply.status).toBe(200);
    expect(answeredBy(reply)).toBe('other');
    expect(reply.headers.get('x-switchboard-fallback-depth')).toBe('1');
  });

  it('a bare model id balances among the providers serving it', async () => {
    const one = await upstreams.start();
    const two = await upstreams.start();
    const sb = await open({ strategy: 'round_robin', providers: { one: custom(one), two: custom(two) } });
    for (let i = 0; i < 10; i++) expect((await sb.chat('gpt-4o-mini')).status).toBe(200);
    expect([chatsTo(one), chatsTo(two)]).toEqual([5, 5]);
  });
});

describe('changing routing policy', () => {
  it('keeps the provider’s adapter: a stream under way finishes whole, and the new order applies at once', async () => {
    const slow = await upstreams.start({ text: 'one two three four five six seven eight', tokenDelayMs: 150 });
    const other = await upstreams.start({ text: 'other' });
    const sb = await open({
      providers: { slow: custom(slow, { priority: 1 }), other: custom(other, { priority: 2 }) },
    });
    const streaming = fetch(`${sb.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Count' }], stream: true }),
    }).then((response) => response.text());
    await expect.poll(() => chatsTo(slow), { interval: 20 }).toBe(1);
    // Policy: priority, weight, enabled elsewhere — none of it is a connection setting.
    expect((await sb.post('/api/v1/providers/update', { provider: 'slow', priority: 50, weight: 3 })).status).toBe(200);
    expect((await sb.post('/api/v1/providers/update', { provider: 'other', enabled: false })).status).toBe(200);
    expect((await sb.post('/api/v1/providers/update', { provider: 'other', enabled: true })).status).toBe(200);
    const body = await streaming;
    const text = body
      .split('\n\n')
      .map((frame) => frame.replace(/^data: /, ''))
      .filter((data) => data.startsWith('{'))
      .map((data) => JSON.parse(data).choices?.[0]?.delta?.content ?? '')
      .join('');
    expect(text).toBe('one two three four five six seven eight');
    expect(body.trim().endsWith('data: [DONE]')).toBe(true);
    expect(answeredBy(await sb.chat())).toBe('other');
  });
});
