import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeServer } from '../fakes/http-fake.ts';
import { FAKE_OPENAI_KEY, startFakeOpenAI } from '../fakes/openai.ts';
import { runCli, STACK_TRACE, serveCli, TEST_TOKEN } from '../support/cli.ts';

/**
 * `providers stats` and `providers status` while `serve` runs on the same data dir: they report the serving
 * process (a key the provider refused, a broken edit of providers.json), not a fresh process's blank state.
 */

const REFUSED_KEY = 'sk-refused-by-the-provider-0000';

let dir: string;
let fake: FakeServer;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-cli-running-'));
  fake = await startFakeOpenAI({ apiKey: FAKE_OPENAI_KEY, text: 'Answered by the fake.' });
});
afterAll(async () => {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

interface StatsJson {
  providers: { providerId: string; requests: number; keys: { key: string; status: string }[] }[];
}

describe('providers stats and status with a server running', () => {
  it("show the running server's key states and configuration problem, and a fresh process's after it stops", async () => {
    const dataDir = join(dir, 'data');
    const config = join(dir, 'providers.json');
    writeFileSync(
      config,
      JSON.stringify({
        local: { enabled: false },
        providers: {
          openai: { type: 'openai', api_keys: [REFUSED_KEY, FAKE_OPENAI_KEY], base_url: `${fake.url}/v1` },
        },
      }),
    );
    const cli = (...args: string[]) =>
      runCli(['--data-dir', dataDir, '--config', config, ...args], { SWITCHBOARD_API_TOKEN: TEST_TOKEN });
    const serve = await serveCli({ dir: dataDir, args: ['--data-dir', dataDir, '--config', config] });
    try {
      // Until the refused key has been tried once, whichever key comes first.
      for (let i = 0; i < 3; i++) {
        const answer = await serve.fetch('/v1/chat/completions', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
        });
        expect(answer.status).toBe(200);
      }
      const stats = await cli('providers', 'stats', '--json');
      expect(stats.code).toBe(0);
      expect(stats.stderr).toContain(`from the server running at ${serve.url}`);
      const openai = (JSON.parse(stats.stdout) as StatsJson).providers.find((p) => p.providerId === 'openai');
      expect(openai?.requests).toBe(3);
      expect(openai?.keys.map((k) => k.status)).toEqual(['disabled', 'active']);
      const table = await cli('providers', 'stats');
      expect(table.stdout).toMatch(/openai .*…\w+ \(disabled\)/);

      // A broken edit: the server keeps the last good configuration and says why; so does `providers status`.
      writeFileSync(config, '{"providers": {"openai": {"type": "openai", "base_url": 42}}}');
      await expect.poll(() => serve.output(), { timeout: 20_000 }).toContain('configuration change refused');
      const status = await cli('providers', 'status');
      expect(status.code).toBe(0);
      expect(status.stdout).toContain('strategy:');
      expect(status.stderr).toContain('base_url');
      expect(status.stderr).not.toMatch(STACK_TRACE);
      const json = await cli('providers', 'status', '--json');
      expect(JSON.parse(json.stdout)).toMatchObject({
        configError: expect.stringContaining('base_url'),
        providers: expect.arrayContaining([expect.objectContaining({ id: 'openai' })]),
      });
    } finally {
      await serve.stop();
    }
    // No server: a fresh process reads the file itself (and refuses the broken one with exit 2).
    const fresh = await cli('providers', 'status');
    expect(fresh.code).toBe(2);
    expect(fresh.stderr).toContain('base_url');
    expect(fresh.stderr).not.toContain('from the server');
  }, 240_000);
});
