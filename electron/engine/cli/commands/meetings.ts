import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { EXPORT_FORMATS, type ExportFormat } from '../../contract/api.ts';
import { SwitchboardError } from '../../contract/errors.ts';
import { exportMeeting, loadMeetingDocument } from '../../meetings/export.ts';
import { formatClock } from '../../meetings/queue.ts';
import { toMeetingSummary } from '../../store/meetings.ts';
import type { Store } from '../../store/store.ts';
import { printJson, printTable } from '../context.ts';

/** What the meetings commands need; the CLI context builds it on first use. */
export interface MeetingsCliServices {
  store: Store;
}

export function parseExportFormat(value: string): ExportFormat {
  if ((EXPORT_FORMATS as readonly string[]).includes(value)) return value as ExportFormat;
  throw new SwitchboardError(
    'INVALID_REQUEST',
    `--format must be one of ${EXPORT_FORMATS.join(', ')} (got "${value}")`,
  );
}

/** `switchboard meetings list|show|search|export`. */
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
      await writeFile(options.out, file.content);
      process.stderr.write(`Wrote ${options.out}\n`);
    });
}
