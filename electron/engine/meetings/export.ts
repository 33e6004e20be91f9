import { randomUUID } from 'node:crypto';
import { copyFile, mkdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { z } from 'zod';
import type { ExportFile, ExportFormat, MeetingSummaryText } from '../contract/api.ts';
import { SwitchboardError } from '../contract/errors.ts';
import { describeProvenance } from '../contract/provenance.ts';
import { type TranscriptSegment, transcriptSegmentSchema } from '../contract/transcription.ts';
import {
  actionItemSchema,
  MEETING_STATUSES,
  type MeetingRecord,
  type MeetingRepository,
  provenanceSchema,
  type StoredSummary,
} from '../store/meetings.ts';
import { formatClock } from './queue.ts';

/** A meeting with everything that belongs to it: what exports and bundles are made of. */
export interface MeetingDocument {
  meeting: MeetingRecord;
  segments: TranscriptSegment[];
  summary: StoredSummary | null;
}

export function loadMeetingDocument(meetings: MeetingRepository, id: string): MeetingDocument {
  return { meeting: meetings.get(id), segments: meetings.segments(id), summary: meetings.summary(id) };
}

const BUNDLE_FORMAT = 'switchboard.meeting';

/** The one-file form of a meeting (JSON export and import). Audio travels by reference, not inline. */
export const meetingBundleSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  version: z.literal(1),
  meeting: z.object({
    id: z.string().min(1),
    title: z.string().min(1),
    createdAt: z.number(),
    durationSeconds: z.number().nullable(),
    sourceFile: z.string().nullable(),
    language: z.string().nullable(),
    status: z.enum(MEETING_STATUSES),
    /** The audio copy's file name in the data dir's audio folder. */
    audioFile: z.string().nullable(),
    /** Who transcribed it, and whether on this machine. */
    transcribedBy: z.array(provenanceSchema).optional(),
  }),
  segments: z.array(transcriptSegmentSchema),
  summary: z
    .object({
      model: z.string(),
      template: z.string(),
      summary: z.string(),
      actionItems: z.array(actionItemSchema),
      decisions: z.array(z.string()),
      createdAt: z.number(),
      producedBy: z.array(provenanceSchema).optional(),
    })
    .nullable(),
});
export type MeetingBundle = z.infer<typeof meetingBundleSchema>;

export function toBundle(document: MeetingDocument): MeetingBundle {
  const { meeting } = document;
  return {
    format: BUNDLE_FORMAT,
    version: 1,
    meeting: {
      id: meeting.id,
      title: meeting.title,
      createdAt: meeting.createdAt,
      durationSeconds: meeting.durationSeconds,
      sourceFile: meeting.sourceFile,
      language: meeting.language,
      status: meeting.status,
      audioFile: meeting.audioFile,
      transcribedBy: meeting.transcribedBy,
    },
    segments: document.segments,
    summary: document.summary,
  };
}

export interface ImportOptions {
  /** The data dir's audio folder: the meeting's own copy of its recording goes here. */
  audioDir: string;
  /** The recording to attach; default: the bundle's audio file where it is in `audioDir` (same machine). */
  audioPath?: string;
}

/**
 * Stores a bundle as a meeting. It keeps its id unless a meeting already has it (importing a meeting
 * twice gives two meetings); a job that was still queued or running when exported comes in interrupted.
 * The meeting gets its own copy of the recording when one is at hand (so it can be played, resumed and
 * deleted on its own); a bundle from another machine comes in with its transcript and summary only.
 */
export async function importBundle(
  meetings: MeetingRepository,
  json: string,
  options: ImportOptions,
): Promise<MeetingRecord> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new SwitchboardError('INVALID_REQUEST', 'the file is not JSON; choose a meeting exported as JSON', {
      cause: error,
    });
  }
  const result = meetingBundleSchema.safeParse(parsed);
  if (!result.success) {
    throw new SwitchboardError(
      'INVALID_REQUEST',
      `the file is not a Switchboard meeting export: ${result.error.issues[0]?.message ?? 'unknown shape'}`,
    );
  }
  const { meeting, segments, summary } = result.data;
  const id = meetings.find(meeting.id) ? randomUUID() : meeting.id;
  const audioFile = await copyRecording(id, meeting.audioFile, options);
  const unfinished = meeting.status === 'queued' || meeting.status === 'running';
  const created = meetings.create({
    id,
    title: meeting.title,
    createdAt: meeting.createdAt,
    durationSeconds: meeting.durationSeconds,
    sourceFile: meeting.sourceFile,
    audioFile,
    language: meeting.language,
    status: unfinished ? 'interrupted' : meeting.status,
  });
  meetings.replaceSegments(created.id, segments);
  if (summary) meetings.saveSummary(created.id, summary);
  return meetings.update(created.id, {
    progress: meeting.status === 'done' ? 1 : 0,
    transcribedBy: meeting.transcribedBy ?? [],
  });
}

async function copyRecording(id: string, bundled: string | null, options: ImportOptions): Promise<string | null> {
  const source = options.audioPath ?? (bundled ? join(options.audioDir, basename(bundled)) : undefined);
  if (!source) return null;
  const audioFile = `${id}${extname(source).toLowerCase()}`;
  try {
    await mkdir(options.audioDir, { recursive: true });
    await copyFile(source, join(options.audioDir, audioFile));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!options.audioPath && code === 'ENOENT') return null;
    throw new SwitchboardError(
      'AUDIO_INVALID',
      `${source} cannot be read (${code ?? 'error'}); name the meeting's recording, or import without it`,
      { cause: error },
    );
  }
  return audioFile;
}

function timestamp(seconds: number, decimal: ',' | '.'): string {
  const millis = Math.max(0, Math.round(seconds * 1000));
  const hh = String(Math.floor(millis / 3_600_000)).padStart(2, '0');
  const mm = String(Math.floor((millis % 3_600_000) / 60_000)).padStart(2, '0');
  const ss = String(Math.floor((millis % 60_000) / 1000)).padStart(2, '0');
  return `${hh}:${mm}:${ss}${decimal}${String(millis % 1000).padStart(3, '0')}`;
}

// A blank line ends a subtitle cue, so a cue's text must fit on non-empty lines.
function cueText(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim() || '…';
}

function withSpeaker(segment: TranscriptSegment): string {
  return segment.speaker ? `${segment.speaker}: ${segment.text.trim()}` : segment.text.trim();
}

function toSrt({ segments }: MeetingDocument): string {
  return segments
    .map(
      (segment, i) =>
        `${i + 1}\n${timestamp(segment.start, ',')} --> ${timestamp(segment.end, ',')}\n${cueText(withSpeaker(segment))}\n`,
    )
    .join('\n');
}

function escapeVtt(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** Who transcribed and who summarised, one line each: every export says where the meeting's data went. */
function provenanceLines({ meeting, summary }: MeetingDocument): string[] {
  return [
    describeProvenance('Transcribed', meeting.transcribedBy),
    describeProvenance('Summarized', summary?.producedBy),
  ].filter((line): line is string => line !== undefined);
}

function toVtt(document: MeetingDocument): string {
  const { segments } = document;
  const cues = segments.map((segment) => {
    const text = escapeVtt(cueText(segment.text));
    const voiced = segment.speaker ? `<v ${escapeVtt(segment.speaker)}>${text}` : text;
    return `${timestamp(segment.start, '.')} --> ${timestamp(segment.end, '.')}\n${voiced}\n`;
  });
  // NOTE blocks are WebVTT's comments: players skip them.
  const notes = provenanceLines(document).map((line) => `NOTE ${line}\n`);
  return ['WEBVTT\n', ...notes, ...cues].join('\n');
}

function toTxt(document: MeetingDocument): string {
  const { meeting, segments } = document;
  const lines = segments.map((segment) => `[${formatClock(segment.start)}] ${withSpeaker(segment)}`);
  const provenance = provenanceLines(document);
  return `${meeting.title}\n${provenance.length > 0 ? `${provenance.join('\n')}\n` : ''}\n${lines.join('\n')}\n`;
}

/** A summary's sections in Markdown: Summary, Action items (with owners), Decisions. */
export function summaryMarkdown(summary: MeetingSummaryText): string {
  const parts = [`## Summary\n\n${summary.summary.trim()}`];
  if (summary.actionItems.length > 0) {
    const items = summary.actionItems.map((item) => `- [ ] ${item.text}${item.owner ? ` — ${item.owner}` : ''}`);
    parts.push(`## Action items\n\n${items.join('\n')}`);
  }
  if (summary.decisions.length > 0) parts.push(`## Decisions\n\n${summary.decisions.map((d) => `- ${d}`).join('\n')}`);
  return parts.join('\n\n');
}

function toMarkdown(document: MeetingDocument): string {
  const { meeting, segments, summary } = document;
  const facts = [`- Date: ${new Date(meeting.createdAt).toISOString().slice(0, 16).replace('T', ' ')} UTC`];
  if (meeting.durationSeconds !== null) facts.push(`- Duration: ${formatClock(meeting.durationSeconds)}`);
  if (meeting.language) facts.push(`- Language: ${meeting.language}`);
  if (meeting.sourceFile) facts.push(`- Recording: ${meeting.sourceFile}`);
  for (const line of provenanceLines(document)) facts.push(`- ${line}`);
  const parts = [`# ${meeting.title}`, facts.join('\n')];
  if (summary) parts.push(summaryMarkdown(summary));
  const lines = segments.map((segment) => `**[${formatClock(segment.start)}]** ${withSpeaker(segment)}`);
  parts.push(`## Transcript\n\n${lines.join('\n\n')}`);
  return `${parts.join('\n\n')}\n`;
}

const FORMATS: Record<
  ExportFormat,
  { extension: string; mimeType: string; render: (document: MeetingDocument) => string }
> = {
  md: { extension: 'md', mimeType: 'text/markdown', render: toMarkdown },
  txt: { extension: 'txt', mimeType: 'text/plain', render: toTxt },
  srt: { extension: 'srt', mimeType: 'application/x-subrip', render: toSrt },
  vtt: { extension: 'vtt', mimeType: 'text/vtt', render: toVtt },
  json: {
    extension: 'json',
    mimeType: 'application/json',
    render: (document) => `${JSON.stringify(toBundle(document), null, 2)}\n`,
  },
};

/** A file name from the title that is safe on every OS. */
function fileStem(title: string): string {
  return (
    title
      .normalize('NFKD')
      .replace(/[^\p{L}\p{N}]+/gu, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 80)
      .toLowerCase() || 'meeting'
  );
}

export function exportMeeting(document: MeetingDocument, format: ExportFormat): ExportFile {
  const spec = FORMATS[format];
  return {
    filename: `${fileStem(document.meeting.title)}.${spec.extension}`,
    mimeType: spec.mimeType,
    content: spec.render(document),
  };
}
