import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { always, type FakeServer, startFakeOpenAI } from '../fakes/providers.ts';
import { freePort } from '../support/ports.ts';

/** Routing as a person meets it from the `switchboard` CLI: one process per command, as the README says. */

const BIN = resolve(import.meta.dirname, '../../bin/switchboard.mjs');
const run = promisify(execFile);

let dataDir: string;
const fakes: FakeServer[] = [];

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'sb-routing-cli-'));
});
afterAll(async () => {
  await Promise.all(fakes.map((f) => f.close()));
  rmSync(dataDir, { recursive: true, force: true });
});

async function fake(options: Parameters<typeof startFakeOpenAI>[0]): Promise<FakeServer> {
  const server = await startFakeOpenAI({ apiKey: undefined, ...options });
  fakes.push(server);
  return server;
}

function writeConfig(name: string, providers: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const file = join(dataDir, `${name}.yaml`);
  writeFileSync(file, stringify({ local: { enabled: false }, providers, ...extra }));
  return file;
}

/** Runs `switchboard …` to its end; resolves its exit code and output whatever the code. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { SWITCHBOARD_CONFIG: _config, SWITCHBOARD_DATA_DIR: _dir, ...env } = process.env;
    const { stdout, stderr } = await run(process.execPath, [BIN, '--data-dir', dataDir, ...args], {
      timeout: 150_000,
      env,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('switchboard chat with a failing first provider', () => {
  it('waits out the retry and answers from the fallback, exit 0 (an unreachable first provider)', async () => {
    const healthy = await fake({ text: 'Answer from the fallback.' });
    const config = writeConfig('dead-first', {
      dead: {
        type: 'custom',
        base_url: `http://127.0.0.1:${await freePort()}/v1`,
        default_model: 'gpt-4o-mini',
        priority: 1,
      },
      healthy: { type: 'custom', base_url: `${healthy.url}/v1`, default_model: 'gpt-4o-mini', priority: 2 },
    });
    const result = await cli(['--config', config, 'chat', 'Say hello']);
    expect(result.stderr).toContain('after 1 fallback');
    expect(result.stdout.trim()).toBe('Answer from the fallback.');
    expect(result.code).toBe(0);
  }, 300_000);

  it('retries a 503 on the same provider after its backoff, and answers, exit 0', async () => {
    const flaky = await fake({
      text: 'Answer after a retry.',
      faults: (request) => (request.index === 0 ? 'unavailable' : undefined),
    });
    const config = writeConfig('retry', {
      flaky: {
        type: 'custom',
        base_url: `${flaky.url}/v1`,
        default_model: 'gpt-4o-mini',
        retry: { max_attempts: 2, backoff_factor: 0.5 },
      },
    });
    const result = await cli(['--config', config, 'chat', 'Say hello']);
    expect(result.stdout.trim()).toBe('Answer after a retry.');
    expect(result.code).toBe(0);
    expect(flaky.requests.filter((r) => r.path.endsWith('/chat/completions'))).toHaveLength(2);
  }, 300_000);

  it('when nothing can answer, the fallback responder says why; with it off, the CLI says why and exits non-zero', async () => {
    const broken = await fake({ faults: always('server-error') });
    const providers = {
      broken: {
        type: 'custom',
        base_url: `${broken.url}/v1`,
        default_model: 'gpt-4o-mini',
        retry: { max_attempts: 1 },
      },
    };
    const answered = await cli(['--config', writeConfig('all-fail', providers), 'chat', 'Is it working?']);
    expect(answered.code).toBe(0);
    expect(answered.stdout).toMatch(/fallback responder/);
    expect(answered.stdout).toMatch(/Status: no provider could answer \(ALL_PROVIDERS_FAILED: .*HTTP 500/);
    const config = writeConfig('all-fail-no-responder', providers, { fallback_responder: false });
    const result = await cli(['--config', config, 'chat', 'Say hello']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/switchboard: ALL_PROVIDERS_FAILED: no provider could answer — .*HTTP 500/);
  }, 300_000);
});

describe('switchboard transcribe with a failing first provider', () => {
  it('waits out the fallback and prints the transcript, exit 0 (the meeting does not stay running)', async () => {
    const audio = resolve(import.meta.dirname, '../../../shared/audio/jfk.wav');
    if (!existsSync(audio))
      throw new Error(`shared test data missing: ${audio} (the checkout needs ../shared beside the repo)`);
    const healthy = await fake({ text: 'And so my fellow Americans, ask not.' });
    const openai = (baseUrl: string, priority: number) => ({
      type: 'openai',
      api_key: 'sk-test-000000000000',
      base_url: baseUrl,
      capabilities: ['transcription'],
      priority,
    });
    const config = writeConfig(
      'transcribe-dead-first',
      {
        dead: openai(`http://127.0.0.1:${await freePort()}/v1`, 1),
        healthy: openai(`${healthy.url}/v1`, 2),
      },
      { meetings_cloud: true },
    );
    const result = await cli(['--config', config, 'transcribe', audio]);
    expect(result.stderr).not.toMatch(/Error|at .*\.ts:/);
    expect(result.stdout).toContain('And so my fellow Americans, ask not.');
    expect(result.code).toBe(0);
    expect(healthy.requests.filter((r) => r.path.endsWith('/audio/transcriptions')).length).toBeGreaterThan(0);
    const meetings = JSON.parse((await cli(['--config', config, 'meetings', 'list', '--json'])).stdout);
    expect(JSON.stringify(meetings)).not.toContain('"running"');
  }, 300_000);
});

describe('switchboard usage', () => {
  it('--by model shows what earlier runs spent, per provider and model', async () => {
    const priced = await fake({ text: 'A priced answer.', models: ['house-model'] });
    const config = writeConfig('usage', {
      priced: {
        type: 'custom',
        base_url: `${priced.url}/v1`,
        default_model: 'house-model',
        prices: { 'house-model': { input: 1, output: 2 } },
      },
    });
    expect((await cli(['--config', config, 'chat', 'Say hello'])).code).toBe(0);
    expect((await cli(['--config', config, 'chat', 'Say hello again'])).code).toBe(0);
    const table = await cli(['--config', config, 'usage', '--by', 'model']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^priced\/house-model\s+2\s+0\s+\d+\s+\d+\s+\$0\.0000\d+/m);
    const json = JSON.parse((await cli(['--config', config, 'usage', '--by', 'model', '--json'])).stdout);
    expect(json.rows.find((row: { key: string }) => row.key === 'priced/house-model')).toMatchObject({ requests: 2 });
  }, 300_000);
});
