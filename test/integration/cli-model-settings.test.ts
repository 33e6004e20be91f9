import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeServer } from '../fakes/http-fake.ts';
import { startFakeOpenAI } from '../fakes/openai.ts';
import { addHouseArgs, runCli, STACK_TRACE, type TestDataDir, testDataDir } from '../support/cli.ts';

/** `models default` and `models settings` as a person runs them, one process per command. */

let data: TestDataDir;
let fake: FakeServer;

beforeAll(async () => {
  data = testDataDir();
  // A keyless endpoint on this machine, as a custom provider may be.
  fake = await startFakeOpenAI({
    apiKey: undefined,
    text: 'The house answered.',
    models: ['house-model', 'other-model'],
  });
  const added = await runCli([...data.args, ...addHouseArgs(fake.url, ['other-model', 'house-model'])]);
  expect(added.stderr).toBe('');
}, 200_000);
afterAll(async () => {
  await fake.close();
  data.remove();
});

const cli = (...args: string[]) => runCli([...data.args, ...args]);

describe('switchboard models default|settings', () => {
  it('lists every job, chooses the chat model, and chat without --model is answered by it', async () => {
    const listed = await cli('models', 'default');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^chat\s+\(routing decides\)$/m);
    expect(listed.stdout).toMatch(/^transcription\s+/m);

    const chosen = await cli('models', 'default', 'chat', 'house/house-model');
    expect(chosen.stderr).toBe('');
    expect(chosen.stdout).toMatch(/^chat\s+house\/house-model$/m);
    expect(JSON.parse((await cli('models', 'default', '--json')).stdout)).toMatchObject({
      chat: 'house/house-model',
      summaries: null,
    });

    const before = fake.requests.length;
    const chat = await cli('chat', 'Who answers?');
    expect(chat.stdout).toContain('The house answered.');
    const sent = fake.requests.slice(before).find((r) => r.path.endsWith('/chat/completions'));
    expect(sent?.model).toBe('house-model');

    const reset = await cli('models', 'default', 'chat', '--reset');
    expect(reset.stdout).toMatch(/^chat\s+\(routing decides\)$/m);
  }, 300_000);

  it("keeps a model's settings, and `switchboard chat` sends them where the request leaves them open", async () => {
    const set = await cli(
      'models',
      'settings',
      'house/house-model',
      '--temperature',
      '0.3',
      '--max-tokens',
      '42',
      '--system-prompt',
      'Answer like a butler.',
    );
    expect(set.stderr).toBe('');
    expect(set.stdout).toMatch(/temperature\s+0\.3/);
    // A flag changes one setting and keeps the others.
    await cli('models', 'settings', 'house/house-model', '--temperature', '0.5');
    expect(JSON.parse((await cli('models', 'settings', 'house/house-model', '--json')).stdout)).toEqual({
      temperature: 0.5,
      maxTokens: 42,
      systemPrompt: 'Answer like a butler.',
    });

    let before = fake.requests.length;
    await cli('chat', '--model', 'house/house-model', 'Tea?');
    let body = fake.requests.slice(before).find((r) => r.path.endsWith('/chat/completions'))?.body as Record<
      string,
      unknown
    >;
    expect(body).toMatchObject({
      temperature: 0.5,
      max_tokens: 42,
      messages: [
        { role: 'system', content: 'Answer like a butler.' },
        { role: 'user', content: 'Tea?' },
      ],
    });

    // The request's own values win.
    before = fake.requests.length;
    await cli('chat', '--model', 'house/house-model', '--temperature', '1', '--system', 'Be terse.', 'Tea?');
    body = fake.requests.slice(before).find((r) => r.path.endsWith('/chat/completions'))?.body as Record<
      string,
      unknown
    >;
    expect(body.temperature).toBe(1);
    expect(body.messages).toEqual([
      { role: 'system', content: 'Be terse.' },
      { role: 'user', content: 'Tea?' },
    ]);

    const reset = await cli('models', 'settings', 'house/house-model', '--reset');
    expect(reset.stdout).toContain('house/house-model has no settings of its own');
    expect((await cli('models', 'settings')).stdout).toBe('no model has settings of its own\n');
  }, 300_000);

  it('refuses bad values with what to give, and keeps what was set', async () => {
    await cli('models', 'settings', 'house/house-model', '--max-tokens', '100');
    const tooHot = await cli('models', 'settings', 'house/house-model', '--temperature', '5');
    expect(tooHot.code).toBe(1);
    expect(tooHot.stderr).toContain('temperature: give 0 to 2');
    const notNumber = await cli('models', 'settings', 'house/house-model', '--context', 'lots');
    expect(notNumber.code).not.toBe(0);
    expect(notNumber.stderr).toContain('give a whole number');
    const unknown = await cli('models', 'settings', 'nowhere/x', '--temperature', '1');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('provider "nowhere" is not configured');
    const bare = await cli('models', 'default', 'chat', 'house-model');
    expect(bare.stderr).toContain('provider/model');
    for (const result of [tooHot, notNumber, unknown, bare]) expect(result.stderr).not.toMatch(STACK_TRACE);
    expect(JSON.parse((await cli('models', 'settings', 'house/house-model', '--json')).stdout)).toEqual({
      maxTokens: 100,
    });
  }, 300_000);
});
