import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServedCli, serveCli, type TestDataDir, testDataDir } from '../support/cli.ts';

/**
 * `switchboard serve` with stories260K (a 2,048-token context) while the local model is handed prompts
 * far beyond it: every other route keeps answering meanwhile, and the prompt is refused as OpenAI refuses
 * one (400 context_length_exceeded), not cut, not a 500.
 */

let data: TestDataDir;
let served: ServedCli;
beforeAll(async () => {
  data = testDataDir({ stories: true });
  served = await serveCli(data);
}, 120_000);
afterAll(async () => {
  await served?.stop();
  data?.remove();
});

/** Asks /health every 20 ms until `until` settles; the slowest answer, in ms. */
async function slowestHealth(until: Promise<unknown>): Promise<{ slowestMs: number; probes: number }> {
  let settled = false;
  void until.finally(() => {
    settled = true;
  });
  let slowestMs = 0;
  let probes = 0;
  while (!settled) {
    const started = performance.now();
    const response = await fetch(`${served.url}/health`);
    await response.text();
    expect(response.status).toBe(200);
    slowestMs = Math.max(slowestMs, performance.now() - started);
    probes++;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { slowestMs, probes };
}

function chat(messages: { role: string; content: string }[]): Promise<Response> {
  return served.fetch('/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'stories260K', messages, max_tokens: 16 }),
  });
}

describe('a prompt far longer than the local model holds', () => {
  it('a 2 MB prompt is refused with 400 context_length_exceeded while /health keeps answering', async () => {
    // Warm: the model loaded, so what follows measures the prompt, not the load.
    expect((await chat([{ role: 'user', content: 'Once upon a time' }])).status).toBe(200);

    const twoMegabytes = 'We went through the release plan line by line, and then again. '.repeat(33_000);
    expect(twoMegabytes.length).toBeGreaterThan(2_000_000);
    const answer = chat([{ role: 'user', content: twoMegabytes }]);
    const { slowestMs, probes } = await slowestHealth(answer);
    const response = await answer;
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(response.status, JSON.stringify(body)).toBe(400);
    expect(body.error.code).toBe('context_length_exceeded');
    expect(body.error.message).toContain('stories260K holds 2048 tokens');
    expect(probes).toBeGreaterThan(0);
    // Tokenizing all of it on the event loop held every route for 5 s and more; a test machine loaded by
    // a parallel suite adds up to a second or so to any request, not several.
    expect(slowestMs).toBeLessThan(3_000);
  }, 120_000);

  it('200,000 tiny messages are refused with the same 400, not a 500 after minutes of work', async () => {
    const messages = Array.from({ length: 200_000 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: 'ok' }));
    messages.push({ role: 'user', content: 'and now?' });
    const answer = chat(messages);
    const { slowestMs } = await slowestHealth(answer);
    const response = await answer;
    const body = (await response.json()) as { error: { code: string } };
    expect(response.status, JSON.stringify(body)).toBe(400);
    expect(body.error.code).toBe('context_length_exceeded');
    expect(slowestMs).toBeLessThan(3_000);
  }, 120_000);

  it('a malformed body of megabytes (parsed off the event loop) is a 400 naming the problem', async () => {
    const broken = `{"model":"stories260K","messages":[{"role":"user","content":"${'x'.repeat(1_000_000)}"}]`;
    const response = await served.fetch('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: broken,
    });
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(response.status).toBe(400);
    expect(body.error.code).toBe('invalid_json');
    expect(body.error.message).toMatch(/not valid JSON/);
  });
});
