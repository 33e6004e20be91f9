import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeServer } from '../fakes/http-fake.ts';
import { FAKE_OPENAI_KEY, startFakeOpenAI } from '../fakes/openai.ts';
import { addHouseArgs, runCli } from '../support/cli.ts';

/** `providers add` and `providers remove` as a person runs them: one process per command. */

let dataDir: string;
let fake: FakeServer;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sb-provider-edit-'));
  fake = await startFakeOpenAI({ text: 'The house answered.', models: ['house-model'] });
});
afterAll(async () => {
  await fake.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const cli = (args: string[], input = '') => runCli(['--data-dir', dataDir, ...args], {}, { input });

describe('switchboard providers add|remove', () => {
  it('adds an OpenAI-compatible endpoint with its key from standard input, answers through it, removes it', async () => {
    const added = await cli([...addHouseArgs(fake.url, ['house-model']), '--key'], `${FAKE_OPENAI_KEY}\n`);
    expect(added.stderr).toBe('');
    expect(added.stdout).toBe(`Added House (house), key …${FAKE_OPENAI_KEY.slice(-4)}\n`);
    // The key is kept encrypted: no file of the data dir holds it in clear.
    for (const name of readdirSync(dataDir, { recursive: true, encoding: 'utf8' })) {
      const file = join(dataDir, name);
      const text = (() => {
        try {
          return readFileSync(file, 'utf8');
        } catch {
          return '';
        }
      })();
      expect(text.includes(FAKE_OPENAI_KEY), name).toBe(false);
    }

    const chat = await cli(['chat', '--model', 'house/house-model', 'Who answers?']);
    expect(chat.stdout).toContain('The house answered.');

    const refused = await cli(['providers', 'remove', 'local']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('cannot be removed: turn them off instead');

    const removed = await cli(['providers', 'remove', 'house']);
    expect(removed.stdout).toBe('Removed House\n');
    expect((await cli(['providers', 'list'])).stdout).not.toContain('house');
  }, 300_000);
});
