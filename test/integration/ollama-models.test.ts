import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeServer } from '../fakes/http-fake.ts';
import { startFakeOllama } from '../fakes/ollama.ts';
import { runCli, STACK_TRACE, serveCli, type TestDataDir, testDataDir } from '../support/cli.ts';

/** `switchboard models pull|rm ollama/NAME`: Ollama's own models, through its API, with progress. */

let data: TestDataDir;
let ollama: FakeServer;
let config: string;

beforeAll(async () => {
  ollama = await startFakeOllama({ models: ['llama3.2:1b'] });
  data = testDataDir();
  config = data.writeConfig({
    local: { enabled: false },
    providers: { ollama: { type: 'ollama', base_url: ollama.url } },
  });
});
afterAll(async () => {
  await ollama?.close();
  data?.remove();
});

const cli = (...args: string[]) => runCli([...data.args, '--config', config, ...args]);

describe('models pull|rm ollama/NAME', () => {
  it('pulls through /api/pull printing each status with its progress, and deletes through /api/delete', async () => {
    const pulled = await cli('models', 'pull', 'ollama/qwen2.5:0.5b');
    expect(pulled.stderr).not.toMatch(STACK_TRACE);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(pulled.stderr).toContain('ollama/qwen2.5:0.5b: pulling manifest');
    expect(pulled.stderr).toMatch(/ollama\/qwen2\.5:0\.5b: pulling \w+ {2}50%/);
    expect(pulled.stderr).toMatch(/pulling \w+ {2}100%/);
    expect(pulled.stderr).toContain('ollama/qwen2.5:0.5b: success');
    expect(pulled.stdout.trim()).toBe('ollama/qwen2.5:0.5b pulled');
    // ollama-js names the model `name` (Ollama takes `model` or `name`).
    const named = (path: string) => {
      const body = ollama.requests.find((r) => r.path === path)?.body as { model?: string; name?: string } | undefined;
      return body?.model ?? body?.name;
    };
    expect(named('/api/pull')).toBe('qwen2.5:0.5b');

    const removed = await cli('models', 'rm', 'ollama/qwen2.5:0.5b');
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout.trim()).toBe('removed ollama/qwen2.5:0.5b');
    expect(named('/api/delete')).toBe('qwen2.5:0.5b');
  }, 180_000);

  it('says which providers manage models when the provider is not Ollama', async () => {
    const result = await cli('models', 'pull', 'nowhere/llama3.2:1b');
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(/^switchboard: NOT_FOUND: provider "nowhere" is not configured/);
    expect(result.stderr).not.toMatch(STACK_TRACE);
  }, 120_000);

  it('over HTTP: POST /api/v1/models/pull streams the statuses as server-sent events; DELETE /api/v1/models deletes', async () => {
    const serve = await serveCli({ ...data, args: [...data.args, '--config', config] });
    try {
      const pulled = await serve.fetch('/api/v1/models/pull', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'ollama/phi3:mini' }),
      });
      expect(pulled.status).toBe(200);
      expect(pulled.headers.get('content-type')).toContain('text/event-stream');
      const events = (await pulled.text())
        .split('\n\n')
        .filter((frame) => frame.startsWith('data: '))
        .map((frame) => JSON.parse(frame.slice(6)) as { status: string; completed?: number; total?: number });
      expect(events[0]!.status).toBe('pulling manifest');
      expect(events.some((e) => e.total !== undefined && e.completed === e.total)).toBe(true);
      expect(events.at(-1)!.status).toBe('success');

      const deleted = await serve.fetch('/api/v1/models?model=ollama%2Fphi3%3Amini', { method: 'DELETE' });
      expect(deleted.status).toBe(200);
      expect(await deleted.json()).toEqual({ deleted: 'ollama/phi3:mini' });

      const unknown = await serve.fetch('/api/v1/models/pull', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'nowhere/phi3:mini' }),
      });
      expect(unknown.status).toBe(404);
    } finally {
      await serve.stop();
    }
  }, 120_000);
});
