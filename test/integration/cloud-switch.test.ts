import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppServices, createAppServices } from '../../electron/engine/bootstrap.ts';
import { resolvePaths } from '../../electron/engine/config/paths.ts';
import {
  FAKE_ANTHROPIC_KEY,
  FAKE_OPENAI_KEY,
  type FakeServer,
  startFakeAnthropic,
  startFakeOpenAI,
} from '../fakes/providers.ts';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '../..');
const cli = join(repo, 'bin', 'switchboard.mjs');

let openai: FakeServer;
let anthropic: FakeServer;
let dataDir: string;
let configFile: string;

function writeConfig(cloudFallback: boolean) {
  writeFileSync(
    configFile,
    `cloud_fallback: ${cloudFallback}
local:
  enabled: false
providers:
  fakeai:
    type: custom
    base_url: ${openai.url}/v1
    api_key: ${FAKE_OPENAI_KEY}
    default_model: gpt-4o-mini
    retry: { max_attempts: 1 }
  claude:
    type: anthropic
    base_url: ${anthropic.url}
    api_key: ${FAKE_ANTHROPIC_KEY}
    default_model: claude-haiku-4-5
    retry: { max_attempts: 1 }
`,
  );
}

async function services(): Promise<AppServices> {
  return createAppServices(resolvePaths({ dataDir, config: configFile }), { env: {} });
}

beforeAll(async () => {
  openai = await startFakeOpenAI({ apiKey: FAKE_OPENAI_KEY, text: 'Streamed from the fake OpenAI server.' });
  anthropic = await startFakeAnthropic({ apiKey: FAKE_ANTHROPIC_KEY, text: 'Claude fake says hi.' });
  dataDir = mkdtempSync(join(tmpdir(), 'sb-cloud-'));
  configFile = join(dataDir, 'providers.yaml');
});

afterAll(async () => {
  await openai.close();
  await anthropic.close();
});

describe('`switchboard chat` against a fake provider', () => {
  it('streams the fake provider text to the terminal', async () => {
    writeConfig(true);
    const { stdout } = await run(
      process.execPath,
      [cli, '--config', configFile, '--data-dir', dataDir, 'chat', 'hello', '--provider', 'fakeai'],
      {
        env: { ...process.env, OPENAI_API_KEY: '' },
      },
    );
    expect(stdout.trim()).toBe('Streamed from the fake OpenAI server.');
    expect(openai.requests.at(-1)?.stream).toBe(true);
  });

  it('exits non-zero with a one-line reason when the provider is unknown', async () => {
    writeConfig(true);
    const failure = await run(process.execPath, [
      cli,
      '--config',
      configFile,
      '--data-dir',
      dataDir,
      'chat',
      'hello',
      '--provider',
      'nowhere',
    ]).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 1 });
    const stderr = (failure as { stderr: string }).stderr.trim();
    expect(stderr.split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^switchboard: NO_PROVIDER: provider "nowhere" is not configured/);
  });
});

describe('the cloud fallback switch', () => {
  it('off: no request reaches any cloud provider, even one named with --provider', async () => {
    writeConfig(false);
    const before = openai.requests.length + anthropic.requests.length;
    const app = await services();
    try {
      for (const providerId of ['fakeai', 'claude']) {
        const attempt = (async () => {
          for await (const _ of app.engine.chat(
            { messages: [{ role: 'user', content: 'secret notes' }] },
            { providerId },
          )) {
            // draining
          }
        })();
        await expect(attempt).rejects.toThrow(/CLOUD_DISABLED: cloud fallback is off/);
      }
      // Without a named provider there is nothing on the machine to answer (local is off here): the fallback
      // responder, which needs no network, says why.
      let answer = '';
      for await (const event of app.engine.chat({ messages: [{ role: 'user', content: 'secret notes' }] })) {
        if (event.type === 'route') expect(event.route.providerId).toBe('fallback-responder');
        if (event.type === 'text') answer += event.text;
      }
      expect(answer).toMatch(/NO_PROVIDER: .*cloud fallback is off/);
      expect(app.engine.status().note).toMatch(/no request leaves this machine/);
      await expect(app.engine.health()).resolves.toEqual(
        expect.arrayContaining([expect.objectContaining({ providerId: 'fakeai', status: 'disabled' })]),
      );
    } finally {
      await app.close();
    }
    expect(openai.requests.length + anthropic.requests.length).toBe(before);
  });

  it('switched off through the engine API: takes effect at once and is kept', async () => {
    writeConfig(true);
    const app = await services();
    try {
      app.engine.setCloudFallback(false);
      const before = openai.requests.length;
      await expect(
        (async () => {
          for await (const _ of app.engine.chat(
            { messages: [{ role: 'user', content: 'x' }] },
            { providerId: 'fakeai' },
          )) {
            // draining
          }
        })(),
      ).rejects.toThrow(/CLOUD_DISABLED/);
      expect(openai.requests.length).toBe(before);
    } finally {
      await app.close();
    }
    const restarted = await services();
    try {
      expect(restarted.engine.status().cloudFallback).toBe(false);
      restarted.engine.setCloudFallback(true);
    } finally {
      await restarted.close();
    }
  });

  it('on: the same request goes to the cloud provider', async () => {
    writeConfig(true);
    const app = await services();
    try {
      let text = '';
      let providerId = '';
      for await (const event of app.engine.chat(
        { messages: [{ role: 'user', content: 'hi' }] },
        { providerId: 'claude' },
      )) {
        if (event.type === 'route') providerId = event.route.providerId;
        if (event.type === 'text') text += event.text;
      }
      expect(providerId).toBe('claude');
      expect(text).toBe('Claude fake says hi.');
    } finally {
      await app.close();
    }
  });
});
