import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_ANTHROPIC_KEY } from '../fakes/anthropic.ts';
import { always } from '../fakes/faults.ts';
import { FAKE_OPENAI_KEY } from '../fakes/openai.ts';
import { authorized, type Stack, startStack, TOKEN } from './server-harness.ts';

/** Raw HTTP, so paths reach the server exactly as written (fetch would normalise `..`). */
function raw(
  url: string,
  options: { method?: string; path: string; headers?: Record<string, string | number>; body?: Buffer | string },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { hostname, port, method: options.method ?? 'GET', path: options.path, headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const ROUTES: [string, string][] = [
  ['POST', '/v1/chat/completions'],
  ['POST', '/v1/embeddings'],
  ['POST', '/v1/audio/transcriptions'],
  ['GET', '/v1/models'],
  ['POST', '/v1/messages'],
  ['POST', '/api/chat/query'],
  ['GET', '/api/chat/provider-stats'],
  ['POST', '/api/chat/force-provider?user_id=u&provider_name=openai'],
  ['GET', '/api/chat/provider-status'],
  ['GET', '/api/v1/providers/status'],
  ['POST', '/api/v1/providers/update'],
  ['GET', '/api/v1/providers/health'],
  ['POST', '/api/v1/providers/compare-cost'],
  ['GET', '/metrics'],
  ['POST', '/api/app/call/settings.get'],
  ['POST', '/api/app/stream/chat.send'],
  ['POST', '/api/app/upload'],
  ['GET', '/v1/no-such-endpoint'],
];

describe('the API refuses callers without the token', () => {
  let stack: Stack;
  let ui: string;
  beforeAll(async () => {
    ui = mkdtempSync(join(tmpdir(), 'switchboard-ui-'));
    writeFileSync(join(ui, 'index.html'), '<!doctype html><title>Switchboard</title>');
    stack = await startStack({ server: { staticDir: ui, metricsText: () => 'switchboard_up 1\n' } });
  });
  afterAll(async () => {
    await stack?.close();
    rmSync(ui, { recursive: true, force: true });
  });

  it.each(ROUTES)('%s %s: 401 with no token, a wrong token or an unknown session cookie', async (method, path) => {
    const before = stack.openai.requests.length + stack.anthropic.requests.length;
    const body = method === 'POST' ? '{}' : undefined;
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer sb-wrong-token-00000000000000' },
      { authorization: TOKEN },
      { 'x-api-key': 'sb-wrong-token-00000000000000' },
      { cookie: 'switchboard_session=made-up-session-id' },
    ];
    for (const headers of attempts) {
      const response = await fetch(`${stack.server.url}${path}`, { method, headers, body });
      expect(response.status, JSON.stringify(headers)).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('Bearer');
    }
    // Nothing reached a provider.
    expect(stack.openai.requests.length + stack.anthropic.requests.length).toBe(before);
  });

  it('answers /health without the token, and says nothing private there', async () => {
    const response = await fetch(`${stack.server.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('serves the UI without the token, with a strict CSP on HTML', async () => {
    const response = await fetch(`${stack.server.url}/meetings/123`);
    expect(response.status).toBe(200);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-eval');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await response.text()).toContain('<title>Switchboard</title>');
  });

  it('refuses a token in the query string, even alongside a good header', async () => {
    for (const query of [`token=${TOKEN}`, `api_key=${TOKEN}`, `access_token=${TOKEN}`, `key=${TOKEN}`]) {
      expect((await fetch(`${stack.server.url}/v1/models?${query}`)).status).toBe(401);
      const withHeader = await fetch(`${stack.server.url}/v1/models?${query}`, { headers: authorized() });
      expect(withHeader.status).toBe(401);
      expect(JSON.stringify(await withHeader.json())).toContain('URL');
    }
  });

  it('refuses a 50 MB JSON body with 413, declared or streamed', async () => {
    const big = Buffer.alloc(50 * 1024 * 1024, 'a');
    const declared = await raw(stack.server.url, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { ...authorized(), 'content-length': big.length },
      body: big,
    }).catch((error: Error) => ({ status: -1, body: error.message, headers: {} }));
    expect(declared.status).toBe(413);
    expect(declared.body).toContain('10 MB');

    // Chunked, so the size is known only while reading.
    const streamed = await new Promise<number>((resolve, reject) => {
      const { hostname, port } = new URL(stack.server.url);
      const req = httpRequest(
        { hostname, port, method: 'POST', path: '/v1/embeddings', headers: authorized() },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      const chunk = Buffer.alloc(1024 * 1024, 'a');
      let sent = 0;
      const pump = () => {
        while (sent < 50 && req.write(chunk)) sent++;
        if (sent < 50) req.once('drain', pump);
        else req.end();
      };
      pump();
    });
    expect(streamed).toBe(413);
  });

  it('refuses an upload declared above 200 MB at once, and one that is not audio', async () => {
    const huge = await raw(stack.server.url, {
      method: 'POST',
      path: '/v1/audio/transcriptions',
      headers: {
        ...authorized(),
        'content-type': 'multipart/form-data; boundary=x',
        'content-length': 300 * 1024 * 1024,
      },
      body: '--x\r\n',
    }).catch((error: Error) => ({ status: -1, body: error.message, headers: {} }));
    expect(huge.status).toBe(413);

    const form = new FormData();
    form.append('model', 'whisper-1');
    form.append('file', new Blob(['not audio at all'], { type: 'text/plain' }), 'notes.txt');
    const text = await fetch(`${stack.server.url}/v1/audio/transcriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: form,
    });
    expect(text.status).toBe(415);
    expect(stack.openai.requests.some((r) => r.path === '/v1/audio/transcriptions')).toBe(false);
  });

  it('refuses path traversal out of the UI folder in every spelling', async () => {
    const outside = join(ui, '..', `secret-${Date.now()}.txt`);
    writeFileSync(outside, 'TOP SECRET');
    mkdirSync(join(ui, 'assets'), { recursive: true });
    try {
      const name = outside.split('/').at(-1);
      for (const path of [
        `/../${name}`,
        `/assets/../../${name}`,
        `/%2e%2e/${name}`,
        `/..%2f${name}`,
        `/assets%2f..%2f..%2f${name}`,
        `/..%5c${name}`,
        `/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd`,
        `/index.html%00.png`,
      ]) {
        const response = await raw(stack.server.url, { path });
        expect([400, 403], path).toContain(response.status);
        expect(response.body).not.toContain('TOP SECRET');
        expect(response.body).not.toContain('root:');
      }
    } finally {
      rmSync(outside, { force: true });
    }
  });

  it('refuses requests addressed to another host name (DNS rebinding)', async () => {
    const { port } = new URL(stack.server.url);
    const response = await raw(stack.server.url, {
      path: '/health',
      headers: { host: `attacker.example:${port}` },
    });
    expect(response.status).toBe(403);
  });

  it('keeps CORS closed: no allow-origin for another origin, no preflight', async () => {
    const response = await fetch(`${stack.server.url}/v1/models`, {
      headers: authorized({ origin: 'http://evil.example' }),
    });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${stack.server.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.ok).toBe(false);
  });
});

describe('keys and the token never appear in a response or a log line', () => {
  let stack: Stack;
  beforeAll(async () => {
    // The providers reject the configured keys; OpenAI's fake echoes the whole key it got, the worst case.
    stack = await startStack({ fake: { apiKey: 'sk-the-key-the-provider-wants-000000' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('answers a rejected upstream key with 502 and what to fix, without the key', async () => {
    const seen: string[] = [];
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${stack.server.url}${path}`, {
        method,
        headers: authorized({ 'x-api-key': TOKEN }),
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      seen.push(`${response.status} ${JSON.stringify([...response.headers])} ${await response.text()}`);
      return response;
    };
    const chat = await call('POST', '/v1/chat/completions', {
      model: 'openai/gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(chat.status).toBe(502);
    expect(seen.at(-1)).toContain('provider key');
    await call('POST', '/v1/chat/completions', {
      model: 'openai/gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    await call('POST', '/v1/messages', {
      model: 'anthropic/claude-haiku-4-5',
      max_tokens: 10,
      messages: [{ role: 'user', content: 'hi' }],
    });
    await call('POST', '/v1/embeddings', { model: 'openai/text-embedding-3-small', input: 'hi' });
    await call('GET', '/v1/models');
    await call('GET', '/api/v1/providers/status');
    await call('GET', '/api/v1/providers/health');
    await call('GET', '/api/chat/provider-status');
    await call('POST', '/api/chat/query', { user_id: 'u1', query: 'hi' });
    await call('GET', `/v1/models?token=${TOKEN}`);
    expect(stack.openai.requests.some((r) => r.fault === 'bad-key')).toBe(true);
    const everything = [...seen, ...stack.log].join('\n');
    for (const secret of [FAKE_OPENAI_KEY, FAKE_ANTHROPIC_KEY, TOKEN]) {
      expect(everything).not.toContain(secret);
      // Not even most of it.
      expect(everything).not.toContain(secret.slice(0, -4));
    }
    expect(stack.log.length).toBeGreaterThanOrEqual(10);
  });
});

describe('upstream failures map to statuses a client can act on', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('falls back to the next provider and says so in the headers', async () => {
    stack.openai.setFaults(always('unavailable'));
    try {
      const response = await fetch(`${stack.server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: authorized(),
        body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-switchboard-provider')).toBe('anthropic');
      expect(response.headers.get('x-switchboard-fallback-depth')).toBe('1');
    } finally {
      stack.openai.setFaults(undefined);
    }
  });

  it('a rate-limited provider is 429 with Retry-After', async () => {
    stack.openai.setFaults(always({ kind: 'rate-limit', retryAfter: '7' }));
    try {
      const response = await fetch(`${stack.server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: authorized(),
        body: JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(response.status).toBe(429);
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await response.json()).error.type).toBe('rate_limit_error');
    } finally {
      stack.openai.setFaults(undefined);
    }
  });

  it('a client that disconnects mid-stream cancels the request (logged as 499)', async () => {
    const slow = await startStack({
      fake: { tokenDelayMs: 50, text: 'one two three four five six seven eight nine ten' },
    });
    try {
      const controller = new AbortController();
      const response = await fetch(`${slow.server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: authorized(),
        body: JSON.stringify({
          model: 'openai/gpt-4o-mini',
          stream: true,
          messages: [{ role: 'user', content: 'hi' }],
        }),
        signal: controller.signal,
      });
      const reader = response.body!.getReader();
      await reader.read();
      const started = Date.now();
      controller.abort();
      await expect.poll(() => slow.log.find((line) => line.includes(' 499 ')), { timeout: 2_000 }).toBeTruthy();
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await slow.close();
    }
  });
});
