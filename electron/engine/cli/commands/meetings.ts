import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { EXPORT_FORMATS } from '../../contract/api.ts';
import { SwitchboardError } from '../../contract/errors.ts';
import type { Engine } from '../../engine.ts';
import { exportMeeting, importBundle, loadMeetingDocument, summaryMarkdown } from '../../meetings/export.ts';
import { formatClock, type TranscriptionQueue } from '../../meetings/queue.ts';
import { findSpeakers, type SpeakerDiarizer } from '../../meetings/speakers.ts';
import { summarizeMeeting } from '../../meetings/summarize.ts';
import { toMeetingSummary } from '../../store/meetings.ts';
import type { Store } from '../../store/store.ts';
import { printJson, printTable } from '../context.ts';
import { onInterrupt } from '../interrupt.ts';
import { parseExportFormat } from './export-format.ts';
import { followJob } from './transcribe.ts';

/** What the meetings commands need; the CLI context builds it on first use. */
export interface MeetingsCliServices {
  store: Store;
  /** This process's queue: it runs only the jobs this command gives it. */
  queue: TranscriptionQueue;
  /** Summaries go through the engine (the `summarize` profile: local first). */
  engine: Pick<Engine, 'chat' | 'chatTarget'>;
  /** Finds who spoke when (native/diarization). */
  diarizer: SpeakerDiarizer;
}

/** `switchboard meetings list|show|search|export|import|resume|summarize|templates|speakers|rename-speaker`. */
export function registerMeetingsCommand(program: Command, services: () => Promise<MeetingsCliServices>): void {
  const meetings = program.command('meetings').description('meetings kept in the local database');

  meetings
    .command('list')
    .description('every meeting, newest first')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { store } = await services();
      const list = store.meetings.list().map(toMeetingSummary);
      if (options.json) return printJson(list);
      if (list.length === 0)
        return void process.stdout.write('No meetings yet. Transcribe one with: switchboard transcribe FILE\n');
      printTable([
        ['ID', 'CREATED', 'DURATION', 'STATUS', 'TITLE'],
        ...list.map((m) => [
          m.id,
          new Date(m.createdAt).toISOString().slice(0, 16).replace('T', ' '),
          m.durationSeconds === null ? '-' : formatClock(m.durationSeconds),
          m.status === 'running' ? `running ${Math.round(m.progress * 100)}%` : m.status,
          m.title,
        ]),
      ]);
    });

  meetings
    .command('show')
    .description('a meeting with its summary and transcript (Markdown)')
    .argument('<id>', 'meeting id')
    .action(async (id: string) => {
      const { store } = await services();
      process.stdout.write(exportMeeting(loadMeetingDocument(store.meetings, id), 'md').content);
    });

  meetings
    .command('search')
    .description('full-text search over transcripts, meeting titles and chats')
    .argument('<text>', 'words or a "quoted phrase"')
    .option('--limit <n>', 'most results', '20')
    .option('--json', 'print JSON')
    .action(async (text: string, options: { limit: string; json?: boolean }) => {
      const { store } = await services();
      const hits = store.search.search(text, Math.max(1, Number.parseInt(options.limit, 10) || 20));
      if (options.json) return printJson(hits);
      if (hits.length === 0) return void process.stdout.write(`Nothing matches "${text}".\n`);
      for (const hit of hits) {
        const at = hit.timestamp === null ? '' : ` @ ${formatClock(hit.timestamp)}`;
        process.stdout.write(`${hit.kind} ${hit.id}${at}  ${hit.title}\n  ${hit.snippet}\n`);
      }
    });

  meetings
    .command('export')
    .description('write a meeting as subtitles, text, Markdown or a JSON bundle')
    .argument('<id>', 'meeting id')
    .requiredOption('--format <format>', EXPORT_FORMATS.join('|'))
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (id: string, options: { format: string; out?: string }) => {
      const { store } = await services();
      const file = exportMeeting(loadMeetingDocument(store.meetings, id), parseExportFormat(options.format));
      if (!options.out) return void process.stdout.write(file.content);
      // An export is the meeting in clear: readable by its owner only, wherever it is written.
      await writeFile(options.out, file.content, { mode: 0o600 });
      process.stderr.write(`Wrote ${options.out}\n`);
    });

  meetings
    .command('import')
    .description('read back a meeting exported as JSON (switchboard meetings export ID --format json)')
    .argument('<file>', 'the JSON file')
    .option(
      '--audio <file>',
      "the meeting's recording, to play and resume it (default: the original, if it is in this data dir)",
    )
    .action(async (file: string, options: { audio?: string }) => {
      const { store, queue } = await services();
      let json: string;
      try {
        json = await readFile(resolve(file), 'utf8');
      } catch (error) {
        throw new SwitchboardError(
          'INVALID_REQUEST',
          `${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); name a meeting exported as JSON`,
        );
      }
      const meeting = await importBundle(store.meetings, json, {
        audioDir: queue.audioDir,
        ...(options.audio ? { audioPath: resolve(options.audio) } : {}),
      });
      const segments = store.meetings.segments(meeting.id).length;
      process.stdout.write(`${meeting.id}\n`);
      process.stderr.write(
        `Imported "${meeting.title}" (${meeting.status}, ${segments} segments${meeting.audioFile ? ', with its recording' : ''})\n`,
      );
    });

  meetings
    .command('resume')
    .alias('retry')
    .description('finish a cancelled, failed or interrupted transcription, after its last kept segment')
    .argument('<id>', 'meeting id')
    .action(async (id: string) => {
      const { store, queue } = await services();
      queue.retry(id);
      await followJob(queue, store, id);
      const meeting = store.meetings.get(id);
      process.stderr.write(
        `Meeting ${id} is done: ${store.meetings.segments(id).length} segments, ${formatClock(meeting.durationSeconds ?? 0)}\n`,
      );
    });

  meetings
    .command('summarize')
    .description('summarise a meeting (summary, action items, decisions) with a local model first, and keep it')
    .argument('<id>', 'meeting id')
    .option('--template <name>', 'a summary template by name or id (see `switchboard meetings templates`)')
    .option('--model <model>', 'the model to use, as `switchboard providers list` or /v1/models names it')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { template?: string; model?: string; json?: boolean }) => {
      const { store, engine } = await services();
      const controller = new AbortController();
      const stopListening = onInterrupt(() => controller.abort());
      try {
        const { template: _prompt, ...summary } = await summarizeMeeting(
          { store, chat: engine.chat.bind(engine), chatTarget: engine.chatTarget.bind(engine) },
          { id, templateId: options.template, model: options.model, signal: controller.signal },
        );
        if (options.json) return printJson(summary);
        process.stdout.write(`${summaryMarkdown(summary)}\n`);
        process.stderr.write(`Written by ${summary.model}; kept with meeting ${id}\n`);
      } finally {
        stopListening();
      }
    });

  meetings
    .command('templates')
    .description('the summary templates `meetings summarize --template` takes')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { store } = await services();
      const templates = store.templates.list();
      if (options.json) return printJson(templates);
      printTable([['NAME', 'ID'], ...templates.map((t) => [t.builtin ? `${t.name} (built in)` : t.name, t.id])]);
    });

  meetings
    .command('speakers')
    .description('find who spoke when (on this machine) and mark the transcript Speaker 1, Speaker 2, …')
    .argument('<id>', 'meeting id')
    .option('--count <n>', 'how many people spoke, when you know it')
    .action(async (id: string, options: { count?: string }) => {
      const speakers = options.count === undefined ? undefined : Number(options.count);
      if (speakers !== undefined && !(Number.isInteger(speakers) && speakers >= 1 && speakers <= 20))
        throw new SwitchboardError(
          'INVALID_REQUEST',
          `--count must be a whole number from 1 to 20 (got "${options.count}")`,
        );
      const { store, queue, diarizer } = await services();
      const segments = await findSpeakers(
        { meetings: store.meetings, diarizer, audioPathOf: (meetingId) => queue.audioPathOf(meetingId) },
        id,
        { speakers },
      );
      const found = new Set(segments.map((segment) => segment.speaker).filter(Boolean));
      process.stdout.write(exportMeeting(loadMeetingDocument(store.meetings, id), 'txt').content);
      process.stderr.write(
        `Found ${found.size} speaker${found.size === 1 ? '' : 's'}; name them with: switchboard meetings rename-speaker ${id} "Speaker 1" NAME\n`,
      );
    });

  meetings
    .command('rename-speaker')
    .description("give a speaker a name throughout one meeting's transcript and its exports")
    .argument('<id>', 'meeting id')
    .argument('<speaker>', 'the speaker as the transcript shows it, e.g. "Speaker 1"')
    .argument('<name>', 'the name to show instead')
    .action(async (id: string, speaker: string, name: string) => {
      const { store } = await services();
      const trimmed = name.trim();
      if (!trimmed) throw new SwitchboardError('INVALID_REQUEST', 'the new name is empty');
      const changed = store.meetings.renameSpeaker(id, speaker, trimmed);
      if (changed === 0) {
        const present = [
          ...new Set(
            store.meetings
              .segments(id)
              .map((s) => s.speaker)
              .filter(Boolean),
          ),
        ];
        throw new SwitchboardError(
          'NOT_FOUND',
          `nobody called "${speaker}" speaks in meeting ${id}${present.length ? `; its speakers are: ${present.join(', ')}` : '; find its speakers first: switchboard meetings speakers ID'}`,
        );
      }
      process.stderr.write(`${speaker} is now ${trimmed} in ${changed} segments\n`);
    });
}
