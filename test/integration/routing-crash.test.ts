import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../electron/engine/store/store.ts';
import { type FakeServer, startFakeOpenAI } from '../fakes/providers.ts';
import { type ServeProcess, startServe, TOKEN } from './routing-harness.ts';

/** `switchboard serve` killed with SIGKILL under load: what the usage record and budgets still know. */

let dataDir: string;
let upstream: FakeServer;
let server: ServeProcess | undefined;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sb-routing-crash-'));
  upstream = await startFakeOpenAI({ apiKey: undefined, text: 'an answer from upstream' });
});
afterEach(() => {
  if (server?.child.exitCode === null) server.child.kill('SIGKILL');
});
afterAll(async () => {
  await upstream.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('kill -9 under load', () => {
  it('every answered request has its usage row, and its cost counts toward the budget', async () => {
    server = await startServe(dataDir, {
      providers: {
        paid: {
          type: 'custom',
          base_url: `${upstream.url}/v1`,
          default_model: 'gpt-4o-mini',
          health_check_interval: 0,
          prices: { '*': { input: 1, output: 1 } },
        },
      },
    });
    const { api, child } = server;
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
    const exited = new Promise((done) => child.once('exit', done));
    const workers = Array.from({ length: 20 }, worker);
    // Kill it in the middle of the traffic, with the last quarter second's rows still on their way.
    await expect.poll(() => answered, { timeout: 120_000, interval: 20 }).toBeGreaterThanOrEqual(300);
    child.kill('SIGKILL');
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

  it('an answer cut off by kill -9 keeps the words written so far and is marked interrupted at the next start', async () => {
    const slow = await startFakeOpenAI({ apiKey: undefined, text: 'one two three four five six', tokenDelayMs: 3_000 });
    const config = {
      providers: {
        slow: { type: 'custom', base_url: `${slow.url}/v1`, default_model: 'gpt-4o-mini', health_check_interval: 0 },
      },
    };
    try {
      server = await startServe(dataDir, config);
      const { api, child } = server;
      const call = (origin: string, method: string, input: unknown, kind = 'call') =>
        fetch(`${origin}/api/app/${kind}/${method}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify(input),
        });
      const response = await call(api, 'chat.send', { content: 'Count to six, slowly.' }, 'stream');
      expect(response.status).toBe(200);
      // Read until the answer is under way (its first words have come), then kill the server.
      const reader = response.body!.getReader();
      let seen = '';
      while (!/"type":"text"/.test(seen)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before any text: ${seen}`);
        seen += new TextDecoder().decode(value);
      }
      const conversationId = /"conversationId":"([^"]+)"/.exec(seen)![1]!;
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGKILL');
      await exited;
      await reader.cancel().catch(() => {});

      server = await startServe(dataDir, config);
      const reply = await call(server.api, 'conversations.get', { id: conversationId });
      const conversation = (await reply.json()) as {
        messages: { role: string; content: string; error?: { code: string; message: string } }[];
      };
      const answer = conversation.messages.at(-1)!;
      expect(answer.role).toBe('assistant');
      expect(answer.error).toMatchObject({ code: 'STREAM_INTERRUPTED', message: expect.stringMatching(/interrupted/) });
      // What had been written before the kill is kept, not only the mark.
      expect(answer.content).toMatch(/^one/);
    } finally {
      await slow.close();
    }
  }, 240_000);
});
