import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeServer } from '../fakes/http-fake.ts';
import { FAKE_OPENAI_KEY, startFakeOpenAI } from '../fakes/openai.ts';
import { type FakeWebhook, startFakeWebhook } from '../fakes/webhook.ts';
import { serveCli } from '../support/cli.ts';

/**
 * Operational events as an operator meets them with `switchboard serve`: a key the provider refuses and a
 * broken edit of providers.json — each once in the log, once on
 * GET /api/events, and posted to the alert webhook (tried again after the webhook's 500).
 */

const REFUSED_KEY = 'sk-refused-by-the-provider-0000';

let dir: string;
let fake: FakeServer;
let webhook: FakeWebhook;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-operations-'));
  fake = await startFakeOpenAI({ apiKey: FAKE_OPENAI_KEY, text: 'Answered by the fake.' });
  webhook = await startFakeWebhook([500]);
});
afterAll(async () => {
  await fake.close();
  await webhook.close();
  rmSync(dir, { recursive: true, force: true });
});

interface EventRecord {
  id: number;
  event: string;
  summary: string;
  data: Record<string, unknown>;
}

/** Reads an SSE response in the background; `events()` parses what has arrived. */
function collectSse(response: Response): { events(): (EventRecord & { name: string })[]; text(): string } {
  let text = '';
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      text += value;
    }
  })();
  return {
    text: () => text,
    events: () =>
      text
        .split('\n\n')
        .filter((frame) => frame.includes('\ndata: '))
        .map((frame) => {
          const name = /^event: (.+)$/m.exec(frame)![1]!;
          return { name, ...(JSON.parse(/^data: (.+)$/m.exec(frame)![1]!) as EventRecord) };
        }),
  };
}

/** The JSON lines of the serve log that name `event`. */
function logLines(output: string, event: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{') && line.includes(`"event":"${event}"`))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('operational events through serve', () => {
  it('each appears once in the log, once on /api/events and reaches the webhook, retried after a 500', async () => {
    const dataDir = join(dir, 'data');
    const config = join(dir, 'providers.json');
    writeFileSync(
      config,
      JSON.stringify({
        local: { enabled: false },
        providers: {
          openai: { type: 'openai', api_keys: [REFUSED_KEY, FAKE_OPENAI_KEY], base_url: `${fake.url}/v1` },
        },
        alerts: { webhook_url: webhook.url, events: ['key.disabled', 'config.rejected'] },
      }),
    );
    const serve = await serveCli({ dir: dataDir, args: ['--data-dir', dataDir, '--config', config], remove() {} });
    try {
      const stream = await serve.fetch('/api/events');
      expect(stream.status).toBe(200);
      expect(stream.headers.get('content-type')).toContain('text/event-stream');
      const sse = collectSse(stream);
      await expect.poll(() => sse.text(), { timeout: 10_000 }).toContain('operational events');

      const chat = async (i: number) => {
        const answer = await serve.fetch('/v1/chat/completions', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `hi ${i}` }] }),
        });
        expect(answer.status).toBe(200);
      };
      // Whichever key comes first, the refused one has been tried by the third request.
      for (let i = 0; i < 3; i++) await chat(i);

      // The webhook answered the first post with a 500: the same event came again, and was taken.
      await expect.poll(() => webhook.posts.filter((post) => post.status === 200).length, { timeout: 30_000 }).toBe(1);
      const posted = webhook.posts.map((post) => ({ ...(post.body as EventRecord), status: post.status }));
      const keyPosts = posted.filter((post) => post.event === 'key.disabled');
      expect(keyPosts.map((post) => post.status)).toEqual([500, 200]);
      expect(keyPosts[0]).toEqual({ ...keyPosts[1], status: 500 });
      expect(keyPosts[0]!.data).toMatchObject({ providerId: 'openai', key: expect.stringMatching(/^…\w{4}$/) });

      await expect.poll(() => sse.events().length, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
      for (const event of ['key.disabled']) {
        const streamed = sse.events().filter((e) => e.name === event);
        expect(streamed, event).toHaveLength(1);
        expect(streamed[0]!.event).toBe(event);
        const logged = logLines(serve.output(), event);
        expect(logged, event).toHaveLength(1);
        expect(logged[0]).toMatchObject({ level: 'warn', event, id: streamed[0]!.id, msg: streamed[0]!.summary });
        const webhooked = posted.find((post) => post.event === event);
        expect(webhooked?.id).toBe(streamed[0]!.id);
      }

      // A broken edit: refused (the last good configuration, alerts included, keeps serving) and said once.
      writeFileSync(config, '{"providers": {"openai": {"type": "openai", "base_url": 42}}}');
      await expect.poll(() => logLines(serve.output(), 'config.rejected').length, { timeout: 20_000 }).toBe(1);
      await expect.poll(() => posted.length < webhook.posts.length, { timeout: 10_000 }).toBe(true);
      const rejected = webhook.posts.at(-1)!.body as EventRecord;
      expect(rejected.event).toBe('config.rejected');
      expect(rejected.summary).toContain('base_url');
      await expect.poll(() => sse.events().filter((e) => e.name === 'config.rejected').length).toBe(1);
      expect(serve.output()).toContain('configuration change refused');

      // Never a key in clear, anywhere an event went.
      for (const text of [serve.output(), sse.text(), JSON.stringify(webhook.posts)]) {
        expect(text).not.toContain(REFUSED_KEY);
        expect(text).not.toContain(FAKE_OPENAI_KEY);
      }
    } finally {
      await serve.stop();
    }
  }, 180_000);
  it('a budget alert fires once per period, and the budget counts what the requests cost', async () => {
    const dataDir = join(dir, 'budget-data');
    const config = join(dir, 'budget.json');
    // A daily budget of a few requests' worth (each costs about $0.000003 at gpt-4o-mini's prices), never refused.
    const limit = 0.00001;
    writeFileSync(
      config,
      JSON.stringify({
        local: { enabled: false },
        providers: { openai: { type: 'openai', api_key: FAKE_OPENAI_KEY, base_url: `${fake.url}/v1` } },
        budgets: { daily: limit, alert_threshold: 0.5, hard_stop: 'off' },
      }),
    );
    const serve = await serveCli({ dir: dataDir, args: ['--data-dir', dataDir, '--config', config], remove() {} });
    try {
      const stats = async () =>
        (await (await serve.fetch('/api/v1/providers/stats')).json()) as {
          providers: { providerId: string; costUsd: number }[];
          budgets: { scope: string; period: string; spentUsd: number }[];
        };
      const costs = async () => (await stats()).providers.find((p) => p.providerId === 'openai')?.costUsd ?? 0;
      for (let i = 0, before = 0; i < 20 && before < 1.5 * limit; i++) {
        const answer = await serve.fetch('/v1/chat/completions', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `hi ${i}` }] }),
        });
        expect(answer.status).toBe(200);
        // Usage is written in small batches: wait until this request is on record.
        await expect.poll(costs).toBeGreaterThan(before);
        before = await costs();
      }
      const spent = await costs();
      expect(spent).toBeGreaterThanOrEqual(1.5 * limit);
      const daily = (await stats()).budgets.find((b) => b.scope === 'global' && b.period === 'daily');
      expect(daily?.spentUsd).toBeCloseTo(spent, 9);
      expect(logLines(serve.output(), 'budget.threshold')).toHaveLength(1);
      expect(logLines(serve.output(), 'budget.exhausted')).toHaveLength(1);
    } finally {
      await serve.stop();
    }
  }, 180_000);
});
