import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppServices, createAppServices } from '../../electron/engine/bootstrap.ts';
import { resolvePaths } from '../../electron/engine/config/paths.ts';
import { desktopLogFile, startDesktopLog } from '../../electron/main/desktop-log.ts';
import type { FakeServer } from '../fakes/http-fake.ts';
import { FAKE_OPENAI_KEY, startFakeOpenAI } from '../fakes/openai.ts';

/**
 * The desktop app's log (Electron cannot be launched here): the main process's log module on the app's
 * real services, as electron/main/index.ts wires them. The engine's routed requests and its operational
 * events become the same JSON lines `serve` writes, in <data dir>/logs/desktop.log, without a key.
 */

const REFUSED_KEY = 'sk-desktop-refused-key-9999';

let fake: FakeServer;
let dataDir: string;
let services: AppServices;
beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKey: FAKE_OPENAI_KEY, text: 'Answered in the desktop app.' });
  dataDir = mkdtempSync(join(tmpdir(), 'sb-desktop-log-'));
  const config = join(dataDir, 'providers.json');
  writeFileSync(
    config,
    JSON.stringify({
      local: { enabled: false },
      providers: {
        openai: { type: 'openai', api_key: FAKE_OPENAI_KEY, base_url: `${fake.url}/v1`, models: ['gpt-4o-mini'] },
        refused: { type: 'openai', api_key: REFUSED_KEY, base_url: `${fake.url}/v1`, models: ['gpt-4.1-nano'] },
      },
    }),
  );
  services = await createAppServices(resolvePaths({ dataDir, config }), { env: {} });
});
afterAll(async () => {
  await services?.close();
  await fake.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const ask = async (model: string) => {
  for await (const _ of services.engine.chat({ model, messages: [{ role: 'user', content: 'hello' }] })) {
    // The answer itself is the app's business; the log is what this test reads.
  }
};

describe('the desktop log', () => {
  it('has a request line per routed request and each operational event once, never a key', async () => {
    const desktop = startDesktopLog(dataDir);
    desktop.follow(services);
    await ask('gpt-4o-mini');
    await expect(ask('refused/gpt-4.1-nano')).rejects.toThrow(/rejected the API key/);
    await desktop.logger.close();

    const file = desktopLogFile(dataDir);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    const lines = text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const requests = lines.filter((line) => line.event === 'request');
    expect(requests).toHaveLength(2);
    expect(requests[0]).toMatchObject({
      level: 'info',
      route: 'chat',
      outcome: 'success',
      provider: 'openai',
      model: 'gpt-4o-mini',
      provider_key: expect.stringMatching(/^…\w{4}$/),
      fallback_depth: 0,
      tokens_in: expect.any(Number),
      tokens_out: expect.any(Number),
      cost_usd: expect.any(Number),
    });
    expect(requests[0]!.tokens_out).toBeGreaterThan(0);
    expect(requests[1]).toMatchObject({ level: 'warn', outcome: 'error', provider: 'refused' });
    expect(lines.filter((line) => line.event === 'key.disabled')).toHaveLength(1);
    expect(lines.find((line) => line.event === 'key.disabled')).toMatchObject({ level: 'warn', providerId: 'refused' });
    expect(text).not.toContain(REFUSED_KEY);
    expect(text).not.toContain(FAKE_OPENAI_KEY);
  });
  it('says when the fallback responder answered because no provider could, and why', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'sb-desktop-log-empty-'));
    const config = join(empty, 'providers.json');
    writeFileSync(config, JSON.stringify({ local: { enabled: false }, providers: {} }));
    const alone = await createAppServices(resolvePaths({ dataDir: empty, config }), { env: {} });
    try {
      const desktop = startDesktopLog(empty);
      desktop.follow(alone);
      for await (const _ of alone.engine.chat({ messages: [{ role: 'user', content: 'hello' }] })) {
        // The responder's answer; the log line is what this test reads.
      }
      await desktop.logger.close();
      const lines = readFileSync(desktopLogFile(empty), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines.filter((line) => line.event === 'request')).toEqual([
        expect.objectContaining({
          route: 'chat',
          outcome: 'success',
          provider: 'fallback-responder',
          error_code: 'NO_PROVIDER',
          cost_usd: 0,
        }),
      ]);
    } finally {
      await alone.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
