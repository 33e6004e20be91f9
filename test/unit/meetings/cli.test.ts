import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { type NodeCue, parseSync } from 'subtitle';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { registerMeetingsCommand } from '../../../electron/engine/cli/commands/meetings.ts';
import { registerTranscribeCommand } from '../../../electron/engine/cli/commands/transcribe.ts';
import { SwitchboardError } from '../../../electron/engine/contract/errors.ts';
import { type TranscribeFn, TranscriptionQueue } from '../../../electron/engine/meetings/queue.ts';
import { openStore, type Store } from '../../../electron/engine/store/store.ts';
import { createSpeakerDiarizer } from '../../../native/diarization/index.ts';
import { createWhisperTranscriber } from '../../../native/whisper/index.ts';
import { tempDirsRemovedAfterEach } from '../store/helpers.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const STANDUP = resolve(repoRoot, '..', 'shared', 'audio', 'standup.wav');
const tempDir = tempDirsRemovedAfterEach();
const whisper = createWhisperTranscriber({ modelsDir: join(repoRoot, 'test', 'fixtures'), threads: 1 });
afterAll(() => whisper.close());
afterEach(() => vi.restoreAllMocks());

/** Runs one CLI command line in-process; returns what it printed. */
async function run(store: Store, dir: string, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  const program = new Command('switchboard').exitOverride();
  const transcribe: TranscribeFn = (request, signal) =>
    whisper.transcribe({ ...request, model: 'whisper-tiny-random' }, signal);
  const audioDir = join(dir, 'audio');
  const queue = new TranscriptionQueue({ meetings: store.meetings, transcribe, audioDir, adoptStoredJobs: false });
  // These tests summarise nothing; test/integration/cli-summaries.test.ts runs `meetings summarize`.
  const noEngine = () => {
    throw new SwitchboardError('NOT_SUPPORTED', 'no engine in this test');
  };
  registerMeetingsCommand(program, async () => ({
    store,
    queue,
    engine: { chat: noEngine, chatTarget: noEngine },
    diarizer: createSpeakerDiarizer({ modelsDir: join(dir, 'models', 'diarization') }),
  }));
  registerTranscribeCommand(program, async () => ({ store, audioDir, transcribe }));
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(args, { from: 'user' });
  } finally {
    vi.restoreAllMocks();
    await queue.close();
  }
  return { stdout, stderr };
}

describe('CLI: transcribe and meetings', () => {
  it('transcribes a file into a stored meeting, prints SRT and the id, then lists, shows, searches and exports it', async () => {
    if (!existsSync(STANDUP))
      throw new Error(`shared test data missing: ${STANDUP} (the checkout needs ../shared beside the repo)`);
    const dir = tempDir();
    const store = openStore({ file: join(dir, 'sb.db') });
    const transcribed = await run(store, dir, 'transcribe', STANDUP, '--format', 'srt', '--title', 'Standup');
    const id = transcribed.stderr.match(/Saved as meeting (\S+)/)?.[1];
    expect(id).toBeDefined();
    const cues = parseSync(transcribed.stdout).filter((node): node is NodeCue => node.type === 'cue');
    expect(cues.length).toBe(store.meetings.segments(id!).length);
    expect(cues.length).toBeGreaterThan(4);

    const listed = await run(store, dir, 'meetings', 'list');
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s+\\S+ \\S+\\s+0:55\\s+done\\s+Standup`));

    const shown = await run(store, dir, 'meetings', 'show', id!);
    expect(shown.stdout).toContain('# Standup');
    expect(shown.stdout).toContain('- Recording: standup.wav');

    const word = store.meetings
      .segments(id!)[2]!
      .text.match(/[\p{L}\p{N}]{4,}/gu)!
      .at(-1)!;
    const found = await run(store, dir, 'meetings', 'search', word);
    expect(found.stdout).toContain(`meeting ${id} @ `);
    expect(found.stdout.toLowerCase()).toContain(`[[${word.toLowerCase()}]]`);

    const out = join(dir, 'standup.vtt');
    await run(store, dir, 'meetings', 'export', id!, '--format', 'vtt', '--out', out);
    expect(parseSync(readFileSync(out, 'utf8')).filter((node) => node.type === 'cue')).toHaveLength(cues.length);
    await expect(run(store, dir, 'meetings', 'export', id!, '--format', 'docx')).rejects.toThrow(
      /--format must be one of md, txt, srt, vtt, json/,
    );
    store.close();
  }, 60_000);

  it('fails a broken file with the reason and keeps the failed meeting', async () => {
    const dir = tempDir();
    const store = openStore({ file: join(dir, 'sb.db') });
    const broken = join(dir, 'notes.wav');
    writeFileSync(broken, 'this is not audio');
    await expect(run(store, dir, 'transcribe', broken)).rejects.toThrow(/^AUDIO_INVALID: .*notes\.wav.*\(meeting /);
    expect(store.meetings.list()[0]).toMatchObject({ status: 'failed', sourceFile: 'notes.wav' });
    store.close();
  });
});
