import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { always } from '../fakes/faults.ts';
import type { FakeServer } from '../fakes/http-fake.ts';
import { FAKE_OPENAI_KEY, startFakeOpenAI } from '../fakes/openai.ts';
import { type FakeWebhook, startFakeWebhook } from '../fakes/webhook.ts';
import { serveCli, TEST_TOKEN } from '../support/cli.ts';

/**
 * Operational events as an operator meets them with `switchboard serve`: a key the provider refuses and a
 * broken edit of providers.json — each once in the log (the terminal's and <data dir>/logs/serve.log), once
 * on GET /api/events, and posted to the alert webhook (tried again after the webhook's 500). Request lines
 * say who asked, where it went and what it cost; the log file is the owner's alone and rotates by size.
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

/** The lines of a data dir's serve.log (the current file). */
function logFile(dataDir: string): string {
  return readFileSync(join(dataDir, 'logs', 'serve.log'), 'utf8');
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
    const serve = await serveCli({ dir: dataDir, args: ['--data-dir', dataDir, '--config', config] });
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
        for (const log of [serve.output(), logFile(dataDir)]) {
          const logged = logLines(log, event);
          expect(logged, event).toHaveLength(1);
          expect(logged[0]).toMatchObject({ level: 'warn', event, id: streamed[0]!.id, msg: streamed[0]!.summary });
        }
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
      await expect.poll(() => logLines(logFile(dataDir), 'config.rejected').length).toBe(1);

      // Never a key in clear, anywhere an event went.
      for (const text of [serve.output(), logFile(dataDir), sse.text(), JSON.stringify(webhook.posts)]) {
        expect(text).not.toContain(REFUSED_KEY);
        expect(text).not.toContain(FAKE_OPENAI_KEY);
      }
    } finally {
      await serve.stop();
    }
  }, 180_000);
  it('request lines say who asked, where it went and what it cost; a breaker opening is one line; the file is 0600 and rotates', async () => {
    const dataDir = join(dir, 'requests-data');
    const config = join(dir, 'requests.json');
    const down = await startFakeOpenAI({ apiKey: FAKE_OPENAI_KEY, faults: always('server-error') });
    writeFileSync(
      config,
      JSON.stringify({
        local: { enabled: false },
        providers: {
          // First in line and failing: two 500s open its breaker, the requests fall back to `openai`.
          flaky: {
            type: 'openai',
            api_key: FAKE_OPENAI_KEY,
            base_url: `${down.url}/v1`,
            models: ['gpt-4o-mini'],
            priority: 1,
            retry: { max_attempts: 1 },
            failover: { max_failures: 2, recovery_timeout: 600 },
          },
          openai: {
            type: 'openai',
            api_key: FAKE_OPENAI_KEY,
            base_url: `${fake.url}/v1`,
            models: ['gpt-4o-mini'],
            priority: 2,
          },
          // A key the upstream refuses, echoing it in its error (as OpenAI does).
          refused: {
            type: 'openai',
            api_key: REFUSED_KEY,
            base_url: `${fake.url}/v1`,
            models: ['gpt-4.1-nano'],
            priority: 3,
          },
        },
      }),
    );
    const serve = await serveCli({ dir: dataDir, args: ['--data-dir', dataDir, '--config', config] }, [
      '--log-format',
      'pretty',
      '--log-file-size',
      '4K',
      '--log-files',
      '2',
    ]);
    try {
      const chat = (model: string, headers: Record<string, string> = {}) =>
        serve.fetch('/v1/chat/completions', {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
        });
      const first = await chat('gpt-4o-mini', { 'x-request-id': 'req-from-the-client-1' });
      expect(first.status).toBe(200);
      expect(first.headers.get('x-request-id')).toBe('req-from-the-client-1');
      const answered = await first.json();
      for (let i = 0; i < 12; i++) expect((await chat('gpt-4o-mini')).status).toBe(200);
      expect((await chat('refused/gpt-4.1-nano')).status).toBe(502);
      // A provider key sent as the API token: refused, and not written anywhere either.
      expect((await chat('gpt-4o-mini', { authorization: `Bearer ${FAKE_OPENAI_KEY}` })).status).toBe(401);
      await serve.stop();

      const files = readdirSync(join(dataDir, 'logs')).sort();
      const lines = files
        .flatMap((name) => readFileSync(join(dataDir, 'logs', name), 'utf8').split('\n'))
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const requests = lines.filter((line) => line.event === 'request');

      // The first request: tried on `flaky` (500), answered by `openai`, priced, by the master token.
      expect(requests.find((line) => line.id === 'req-from-the-client-1')).toMatchObject({
        level: 'info',
        method: 'POST',
        route: '/v1/chat/completions',
        status: 200,
        latency_ms: expect.any(Number),
        key: 'master',
        provider: 'openai',
        model: 'gpt-4o-mini',
        provider_key: expect.stringMatching(/^…\w{4}$/),
        fallback_depth: 1,
        tokens_in: answered.usage.prompt_tokens,
        tokens_out: answered.usage.completion_tokens,
        cost_usd: expect.any(Number),
      });
      expect(requests.find((line) => line.id === 'req-from-the-client-1')!.cost_usd).toBeGreaterThan(0);
      expect(requests.find((line) => line.status === 502)).toMatchObject({
        level: 'error',
        error_code: 'provider_unauthorized',
        error: expect.stringContaining('rejected the API key ending …0000'),
      });
      expect(requests.find((line) => line.status === 401)).toMatchObject({ error_code: 'invalid_api_key' });

      // The breaker opened once: one line in the terminal (readable, not JSON) and one in the file.
      expect(lines.filter((line) => line.event === 'breaker.open')).toHaveLength(1);
      expect(lines.find((line) => line.event === 'breaker.open')).toMatchObject({ level: 'warn', providerId: 'flaky' });
      const terminal = serve.output().split('\n');
      expect(
        terminal.filter((line) => /WARN.*breaker\.open: circuit breaker opened for flaky/.test(line)),
      ).toHaveLength(1);
      expect(terminal.filter((line) => line.startsWith('{'))).toEqual([]);
      // --quiet: answered requests stay out of the terminal, a failed one is there.
      expect(terminal.filter((line) => / 200 [\d.]+ms/.test(line))).toEqual([]);
      expect(terminal.filter((line) => /ERROR.*request: POST \/v1\/chat\/completions 502/.test(line))).toHaveLength(1);

      // Rotated at the size limit (how many are kept: test/unit/operations/logger.test.ts), each file the
      // owner's alone in a folder of its own.
      expect(files.slice(0, 2)).toEqual(['serve.log', 'serve.log.1']);
      for (const name of files) {
        expect(statSync(join(dataDir, 'logs', name)).mode & 0o777, name).toBe(0o600);
        expect(statSync(join(dataDir, 'logs', name)).size, name).toBeLessThan(4096 + 2048);
      }
      expect(statSync(join(dataDir, 'logs')).mode & 0o777).toBe(0o700);

      // Never a key or the token in clear.
      const everything = [serve.output(), ...files.map((name) => readFileSync(join(dataDir, 'logs', name), 'utf8'))];
      for (const text of everything) {
        for (const secret of [REFUSED_KEY, FAKE_OPENAI_KEY, TEST_TOKEN]) expect(text).not.toContain(secret);
      }
    } finally {
      await serve.stop();
      await down.close();
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
    const serve = await serveCli({ dir: dataDir, args: ['--data-dir', dataDir, '--config', config] });
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
