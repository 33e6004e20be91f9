import { mkdtempSync, rmSync } from 'node:fs';
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
