import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeServer } from '../fakes/http-fake.ts';
import { FAKE_OPENAI_KEY, startFakeOpenAI } from '../fakes/openai.ts';
import {
  addHouseArgs,
  runCli,
  type ServedCli,
  serveCli,
  TEST_TOKEN,
  type TestDataDir,
  testDataDir,
} from '../support/cli.ts';

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
  it('a provider added with `providers add` answers the next request', async () => {
    expect(await answerText()).not.toBe(HOUSE);

    const added = await runCli([...data.args, ...addHouseArgs(fake.url, ['house-model'])]);
    expect(added.stderr).toBe('');
    await expect.poll(answerText, { timeout: 15_000, interval: 200 }).toBe(HOUSE);
    expect(fake.requests.some((r) => r.path.endsWith('/chat/completions'))).toBe(true);
    expect(serve.output()).not.toContain('configuration change refused');
  }, 300_000);

  it("a model's settings set with `models settings` are the defaults of the gateway's requests; the request's own win", async () => {
    const set = await runCli([
      ...data.args,
      'models',
      'settings',
      'house/house-model',
      '--temperature',
      '0.2',
      '--max-tokens',
      '33',
      '--system-prompt',
      'Answer like a butler.',
    ]);
    expect(set.stderr).toBe('');
    const lastBody = () =>
      fake.requests.filter((r) => r.path.endsWith('/chat/completions')).at(-1)?.body as Record<string, unknown>;

    // OpenAI in, OpenAI-compatible out: the pass-through path, with fields Switchboard does not know kept.
    await expect
      .poll(
        async () => {
          await chat({ vendor_extension: { keep: true } });
          return lastBody().temperature;
        },
        { timeout: 15_000, interval: 200 },
      )
      .toBe(0.2);
    expect(lastBody()).toMatchObject({
      model: 'house-model',
      temperature: 0.2,
      max_tokens: 33,
      vendor_extension: { keep: true },
      messages: [
        { role: 'system', content: 'Answer like a butler.' },
        { role: 'user', content: 'Who answers?' },
      ],
    });

    // The request's own values win; so does its own system message.
    expect(
      (
        await chat({
          temperature: 1,
          max_completion_tokens: 5,
          messages: [
            { role: 'developer', content: 'Be terse.' },
            { role: 'user', content: 'Tea?' },
          ],
        })
      ).status,
    ).toBe(200);
    expect(lastBody().temperature).toBe(1);
    expect(lastBody().max_completion_tokens).toBe(5);
    expect(lastBody().max_tokens).toBeUndefined();
    expect(lastBody().messages).toEqual([
      { role: 'developer', content: 'Be terse.' },
      { role: 'user', content: 'Tea?' },
    ]);

    // Anthropic in, OpenAI-compatible out: the translated path takes the same settings.
    const messages = await serve.fetch('/v1/messages', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({
        model: 'house/house-model',
        max_tokens: 20,
        messages: [{ role: 'user', content: 'Tea?' }],
      }),
    });
    expect(messages.status).toBe(200);
    expect(lastBody()).toMatchObject({ temperature: 0.2, max_tokens: 20 });
    expect((lastBody().messages as { role: string }[])[0]).toMatchObject({ role: 'system' });
    expect(JSON.stringify(lastBody().messages)).toContain('Answer like a butler.');
  }, 300_000);

  it('a provider removed with `providers remove` is gone at the next request', async () => {
    const removed = await runCli([...data.args, 'providers', 'remove', 'house']);
    expect(removed.stdout).toBe('Removed House\n');
    await expect.poll(answerText, { timeout: 15_000, interval: 200 }).not.toBe(HOUSE);
  }, 300_000);

  it('a key added with `providers add-key` (kept in the database) is used at once by the running server', async () => {
    const keyed = await startFakeOpenAI({ text: 'The vault answered.', models: ['vault-model'] });
    try {
      // The token the server was started with, as a person's shell would have it.
      const cli = (args: string[], input = '') =>
        runCli([...data.args, ...args], { SWITCHBOARD_API_TOKEN: TEST_TOKEN }, { input });
      await cli([
        'providers',
        'add',
        'custom',
        '--name',
        'Vault',
        '--base-url',
        `${keyed.url}/v1`,
        '--models',
        'vault-model',
      ]);
      const ask = async () => {
        const response = await chat({ model: 'vault/vault-model' });
        const body = (await response.json()) as { choices?: { message: { content: string } }[] };
        return body.choices?.[0]?.message.content ?? `status ${response.status}`;
      };
      // The server has the provider (its settings.json reload), still without a key.
      await expect
        .poll(async () => (await serve.call<{ id: string }[]>('providers.list', {})).some((p) => p.id === 'vault'), {
          timeout: 15_000,
          interval: 200,
        })
        .toBe(true);

      const added = await cli(['providers', 'add-key', 'vault'], `${FAKE_OPENAI_KEY}\n`);
      expect(added.stdout).toBe(`Vault keys: …${FAKE_OPENAI_KEY.slice(-4)}\n`);
      expect(added.stderr).toContain('from the server running at');
      expect(await ask()).toBe('The vault answered.');

      const removed = await cli(['providers', 'remove-key', 'vault', '1']);
      expect(removed.stdout).toBe('Vault keys: -\n');
      expect(await ask()).not.toBe('The vault answered.');
      expect(serve.output()).not.toContain(FAKE_OPENAI_KEY);
    } finally {
      await keyed.close();
    }
  }, 300_000);
});
