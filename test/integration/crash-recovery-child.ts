/**
 * Child process for crash-recovery.test.ts: transcribes one file through the job queue and prints one
 * JSON line per committed segment, so the parent knows what must survive when it kills this process.
 *   npx node test/integration/crash-recovery-child.ts <databaseFile> <audioDir> [<audioFile>]
 * With an audio file it enqueues it; without, it starts the queue (recovery) and waits until idle.
 */
import { TranscriptionQueue } from '../../electron/engine/meetings/queue.ts';
import { openStore } from '../../electron/engine/store/store.ts';
import { speechRegionsTranscriber } from './speech-regions-transcriber.ts';

const [databaseFile, audioDir, audioFile] = process.argv.slice(2);
if (!databaseFile || !audioDir)
  throw new Error('usage: crash-recovery-child.ts <databaseFile> <audioDir> [<audioFile>]');

const store = openStore({ file: databaseFile, keyProvider: { loadKey: () => Buffer.alloc(32) } });
const queue = new TranscriptionQueue({
  meetings: store.meetings,
  transcribe: speechRegionsTranscriber({ secondsPerAudioSecond: 0.04 }),
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
store.close();
