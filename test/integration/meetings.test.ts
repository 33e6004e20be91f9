import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type NodeCue, parseSync } from 'subtitle';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMeetingsHandlers } from '../../electron/engine/app-api/meetings.ts';
import type { MeetingEvent } from '../../electron/engine/contract/api.ts';
import { importBundle } from '../../electron/engine/meetings/export.ts';
import { LiveRecordings } from '../../electron/engine/meetings/live.ts';
import { type TranscribeFn, TranscriptionQueue } from '../../electron/engine/meetings/queue.ts';
import { openStore, type Store } from '../../electron/engine/store/store.ts';
import { createSpeakerDiarizer } from '../../native/diarization/index.ts';
import { createWhisperTranscriber } from '../../native/whisper/index.ts';
import { type EngineOnFake, startEngineOnFakeOpenAI } from '../unit/meetings/engine-on-fake.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const STANDUP = resolve(repoRoot, '..', 'shared', 'audio', 'standup.wav');
const SUMMARY = {
  summary: 'Weekly planning: release schedule and cloud budget.',
  action_items: [{ text: 'Fix the installer by Wednesday', owner: 'Bo' }],
  decisions: ['Route summaries to the local model by default'],
};

let dir: string;
let store: Store;
let queue: TranscriptionQueue;
let fake: EngineOnFake;
const whisper = createWhisperTranscriber({ modelsDir: join(repoRoot, 'test', 'fixtures'), threads: 1 });
const transcribe: TranscribeFn = (request, signal) =>
  whisper.transcribe({ ...request, model: 'whisper-tiny-random' }, signal);

beforeAll(async () => {
  if (!existsSync(STANDUP))
    throw new Error(`shared test data missing: ${STANDUP} (the checkout needs ../shared beside the repo)`);
  dir = mkdtempSync(join(tmpdir(), 'switchboard-meetings-'));
  store = openStore({ file: join(dir, 'switchboard.db') });
  queue = new TranscriptionQueue({
    meetings: store.meetings,
    transcribe,
    audioDir: join(dir, 'audio'),
  });
  queue.start();
  fake = await startEngineOnFakeOpenAI({ text: JSON.stringify(SUMMARY) });
});

afterAll(async () => {
  await queue.close();
  await whisper.close();
  store.close();
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('meetings through the app API', () => {
  it('transcribes an upload with Whisper, summarises, exports, imports and deletes it', async () => {
    const uploads = join(dir, 'uploads');
    mkdirSync(uploads);
    copyFileSync(STANDUP, join(uploads, 'upload-1.wav'));
    const api = createMeetingsHandlers({
      store,
      queue,
      live: new LiveRecordings({ meetings: store.meetings, transcribe, queue, audioDir: join(dir, 'audio') }),
      chat: (request, options) => fake.engine.chat(request, options),
      chatTarget: (request, options) => fake.engine.chatTarget(request, options),
      diarizer: createSpeakerDiarizer({ modelsDir: join(dir, 'models', 'diarization') }),
      resolveUpload: (uploadId) => join(uploads, uploadId),
      audioUrl: (meeting) => `/api/app/audio/${meeting.id}`,
    });
    const signal = new AbortController().signal;

    const queued = await api['meetings.transcribe']({ uploadId: 'upload-1.wav', title: 'Weekly planning' });
    const events: MeetingEvent[] = [];
    for await (const event of api['meetings.watch']({ id: queued.id }, { signal })) events.push(event);
    expect(events.at(-1)).toMatchObject({ type: 'status', meeting: { status: 'done', progress: 1 } });
    expect(events.some((event) => event.type === 'progress' && event.etaSeconds !== null)).toBe(true);

    const view = await api['meetings.get']({ id: queued.id });
    expect(view).toMatchObject({
      title: 'Weekly planning',
      status: 'done',
      language: 'en',
      audioUrl: `/api/app/audio/${queued.id}`,
    });
    expect(view.durationSeconds).toBeCloseTo(55.17, 1);
    expect(view.segments.length).toBeGreaterThan(4);
    expect(view.segments.at(-1)!.end).toBeGreaterThan(50);

    // Whatever Whisper wrote is searchable, with the time it was said (a whole token, as FTS splits text).
    const said = view.segments[3]!;
    const word = said.text.match(/[\p{L}\p{N}]{4,}/gu)!.at(-1)!;
    const hits = store.search.search(word, 100);
    expect(hits.filter((hit) => hit.id === queued.id).map((hit) => hit.timestamp)).toContain(said.start);

    const summary = await api['meetings.summarize']({ id: queued.id }, { signal });
    expect(summary).toMatchObject({
      model: 'fakeai/gpt-4o-mini',
      summary: SUMMARY.summary,
      actionItems: [{ text: 'Fix the installer by Wednesday', owner: 'Bo' }],
      decisions: SUMMARY.decisions,
    });
    expect((await api['meetings.get']({ id: queued.id })).summary).toEqual(summary);

    const srt = await api['meetings.export']({ id: queued.id, format: 'srt' });
    const cues = parseSync(srt.content).filter((node): node is NodeCue => node.type === 'cue');
    expect(cues).toHaveLength(view.segments.length);
    expect(cues[0]!.data.start).toBe(Math.round(view.segments[0]!.start * 1000));

    const json = await api['meetings.export']({ id: queued.id, format: 'json' });
    const elsewhere = openStore({ file: join(dir, 'elsewhere.db') });
    const imported = await importBundle(elsewhere.meetings, json.content, { audioDir: join(dir, 'elsewhere-audio') });
    expect(elsewhere.meetings.segments(imported.id)).toEqual(view.segments);
    expect(elsewhere.meetings.summary(imported.id)).toMatchObject(summary);
    elsewhere.close();

    await api['meetings.delete']({ id: queued.id });
    expect(await api['meetings.list']({})).toEqual([]);
    expect(readdirSync(join(dir, 'audio'))).toEqual([]);
  }, 120_000);
});
