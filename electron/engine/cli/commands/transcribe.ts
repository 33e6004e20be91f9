import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { jobError } from '../../meetings/errors.ts';
import { exportMeeting, loadMeetingDocument } from '../../meetings/export.ts';
import { TranscriptionQueue } from '../../meetings/queue.ts';
import type { Store } from '../../store/store.ts';
import { onInterrupt } from '../interrupt.ts';
import { parseExportFormat } from './export-format.ts';
import { fileAtPace, recordLive } from './record.ts';
import type { TranscribeCliServices } from './transcribe-services.ts';

interface TranscribeOptions {
  format: string;
  title?: string;
  language?: string;
  live?: boolean;
  speed: string;
  refine: boolean;
}

/**
 * `switchboard transcribe FILE`: stores the file as a meeting, transcribes it, prints the transcript in
 * the chosen format on stdout (so `> notes.srt` works) and the meeting id on stderr.
 */
export function registerTranscribeCommand(program: Command, services: () => Promise<TranscribeCliServices>): void {
  program
    .command('transcribe')
    .description('transcribe an audio file on this machine and keep it as a meeting')
    .argument('<file>', 'audio file (wav, mp3, m4a, ogg, webm, flac)')
    .option('--format <format>', 'txt|srt|vtt|json|md', 'txt')
    .option('--title <title>', 'meeting title (default: the file name)')
    .option('--language <code>', 'spoken language, e.g. en (default: detected by a multilingual model)')
    .option('--live', 'feed the file at real-time pace as a live recording: segments print as they are spoken')
    .option('--speed <x>', 'with --live: this many times real time', '1')
    .option('--no-refine', 'with --live: keep the live transcript; skip the final pass')
    .action(async (file: string, options: TranscribeOptions) => {
      const format = parseExportFormat(options.format);
      if (options.live) {
        const source = await fileAtPace(file, Number(options.speed));
        return recordLive(await services(), source, { ...options, title: options.title ?? basename(file) });
      }
      const { store, transcribe, audioDir } = await services();
      // Only this file: jobs the app left queued stay the app's.
      const queue = new TranscriptionQueue({ meetings: store.meetings, transcribe, audioDir, adoptStoredJobs: false });
      try {
        const meeting = await queue.enqueue({
          filePath: resolve(file),
          title: options.title,
          language: options.language,
        });
        await followJob(queue, store, meeting.id);
        process.stdout.write(exportMeeting(loadMeetingDocument(store.meetings, meeting.id), format).content);
        process.stderr.write(`Saved as meeting ${meeting.id}\n`);
      } finally {
        await queue.close();
      }
    });
}

/**
 * Waits for a job this process runs: progress on a terminal's stderr, Ctrl-C cancels it (its transcript
 * so far is kept). Throws the job's error unless it ends `done`.
 */
export async function followJob(queue: TranscriptionQueue, store: Pick<Store, 'meetings'>, id: string): Promise<void> {
  const controller = new AbortController();
  const stopListening = onInterrupt(() => void queue.cancel(id));
  try {
    for await (const event of queue.watch(id, controller.signal)) {
      if (event.type === 'progress' && process.stderr.isTTY) {
        const eta = event.etaSeconds === null ? '' : `, about ${Math.ceil(event.etaSeconds)} s left`;
        process.stderr.write(`\rTranscribing: ${Math.round(event.fraction * 100)}%${eta}   `);
      }
    }
    if (process.stderr.isTTY) process.stderr.write('\n');
  } finally {
    stopListening();
    controller.abort();
  }
  const done = store.meetings.get(id);
  if (done.status !== 'done') throw jobError(done);
}
