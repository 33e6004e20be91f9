import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireFile, STORIES_GGUF, WHISPER_FIXTURE } from '../e2e/harness.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
/** Inside the checkout (ignored), so the bundle's runtime packages resolve from node_modules as they do when packed. */
const builtDir = join(repoRoot, 'test-results', 'built-app');
const JFK_WAV = resolve(repoRoot, '..', 'shared', 'audio', 'jfk.wav');

/**
 * Runs in plain Node with type stripping off, so nothing but the bundle can run: a `.ts` file reached
 * at run time (the Whisper worker as it was started before it was bundled) fails the script.
 */
const SCRIPT = `
import { copyFileSync, cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createAppServices, resolvePaths } from './main/engine.js';

const [work, gguf, whisper, audio] = process.argv.slice(2);
mkdirSync(join(work, 'models', 'gguf'), { recursive: true });
copyFileSync(gguf, join(work, 'models', 'gguf', 'stories260K.gguf'));
cpSync(whisper, join(work, 'models', 'whisper', 'whisper-tiny-random'), { recursive: true });
const services = await createAppServices(resolvePaths({ dataDir: join(work, 'data'), modelsDir: join(work, 'models') }, {}));
try {
  let text = '';
  let answeredBy;
  for await (const event of services.engine.chat(
    { model: 'stories260K', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 24 },
    { providerId: 'local' },
  )) {
    if (event.type === 'route') answeredBy = event.route.providerId + '/' + event.route.model;
    if (event.type === 'text') text += event.text;
  }
  const segments = [];
  let done;
  for await (const event of services.engine.transcribe({ filePath: audio, model: 'whisper-tiny-random' }, { providerId: 'local' })) {
    if (event.type === 'segment') segments.push(event.segment);
    if (event.type === 'done') done = event;
  }
  console.log(JSON.stringify({ text, answeredBy, segments: segments.length, done }));
} finally {
  await services.close();
}
`;

let work: string;
beforeAll(() => {
  for (const [file, what] of [
    [STORIES_GGUF, 'shared test data: stories260K.gguf'],
    [JFK_WAV, 'shared test data: jfk.wav'],
    [WHISPER_FIXTURE, 'the committed random-weight Whisper model'],
  ] as const) {
    requireFile(file, what);
  }
  const build = spawnSync('npx', ['electron-vite', 'build', '--outDir', builtDir, '--logLevel', 'warn'], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 240_000,
  });
  if (build.status !== 0) throw new Error(`electron-vite build failed:\n${build.stdout}${build.stderr}`);
  writeFileSync(join(builtDir, 'run.mjs'), SCRIPT);
  work = mkdtempSync(join(tmpdir(), 'switchboard-built-'));
  mkdirSync(work, { recursive: true });
}, 300_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the built desktop engine (electron-vite output) in plain Node', () => {
  it('chats with stories260K and transcribes through the bundled Whisper worker, with no TypeScript to fall back on', () => {
    const run = spawnSync(
      process.execPath,
      ['--no-experimental-strip-types', join(builtDir, 'run.mjs'), work, STORIES_GGUF, WHISPER_FIXTURE, JFK_WAV],
      { cwd: builtDir, encoding: 'utf8', timeout: 240_000 },
    );
    expect(run.stderr).not.toMatch(/ERR_UNKNOWN_FILE_EXTENSION|worker\.ts|Cannot find module/);
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as {
      text: string;
      answeredBy: string;
      segments: number;
      done?: { durationSeconds: number; model: string };
    };
    expect(result.answeredBy).toBe('local/stories260K');
    expect(result.text.trim().length).toBeGreaterThan(0);
    // Random weights say nothing sensible, but the whole job ran in the bundled worker: 11 s of audio, done.
    expect(result.done?.durationSeconds).toBeCloseTo(11, 0);
    expect(result.done?.model).toBe('whisper-tiny-random');
  }, 300_000);
});
