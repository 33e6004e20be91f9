import type { ChildProcess } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { MeetingSummary, SearchHit } from '../../electron/engine/contract/api.ts';
import type { TranscriptSegment } from '../../electron/engine/contract/transcription.ts';
import { openStore } from '../../electron/engine/store/store.ts';
import { runCli, sharedFile, spawnCli, type TestDataDir, testDataDir, WHISPER_FIXTURE } from '../support/cli.ts';

/** `switchboard meetings …` run as a process on a data dir, as a person runs it. */

const dirs: TestDataDir[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) dir.remove();
});

function dataDir(options: Parameters<typeof testDataDir>[0] = {}): TestDataDir {
  const data = testDataDir(options);
  dirs.push(data);
  return data;
}

/** Opens the data dir's database the way the CLI does, for arranging what a test starts from. */
function storeOf(data: TestDataDir) {
  return openStore({ file: join(data.dir, 'switchboard.db') });
}

describe('switchboard meetings search', () => {
  it('shows each hit with the words of its own segment, also across meetings', async () => {
    const data = dataDir();
    const store = storeOf(data);
    const said = {
      Planning: ['We open with the weather.', 'The budget for the cloud is spent.', 'Bo fixes the installer.'],
      Roadmap: ['Ada presents the roadmap.', 'A second budget line for hiring.', 'Questions at the end.'],
    };
    for (const [title, lines] of Object.entries(said)) {
      const meeting = store.meetings.create({ title, status: 'done' });
      store.meetings.replaceSegments(
        meeting.id,
        lines.map((text, index) => ({
          index,
          start: index * 10,
          end: index * 10 + 8,
          text,
          speaker: null,
          confidence: null,
        })),
      );
    }
    store.close();

    const result = await runCli([...data.args, 'meetings', 'search', 'budget', '--json']);
    expect(result.stderr).toBe('');
    const hits = JSON.parse(result.stdout) as SearchHit[];
    expect(hits.map((hit) => [hit.title, hit.timestamp, hit.snippet]).sort()).toEqual([
      ['Planning', 10, 'The [[budget]] for the cloud is spent.'],
      ['Roadmap', 10, 'A second [[budget]] line for hiring.'],
    ]);
  }, 120_000);
});

/** Waits until the data dir's newest meeting has `segments` stored segments; returns its id. */
async function segmentsStored(data: TestDataDir, segments: number): Promise<string> {
  let id: string | undefined;
  await expect
    .poll(
      () => {
        const store = storeOf(data);
        try {
          const meeting = store.meetings.list()[0];
          id = meeting?.id;
          return meeting ? store.meetings.segments(meeting.id).length : 0;
        } finally {
          store.close();
        }
      },
      { timeout: 180_000, interval: 250 },
    )
    .toBeGreaterThanOrEqual(segments);
  return id!;
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) resolveExit(child.exitCode);
    else child.once('exit', (code) => resolveExit(code));
  });
}

/** The finished transcript continues the kept one: same first segments, in order, numbered 0…n-1. */
function expectContinued(data: TestDataDir, id: string, kept: TranscriptSegment[]): void {
  const store = storeOf(data);
  try {
    expect(store.meetings.get(id)).toMatchObject({ status: 'done', progress: 1 });
    const segments = store.meetings.segments(id);
    expect(segments.slice(0, kept.length)).toEqual(kept);
    expect(segments.length).toBeGreaterThan(kept.length);
    expect(segments.map((segment) => segment.index)).toEqual(segments.map((_, i) => i));
    for (let i = 1; i < segments.length; i++) expect(segments[i]!.start).toBeGreaterThanOrEqual(segments[i - 1]!.end);
    expect(segments.at(-1)!.end).toBeGreaterThan(50);
  } finally {
    store.close();
  }
}

function keptSegments(data: TestDataDir, id: string): TranscriptSegment[] {
  const store = storeOf(data);
  try {
    return store.meetings.segments(id);
  } finally {
    store.close();
  }
}

describe('stopped transcriptions', () => {
  it('a transcribe killed with SIGKILL is marked interrupted by the next command, and resumes', async () => {
    const data = dataDir({ whisper: true });
    const child = spawnCli([...data.args, 'transcribe', sharedFile('audio', 'standup.wav')]);
    const id = await segmentsStored(data, 1);
    child.kill('SIGKILL');
    await exited(child);
    const kept = keptSegments(data, id);

    const listed = await runCli([...data.args, 'meetings', 'list', '--json']);
    const [meeting] = JSON.parse(listed.stdout) as MeetingSummary[];
    expect(meeting).toMatchObject({ id, status: 'interrupted' });
    expect(meeting!.error).toContain(`switchboard meetings resume ${id}`);

    const resumed = await runCli([...data.args, 'meetings', 'resume', id]);
    expect(resumed.stderr).toContain(`Meeting ${id} is done`);
    expect(resumed.code).toBe(0);
    expectContinued(data, id, kept);
  }, 300_000);

  it('a transcribe stopped with Ctrl-C is cancelled, its transcript kept, and `retry` finishes it', async () => {
    const data = dataDir({ whisper: true });
    const child = spawnCli([...data.args, 'transcribe', sharedFile('audio', 'standup.wav')]);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const id = await segmentsStored(data, 1);
    child.kill('SIGINT');
    expect(await exited(child)).toBe(1);
    expect(stderr).toMatch(/^switchboard: CANCELLED: /m);
    const kept = keptSegments(data, id);
    expect(kept.length).toBeGreaterThan(0);

    const retried = await runCli([...data.args, 'meetings', 'retry', id]);
    expect(retried.code, retried.stderr).toBe(0);
    expectContinued(data, id, kept);
  }, 300_000);

  it('a job that failed (no Whisper model yet) succeeds when retried after the model is installed', async () => {
    const data = dataDir();
    const failed = await runCli([...data.args, 'transcribe', sharedFile('audio', 'jfk.wav')]);
    expect(failed.code).toBe(1);
    const id = /\(meeting (\S+)\)/.exec(failed.stderr)?.[1];
    expect(id, failed.stderr).toBeDefined();
    mkdirSync(join(data.dir, 'models', 'whisper'), { recursive: true });
    symlinkSync(WHISPER_FIXTURE, join(data.dir, 'models', 'whisper', 'whisper-tiny-random'), 'dir');

    const retried = await runCli([...data.args, 'meetings', 'retry', id!]);
    expect(retried.code, retried.stderr).toBe(0);
    const shown = await runCli([...data.args, 'meetings', 'list', '--json']);
    expect(JSON.parse(shown.stdout)).toMatchObject([{ id, status: 'done', durationSeconds: 11 }]);
  }, 240_000);

  it('leaves a job alone while the process that runs it lives; says why a done meeting cannot be resumed', async () => {
    const data = dataDir();
    const store = storeOf(data);
    const live = store.meetings.create({ title: 'Live', status: 'running', audioFile: 'a.wav' });
    store.meetings.update(live.id, { runnerPid: process.pid });
    const done = store.meetings.create({ title: 'Done', status: 'done' });
    store.close();

    const listed = JSON.parse((await runCli([...data.args, 'meetings', 'list', '--json'])).stdout) as MeetingSummary[];
    expect(listed.find((m) => m.id === live.id)?.status).toBe('running');

    const refused = await runCli([...data.args, 'meetings', 'resume', done.id]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`meeting ${done.id} is done; only a stopped transcription can be retried`);
  }, 180_000);
});

describe('switchboard meetings summarize', () => {
  it('summarises with the local model and a stored template named on the command line, and keeps it', async () => {
    const data = dataDir({ stories: true });
    const store = storeOf(data);
    const meeting = store.meetings.create({ title: 'Planning', status: 'done' });
    store.meetings.replaceSegments(
      meeting.id,
      ['The beta is ready.', 'Bo fixes the installer by Wednesday.', 'We keep summaries local.'].map((text, index) => ({
        index,
        start: index * 5,
        end: index * 5 + 4,
        text,
        speaker: index === 1 ? 'Bo' : 'Ana',
        confidence: null,
      })),
    );
    const brief = store.templates.create('Brief', 'Tell the story of this meeting:\n{{transcript}}');
    store.close();

    const listed = await runCli([...data.args, 'meetings', 'templates']);
    expect(listed.stdout).toMatch(/Default \(built in\)\s+default\nBrief\s+\S+/);

    const summarized = await runCli([...data.args, 'meetings', 'summarize', meeting.id, '--template', 'brief']);
    expect(summarized.code, summarized.stderr).toBe(0);
    expect(summarized.stdout).toMatch(/^## Summary\n\n\S/);
    expect(summarized.stderr).toContain(`Written by local/stories260K; kept with meeting ${meeting.id}`);
    const after = storeOf(data);
    expect(after.meetings.summary(meeting.id)).toMatchObject({ model: 'local/stories260K', template: brief.prompt });
    after.close();

    const unknown = await runCli([...data.args, 'meetings', 'summarize', meeting.id, '--template', 'Minutes']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(
      'switchboard: NOT_FOUND: no summary template is called "Minutes"; there are: Default, Brief\n',
    );
  }, 240_000);
});
