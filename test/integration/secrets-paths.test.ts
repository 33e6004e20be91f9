import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLOUD_PROVIDER,
  makeWorkspace,
  type RunningApp,
  startApp,
  switchboard,
  type Workspace,
} from '../e2e/harness.ts';
import type { FakeServer } from '../fakes/http-fake.ts';
import { FAKE_OPENAI_KEY, startFakeOpenAI } from '../fakes/openai.ts';

/**
 * Keys reach the data dir only encrypted, whichever way they come in: the app API, the seeds'
 * /api/v1/providers/update (api_key, api_keys, headers), the CLI. And a token holder who points a
 * provider at a listener of their own receives none of its keys.
 */

const KEYS = {
  appApi: 'sk-privacy-app-api-0001-zzzz',
  update: 'sk-privacy-update-0002-zzzz',
  updateList: 'sk-privacy-update-list-0003-zzzz',
  header: 'Bearer sk-privacy-header-0004-zzzz',
  cli: 'sk-privacy-cli-0005-zzzz',
};

/** Every file under the data dir that holds `needle` in clear (the database, its WAL, settings.json, …). */
function filesHolding(dataDir: string, needle: string): string[] {
  return readdirSync(dataDir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((file) => readFileSync(file).includes(needle))
    .map((file) => relative(dataDir, file));
}

let fake: FakeServer;
let listener: FakeServer;
let workspace: Workspace;
let app: RunningApp;
let token: string;

const cli = (args: string[], input?: string) => switchboard(workspace, args, { input });

async function api(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${app.origin}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  fake = await startFakeOpenAI({ models: [CLOUD_PROVIDER.model] });
  // The listener a token holder would point a provider at, to collect its keys.
  listener = await startFakeOpenAI({ models: [CLOUD_PROVIDER.model], apiKey: undefined });
  workspace = makeWorkspace({ cloudUrl: `${fake.url}/v1`, cloudKey: FAKE_OPENAI_KEY, models: false });
  app = await startApp(workspace);
  token = (await cli(['token'])).stdout.trim();
}, 180_000);
afterAll(async () => {
  await app?.stop();
  await Promise.all([fake?.close(), listener?.close()]);
  workspace?.cleanup();
});

describe('every path that stores a key stores it encrypted', { timeout: 180_000 }, () => {
  it('the app API (providers.addKey)', async () => {
    const added = await api('/api/app/call/providers.addKey', { id: CLOUD_PROVIDER.id, key: KEYS.appApi });
    expect(added.status).toBe(200);
    expect(JSON.stringify(added.json)).toContain('…zzzz');
    expect(filesHolding(workspace.dataDir, KEYS.appApi)).toEqual([]);
  });

  it('/api/v1/providers/update with custom_config api_key, api_keys and headers', async () => {
    const updated = await api('/api/v1/providers/update', {
      provider: CLOUD_PROVIDER.id,
      custom_config: {
        api_key: KEYS.update,
        api_keys: [KEYS.updateList],
        headers: { 'x-upstream-auth': KEYS.header },
        default_model: CLOUD_PROVIDER.model,
      },
    });
    expect(updated.status, JSON.stringify(updated.json)).toBe(200);
    for (const secret of [KEYS.update, KEYS.updateList, KEYS.header]) {
      expect(filesHolding(workspace.dataDir, secret), secret).toEqual([]);
    }
    // Kept, though: the provider has the keys, shown masked, and sends the header upstream.
    const status = await cli(['providers', 'list', '--json']);
    const provider = (JSON.parse(status.stdout) as { id: string; keys: string[] }[]).find(
      (p) => p.id === CLOUD_PROVIDER.id,
    );
    expect(provider?.keys.length).toBeGreaterThanOrEqual(3);
    expect(status.stdout).not.toContain(KEYS.update);
  });

  it('the CLI (providers add-key, reading the key from standard input)', async () => {
    const run = await cli(['providers', 'add-key', CLOUD_PROVIDER.id], `${KEYS.cli}\n`);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('…zzzz');
    expect(run.stdout + run.stderr).not.toContain(KEYS.cli);
    expect(filesHolding(workspace.dataDir, KEYS.cli)).toEqual([]);
  });

  it('refuses a base_url that is not http or https', async () => {
    for (const url of ['ftp:/x', 'javascript:alert(1)', 'file:///etc/passwd']) {
      const refused = await api('/api/v1/providers/update', {
        provider: CLOUD_PROVIDER.id,
        custom_config: { base_url: url },
      });
      expect(refused.status, url).toBe(400);
      expect(String(refused.json.detail)).toMatch(/http or https/);
    }
  });
});

describe('moving a provider to another address drops its keys', { timeout: 180_000 }, () => {
  it('refuses to move a provider that needs a key without one, and keeps the keys where they were', async () => {
    const moved = await api('/api/v1/providers/update', {
      provider: CLOUD_PROVIDER.id,
      custom_config: { base_url: `${listener.url}/v1` },
    });
    expect(moved.status).toBe(400);
    expect(String(moved.json.detail)).toMatch(/drops its stored keys.*give api_key/);
    const chat = await api('/v1/chat/completions', {
      model: `${CLOUD_PROVIDER.id}/${CLOUD_PROVIDER.model}`,
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(chat.status).toBe(200);
    expect(listener.requests).toEqual([]);
  });

  it('a provider moved to a listener sends it none of the keys it had, from the vault, the file or the update', async () => {
    const switched = await api('/api/v1/providers/update', {
      provider: CLOUD_PROVIDER.id,
      custom_config: { type: 'custom', base_url: `${listener.url}/v1` },
    });
    expect(switched.status, JSON.stringify(switched.json)).toBe(200);
    const list = JSON.parse((await cli(['providers', 'list', '--json'])).stdout) as { id: string; keys: string[] }[];
    expect(list.find((p) => p.id === CLOUD_PROVIDER.id)?.keys).toEqual([]);

    const chat = await api('/v1/chat/completions', {
      model: `${CLOUD_PROVIDER.id}/${CLOUD_PROVIDER.model}`,
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(chat.status).toBe(200);
    expect(listener.requests.length).toBeGreaterThan(0);
    const seen = JSON.stringify(listener.requests.map((r) => r.headers));
    for (const secret of [FAKE_OPENAI_KEY, ...Object.values(KEYS)]) expect(seen).not.toContain(secret);
  });
});
