import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeServer } from '../fakes/http-fake.ts';
import { FAKE_OPENAI_KEY, startFakeOpenAI } from '../fakes/openai.ts';
import { runCli, type ServedCli, STACK_TRACE, serveCli, TEST_TOKEN } from '../support/cli.ts';

/**
 * The provider manager's tools as a person reaches them, from the CLI and over HTTP against fake providers:
 * compare, batch, the cheapest model, and forgetting / rotating sticky users (in the running server).
 */

let dir: string;
let paid: FakeServer;
let free: FakeServer;
let config: string;
let dataDir: string;
let serve: ServedCli;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-provider-tools-'));
  paid = await startFakeOpenAI({ apiKey: FAKE_OPENAI_KEY, text: 'Answered by the paid one.' });
  free = await startFakeOpenAI({ apiKey: FAKE_OPENAI_KEY, models: ['house-model'], text: 'Answered for free.' });
  config = join(dir, 'providers.json');
  writeFileSync(
    config,
    JSON.stringify({
      local: { enabled: false },
      strategy: 'sticky',
      providers: {
        openai: { type: 'openai', api_key: FAKE_OPENAI_KEY, base_url: `${paid.url}/v1`, model: 'gpt-4o-mini' },
        house: {
          type: 'openai',
          api_key: FAKE_OPENAI_KEY,
          base_url: `${free.url}/v1`,
          model: 'house-model',
          models: ['house-model'],
          prices: { 'house-model': { input: 0, output: 0 } },
        },
      },
    }),
  );
  dataDir = join(dir, 'data');
  serve = await serveCli({ dir: dataDir, args: ['--data-dir', dataDir, '--config', config] });
}, 120_000);

afterAll(async () => {
  await serve?.stop();
  await paid.close();
  await free.close();
  rmSync(dir, { recursive: true, force: true });
});

const cli = (...args: string[]) =>
  runCli(['--data-dir', dataDir, '--config', config, ...args], { SWITCHBOARD_API_TOKEN: TEST_TOKEN });
const post = (path: string, body: object) =>
  serve.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('compare and batch', () => {
  it('compare puts both answers side by side, from the CLI and POST /api/v1/compare', async () => {
    const run = await cli('compare', 'Say hello', '--providers', 'openai,house');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /== openai \(gpt-4o-mini\): \d+ ms, \d+\+\d+ tokens, \$[\d.]+\nAnswered by the paid one\./,
    );
    expect(run.stdout).toMatch(/== house \(house-model\): \d+ ms, \d+\+\d+ tokens, \$0\nAnswered for free\./);

    const answer = await post('/api/v1/compare', { prompt: 'Say hello', providers: ['openai', 'house'] });
    expect(answer.status).toBe(200);
    const { responses } = (await answer.json()) as {
      responses: { providerId: string; text: string; costUsd: number }[];
    };
    expect(responses.map((r) => [r.providerId, r.text])).toEqual([
      ['openai', 'Answered by the paid one.'],
      ['house', 'Answered for free.'],
    ]);
    expect(responses[0]!.costUsd).toBeGreaterThan(0);
    expect(responses[1]!.costUsd).toBe(0);

    const unknown = await post('/api/v1/compare', { prompt: 'Say hello', providers: ['openai', 'nobody'] });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toContain('no provider "nobody"');
  }, 180_000);

  it('batch answers every prompt of a file in order with progress, from the CLI and POST /api/v1/batch', async () => {
    const file = join(dir, 'prompts.txt');
    writeFileSync(file, 'one\ntwo\n\nthree\n');
    const before = free.requests.length;
    const run = await cli('batch', file, '--provider', 'house', '--concurrency', '2');
    expect(run.code).toBe(0);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { index: number; prompt: string; text: string });
    expect(lines.map((l) => [l.index, l.prompt, l.text])).toEqual([
      [0, 'one', 'Answered for free.'],
      [1, 'two', 'Answered for free.'],
      [2, 'three', 'Answered for free.'],
    ]);
    expect(run.stderr).toContain('3/3 answered');
    expect(free.requests.length - before).toBeGreaterThanOrEqual(3);

    const answer = await post('/api/v1/batch', { prompts: ['a', 'b'], provider: 'house' });
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { provider: string; responses: { text: string }[] };
    expect(body.provider).toBe('house');
    expect(body.responses.map((r) => r.text)).toEqual(['Answered for free.', 'Answered for free.']);
  }, 180_000);
});

describe('models cheapest', () => {
  it('names the cheapest model, free-only too, from the CLI and GET /api/v1/models/cheapest', async () => {
    const run = await cli('models', 'cheapest', '--capability', 'chat', '--free-only');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('house/house-model  $0 in, $0 out per million tokens');

    const answer = await serve.fetch('/api/v1/models/cheapest?capability=chat&free_only=true');
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ capability: 'chat', free_only: true, providerId: 'house' });

    const wrong = await cli('models', 'cheapest', '--capability', 'painting');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('--capability painting: use one of text_generation, chat');
    expect(wrong.stderr).not.toMatch(STACK_TRACE);
    expect((await serve.fetch('/api/v1/models/cheapest?capability=painting')).status).toBe(400);
  }, 180_000);
});

describe('sticky users in the running server', () => {
  it('forget-user and rotate reach the server, from the CLI and over HTTP', async () => {
    const stats = async () =>
      (
        (await (await serve.fetch('/api/chat/provider-stats')).json()) as {
          stats: { cache_size: number; last_rotation: number };
        }
      ).stats;
    const force = await serve.fetch('/api/chat/force-provider?user_id=alice&provider_name=house', { method: 'POST' });
    expect(force.status).toBe(200);
    expect((await stats()).cache_size).toBe(1);

    const forget = await cli('providers', 'forget-user', 'alice');
    expect(forget.code).toBe(0);
    expect(forget.stderr).toContain(`from the server running at ${serve.url}`);
    expect((await stats()).cache_size).toBe(0);

    await serve.fetch('/api/chat/force-provider?user_id=bob&provider_name=house', { method: 'POST' });
    const cleared = await serve.fetch('/api/chat/user-cache?user_id=bob', { method: 'DELETE' });
    expect(cleared.status).toBe(200);
    expect((await stats()).cache_size).toBe(0);
    expect((await serve.fetch('/api/chat/user-cache', { method: 'DELETE' })).status).toBe(400);

    const before = (await stats()).last_rotation;
    await new Promise((resolve) => setTimeout(resolve, 20));
    const rotate = await cli('providers', 'rotate');
    expect(rotate.code).toBe(0);
    const rotated = (await stats()).last_rotation;
    expect(rotated).toBeGreaterThan(before);
    expect((await serve.fetch('/api/chat/rotate', { method: 'POST' })).status).toBe(200);
    expect((await stats()).last_rotation).toBeGreaterThanOrEqual(rotated);
  }, 180_000);
});
