import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeServer } from '../fakes/http-fake.ts';
import { startFakeOpenAI } from '../fakes/openai.ts';
import { runCli, type ServedCli, serveCli, type TestDataDir, testDataDir } from '../support/cli.ts';

/**
 * A running `switchboard serve` and the CLI on the same data dir: what `providers add|remove` and
 * `models settings` change, the server applies to its next request, without a restart.
 */

const HOUSE = 'The house answered.';
let data: TestDataDir;
let fake: FakeServer;
let serve: ServedCli;

beforeAll(async () => {
  data = testDataDir();
  // A keyless endpoint on this machine, as a custom provider may be.
  fake = await startFakeOpenAI({ apiKey: undefined, text: HOUSE, models: ['house-model'] });
  serve = await serveCli(data);
}, 120_000);
afterAll(async () => {
  await serve.stop();
  await fake.close();
  data.remove();
});

function chat(body: Record<string, unknown>): Promise<Response> {
  return serve.fetch('/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'house/house-model',
      messages: [{ role: 'user', content: 'Who answers?' }],
      ...body,
    }),
  });
}

/** The answer's text: the fake's, or (before the provider exists) the fallback responder's. */
async function answerText(): Promise<string> {
  const response = await chat({});
  const body = (await response.json()) as { choices?: { message: { content: string } }[] };
  return body.choices?.[0]?.message.content ?? `status ${response.status}`;
}

describe('serve picks up what the CLI changes', () => {
  it('a provider added with `providers add` answers the next request; one removed is gone', async () => {
    expect(await answerText()).not.toBe(HOUSE);

    const added = await runCli([
      ...data.args,
      'providers',
      'add',
      'custom',
      '--name',
      'House',
      '--base-url',
      `${fake.url}/v1`,
      '--models',
      'house-model',
    ]);
    expect(added.stderr).toBe('');
    await expect.poll(answerText, { timeout: 15_000, interval: 200 }).toBe(HOUSE);
    expect(fake.requests.some((r) => r.path.endsWith('/chat/completions'))).toBe(true);
    expect(serve.output()).not.toContain('configuration change refused');

    const removed = await runCli([...data.args, 'providers', 'remove', 'house']);
    expect(removed.stdout).toBe('Removed House\n');
    await expect.poll(answerText, { timeout: 15_000, interval: 200 }).not.toBe(HOUSE);
  }, 300_000);
});
