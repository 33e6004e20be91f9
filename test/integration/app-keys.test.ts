import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_OPENAI_KEY, type FakeServer, startFakeOpenAI } from '../fakes/providers.ts';
import { runCli, type ServedCli, serveCli, TEST_TOKEN, type TestDataDir, testDataDir } from '../support/cli.ts';
import { series } from '../support/prometheus.ts';

/** Per-app keys as a person uses them: made with `switchboard keys`, sent to a running `switchboard serve`. */

let fake: FakeServer;
let data: TestDataDir;
let server: ServedCli;

interface Issued {
  id: string;
  name: string;
  key: string;
}

async function keys(...args: string[]) {
  const result = await runCli([...data.args, 'keys', ...args]);
  if (result.code !== 0) throw new Error(`keys ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

async function create(...args: string[]): Promise<Issued> {
  return JSON.parse(await keys('create', ...args, '--json')) as Issued;
}

async function chat(credential: Record<string, string>, model = 'gpt-4o-mini') {
  const response = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...credential },
    body: JSON.stringify({ model: `openai/${model}`, messages: [{ role: 'user', content: 'Say hello' }] }),
  });
  const body = (await response.json()) as { error?: { message: string; code?: string } };
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body };
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

beforeAll(async () => {
  fake = await startFakeOpenAI({ models: ['gpt-4o-mini', 'gpt-4o'] });
  data = testDataDir();
  const config = data.writeConfig({
    local: { enabled: false },
    providers: { openai: { type: 'openai', api_key: FAKE_OPENAI_KEY, base_url: `${fake.url}/v1` } },
  });
  server = await serveCli(data, ['--config', config]);
}, 180_000);

afterAll(async () => {
  await server?.stop();
  await fake?.close();
  data?.remove();
});

describe('switchboard keys', () => {
  it('prints a new key once; `keys list` shows its limits but never the key', async () => {
    const issued = await create('report-script', '--rpm', '5', '--daily-budget', '2.5', '--models', 'gpt-4o-mini');
    expect(issued).toMatchObject({ name: 'report-script', rpm: 5, dailyBudgetUsd: 2.5, models: ['gpt-4o-mini'] });
    expect(issued.key).toMatch(/^sbk-[A-Za-z0-9_-]{40,}$/);
    expect(issued.id).toMatch(/^key_/);
    const list = await keys('list');
    expect(list).toMatch(
      new RegExp(
        `${issued.id}\\s+report-script\\s+…${issued.key.slice(-4)}\\s+5 rpm, \\$2\\.50/day\\s+gpt-4o-mini\\s+active`,
      ),
    );
    expect(list).not.toContain(issued.key);
    expect(await keys('list', '--json')).not.toContain(issued.key);
  }, 300_000);

  it('refuses a limit that is not a number, saying which', async () => {
    const result = await runCli([...data.args, 'keys', 'create', 'bad', '--rpm', 'lots']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--rpm "lots" is not a number/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 180_000);

  it('a key with --rpm 2 gets 429 on its third request while the API token passes', async () => {
    const { key, id } = await create('chatty', '--rpm', '2');
    expect((await chat(bearer(key))).status).toBe(200);
    // x-api-key works as the token does (Anthropic's SDK sends it).
    expect((await chat({ 'x-api-key': key })).status).toBe(200);
    const third = await chat(bearer(key));
    expect(third.status).toBe(429);
    expect(third.body.error?.message).toMatch(/app key "chatty" may send 2 requests a minute/);
    expect(Number(third.retryAfter)).toBeGreaterThan(0);
    expect((await chat(bearer(TEST_TOKEN))).status).toBe(200);
    // Operators see it as Switchboard's own refusal for that key, not the provider's 429.
    const metrics = await (await server.fetch('/metrics')).text();
    expect(series(metrics, 'switchboard_rate_limited_total')).toEqual([
      { labels: { provider: 'openai', source: 'local', key: id }, value: 1 },
    ]);
  }, 180_000);

  it("a key's per-minute limit counts its moderation requests as well", async () => {
    const { key } = await create('moderator', '--rpm', '1');
    const moderate = () =>
      fetch(`${server.url}/v1/moderations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(key) },
        body: JSON.stringify({ input: 'Is this fine?' }),
      });
    const first = await moderate();
    expect(first.status).toBe(200);
    await first.arrayBuffer();
    const second = await moderate();
    expect(second.status).toBe(429);
    expect(((await second.json()) as { error: { message: string } }).error.message).toMatch(
      /app key "moderator" may send 1 requests? a minute/,
    );
  }, 180_000);

  it('a key limited to --models gets 403 for another model', async () => {
    const { key } = await create('mini-only', '--models', 'openai/gpt-4o-mini');
    expect((await chat(bearer(key), 'gpt-4o-mini')).status).toBe(200);
    const other = await chat(bearer(key), 'gpt-4o');
    expect(other.status).toBe(403);
    expect(other.body.error?.message).toMatch(
      /app key "mini-only" may not use openai\/gpt-4o: it may use openai\/gpt-4o-mini/,
    );
  }, 180_000);

  it('a revoked key gets 401; a rotated key works under its new secret only', async () => {
    const revoked = await create('old-script');
    expect((await chat(bearer(revoked.key))).status).toBe(200);
    expect(await keys('revoke', revoked.id)).toMatch(`Revoked app key ${revoked.id} (old-script)`);
    expect((await chat(bearer(revoked.key))).status).toBe(401);

    const rotating = await create('rotating');
    const rotated = JSON.parse(await keys('rotate', rotating.id, '--json')) as Issued;
    expect(rotated.id).toBe(rotating.id);
    expect(rotated.key).not.toBe(rotating.key);
    expect((await chat(bearer(rotating.key))).status).toBe(401);
    expect((await chat(bearer(rotated.key))).status).toBe(200);
  }, 300_000);

  it('the app manages keys through its API (keys.*): the list never holds a key', async () => {
    const issued = await server.call<Issued>('keys.create', { name: 'from-the-app', rpm: 1 });
    expect(issued.key).toMatch(/^sbk-/);
    expect((await chat(bearer(issued.key))).status).toBe(200);
    expect((await chat(bearer(issued.key))).status).toBe(429);
    const listed = await server.call<{ id: string; name: string; rpm?: number }[]>('keys.list', {});
    expect(listed.find((key) => key.id === issued.id)).toMatchObject({ name: 'from-the-app', rpm: 1 });
    expect(JSON.stringify(listed)).not.toContain(issued.key);
    await server.call('keys.revoke', { id: issued.id });
    expect((await chat(bearer(issued.key))).status).toBe(401);
  }, 180_000);

  it('`usage --by key` and /metrics show each key’s requests and cost', async () => {
    const { key, id } = await create('accounted');
    for (let i = 0; i < 3; i++) expect((await chat(bearer(key))).status).toBe(200);
    const report = JSON.parse((await runCli([...data.args, 'usage', '--by', 'key', '--json'])).stdout) as {
      rows: { key: string; name?: string; requests: number; costUsd: number }[];
    };
    const row = report.rows.find((r) => r.key === id);
    expect(row).toMatchObject({ name: 'accounted', requests: 3 });
    expect(row!.costUsd).toBeGreaterThan(0);
    const tokenRow = report.rows.find((r) => r.key === 'api-token');
    expect(tokenRow?.requests).toBeGreaterThanOrEqual(1);
    const table = (await runCli([...data.args, 'usage', '--by', 'key'])).stdout;
    expect(table).toMatch(new RegExp(`accounted \\(${id}\\)\\s+3\\s+0`));
    expect(table).toMatch(/API token \(and the app\)/);
    // The app shows the same: the Usage pane's rows by key, and when the key was last used.
    const usage = await server.call<{ byKey: { keyId: string; name: string; requests: number; costUsd: number }[] }>(
      'usage.get',
      { sinceMs: 0 },
    );
    expect(usage.byKey.find((r) => r.keyId === id)).toEqual({
      keyId: id,
      name: 'accounted',
      requests: 3,
      errors: 0,
      costUsd: row!.costUsd,
    });
    const listed = await server.call<{ id: string; lastUsedAt?: number }[]>('keys.list', {});
    expect(listed.find((k) => k.id === id)?.lastUsedAt).toBeGreaterThan(Date.now() - 300_000);
    const unused = await create('never-used');
    expect(
      (await server.call<{ id: string; lastUsedAt?: number }[]>('keys.list', {})).find((k) => k.id === unused.id),
    ).not.toHaveProperty('lastUsedAt');
    const metrics = await (await server.fetch('/metrics')).text();
    expect(metrics).toMatch(
      new RegExp(
        `^switchboard_requests_total\\{provider="openai",model="[^"]+",status="success",key="${id}"\\} 3$`,
        'm',
      ),
    );
    expect(metrics).toMatch(
      new RegExp(`^switchboard_cost_usd_total\\{provider="openai",model="[^"]+",key="${id}"\\} \\d`, 'm'),
    );
  }, 300_000);
});
