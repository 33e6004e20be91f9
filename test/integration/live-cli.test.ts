import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type NodeCue, parseSync } from 'subtitle';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

/** `switchboard transcribe --live` and `switchboard record`, run as a person runs them. */

const repoRoot = resolve(import.meta.dirname, '../..');
const CLI = join(repoRoot, 'bin', 'switchboard.mjs');
const shared = resolve(repoRoot, '..', 'shared', 'audio');
const JFK = join(shared, 'jfk.wav');
const STANDUP = join(shared, 'standup.wav');
const run = promisify(execFile);

let dir: string;
const cli = (...args: string[]) =>
  run(
    process.execPath,
    [
      CLI,
      '--data-dir',
      join(dir, 'data'),
      '--models-dir',
      join(dir, 'models'),
      '--config',
      join(dir, 'providers.yaml'),
      ...args,
    ],
    { cwd: repoRoot, timeout: 240_000 },
  );

beforeAll(() => {
  for (const file of [JFK, STANDUP]) if (!existsSync(file)) throw new Error(`shared test audio missing: ${file}`);
  dir = mkdtempSync(join(tmpdir(), 'switchboard-live-cli-'));
  mkdirSync(join(dir, 'models', 'whisper'), { recursive: true });
  cpSync(
    join(repoRoot, 'test', 'fixtures', 'whisper-tiny-random'),
    join(dir, 'models', 'whisper', 'whisper-tiny-random'),
    {
      recursive: true,
    },
  );
  writeFileSync(join(dir, 'providers.yaml'), stringify({ local: { whisper_model: 'whisper-tiny-random' } }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('live transcription from the CLI', () => {
  it('transcribe --live prints segments while the file plays, then the refined transcript', async () => {
    const { stdout, stderr } = await cli('transcribe', '--live', STANDUP, '--format', 'json');
    const lines = stderr.split('\n');
    const recorded = lines.findIndex((line) => line.startsWith('Recorded 0:55'));
    const live = lines.slice(0, recorded).filter((line) => /^\[\d+:\d\d\] \S/.test(line));
    // Several utterances were transcribed and printed before the file finished playing.
    expect(live.length).toBeGreaterThanOrEqual(2);
    const bundle = JSON.parse(stdout) as { meeting: { title: string; status: string }; segments: { end: number }[] };
    expect(bundle.meeting).toMatchObject({ title: 'standup.wav', status: 'done' });
    expect(bundle.segments.at(-1)!.end).toBeGreaterThan(50);
    const id = /Saved as meeting (\S+)/.exec(stderr)?.[1];
    expect((await cli('meetings', 'list')).stdout).toContain(id);
  }, 300_000);

  it('record takes any ffmpeg input (here a file as the device) and keeps the live transcript with --no-refine', async () => {
    const { stdout, stderr } = await cli(
      'record',
      '--input-format',
      'wav',
      '--device',
      JFK,
      '--no-refine',
      '--format',
      'srt',
      '--title',
      'JFK',
    );
    const cues = parseSync(stdout).filter((node): node is NodeCue => node.type === 'cue');
    expect(cues.length).toBeGreaterThan(0);
    expect(cues.at(-1)!.data.end).toBeLessThanOrEqual(11_000);
    expect(stderr).toMatch(/Recorded 0:1[01]/);
    const id = /Saved as meeting (\S+)/.exec(stderr)![1]!;
    const audio = join(dir, 'data', 'audio', `${id}.wav`);
    // The recording itself is the meeting's audio: 16 kHz 16-bit mono, 11 s.
    expect(readFileSync(audio).length).toBe(44 + 11 * 16000 * 2);
  }, 180_000);

  it('says what to do when the device cannot be recorded from, and leaves no meeting behind', async () => {
    const failed = await cli('record', '--input-format', 'wav', '--device', join(dir, 'missing.wav')).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed).toMatchObject({ code: 1 });
    expect((failed as { stderr: string }).stderr).toMatch(
      /^switchboard: cannot record from wav ".*missing\.wav".*check the device name/m,
    );
    expect((await cli('meetings', 'list')).stdout).not.toMatch(/Recording \d/);
  }, 150_000);
});
