import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type ServedCli, STACK_TRACE, serveCli, type TestDataDir, testDataDir } from '../support/cli.ts';
import { series } from '../support/prometheus.ts';

/**
 * With no provider and no model at all (a fresh install: no models pulled, no keys), the last step of every
 * chat chain answers: a built-in responder that needs no model and no network, saying so and how to get one.
 */

let data: TestDataDir;
let serve: ServedCli;
beforeAll(async () => {
  data = testDataDir();
  serve = await serveCli(data);
});
afterAll(async () => {
  await serve?.stop();
  data?.remove();
});

describe('the fallback responder', () => {
  it('`switchboard chat hello` with no provider and no model exits 0 with an answer saying how to get a model', async () => {
    const result = await runCli([...data.args, 'chat', 'hello']);
    expect(result.stderr).not.toMatch(STACK_TRACE);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Hello! No model is available/);
    expect(result.stdout).toContain('switchboard models pull');
    expect(result.stdout).toContain('switchboard providers add-key');

    const json = await runCli([...data.args, 'chat', 'which provider are you?', '--json']);
    expect(json.code).toBe(0);
    const answer = JSON.parse(json.stdout) as { text: string; route: { providerId: string } };
    expect(answer.route.providerId).toBe('fallback-responder');
    expect(answer.text).toMatch(/^You are talking to Switchboard’s fallback responder/);
    expect(answer.text).toContain('NO_PROVIDER');
  }, 120_000);

  it('answers over HTTP marked x-switchboard-provider: fallback-responder, streamed or not', async () => {
    const ask = (stream: boolean) =>
      serve.fetch('/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'help' }], stream }),
      });
    const collected = await ask(false);
    expect(collected.status).toBe(200);
    expect(collected.headers.get('x-switchboard-provider')).toBe('fallback-responder');
    const body = (await collected.json()) as { model: string; choices: { message: { content: string } }[] };
    expect(body.choices[0]!.message.content).toMatch(/No model is available.*switchboard models pull/);

    const streamed = await ask(true);
    expect(streamed.status).toBe(200);
    expect(streamed.headers.get('x-switchboard-provider')).toBe('fallback-responder');
    const frames = await streamed.text();
    expect(frames).toContain('fallback responder');
    expect(frames.trimEnd().endsWith('data: [DONE]')).toBe(true);

    const query = await serve.fetch('/api/chat/query', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 'u1', query: 'is it working?' }),
    });
    expect(query.status).toBe(200);
    expect(query.headers.get('x-switchboard-provider')).toBe('fallback-responder');
    expect(((await query.json()) as { response: string }).response).toMatch(/Status: no provider could answer/);
  }, 60_000);

  it('counts its answer as a fallback and a request in /metrics and in usage, and its request log line says it answered and why', async () => {
    const metric = async (name: string) => {
      const text = await (await serve.fetch('/metrics')).text();
      return series(text, name).filter(
        (s) => s.labels.to_provider === 'fallback-responder' || s.labels.provider === 'fallback-responder',
      );
    };
    const fallbacks = () => metric('switchboard_fallbacks_total');
    const requests = async () => (await metric('switchboard_requests_total'))[0]?.value ?? 0;
    const before = (await fallbacks())[0]?.value ?? 0;
    const requestsBefore = await requests();
    const answered = await serve.fetch('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'asked-with-no-provider' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hello' }] }),
    });
    expect(answered.status).toBe(200);
    await answered.arrayBuffer();

    // No provider is configured at all: nothing was tried before the responder answered.
    expect(await fallbacks()).toEqual([
      {
        labels: { from_provider: 'none', to_provider: 'fallback-responder', reason: 'no_provider' },
        value: before + 1,
      },
    ]);
    expect(await requests()).toBe(requestsBefore + 1);
    // `switchboard usage` (the usage store) has its row, as it has every routed request's.
    const usage = await runCli([...data.args, 'usage', '--json']);
    expect(usage.code).toBe(0);
    const rows = (JSON.parse(usage.stdout) as { rows: { key: string; requests: number }[] }).rows;
    expect(rows.find((row) => row.key === 'fallback-responder')?.requests).toBeGreaterThan(0);
    const log = join(data.dir, 'logs', 'serve.log');
    const line = () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((text) => JSON.parse(text) as Record<string, unknown>)
            .find((fields) => fields.event === 'request' && fields.id === 'asked-with-no-provider')
        : undefined;
    await expect.poll(line, { timeout: 10_000 }).toMatchObject({
      status: 200,
      provider: 'fallback-responder',
      model: 'fallback-responder',
      error_code: 'NO_PROVIDER',
      fallback_depth: 0,
      tokens_in: 0,
      tokens_out: 0,
      cost_usd: 0,
    });
  }, 60_000);

  it('is off with fallback_responder: false — the error comes back as before', async () => {
    const config = join(data.dir, 'no-responder.yaml');
    writeFileSync(config, 'fallback_responder: false\n');
    const result = await runCli([...data.args, '--config', config, 'chat', 'hello']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^switchboard: NO_PROVIDER: no enabled provider can do chat/);
  }, 60_000);
});
