import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { FakeServer } from '../fakes/http-fake.ts';
import { FAKE_OPENAI_KEY, startFakeOpenAI } from '../fakes/openai.ts';
import { runCli, spawnCli } from '../support/cli.ts';

/** `switchboard token` and `switchboard serve`, as a person runs them. */

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = await runCli(args, env);
  if (result.code !== 0) throw new Error(`switchboard ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result;
}

let dataDir: string;
let fake: FakeServer;
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'switchboard-cli-'));
  fake = await startFakeOpenAI();
});
afterAll(async () => {
  await fake?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('switchboard token', () => {
  it('creates the token once, readable by its owner only, and prints the same one after', async () => {
    const first = (await cli(['--data-dir', dataDir, 'token'])).stdout.trim();
    expect(first).toMatch(/^sb-[A-Za-z0-9_-]{40,}$/);
    expect(statSync(join(dataDir, 'api-token')).mode & 0o777).toBe(0o600);
    expect((await cli(['--data-dir', dataDir, 'token'])).stdout.trim()).toBe(first);
    const rotated = (await cli(['--data-dir', dataDir, 'token', '--rotate'])).stdout.trim();
    expect(rotated).not.toBe(first);
    expect((await cli(['--data-dir', dataDir, 'token'])).stdout.trim()).toBe(rotated);
  }, 120_000);

  it('takes SWITCHBOARD_API_TOKEN over the file', async () => {
    const fromEnv = 'sb-from-the-environment-0123456789';
    const { stdout } = await cli(['--data-dir', dataDir, 'token'], { SWITCHBOARD_API_TOKEN: fromEnv });
    expect(stdout.trim()).toBe(fromEnv);
  }, 120_000);
});

describe('switchboard serve', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it('prints the API URL and a one-time UI login URL, serves with the token, and stops on SIGTERM', async () => {
    const config = join(dataDir, 'serve.yaml');
    writeFileSync(
      config,
      stringify({
        local: { enabled: false },
        providers: { openai: { type: 'openai', api_key: FAKE_OPENAI_KEY, base_url: `${fake.url}/v1` } },
      }),
    );
    const ui = mkdtempSync(join(tmpdir(), 'switchboard-ui-'));
    writeFileSync(join(ui, 'index.html'), '<!doctype html><title>Switchboard</title>');
    child = spawnCli(['--data-dir', dataDir, '--config', config, 'serve', '--port', '0', '--ui-dir', ui]);
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    await expect.poll(() => out, { timeout: 90_000 }).toMatch(/Open Switchboard: .*\n/);
    const api = /Switchboard API on (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(out)?.[1];
    expect(api).toBeDefined();
    const login = new URL(/Open Switchboard: (\S+)/.exec(out)![1]!);
    expect(login.origin).toBe(api);
    expect(login.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{20,}$/);

    const token = (await cli(['--data-dir', dataDir, 'token'])).stdout.trim();
    expect(out).not.toContain(token);
    const models = await fetch(`${api}/v1/models`, { headers: { authorization: `Bearer ${token}` } });
    expect(models.status).toBe(200);
    expect(JSON.stringify(await models.json())).toContain('openai/gpt-4o-mini');
    expect((await fetch(`${api}/v1/models`)).status).toBe(401);

    const exited = new Promise<number | null>((done) => child!.once('exit', (code) => done(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    rmSync(ui, { recursive: true, force: true });
  }, 120_000);
});
