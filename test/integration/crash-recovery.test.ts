import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import type { TranscriptSegment } from '../../electron/engine/contract/transcription.ts';
import { TranscriptionQueue } from '../../electron/engine/meetings/queue.ts';
import { openStore } from '../../electron/engine/store/store.ts';
import { speechRegionsTranscriber } from './speech-regions-transcriber.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const STANDUP = resolve(repoRoot, '..', 'shared', 'audio', 'standup.wav');
const CHILD = join(import.meta.dirname, 'crash-recovery-child.ts');
const dirs: string[] = [];
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface ChildLine {
  pid?: number;
  committed?: TranscriptSegment;
  status?: string;
  meetingId?: string;
}

/** Runs the child; `onLine` returns true to stop reading. Resolves when the child has exited. */
function runChild(args: string[], onLine: (line: ChildLine) => boolean | undefined): Promise<number | null> {
  const child = spawn('npx', ['node', CHILD, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (text) => {
    if (text.startsWith('{') && onLine(JSON.parse(text) as ChildLine)) lines.close();
  });
  return new Promise((resolveExit) => child.on('exit', (code) => resolveExit(code)));
}

describe('crash recovery', () => {
  it('keeps every committed segment when the transcribing process is SIGKILLed, then resumes the job', async () => {
    if (!existsSync(STANDUP))
      throw new Error(`shared test data missing: ${STANDUP} (the checkout needs ../shared beside the repo)`);
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-crash-'));
    dirs.push(dir);
    const databaseFile = join(dir, 'switchboard.db');
    const audioDir = join(dir, 'audio');

    let transcriberPid: number | undefined;
    let meetingId: string | undefined;
    const committed: TranscriptSegment[] = [];
    await runChild([databaseFile, audioDir, STANDUP], (line) => {
      if (line.pid) transcriberPid = line.pid;
      if (line.committed) {
        committed.push(line.committed);
        meetingId = line.meetingId;
        // Mid-job: three of the eight segments Whisper finds in the standup stored, the rest to come.
        if (committed.length === 3) {
          process.kill(transcriberPid!, 'SIGKILL');
          return true;
        }
      }
      return undefined;
    });
    expect(committed).toHaveLength(3);

    const afterCrash = openStore({ file: databaseFile, keyProvider: { loadKey: () => Buffer.alloc(32) } });
    expect(afterCrash.db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(afterCrash.meetings.get(meetingId!).status).toBe('running');
    const survived = afterCrash.meetings.segments(meetingId!);
    expect(survived.slice(0, committed.length)).toEqual(committed);
    expect(survived.length).toBeLessThan(8);
    expect(survived.at(-1)!.end).toBeLessThan(50);
    afterCrash.close();

    // A restarted process resumes the job from the end of the last stored segment.
    const statuses: string[] = [];
    const exitCode = await runChild([databaseFile, audioDir], (line) => {
      if (line.status) statuses.push(line.status);
      return undefined;
    });
    expect(exitCode).toBe(0);
    expect(statuses).toEqual(['queued', 'running', 'done']);
    const resumed = openStore({ file: databaseFile, keyProvider: { loadKey: () => Buffer.alloc(32) } });
    const segments = resumed.meetings.segments(meetingId!);
    expect(resumed.meetings.get(meetingId!).status).toBe('done');
    expect(segments.slice(0, committed.length)).toEqual(committed);
    // Resumed after the last stored segment: in order, no overlap, no repeat, to the end of the speech.
    for (let i = 1; i < segments.length; i++) expect(segments[i]!.start).toBeGreaterThanOrEqual(segments[i - 1]!.end);
    expect(segments.length).toBeGreaterThan(survived.length);
    expect(segments.at(-1)!.end).toBeGreaterThan(50);
    expect(segments.map((segment) => segment.index)).toEqual(segments.map((_, i) => i));
    resumed.close();
  }, 60_000);

  it('marks the killed job interrupted, partial transcript kept, when resuming is off', async () => {
    if (!existsSync(STANDUP))
      throw new Error(`shared test data missing: ${STANDUP} (the checkout needs ../shared beside the repo)`);
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-crash-'));
    dirs.push(dir);
    const databaseFile = join(dir, 'switchboard.db');
    const audioDir = join(dir, 'audio');
    let pid: number | undefined;
    let meetingId: string | undefined;
    await runChild([databaseFile, audioDir, STANDUP], (line) => {
      if (line.pid) pid = line.pid;
      if (line.committed) {
        meetingId = line.meetingId;
        process.kill(pid!, 'SIGKILL');
        return true;
      }
      return undefined;
    });
    const store = openStore({ file: databaseFile, keyProvider: { loadKey: () => Buffer.alloc(32) } });
    const queue = new TranscriptionQueue({
      meetings: store.meetings,
      transcribe: speechRegionsTranscriber(),
      audioDir,
      onInterrupted: 'mark',
    });
    queue.start();
    await queue.whenIdle();
    const meeting = store.meetings.get(meetingId!);
    expect(meeting.status).toBe('interrupted');
    expect(meeting.error).toMatch(/the transcript up to 0:0\d is kept/);
    expect(store.meetings.segments(meetingId!).length).toBeGreaterThanOrEqual(1);
    store.close();
  }, 60_000);
});
