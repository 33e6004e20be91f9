import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack, TOKEN } from './server-harness.ts';

/**
 * Every ```sh block marked `<!-- exercised -->` in README.md runs against a live server, as a reader
 * would paste it: the examples'
 * http://127.0.0.1:7878 becomes the test server's address, $SWITCHBOARD_TOKEN its token.
 */

const ROOT = resolve(import.meta.dirname, '..', '..');
const JFK_WAV = resolve(ROOT, '..', 'shared', 'audio', 'jfk.wav');
const DOCUMENTS = ['README.md'];
const EXAMPLE = /<!--\s*exercised\s*-->\s*\n```(?:sh|bash)\n([\s\S]*?)```/g;
const run = promisify(execFile);

const examples = DOCUMENTS.flatMap((document) => {
  const text = readFileSync(join(ROOT, document), 'utf8');
  return [...text.matchAll(EXAMPLE)].map((match, i) => ({ name: `${document} example ${i + 1}`, script: match[1]! }));
});

let stack: Stack;
let cwd: string;
beforeAll(async () => {
  // This stack has no local Whisper, so the transcription example is answered by the (fake) cloud provider,
  // which the README's user allows with meetings_cloud (without it, the example gets the 403 that says so).
  stack = await startStack({ config: { meetings_cloud: true } });
  cwd = mkdtempSync(join(tmpdir(), 'switchboard-readme-'));
  expect(existsSync(JFK_WAV), `shared test audio missing: ${JFK_WAV} (the ../shared checkout)`).toBe(true);
  // The transcription example uploads meeting.wav from the current folder.
  copyFileSync(JFK_WAV, join(cwd, 'meeting.wav'));
});
afterAll(async () => {
  await stack?.close();
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

describe('the documented curl examples', () => {
  it('exist', () => {
    expect(examples.length, `no <!-- exercised --> sh blocks in ${DOCUMENTS.join(' or ')}`).toBeGreaterThan(0);
  });

  it.each(examples)('$name runs and gets an answer, not an error', async ({ script }) => {
    const live = script.replaceAll('http://127.0.0.1:7878', stack.server.url);
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', live], {
      cwd,
      env: { ...process.env, SWITCHBOARD_TOKEN: TOKEN },
      timeout: 20_000,
    });
    expect(stdout.trim().length).toBeGreaterThan(0);
    expect(stdout).not.toMatch(/"error"\s*:/);
  });
});
