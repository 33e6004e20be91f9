import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MeetingEvent } from '../../../electron/engine/contract/api.ts';
import type { TranscriptionRequest } from '../../../electron/engine/contract/transcription.ts';
import { type TranscribeFn, TranscriptionQueue } from '../../../electron/engine/meetings/queue.ts';
import { openStore } from '../../../electron/engine/store/store.ts';
import { speechRegionsTranscriber } from '../../integration/speech-regions-transcriber.ts';
import { tempDirsRemovedAfterEach } from '../store/helpers.ts';

const tempDir = tempDirsRemovedAfterEach();
const STANDUP = resolve(import.meta.dirname, '../../../..', 'shared', 'audio', 'standup.wav');

function requireStandup(): string {
  if (!existsSync(STANDUP))
    throw new Error(`shared test data missing: ${STANDUP} (the checkout needs ../shared beside the repo)`);
  return STANDUP;
}

function setup(transcribe: TranscribeFn, options: { onInterrupted?: 'resume' | 'mark'; concurrency?: number } = {}) {
  const dir = tempDir();
  const store = openStore({ file: join(dir, 'sb.db') });
  const audioDir = join(dir, 'audio');
  const queue = new TranscriptionQueue({ meetings: store.meetings, transcribe, audioDir, ...options });
  return { dir, store, audioDir, queue };
}

/** Records the requests the queue makes, passing them to the real-audio transcriber. */
function recording(transcribe: TranscribeFn): { transcribe: TranscribeFn; requests: TranscriptionRequest[] } {
  const requests: TranscriptionRequest[] = [];
  return {
    requests,
    transcribe: (request, signal) => {
      requests.push(request);
      return transcribe(request, signal);
    },
  };
}

async function firstEvent(
  queue: TranscriptionQueue,
  id: string,
  match: (event: MeetingEvent) => boolean,
): Promise<void> {
  for await (const event of queue.watch(id)) if (match(event)) return;
}

describe('transcription queue', () => {
  it('transcribes a meeting from a copy of the file, storing segments, duration and progress with an ETA', async () => {
    const { store, audioDir, queue } = setup(speechRegionsTranscriber({ secondsPerAudioSecond: 0.005 }));
    queue.start();
    const meeting = await queue.enqueue({ filePath: requireStandup(), title: 'Weekly planning' });
    expect(meeting).toMatchObject({ title: 'Weekly planning', sourceFile: 'standup.wav' });
    const events: MeetingEvent[] = [];
    for await (const event of queue.watch(meeting.id)) events.push(event);

    const done = store.meetings.get(meeting.id);
    expect(done).toMatchObject({ status: 'done', progress: 1, language: 'en' });
    expect(done.durationSeconds).toBeCloseTo(55.17, 1);
    expect(existsSync(join(audioDir, done.audioFile!))).toBe(true);
    const segments = store.meetings.segments(meeting.id);
    expect(segments).toHaveLength(8);
    expect(segments.map((segment) => segment.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(segments[1]).toMatchObject({ start: 7.12, end: 14.58 });
    expect(events.filter((event) => event.type === 'segment')).toHaveLength(8);
    const progress = events.filter((event) => event.type === 'progress');
    const etas = progress.map((event) => event.etaSeconds).filter((eta) => eta !== null);
    expect(progress.at(-1)?.fraction).toBeGreaterThan(0.95);
    expect(etas.length).toBeGreaterThan(3);
    expect(etas.at(-1)).toBeLessThan(etas[0]!);
    expect(events.at(-1)).toMatchObject({ type: 'status', meeting: { status: 'done' } });
    store.close();
  });

  it('fails a broken audio file alone and goes on with the next job, one at a time', async () => {
    let concurrent = 0;
    let most = 0;
    const counting: TranscribeFn = async function* (request, signal) {
      concurrent++;
      most = Math.max(most, concurrent);
      try {
        yield* speechRegionsTranscriber()(request, signal);
      } finally {
        concurrent--;
      }
    };
    const counted = setup(counting);
    const broken = join(counted.dir, 'broken.wav');
    writeFileSync(broken, Buffer.concat([Buffer.from('RIFF\x10\x00\x00\x00WAVE'), Buffer.alloc(20, 0xff)]));
    counted.queue.start();
    const bad = await counted.queue.enqueue({ filePath: broken });
    const good = await counted.queue.enqueue({ filePath: requireStandup() });
    await counted.queue.whenIdle();
    const failed = counted.store.meetings.get(bad.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/^AUDIO_INVALID: broken.wav is a damaged WAV file/);
    expect(counted.store.meetings.get(good.id).status).toBe('done');
    expect(most).toBe(1);
    counted.store.close();
  });

  it('runs as many jobs at once as configured', async () => {
    let concurrent = 0;
    let most = 0;
    const counting: TranscribeFn = async function* (request, signal) {
      concurrent++;
      most = Math.max(most, concurrent);
      try {
        yield* speechRegionsTranscriber({ secondsPerAudioSecond: 0.002 })(request, signal);
      } finally {
        concurrent--;
      }
    };
    const { store, queue } = setup(counting, { concurrency: 2 });
    queue.start();
    const jobs = await Promise.all([1, 2, 3].map(() => queue.enqueue({ filePath: requireStandup() })));
    await queue.whenIdle();
    expect(most).toBe(2);
    expect(jobs.map((job) => store.meetings.get(job.id).status)).toEqual(['done', 'done', 'done']);
    store.close();
  });

  it('refuses a file that does not exist before queueing anything', async () => {
    const { dir, store, queue } = setup(speechRegionsTranscriber());
    await expect(queue.enqueue({ filePath: join(dir, 'nope.wav') })).rejects.toThrow(
      /AUDIO_INVALID: nope.wav cannot be read/,
    );
    expect(store.meetings.list()).toEqual([]);
    store.close();
  });

  it('cancels a running job and keeps the transcript it had', async () => {
    const { store, queue } = setup(speechRegionsTranscriber({ secondsPerAudioSecond: 0.05 }));
    queue.start();
    const meeting = await queue.enqueue({ filePath: requireStandup() });
    await firstEvent(queue, meeting.id, (event) => event.type === 'segment' && event.segment.index === 1);
    const cancelled = await queue.cancel(meeting.id);
    expect(cancelled.status).toBe('cancelled');
    const kept = store.meetings.segments(meeting.id).length;
    expect(kept).toBeGreaterThanOrEqual(2);
    expect(kept).toBeLessThan(8);
    store.close();
  });

  it('resumes a job a crash left running from the end of its last stored segment', async () => {
    const { transcribe, requests } = recording(speechRegionsTranscriber());
    const { store, queue, audioDir } = setup(transcribe);
    // What a crashed process leaves: a running meeting with its first three turns committed.
    const before = setup(speechRegionsTranscriber({ secondsPerAudioSecond: 0.05 }));
    const crashed = await before.queue.enqueue({ filePath: requireStandup() });
    await firstEvent(before.queue, crashed.id, (event) => event.type === 'segment' && event.segment.index === 2);
    const partial = before.store.meetings.segments(crashed.id).slice(0, 3);
    await before.queue.close();
    before.store.close();
    const record = store.meetings.create({
      id: crashed.id,
      title: 'Crashed',
      audioFile: 'standup.wav',
      status: 'running',
    });
    store.meetings.replaceSegments(record.id, partial);
    mkdirSync(audioDir, { recursive: true });
    copyFileSync(requireStandup(), join(audioDir, 'standup.wav'));

    queue.start();
    await queue.whenIdle();
    expect(requests[0]?.startAt).toBe(partial[2]!.end);
    const segments = store.meetings.segments(record.id);
    expect(store.meetings.get(record.id).status).toBe('done');
    expect(segments.map((segment) => segment.start)).toEqual([0, 7.12, 15.72, 22.66, 28.68, 36.48, 44.32, 52.98]);
    store.close();
  });

  it('marks a crashed job interrupted, keeping its partial transcript, when told not to resume', async () => {
    const { store, queue } = setup(speechRegionsTranscriber(), { onInterrupted: 'mark' });
    const record = store.meetings.create({ title: 'Crashed', audioFile: 'gone.wav', status: 'running' });
    store.meetings.appendSegment(record.id, { start: 0, end: 75.4, text: 'kept', speaker: null, confidence: null });
    queue.start();
    await queue.whenIdle();
    const marked = store.meetings.get(record.id);
    expect(marked.status).toBe('interrupted');
    expect(marked.error).toContain('the transcript up to 1:15 is kept');
    expect(store.meetings.segments(record.id)).toHaveLength(1);
    store.close();
  });

  it('leaves running jobs queued on shutdown so the next start resumes them', async () => {
    const { store, queue } = setup(speechRegionsTranscriber({ secondsPerAudioSecond: 0.05 }));
    queue.start();
    const meeting = await queue.enqueue({ filePath: requireStandup() });
    await firstEvent(queue, meeting.id, (event) => event.type === 'segment');
    await queue.close();
    expect(store.meetings.get(meeting.id).status).toBe('queued');
    store.close();
  });
});
