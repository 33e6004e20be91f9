import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { FakeServer } from '../fakes/http-fake.ts';
import { FAKE_OPENAI_KEY, startFakeOpenAI } from '../fakes/openai.ts';
import { runCli, STACK_TRACE, serveCli, TEST_TOKEN } from '../support/cli.ts';

/** Configuration that never fails silently, tried as a person runs the CLI and `serve`. */

let dir: string;
let fake: FakeServer;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-cli-config-'));
  fake = await startFakeOpenAI({ text: 'Answered by the fake.' });
});
afterAll(async () => {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, content: string): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

/** A providers.json nested ~800 levels deep in 4 KB, which overflowed the stack of the ${VAR} substitution. */
const DEEP_JSON = JSON.stringify({
  providers: {},
  strategies: JSON.parse(`${'{"a":'.repeat(800)}1${'}'.repeat(800)}`),
});

describe('an invalid configuration at start', () => {
  it('stops every command with exit 2 and every problem listed, before anything is sent', async () => {
    const config = write(
      'broken.yaml',
      stringify({
        providers: {
          openai: { type: 'openai', base_url: `${fake.url}/v1`, rate_limit: { requests_per_minute: -3 } },
          lab: { type: 'custom', base_url: 'not a url' },
        },
      }),
    );
    const dataDir = join(dir, 'broken');
    const requestsBefore = fake.requests.length;
    const commands = [
      ['providers', 'list'],
      ['chat', 'hello'],
      ['models', 'list'],
      ['serve', '--port', '0'],
    ];
    const runs = await Promise.all(
      commands.map((command) =>
        runCli(['--data-dir', dataDir, '--config', config, ...command], { OPENAI_API_KEY: FAKE_OPENAI_KEY }),
      ),
    );
    runs.forEach((run, i) => {
      expect(run.code, commands[i]!.join(' ')).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain('2 problems in the configuration');
      expect(run.stderr).toContain(
        `${config} at providers.openai.rate_limit.requests_per_minute: requests_per_minute cannot be negative`,
      );
      expect(run.stderr).toContain(`${config} at providers.lab.base_url: must be a full URL`);
      expect(run.stderr).not.toMatch(STACK_TRACE);
    });
    expect(fake.requests.length).toBe(requestsBefore);
  }, 120_000);

  it('names a bad environment value by its variable, with no stack trace', async () => {
    const dataDir = join(dir, 'env');
    const cases = [
      ['CLOUD_FALLBACK', 'maybe', '"maybe" is not true or false'],
      ['PROVIDER_STRATEGY', 'fastest', '"fastest" is not a strategy: use one of fallback, priority'],
    ] as const;
    const runs = await Promise.all(
      cases.map(([name, value]) => runCli(['--data-dir', dataDir, 'providers', 'status'], { [name]: value })),
    );
    runs.forEach((run, i) => {
      const [name, , says] = cases[i]!;
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`environment at ${name}: ${says}`);
      expect(run.stderr).not.toMatch(STACK_TRACE);
    });
  }, 120_000);

  it('refuses a deeply nested providers.json with a clear error instead of overflowing the stack', async () => {
    const config = write('deep.json', DEEP_JSON);
    expect(DEEP_JSON.length).toBeLessThan(5000);
    const run = await runCli(['--data-dir', join(dir, 'deep'), '--config', config, 'providers', 'list']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${config} at strategies.a.a…: nested more than 32 levels deep`);
    expect(run.stderr).not.toMatch(STACK_TRACE);
  }, 120_000);
});

describe('a broken edit while serve runs', () => {
  it('keeps the last good configuration serving, logs the problem and shows it in the status', async () => {
    const dataDir = join(dir, 'serve');
    const config = write(
      'providers.json',
      JSON.stringify({
        local: { enabled: false },
        strategy: 'priority',
        providers: { openai: { type: 'openai', api_key: FAKE_OPENAI_KEY, base_url: `${fake.url}/v1` } },
      }),
    );
    const serve = await serveCli({ dir: dataDir, args: ['--data-dir', dataDir, '--config', config] });
    const headers = { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' };
    const chat = () =>
      fetch(`${serve.url}/v1/chat/completions`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      });
    try {
      expect((await chat()).status).toBe(200);
      // A stack overflow here used to kill the server from its file watch.
      writeFileSync(config, DEEP_JSON);
      await expect.poll(() => serve.output(), { timeout: 20_000 }).toContain('configuration change refused');
      expect(serve.output()).toContain('nested more than 32 levels deep');
      const answer = await chat();
      expect(answer.status).toBe(200);
      expect(answer.headers.get('x-switchboard-provider')).toBe('openai');
      const status = await fetch(`${serve.url}/api/v1/providers/status`, { headers });
      expect((await status.json()) as { strategy: string }).toMatchObject({ strategy: 'priority' });
      const settings = await fetch(`${serve.url}/api/app/call/settings.get`, { method: 'POST', headers, body: '{}' });
      expect(JSON.stringify(await settings.json())).toContain('nested more than 32 levels deep');
    } finally {
      await serve.stop();
      expect(serve.child.exitCode).toBe(0);
      expect(serve.output()).not.toMatch(STACK_TRACE);
    }
  }, 120_000);
});

describe('the shapes people write', () => {
  it('type: azure_openai with endpoint and deployment_name calls that deployment', async () => {
    const azure = await startFakeOpenAI({ models: ['prod-gpt4o'], text: 'Answered by Azure.' });
    try {
      const config = write(
        'azure.yaml',
        stringify({
          local: { enabled: false },
          providers: {
            azure: {
              type: 'azure_openai',
              // biome-ignore lint/suspicious/noTemplateCurlyInString: providers.yaml's own ${VAR} syntax
              api_key: '${AZURE_OPENAI_API_KEY}',
              endpoint: azure.url,
              deployment_name: 'prod-gpt4o',
              model: 'gpt-4o',
            },
          },
        }),
      );
      const run = await runCli(['--data-dir', join(dir, 'azure'), '--config', config, 'chat', 'hello'], {
        AZURE_OPENAI_API_KEY: FAKE_OPENAI_KEY,
      });
      expect(run.stderr).toBe('');
      expect(run.stdout.trim()).toBe('Answered by Azure.');
      expect(azure.requests.at(-1)?.path).toBe('/openai/deployments/prod-gpt4o/chat/completions');
    } finally {
      await azure.close();
    }
  }, 120_000);

  it('AZURE_OPENAI_ENDPOINT is the resource address, as Azure shows it', async () => {
    const azure = await startFakeOpenAI({ models: ['gpt-4o-mini'], text: 'Azure from the environment.' });
    try {
      const run = await runCli(['--data-dir', join(dir, 'azure-env'), 'chat', 'hello', '--provider', 'azure'], {
        AZURE_OPENAI_API_KEY: FAKE_OPENAI_KEY,
        AZURE_OPENAI_ENDPOINT: azure.url,
      });
      expect(run.stdout.trim()).toBe('Azure from the environment.');
      expect(azure.requests.at(-1)?.path).toBe('/openai/deployments/gpt-4o-mini/chat/completions');
    } finally {
      await azure.close();
    }
  }, 120_000);

  it('a load_balancing block, PROVIDER_LOAD_BALANCE and CUSTOM_PROVIDER_MODEL', async () => {
    const config = write(
      'balanced.yaml',
      stringify({
        providers: {
          a: { type: 'custom', base_url: `${fake.url}/v1` },
          b: { type: 'custom', base_url: `${fake.url}/v1` },
        },
        load_balancing: { enabled: true, weights: { a: 3, b: 1 } },
      }),
    );
    const dataDir = join(dir, 'balanced');
    const listed = await runCli(['--data-dir', dataDir, '--config', config, 'providers', 'status', '--json'], {
      CUSTOM_PROVIDER_NAME: 'lab',
      CUSTOM_PROVIDER_BASE_URL: `${fake.url}/v1`,
      CUSTOM_PROVIDER_MODEL: 'lab-model-7b',
    });
    expect(listed.code).toBe(0);
    const status = JSON.parse(listed.stdout) as {
      strategy: string;
      providers: { id: string; weight: number; defaultModel?: string }[];
    };
    expect(status.strategy).toBe('weighted_round_robin');
    expect(status.providers.find((p) => p.id === 'a')?.weight).toBe(3);
    expect(status.providers.find((p) => p.id === 'b')?.weight).toBe(1);
    expect(status.providers.find((p) => p.id === 'lab')?.defaultModel).toBe('lab-model-7b');

    const fromEnv = await runCli(['--data-dir', dataDir, 'providers', 'status'], { PROVIDER_LOAD_BALANCE: 'true' });
    expect(fromEnv.stdout).toContain('strategy: round_robin');
  }, 120_000);
});
