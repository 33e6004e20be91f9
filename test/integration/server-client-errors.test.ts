import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { FakeServer } from '../fakes/http-fake.ts';
import { FAKE_OPENAI_KEY, startFakeOpenAI } from '../fakes/openai.ts';
import { type ServedCli, STACK_TRACE, serveCli, TEST_TOKEN } from '../support/cli.ts';

/** A client's malformed request is a 400 that says what is wrong, never a 500 or a mark against a provider. */

const auth = { authorization: `Bearer ${TEST_TOKEN}` };

let dir: string;
let fake: FakeServer;
let serve: ServedCli;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-client-errors-'));
  fake = await startFakeOpenAI({ text: 'Still healthy.' });
  const config = join(dir, 'providers.yaml');
  writeFileSync(
    config,
    stringify({
      local: { enabled: false },
      providers: {
        openai: {
          type: 'openai',
          api_key: FAKE_OPENAI_KEY,
          base_url: `${fake.url}/v1`,
          retry: { max_attempts: 1 },
        },
      },
    }),
  );
  serve = await serveCli({ dir, args: ['--data-dir', dir, '--config', config] });
}, 120_000);
afterAll(async () => {
  await serve?.stop();
  await fake?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Raw HTTP, so a path reaches the server exactly as written (fetch would re-encode it). */
function get(path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(serve.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, headers: auth }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (text: string) => {
        body += text;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function post(path: string, body: string, contentType = 'application/json') {
  return fetch(`${serve.url}${path}`, { method: 'POST', headers: { ...auth, 'content-type': contentType }, body });
}

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('client errors over HTTP', () => {
  it('a multipart upload without a boundary is a 400 that says how to send it', async () => {
    const answer = await post('/v1/audio/transcriptions', 'file=whatever', 'multipart/form-data');
    expect(answer.status).toBe(400);
    const { error } = (await answer.json()) as { error: { message: string; type: string } };
    expect(error.type).toBe('invalid_request_error');
    expect(error.message).toContain('multipart/form-data; boundary=');
  });

  it('a malformed %-escape in a path is a 400', async () => {
    const answer = await get('/api/app/audio/%E0%A4%A');
    expect(answer.status).toBe(400);
    expect(answer.body).toContain('not valid URL encoding');
  });

  it('a body nested 50,000 deep is a 400 naming the nesting limit, on every dialect', async () => {
    const deep = nested(50_000);
    const chat = await post(
      '/v1/chat/completions',
      `{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"tool_choice":${deep}}`,
    );
    expect(chat.status).toBe(400);
    expect(((await chat.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'json_too_deep',
      message: expect.stringContaining('more than 128 levels deep'),
    });
    const messages = await post(
      '/v1/messages',
      `{"model":"openai/gpt-4o-mini","max_tokens":5,"messages":[{"role":"user","content":${deep}}]}`,
    );
    expect(messages.status).toBe(400);
    expect(((await messages.json()) as { type: string; error: { type: string } }).error.type).toBe(
      'invalid_request_error',
    );
    // Brackets inside strings are text, not nesting.
    const text = await post(
      '/v1/chat/completions',
      JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: nested(1000) }] }),
    );
    expect(text.status).toBe(200);
  });

  it('none of them reached the provider, counted as a server error, or spoilt the next request', async () => {
    const before = fake.requests.length;
    for (let i = 0; i < 5; i++) {
      await post(
        '/v1/chat/completions',
        `{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"tool_choice":${nested(50_000)}}`,
      );
    }
    expect(fake.requests.length).toBe(before);
    const answer = await post(
      '/v1/chat/completions',
      JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] }),
    );
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-switchboard-fallback-depth')).toBe('0');
    const metrics = await (await fetch(`${serve.url}/metrics`, { headers: auth })).text();
    expect(metrics).not.toMatch(/status="error"\} [1-9]/);
    expect(serve.output()).not.toMatch(STACK_TRACE);
  });
});
