import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorized, REPLY, type Stack, startStack } from './server-harness.ts';

/** The seeds' endpoints, same paths and shapes, over the real Engine. */

let stack: Stack;
beforeAll(async () => {
  // Per-user assignment is the sticky strategy's, as in the seeds.
  stack = await startStack({ config: { strategy: 'sticky' } });
});
afterAll(async () => {
  await stack?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: the tests read the seeds’ JSON shapes field by field
async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${stack.server.url}${path}`, {
    method,
    headers: authorized(),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

describe('/api/chat (per-user assignment)', () => {
  it('answers a query with the provider used, and keeps a user on one provider', async () => {
    const first = await call('POST', '/api/chat/query', { user_id: 'user_001', session_id: 's1', query: 'Hello' });
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ response: REPLY, session_id: 's1', fallback_depth: 0 });
    expect(['OpenAI', 'Anthropic']).toContain(first.json.provider_used);
    for (let i = 0; i < 3; i++) {
      const again = await call('POST', '/api/chat/query', { user_id: 'user_001', query: 'Hello again' });
      expect(again.json.provider).toBe(first.json.provider);
    }
  });

  it('forces a provider for a user by id or by label, and the user’s queries go there', async () => {
    for (const [name, id] of [
      ['Anthropic', 'anthropic'],
      ['openai', 'openai'],
    ]) {
      const forced = await call('POST', `/api/chat/force-provider?user_id=user_002&provider_name=${name}`);
      expect(forced.status).toBe(200);
      expect(forced.json.message).toBe(`Forced provider ${id} for user user_002`);
      const answer = await call('POST', '/api/chat/query', { user_id: 'user_002', query: 'Who answers?' });
      expect(answer.json.provider).toBe(id);
    }
    const unknown = await call('POST', '/api/chat/force-provider?user_id=user_002&provider_name=Nope');
    expect(unknown.status).toBe(404);
    expect(unknown.json.detail).toContain('openai');
  });

  it('reports assignment statistics in the seed’s shape', async () => {
    const { status, json } = await call('GET', '/api/chat/provider-stats');
    expect(status).toBe(200);
    expect(json.stats).toMatchObject({
      total_assignments: expect.any(Number),
      provider_usage: expect.any(Object),
      distribution: expect.any(Object),
      cache_size: expect.any(Number),
      last_rotation: expect.any(Number),
    });
    expect(json.stats.cache_size).toBeGreaterThanOrEqual(2);
    expect(json.stats.available_providers).toEqual(expect.arrayContaining(['openai', 'anthropic']));
    expect(typeof json.timestamp).toBe('number');
    // Both epoch seconds, as the seeds wrote every time: the last rotation is at most a window ago.
    expect(json.stats.last_rotation).toBeLessThanOrEqual(json.timestamp);
    expect(json.timestamp - json.stats.last_rotation).toBeLessThanOrEqual(3600);
  });

  it('reports the current providers', async () => {
    const { json } = await call('GET', '/api/chat/provider-status');
    expect(json.current_chat_provider).toBe('openai');
    expect(json.all_providers.anthropic).toMatchObject({ enabled: true, available: true, priority: 2 });
    expect(json.all_providers.local).toMatchObject({ enabled: false, available: false });
  });

  it('refuses a query without a user with 400 naming the field', async () => {
    const { status, json } = await call('POST', '/api/chat/query', { query: 'Hello' });
    expect(status).toBe(400);
    expect(json.detail).toContain('user_id');
  });
});

describe('/api/v1/providers (status, settings, health, cost)', () => {
  it('shows status, applies an update at once, and refuses a bad value', async () => {
    const before = await call('GET', '/api/v1/providers/status');
    expect(before.json.strategy).toBe('sticky');
    expect(before.json.providers.openai).toMatchObject({ enabled: true, priority: 1 });

    const update = await call('POST', '/api/v1/providers/update', { provider: 'openai', priority: 9, enabled: true });
    expect(update.status).toBe(200);
    expect(update.json).toMatchObject({
      status: 'updated',
      provider: 'openai',
      config: { priority: 9, enabled: true },
    });
    expect((await call('GET', '/api/v1/providers/status')).json.providers.openai.priority).toBe(9);

    const bad = await call('POST', '/api/v1/providers/update', { provider: 'openai', custom_config: { weight: -3 } });
    expect(bad.status).toBe(400);
    expect(bad.json.detail).toContain('weight');
    await call('POST', '/api/v1/providers/update', { provider: 'openai', priority: 1 });
  });

  it('checks every provider’s health', async () => {
    const { json } = await call('GET', '/api/v1/providers/health');
    expect(json).toEqual({ local: false, openai: true, anthropic: true });
    stack.anthropic.setFaults(() => 'unavailable');
    try {
      expect((await call('GET', '/api/v1/providers/health')).json.anthropic).toBe(false);
    } finally {
      stack.anthropic.setFaults(undefined);
    }
  });

  it('compares costs from the configured prices, cheapest first', async () => {
    const { status, json } = await call('POST', '/api/v1/providers/compare-cost', {
      request_type: 'chat',
      messages: [{ role: 'user', content: 'Summarize this meeting in five bullet points.' }],
      max_tokens: 1000,
    });
    expect(status).toBe(200);
    expect(json.cheapest).toBe('openai');
    expect(json.providers.map((p: { provider: string }) => p.provider)).toEqual(['openai', 'anthropic']);
    // 1000 output tokens at $0.60/M and $5/M, plus a few input tokens.
    expect(json.providers[0].cost).toBeCloseTo(0.0006, 4);
    expect(json.providers[1].cost).toBeCloseTo(0.005, 3);
  });
});

describe('/metrics', () => {
  it('serves the routing service’s Prometheus text with the token', async () => {
    const response = await fetch(`${stack.server.url}/metrics`, { headers: authorized() });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toMatch(/^# (HELP|TYPE) /m);
    expect(text).toContain('openai');
  });
});
