import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transcriptSegmentSchema } from '../../../../electron/engine/contract/transcription.ts';
import type { LocalTranscriber as EngineLocalTranscriber } from '../../../../electron/engine/providers/local/runtime.ts';
import { decodeAudio, ffmpegPath } from '../../../../native/audio/index.ts';
import {
  createWhisperTranscriber,
  type LocalTranscriber,
  type TranscriptionEvent,
  type TranscriptionRequest,
  type TranscriptSegment,
} from '../../../../native/whisper/index.ts';
import { generateWhisperModel } from '../../../../scripts/whisper-onnx/generate.ts';

const repoRoot = path.resolve(import.meta.dirname, '..', '..', '..', '..');
const shared = path.resolve(repoRoot, '..', 'shared');
const standup = path.join(shared, 'audio', 'standup.wav');
const jfkMp3 = path.join(shared, 'audio', 'jfk.mp3');
const jfkWav = path.join(shared, 'audio', 'jfk.wav');
/** The committed random-weights Whisper (whisper-tiny.en's architecture, vocabulary and tokenizer, shrunk). */
const modelsDir = path.join(repoRoot, 'test', 'fixtures');
const MODEL = 'whisper-tiny-random';

let transcriber: LocalTranscriber;
let scratch: string;

beforeAll(async () => {
  for (const file of [standup, jfkMp3, jfkWav]) {
    if (!existsSync(file)) throw new Error(`test audio missing: ${file} comes with ../shared`);
  }
  // Typechecked against the engine's own interface: native/ declares its types without importing electron/.
  const engineView: EngineLocalTranscriber = createWhisperTranscriber({ modelsDir, threads: 1 });
  transcriber = engineView;
  scratch = await mkdtemp(path.join(tmpdir(), 'switchboard-whisper-'));
});
afterAll(async () => {
  await transcriber?.close();
  await rm(scratch, { recursive: true, force: true });
});

async function collect(
  t: LocalTranscriber,
  request: TranscriptionRequest,
  signal = new AbortController().signal,
): Promise<TranscriptionEvent[]> {
  const events: TranscriptionEvent[] = [];
  for await (const event of t.transcribe(request, signal)) events.push(event);
  return events;
}

const segmentsOf = (events: TranscriptionEvent[]) => events.flatMap((e) => (e.type === 'segment' ? [e.segment] : []));
const progressOf = (events: TranscriptionEvent[]) => events.flatMap((e) => (e.type === 'progress' ? [e.fraction] : []));

async function failureOf(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  return promise.then(
    () => {
      throw new Error('expected the transcription to fail');
    },
    (error: { code?: string; message: string }) => error,
  );
}

/**
 * Times (s) of clearly audible 30 ms frames, measured here independently of the transcriber's own
 * voice-activity detection.
 */
async function loudFrames(file: string, from = 0): Promise<number[]> {
  const { samples } = await decodeAudio(file);
  const frame = 480;
  const levels: number[] = [];
  for (let f = 0; f + frame <= samples.length; f += frame) {
    let energy = 0;
    for (let i = f; i < f + frame; i++) energy += samples[i]! * samples[i]!;
    levels.push(10 * Math.log10(energy / frame + 1e-10));
  }
  const peak = Math.max(...levels);
  return levels.flatMap((level, i) => {
    const time = (i + 0.5) * 0.03;
    return level > peak - 25 && time >= from ? [time] : [];
  });
}

function expectWellFormed(segments: TranscriptSegment[], duration: number, from = 0): void {
  expect(segments.length).toBeGreaterThan(0);
  segments.forEach((segment, i) => {
    expect(transcriptSegmentSchema.parse(segment)).toEqual(segment);
    expect(segment.index).toBe(i);
    expect(segment.start).toBeGreaterThanOrEqual(from);
    expect(segment.end).toBeGreaterThan(segment.start);
    expect(segment.end).toBeLessThanOrEqual(duration);
    expect(segment.text.trim().length).toBeGreaterThan(0);
    expect(segment.speaker).toBeNull();
    expect(segment.confidence).toBeGreaterThanOrEqual(0);
    expect(segment.confidence).toBeLessThanOrEqual(1);
    if (i > 0) expect(segment.start).toBeGreaterThanOrEqual(segments[i - 1]!.end);
  });
}

function expectSpeechCovered(segments: TranscriptSegment[], loud: number[]): void {
  const uncovered = loud.filter((t) => !segments.some((s) => s.start <= t && t <= s.end));
  expect(uncovered, 'audible frames outside every segment').toEqual([]);
}

function expectProgressToOne(events: TranscriptionEvent[]): void {
  const fractions = progressOf(events);
  expect(fractions.length).toBeGreaterThan(1);
  fractions.forEach((f, i) => {
    expect(f).toBeGreaterThanOrEqual(i > 0 ? fractions[i - 1]! : 0);
    expect(f).toBeLessThanOrEqual(1);
  });
  expect(fractions.at(-1)).toBe(1);
  expect(events.at(-1)?.type).toBe('done');
}

describe('createWhisperTranscriber with the committed random-weights model', () => {
  it('lists the installed model by folder name', async () => {
    expect(await transcriber.listModels()).toContainEqual({ id: MODEL });
  });

  it('transcribes the two-voice stand-up: ordered segments over every spoken turn, streamed with progress', async () => {
    const events = await collect(transcriber, { filePath: standup, model: MODEL });
    const done = events.at(-1);
    expect(done).toMatchObject({ type: 'done', language: 'en', model: MODEL });
    const duration = (done as { durationSeconds: number }).durationSeconds;
    expect(duration).toBeCloseTo(55.17, 1);

    const segments = segmentsOf(events);
    expectWellFormed(segments, duration);
    expectSpeechCovered(segments, await loudFrames(standup));
    // The 0.8 s pauses between the 7 turns of standup.txt stay pauses: 7 stretches of speech, 6 gaps.
    const pauses = segments.slice(1).filter((s, i) => s.start - segments[i]!.end >= 0.5);
    expect(pauses).toHaveLength(6);
    expectProgressToOne(events);
    // Segments arrive while the file is still being worked on, not all at the end.
    const firstSegment = events.findIndex((e) => e.type === 'segment');
    expect(progressOf(events.slice(0, firstSegment + 1)).at(-1)).toBeLessThan(1);
  });

  it('transcribes the MP3 within its duration, covering the speech', async () => {
    const events = await collect(transcriber, { filePath: jfkMp3, model: MODEL });
    const segments = segmentsOf(events);
    expectWellFormed(segments, 11.1);
    expectSpeechCovered(segments, await loudFrames(jfkMp3));
    expectProgressToOne(events);
  });

  it('resumes from startAt: nothing before it, progress starting there', async () => {
    const events = await collect(transcriber, { filePath: standup, model: MODEL, startAt: 30 });
    const segments = segmentsOf(events);
    expectWellFormed(segments, 55.2, 30);
    expectSpeechCovered(segments, await loudFrames(standup, 30.2));
    expect(progressOf(events)[0]).toBeCloseTo(30 / 55.17, 2);
    expectProgressToOne(events);
  });

  it('writes nothing for a recording without speech', async () => {
    const silence = path.join(scratch, 'silence.wav');
    execFileSync(ffmpegPath(), [
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'anoisesrc=r=16000:a=0.001',
      '-t',
      '5',
      silence,
    ]);
    const events = await collect(transcriber, { filePath: silence, model: MODEL });
    expect(segmentsOf(events)).toEqual([]);
    expectProgressToOne(events);
    expect(events.at(-1)).toMatchObject({ type: 'done', durationSeconds: 5 });
  });

  it('fails a corrupt file alone and transcribes the next one', async () => {
    const corrupt = path.join(scratch, 'corrupt.m4a');
    await writeFile(corrupt, Buffer.alloc(4096, 7));
    const failure = await failureOf(collect(transcriber, { filePath: corrupt, model: MODEL }));
    expect(failure.code).toBe('AUDIO_INVALID');
    expect(failure.message).toMatch(/not a readable audio file/);

    const events = await collect(transcriber, { filePath: jfkWav, model: MODEL });
    expect(segmentsOf(events).length).toBeGreaterThan(0);
    expect(events.at(-1)?.type).toBe('done');
  });

  it('stops promptly when cancelled and keeps working afterwards', async () => {
    const controller = new AbortController();
    const events: TranscriptionEvent[] = [];
    let cancelledAt = 0;
    const failure = await failureOf(
      (async () => {
        for await (const event of transcriber.transcribe({ filePath: standup, model: MODEL }, controller.signal)) {
          events.push(event);
          if (event.type === 'segment' && !cancelledAt) {
            cancelledAt = performance.now();
            controller.abort();
          }
        }
      })(),
    );
    expect(failure.code).toBe('CANCELLED');
    expect(performance.now() - cancelledAt).toBeLessThan(500);
    expect(events.some((e) => e.type === 'done')).toBe(false);
    // The worker stopped, rather than finishing the file in the background: this process now sits idle.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const before = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 400));
    const { user, system } = process.cpuUsage(before);
    expect((user + system) / 1000).toBeLessThan(100);

    const next = await collect(transcriber, { filePath: jfkWav, model: MODEL });
    expect(next.at(-1)?.type).toBe('done');
  });

  it('closes in the middle of a transcription without taking the process down', async () => {
    const t = createWhisperTranscriber({ modelsDir, threads: 1 });
    const failure = await failureOf(
      (async () => {
        for await (const event of t.transcribe({ filePath: standup, model: MODEL }, new AbortController().signal)) {
          if (event.type === 'segment') void t.close();
        }
      })(),
    );
    expect(failure.code).toBe('CANCELLED');
    await t.close();
    await expect(collect(t, { filePath: jfkWav, model: MODEL })).rejects.toThrow(/closed/);
  });

  it('does not start a job whose signal is already aborted', async () => {
    const failure = await failureOf(collect(transcriber, { filePath: jfkWav, model: MODEL }, AbortSignal.abort()));
    expect(failure.code).toBe('CANCELLED');
  });

  it('names a missing model and what to do', async () => {
    const failure = await failureOf(collect(transcriber, { filePath: jfkWav, model: 'whisper-large-v9' }));
    expect(failure.code).toBe('MODEL_NOT_INSTALLED');
    expect(failure.message).toMatch(/whisper-large-v9.*not installed.*download/);
  });

  it('says when a model folder holds damaged weights', async () => {
    const damaged = path.join(scratch, 'models', 'whisper-damaged');
    await generateWhisperModel({ size: 'micro', out: damaged, dtypes: ['q8'] });
    await writeFile(path.join(damaged, 'onnx', 'decoder_model_merged_quantized.onnx'), 'not an onnx model');
    const t = createWhisperTranscriber({ modelsDir: path.dirname(damaged), threads: 1 });
    try {
      const failure = await failureOf(collect(t, { filePath: jfkWav, model: 'whisper-damaged' }));
      expect(failure.code).toBe('MODEL_NOT_INSTALLED');
      expect(failure.message).toMatch(/could not be loaded.*damaged.*download it again/);
    } finally {
      await t.close();
    }
  });

  it('refuses another language on an English-only model', async () => {
    const failure = await failureOf(collect(transcriber, { filePath: jfkWav, model: MODEL, language: 'de' }));
    expect(failure.code).toBe('INVALID_REQUEST');
    expect(failure.message).toMatch(/English only.*multilingual/);
  });

  it('passes the language to a multilingual model and refuses one it does not know', async () => {
    // The same weights and tokenizer (which has Whisper's language tokens), declared multilingual.
    const dir = path.join(scratch, 'multilingual', 'whisper-multi');
    await generateWhisperModel({ size: 'micro', out: dir, dtypes: ['q8'] });
    const configFile = path.join(dir, 'generation_config.json');
    const config = JSON.parse(await readFile(configFile, 'utf8'));
    await writeFile(configFile, JSON.stringify({ ...config, is_multilingual: true }));
    const t = createWhisperTranscriber({ modelsDir: path.dirname(dir), threads: 1 });
    try {
      const events = await collect(t, { filePath: jfkWav, language: 'de' });
      expect(segmentsOf(events).length).toBeGreaterThan(0);
      expect(events.at(-1)).toMatchObject({ type: 'done', language: 'de', model: 'whisper-multi' });
      const failure = await failureOf(collect(t, { filePath: jfkWav, language: 'klingon' }));
      expect(failure.code).toBe('INVALID_REQUEST');
      expect(failure.message).toMatch(/unknown language "klingon".*language code/);
    } finally {
      await t.close();
    }
  });

  it('accepts a model by absolute folder and a prompt', async () => {
    const events = await collect(transcriber, {
      filePath: jfkWav,
      model: path.join(modelsDir, MODEL),
      prompt: 'Kennedy, inauguration',
      language: 'en',
    });
    expect(segmentsOf(events).length).toBeGreaterThan(0);
    expect(events.at(-1)).toMatchObject({ type: 'done', model: MODEL, language: 'en' });
  });
});

describe('quantization', () => {
  it.each([
    ['4bit', 'q4'],
    ['8bit', 'q8'],
    ['16bit', 'fp16'],
  ] as const)('%s loads the %s weights', async (quantization, dtype) => {
    // A folder holding only this dtype, so nothing else could have been loaded.
    const modelsDir = path.join(scratch, dtype);
    await generateWhisperModel({ size: 'micro', out: path.join(modelsDir, 'only'), dtypes: [dtype] });
    const t = createWhisperTranscriber({ modelsDir, quantization, threads: 1 });
    try {
      const events = await collect(t, { filePath: jfkWav });
      expect(segmentsOf(events).length).toBeGreaterThan(0);
      expect(events.at(-1)).toMatchObject({ type: 'done', model: 'only' });
    } finally {
      await t.close();
    }
  });

  it('falls back to the weights the folder has', async () => {
    // The fixture has fp32 and q8 only.
    const t = createWhisperTranscriber({ modelsDir, quantization: '4bit', threads: 1 });
    try {
      const events = await collect(t, { filePath: jfkWav, model: MODEL });
      expect(events.at(-1)?.type).toBe('done');
    } finally {
      await t.close();
    }
  });
});
