import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type RunningApp, startApp } from '../e2e/harness.ts';

/**
 * Language choice and detection, and word timestamps, through the HTTP API and the CLI as processes, on
 * the random-weight Whisper: an English-only copy and one declared multilingual (same weights and
 * tokenizer, which has Whisper's language tokens).
 */

const repoRoot = resolve(import.meta.dirname, '../..');
const CLI = join(repoRoot, 'bin', 'switchboard.mjs');
const JFK = resolve(repoRoot, '..', 'shared', 'audio', 'jfk.wav');
const FIXTURE = join(repoRoot, 'test', 'fixtures', 'whisper-tiny-random');
const run = promisify(execFile);

let dir: string;
let app: RunningApp;
let token: string;

function workspace(name: string, whisperModel: string) {
  const dataDir = join(dir, name);
  mkdirSync(dataDir, { recursive: true });
  const configFile = join(dataDir, 'providers.yaml');
  writeFileSync(configFile, stringify({ cloud_fallback: false, local: { whisper_model: whisperModel } }));
  return { dir, dataDir, modelsDir: join(dir, 'models'), configFile, cleanup: () => undefined };
}

const cli = (ws: ReturnType<typeof workspace>, ...args: string[]) =>
  run(
    process.execPath,
    [CLI, '--data-dir', ws.dataDir, '--models-dir', ws.modelsDir, '--config', ws.configFile, ...args],
    { cwd: repoRoot, timeout: 120_000 },
  );

async function transcribe(fields: Record<string, string | string[]>) {
  const form = new FormData();
  form.append('file', new Blob([readFileSync(JFK)], { type: 'audio/wav' }), 'jfk.wav');
  for (const [name, value] of Object.entries(fields)) {
    for (const v of [value].flat()) form.append(name, v);
  }
  const response = await fetch(`${app.origin}/v1/audio/transcriptions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

interface Verbose {
  language: string;
  text: string;
  segments?: { start: number; end: number; text: string }[];
  words?: { word: string; start: number; end: number }[];
}

beforeAll(async () => {
  if (!existsSync(JFK)) throw new Error(`shared test audio missing: ${JFK}`);
  dir = mkdtempSync(join(tmpdir(), 'switchboard-languages-'));
  const whisper = join(dir, 'models', 'whisper');
  cpSync(FIXTURE, join(whisper, 'whisper-tiny-random'), { recursive: true });
  cpSync(FIXTURE, join(whisper, 'whisper-multi-random'), { recursive: true });
  const config = join(whisper, 'whisper-multi-random', 'generation_config.json');
  writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), is_multilingual: true }));
  const ws = workspace('serve', 'whisper-multi-random');
  app = await startApp(ws);
  token = (await cli(ws, 'token')).stdout.trim();
}, 120_000);
afterAll(async () => {
  await app?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('language and word timestamps over HTTP', () => {
  it('transcribes in the language asked for, with words inside their segments, and says where Whisper ran', async () => {
    const { status, headers, body } = await transcribe({
      language: 'de',
      response_format: 'verbose_json',
      'timestamp_granularities[]': ['word', 'segment'],
    });
    expect(status).toBe(200);
    expect(headers.get('x-switchboard-device')).toBe('cpu');
    const verbose = body as unknown as Verbose;
    expect(verbose.language).toBe('de');
    expect(verbose.segments!.length).toBeGreaterThan(0);
    const words = verbose.words!;
    expect(words.length).toBeGreaterThanOrEqual(verbose.segments!.length);
    // Every word lies inside a segment, in order; together they spell the text.
    for (const [i, word] of words.entries()) {
      expect(word.end).toBeGreaterThan(word.start);
      if (i > 0) expect(word.start).toBeGreaterThanOrEqual(words[i - 1]!.end - 0.001);
      expect(verbose.segments!.some((s) => s.start - 0.001 <= word.start && word.end <= s.end + 0.001)).toBe(true);
    }
    expect(
      words
        .map((w) => w.word)
        .join(' ')
        .replace(/\s+/g, ' '),
    ).toBe(verbose.text.replace(/\s+/g, ' '));
  }, 60_000);

  it('detects the language when none is given (auto), instead of assuming English', async () => {
    const detected = (await transcribe({ response_format: 'verbose_json' })).body as unknown as Verbose;
    expect(detected.language).toMatch(/^[a-z]{2,3}$/);
    // The committed random weights hear some other language in jfk.wav (always the same one): a
    // transcriber that assumed English would answer "en" here.
    expect(detected.language).not.toBe('en');
    const auto = (await transcribe({ response_format: 'verbose_json', language: 'auto' })).body as unknown as Verbose;
    expect(auto.language).toBe(detected.language);
    // The detected language is the one it then transcribes in: asking for it gives the same text.
    const asked = (await transcribe({ response_format: 'verbose_json', language: detected.language }))
      .body as unknown as Verbose;
    expect(asked.text).toBe(detected.text);
    // Words only: no segments, as OpenAI answers timestamp_granularities[]=word.
    const wordsOnly = (await transcribe({ response_format: 'verbose_json', 'timestamp_granularities[]': 'word' })).body;
    expect(wordsOnly.segments).toBeUndefined();
    expect((wordsOnly.words as unknown[]).length).toBeGreaterThan(0);
  }, 90_000);

  it('refuses a language the model does not know, with what to send instead', async () => {
    const { status, body } = await transcribe({ language: 'klingon' });
    expect(status).toBe(400);
    expect((body.error as { message: string }).message).toMatch(/unknown language "klingon".*"auto" to detect it/);
  }, 30_000);
});

describe('language from the CLI', () => {
  it('stores the chosen language with the meeting, and an English-only model refuses another one', async () => {
    const multi = workspace('cli-multi', 'whisper-multi-random');
    const { stdout } = await cli(multi, 'transcribe', JFK, '--language', 'fr', '--format', 'json');
    const bundle = JSON.parse(stdout) as { meeting: { language: string }; segments: { words?: unknown[] }[] };
    expect(bundle.meeting.language).toBe('fr');
    expect(bundle.segments[0]!.words!.length).toBeGreaterThan(0);

    const english = workspace('cli-en', 'whisper-tiny-random');
    const failed = await cli(english, 'transcribe', JFK, '--language', 'de').catch(
      (error: { stderr: string }) => error,
    );
    expect((failed as { stderr: string }).stderr).toMatch(
      /English only; choose a multilingual model to transcribe "de"/,
    );
  }, 120_000);
});
