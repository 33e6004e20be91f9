import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMeetingsHandlers } from '../../electron/engine/app-api/meetings.ts';
import type { MeetingEvent, MeetingSummary } from '../../electron/engine/contract/api.ts';
import type { TranscriptSegment } from '../../electron/engine/contract/transcription.ts';
import { LiveRecordings } from '../../electron/engine/meetings/live.ts';
import { type TranscribeFn, TranscriptionQueue } from '../../electron/engine/meetings/queue.ts';
import { openStore, type Store } from '../../electron/engine/store/store.ts';
import { decodeAudio, wavHeader } from '../../native/audio/index.ts';
import { createSpeakerDiarizer } from '../../native/diarization/index.ts';
import { createWhisperTranscriber } from '../../native/whisper/index.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const STANDUP = resolve(repoRoot, '..', 'shared', 'audio', 'standup.wav');
const JFK = resolve(repoRoot, '..', 'shared', 'audio', 'jfk.wav');
const whisper = createWhisperTranscriber({ modelsDir: join(repoRoot, 'test', 'fixtures'), threads: 1 });
const transcribe: TranscribeFn = (request, signal) =>
  whisper.transcribe({ ...request, model: 'whisper-tiny-random' }, signal);

let dir: string;
let store: Store;
let queue: TranscriptionQueue;
let live: LiveRecordings;
let api: ReturnType<typeof createMeetingsHandlers>;
let standup: Int16Array;
let jfk: Int16Array;

async function pcm16(file: string): Promise<Int16Array> {
  const { samples } = await decodeAudio(file);
  return Int16Array.from(samples, (s) => Math.max(-32768, Math.min(32767, Math.round(s * 32768))));
}

function base64(samples: Int16Array): string {
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength).toString('base64');
}

/** Sends `samples` (interleaved) in quarter-second chunks from chunk number `seq` on; returns the next number. */
async function send(id: string, samples: Int16Array, channels: number, seq = 0): Promise<number> {
  const chunk = 4000 * channels;
  for (let offset = 0; offset < samples.length; offset += chunk) {
    await api['meetings.recordAudio']({ id, seq: seq++, pcm: base64(samples.subarray(offset, offset + chunk)) });
  }
  return seq;
}

/** Collects a meeting's events until its job ends. */
function watch(id: string): { events: MeetingEvent[]; ended: Promise<MeetingSummary> } {
  const events: MeetingEvent[] = [];
  const ended = (async () => {
    for await (const event of queue.watch(id)) {
      events.push(event);
      if (event.type === 'status' && !['queued', 'running'].includes(event.meeting.status)) return event.meeting;
    }
    throw new Error('the watch ended without a final status');
  })();
  return { events, ended };
}

async function until(check: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function newStack(): void {
  store = openStore({ file: join(dir, 'switchboard.db') });
  queue = new TranscriptionQueue({ meetings: store.meetings, transcribe, audioDir: join(dir, 'audio') });
  live = new LiveRecordings({ meetings: store.meetings, transcribe, queue, audioDir: join(dir, 'audio') });
  api = createMeetingsHandlers({
    store,
    queue,
    live,
    chat: () => {
      throw new Error('no summaries here');
    },
    chatTarget: () => {
      throw new Error('no summaries here');
    },
    diarizer: createSpeakerDiarizer({ modelsDir: join(dir, 'models', 'diarization') }),
    resolveUpload: () => {
      throw new Error('no uploads here');
    },
  });
}

beforeAll(async () => {
  for (const file of [STANDUP, JFK]) {
    if (!existsSync(file)) throw new Error(`shared test audio missing: ${file} (the checkout needs ../shared)`);
  }
  standup = await pcm16(STANDUP);
  jfk = await pcm16(JFK);
  dir = mkdtempSync(join(tmpdir(), 'switchboard-live-'));
  newStack();
  await queue.start();
});

afterAll(async () => {
  await live.close();
  await queue.close();
  await whisper.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a live recording through the app API', () => {
  it('streams segments while recording, keeps every chunk on disk, and refines after Stop', async () => {
    const meeting = await api['meetings.record']({ title: 'Stand-up, live' });
    expect(meeting).toMatchObject({ status: 'running', recording: true, channels: null });
    const { events, ended } = watch(meeting.id);
    // The first two turns (15 s) only: their segments arrive while the recording is still open.
    const firstTurns = standup.subarray(0, 15 * 16000);
    const seq = await send(meeting.id, firstTurns, 1);
    const live = () => events.flatMap((e) => (e.type === 'segment' ? [e.segment] : []));
    await until(() => live().some((s) => s.start > 6), 'segments of the second turn');
    expect(store.meetings.get(meeting.id).recording).toBe(true);
    for (const segment of live()) {
      expect(segment.end).toBeLessThanOrEqual(15);
      expect(segment.text.length).toBeGreaterThan(0);
      expect(segment.words?.length).toBeGreaterThan(0);
    }
    // Everything sent is on disk already: the file reads back as those 15 s, header unfinished.
    const file = join(dir, 'audio', store.meetings.get(meeting.id).audioFile!);
    expect((await decodeAudio(file)).durationSeconds).toBe(15);
    // A chunk sent twice (a retry) is written once; one that skips ahead is refused.
    await expect(
      api['meetings.recordAudio']({ id: meeting.id, seq: seq - 1, pcm: base64(new Int16Array(4000)) }),
    ).resolves.toEqual({ seconds: 15 });
    await expect(
      api['meetings.recordAudio']({ id: meeting.id, seq: seq + 1, pcm: base64(new Int16Array(4000)) }),
    ).rejects.toThrow(/arrived before chunk/);

    await send(meeting.id, standup.subarray(15 * 16000), 1, seq);
    const stopped = await api['meetings.stopRecording']({ id: meeting.id });
    expect(stopped.recording).toBe(false);
    expect(stopped.durationSeconds).toBeCloseTo(standup.length / 16000, 2);
    const done = await ended;
    expect(done.status).toBe('done');
    // The final pass ran over the whole file (progress to 1), and the transcript covers all seven turns.
    const fractions = events.flatMap((e) => (e.type === 'progress' ? [e.fraction] : []));
    expect(fractions.at(-1)).toBe(1);
    const segments = store.meetings.segments(meeting.id);
    expect(segments.at(-1)!.end).toBeGreaterThan(50);
    segments.forEach((s, i) => {
      expect(s.index).toBe(i);
      if (i > 0) expect(s.start).toBeGreaterThanOrEqual(segments[i - 1]!.end - 0.001);
    });
    expect(statSync(file).size).toBe(44 + standup.length * 2);
    expect((await decodeAudio(file)).durationSeconds).toBeCloseTo(55.17, 1);
  }, 180_000);

  it('records a call as two channels: segments say whether "me" or "them" spoke', async () => {
    const meeting = await api['meetings.record']({ channels: 2 });
    expect(meeting.channels).toEqual(['me', 'them']);
    const { ended } = watch(meeting.id);
    // Me: the first 12 s of the stand-up; them: JFK, starting 1 s later.
    const frames = 13 * 16000;
    const both = new Int16Array(frames * 2);
    for (let i = 0; i < frames; i++) {
      both[i * 2] = i < 12 * 16000 ? standup[i]! : 0;
      both[i * 2 + 1] = i >= 16000 ? (jfk[i - 16000] ?? 0) : 0;
    }
    await send(meeting.id, both, 2);
    await api['meetings.stopRecording']({ id: meeting.id, refine: false });
    expect((await ended).status).toBe('done');
    const segments = store.meetings.segments(meeting.id);
    const side = (channel: TranscriptSegment['channel']) => segments.filter((s) => s.channel === channel);
    expect(side('me').length).toBeGreaterThan(0);
    expect(side('them').length).toBeGreaterThan(0);
    expect(side(undefined)).toEqual([]);
    // JFK starts speaking about 1.3 s into his channel.
    expect(side('them')[0]!.start).toBeGreaterThan(1);
  }, 120_000);

  it('a recording cut off by shutting down is finished and transcribed at the next start', async () => {
    const meeting = await api['meetings.record']({ title: 'Cut off' });
    await send(meeting.id, standup.subarray(0, 10 * 16000), 1);
    await live.close();
    await queue.close();
    store.close();
    newStack();
    const { ended } = watch(meeting.id);
    queue.start();
    const done = await ended;
    expect(done).toMatchObject({ status: 'done', recording: false });
    expect(done.durationSeconds).toBe(10);
    expect(store.meetings.segments(meeting.id).at(-1)!.end).toBeGreaterThan(5);
  }, 120_000);

  it('a recording whose recorder was killed is finished and transcribed by the next start; a live one is left alone', async () => {
    // What a kill -9 leaves: the meeting still "recording", its WAV header unfinished, its recorder gone.
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid!;
    const recorded = (id: string, runnerPid: number) => {
      const audioFile = `${id}.wav`;
      const samples = standup.subarray(0, 8 * 16000);
      writeFileSync(
        join(dir, 'audio', audioFile),
        Buffer.concat([wavHeader(1, 16000), Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength)]),
      );
      store.meetings.create({ id, title: id, audioFile, status: 'running', recording: true });
      store.meetings.update(id, { runnerPid });
    };
    mkdirSync(join(dir, 'audio'), { recursive: true });
    recorded('killed', dead);
    // Recorded right now by another process (`switchboard record`, say): this test's parent.
    recorded('still-recording', process.ppid);
    await queue.close();
    queue = new TranscriptionQueue({ meetings: store.meetings, transcribe, audioDir: join(dir, 'audio') });
    const { ended } = watch('killed');
    queue.start();
    expect(await ended).toMatchObject({ status: 'done', recording: false, durationSeconds: 8 });
    expect(store.meetings.segments('killed').length).toBeGreaterThan(0);
    expect(store.meetings.get('still-recording')).toMatchObject({ status: 'running', recording: true });
  }, 120_000);
});
