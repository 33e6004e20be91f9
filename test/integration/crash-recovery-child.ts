/**
 * Child process for crash-recovery.test.ts: transcribes one file through the job queue with the real
 * Whisper transcriber (native/whisper, the committed random-weight model in test/fixtures) and prints one
 * JSON line per committed segment, so the parent knows what must survive when it kills this process.
 *   npx node test/integration/crash-recovery-child.ts <databaseFile> <audioDir> [<audioFile>]
 * With an audio file it enqueues it; without, it starts the queue (recovery) and waits until idle.
 */
import { join } from 'node:path';
import { TranscriptionQueue } from '../../electron/engine/meetings/queue.ts';
import { openStore } from '../../electron/engine/store/store.ts';
import { createWhisperTranscriber } from '../../native/whisper/index.ts';

const [databaseFile, audioDir, audioFile] = process.argv.slice(2);
if (!databaseFile || !audioDir)
  throw new Error('usage: crash-recovery-child.ts <databaseFile> <audioDir> [<audioFile>]');

const fixtures = join(import.meta.dirname, '..', 'fixtures');
// One thread: the job takes long enough for the parent to kill it mid-way, and leaves a core to the tests.
const whisper = createWhisperTranscriber({ modelsDir: fixtures, threads: 1 });
const store = openStore({ file: databaseFile, keyProvider: { loadKey: () => Buffer.alloc(32) } });
const queue = new TranscriptionQueue({
  meetings: store.meetings,
  transcribe: (request, signal) => whisper.transcribe({ ...request, model: 'whisper-tiny-random' }, signal),
  audioDir,
});
const say = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);
queue.on('event', (meetingId, event) => {
  if (event.type === 'segment') say({ committed: event.segment, meetingId });
  if (event.type === 'status') say({ status: event.meeting.status, meetingId });
});
say({ pid: process.pid });
queue.start();
if (audioFile) await queue.enqueue({ filePath: audioFile, title: 'Crash test' });
await queue.whenIdle();
await whisper.close();
store.close();
