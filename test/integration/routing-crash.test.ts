import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { openStore } from '../../electron/engine/store/store.ts';
import { type FakeServer, startFakeOpenAI } from '../fakes/providers.ts';

/** `switchboard serve` killed with SIGKILL under load: what the usage record and budgets still know. */

const BIN = resolve(import.meta.dirname, '../../bin/switchboard.mjs');
const TOKEN = 'sb-crash-test-token-0123456789abcdef';

let dataDir: string;
let upstream: FakeServer;
let server: ChildProcess | undefined;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sb-routing-crash-'));
  upstream = await startFakeOpenAI({ apiKey: undefined, text: 'an answer from upstream' });
});
afterEach(() => {
  if (server?.exitCode === null) server.kill('SIGKILL');
});
afterAll(async () => {
  await upstream.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Starts `switchboard serve` as a person does; resolves the API's origin once it listens. */
async function serve(config: string): Promise<string> {
  const { SWITCHBOARD_CONFIG: _c, SWITCHBOARD_DATA_DIR: _d, ...env } = process.env;
  const child = spawn(process.execPath, [BIN, '--data-dir', dataDir, '--config', config, 'serve', '--port', '0'], {
    env: { ...env, SWITCHBOARD_API_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server = child;
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  await expect.poll(() => out, { timeout: 60_000, interval: 100 }).toMatch(/Switchboard API on http/);
  return /Switchboard API on (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(out)![1]!;
}

describe('kill -9 under load', () => {
  it('every answered request has its usage row, and its cost counts toward the budget', async () => {
    const config = join(dataDir, 'providers.yaml');
    writeFileSync(
      config,
      stringify({
        local: { enabled: false },
        providers: {
          paid: {
            type: 'custom',
            base_url: `${upstream.url}/v1`,
            default_model: 'gpt-4o-mini',
            health_check_interval: 0,
            prices: { '*': { input: 1, output: 1 } },
          },
        },
      }),
    );
    const api = await serve(config);
    let answered = 0;
    let killed = false;
    const worker = async () => {
      while (!killed) {
        try {
          const response = await fetch(`${api}/v1/chat/completions`, {
            method: 'POST',
            headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
            body: JSON.stringify({ messages: [{ role: 'user', content: 'Say hello' }], max_tokens: 16 }),
          });
          const body = (await response.json()) as { choices?: unknown[] };
          if (response.status === 200 && body.choices?.length) answered++;
        } catch {
          // The server died under this request: it was never answered.
        }
      }
    };
    const exited = new Promise((done) => server!.once('exit', done));
    const workers = Array.from({ length: 20 }, worker);
    // Kill it in the middle of the traffic, with the last quarter second's rows still on their way.
    await expect.poll(() => answered, { timeout: 120_000, interval: 20 }).toBeGreaterThanOrEqual(300);
    server!.kill('SIGKILL');
    await exited;
    killed = true;
    await Promise.all(workers);

    const store = openStore({ file: join(dataDir, 'switchboard.db') });
    try {
      const report = store.usage.costReport('provider');
      const paid = report.rows.find((row) => row.key === 'paid');
      expect(paid?.requests ?? 0).toBeGreaterThanOrEqual(answered);
      // Every request is the same, so each answered one counts at least what a settled one cost.
      const { cheapest } = store.db
        .prepare("SELECT min(cost_usd) AS cheapest FROM usage_events WHERE outcome = 'success'")
        .get() as { cheapest: number };
      expect(cheapest).toBeGreaterThan(0);
      expect(store.usage.spend('daily', 'paid')).toBeGreaterThanOrEqual(answered * cheapest * (1 - 1e-9));
    } finally {
      store.close();
    }
  }, 240_000);
});
