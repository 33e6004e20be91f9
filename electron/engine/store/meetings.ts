import { randomUUID } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import { z } from 'zod';
import type { MeetingStatus, MeetingSummary, MeetingSummaryText, Provenance } from '../contract/api.ts';
import { SwitchboardError } from '../contract/errors.ts';
import {
  SEGMENT_CHANNELS,
  type SegmentChannel,
  type TranscriptSegment,
  transcriptWordSchema,
} from '../contract/transcription.ts';
import { type Database, statementCache } from './database.ts';

export const MEETING_STATUSES = ['queued', 'running', 'done', 'failed', 'cancelled', 'interrupted'] as const;

const meetingRow = z.object({
  id: z.string(),
  title: z.string(),
  created_at: z.number(),
  duration_seconds: z.number().nullable(),
  source_file: z.string().nullable(),
  audio_file: z.string().nullable(),
  language: z.string().nullable(),
  status: z.enum(MEETING_STATUSES),
  progress: z.number(),
  error: z.string().nullable(),
  runner_pid: z.number().nullable(),
  channels: z.string().nullable().optional(),
  recording: z.number().optional(),
  transcribed_by: z.string().nullable(),
  cloud_consent: z.number(),
  consent_provider: z.string().nullable(),
});

const channelsSchema = z.array(z.enum(SEGMENT_CHANNELS));
const wordsSchema = z.array(transcriptWordSchema);

export const provenanceSchema = z.object({
  providerId: z.string(),
  providerLabel: z.string(),
  model: z.string(),
  onMachine: z.boolean(),
});

function parseProvenance(json: string | null): Provenance[] {
  return json === null ? [] : z.array(provenanceSchema).parse(JSON.parse(json));
}

/** Adds who did a piece of the work to who did the rest, once each. */
export function withProvenance(list: readonly Provenance[], next: Provenance): Provenance[] {
  const same = (p: Provenance) => p.providerId === next.providerId && p.model === next.model;
  return list.some(same) ? [...list] : [...list, next];
}

const segmentRow = z.object({
  idx: z.number(),
  start_seconds: z.number(),
  end_seconds: z.number(),
  text: z.string(),
  speaker: z.string().nullable(),
  confidence: z.number().nullable(),
  channel: z.enum(SEGMENT_CHANNELS).nullable().optional(),
  words: z.string().nullable().optional(),
});

export const actionItemSchema = z.object({ text: z.string(), owner: z.string().nullable() });

const summaryRow = z.object({
  model: z.string(),
  template: z.string(),
  summary: z.string(),
  action_items: z.string(),
  decisions: z.string(),
  created_at: z.number(),
  produced_by: z.string().nullable(),
});

/** A meeting as stored: what the UI shows plus where its audio copy lives. */
export interface MeetingRecord extends MeetingSummary {
  /** File name of the meeting's audio copy inside the data dir's audio folder. */
  audioFile: string | null;
  /** The process transcribing it, while it is `running`. */
  runnerPid: number | null;
  /** The user allowed a cloud provider for this meeting's job, once (the app's question answered yes). */
  cloudConsent: boolean;
}

export interface StoredSummary extends MeetingSummaryText {
  /** The prompt template the summary was made with. */
  template: string;
}

export interface NewMeeting {
  id?: string;
  title: string;
  createdAt?: number;
  sourceFile?: string | null;
  audioFile?: string | null;
  language?: string | null;
  status?: MeetingStatus;
  durationSeconds?: number | null;
  /** The channels of a two-channel call recording, in file order. */
  channels?: SegmentChannel[] | null;
  /** Its audio is still being recorded (a live recording). */
  recording?: boolean;
}

export type MeetingPatch = Partial<
  Pick<
    MeetingRecord,
    | 'title'
    | 'status'
    | 'progress'
    | 'durationSeconds'
    | 'language'
    | 'audioFile'
    | 'runnerPid'
    | 'recording'
    | 'transcribedBy'
    | 'cloudConsent'
  >
> & { error?: string | null; consentProviderId?: string | null };

const PATCH_COLUMNS: Record<keyof MeetingPatch, string> = {
  title: 'title',
  status: 'status',
  progress: 'progress',
  durationSeconds: 'duration_seconds',
  language: 'language',
  audioFile: 'audio_file',
  runnerPid: 'runner_pid',
  recording: 'recording',
  error: 'error',
  transcribedBy: 'transcribed_by',
  cloudConsent: 'cloud_consent',
  consentProviderId: 'consent_provider',
};

/** A patch value as SQLite stores it (lists as JSON, booleans as 0/1). */
function columnValue(value: unknown): unknown {
  if (Array.isArray(value)) return JSON.stringify(value);
  return typeof value === 'boolean' ? Number(value) : value;
}

function toRecord(raw: unknown): MeetingRecord {
  const row = meetingRow.parse(raw);
  const record: MeetingRecord = {
    id: row.id,
    title: row.title,
    createdAt: row.created_at,
    durationSeconds: row.duration_seconds,
    status: row.status,
    sourceFile: row.source_file,
    language: row.language,
    progress: row.progress,
    audioFile: row.audio_file,
    runnerPid: row.runner_pid,
    channels: row.channels ? channelsSchema.parse(JSON.parse(row.channels)) : null,
    recording: row.recording === 1,
    transcribedBy: parseProvenance(row.transcribed_by),
    cloudConsent: row.cloud_consent === 1,
  };
  if (row.error !== null) record.error = row.error;
  if (row.consent_provider !== null) record.consentProviderId = row.consent_provider;
  return record;
}

function toSegment(raw: unknown): TranscriptSegment {
  const row = segmentRow.parse(raw);
  return {
    index: row.idx,
    start: row.start_seconds,
    end: row.end_seconds,
    text: row.text,
    speaker: row.speaker,
    confidence: row.confidence,
    ...(row.channel ? { channel: row.channel } : {}),
    ...(row.words ? { words: wordsSchema.parse(JSON.parse(row.words)) } : {}),
  };
}

/** Strips the storage-only fields for the API. */
export function toMeetingSummary(record: MeetingRecord): MeetingSummary {
  const { audioFile: _audioFile, runnerPid: _runnerPid, cloudConsent: _consent, ...summary } = record;
  return summary;
}

/** Meetings, their transcript segments and their summary. */
export class MeetingRepository {
  private readonly db: Database;
  private readonly prepare: (sql: string) => Statement;

  constructor(db: Database) {
    this.db = db;
    this.prepare = statementCache(db);
  }

  create(meeting: NewMeeting): MeetingRecord {
    const id = meeting.id ?? randomUUID();
    this.prepare(
      `INSERT INTO meetings (id, title, created_at, duration_seconds, source_file, audio_file, language, status,
           channels, recording)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      id,
      meeting.title,
      meeting.createdAt ?? Date.now(),
      meeting.durationSeconds ?? null,
      meeting.sourceFile ?? null,
      meeting.audioFile ?? null,
      meeting.language ?? null,
      meeting.status ?? 'queued',
      meeting.channels ? JSON.stringify(meeting.channels) : null,
      meeting.recording ? 1 : 0,
    );
    return this.get(id);
  }

  find(id: string): MeetingRecord | undefined {
    const row = this.prepare('SELECT * FROM meetings WHERE id = ?').get(id);
    return row ? toRecord(row) : undefined;
  }

  get(id: string): MeetingRecord {
    const record = this.find(id);
    if (!record) throw new SwitchboardError('NOT_FOUND', `no meeting with id ${id}`);
    return record;
  }

  /** Newest first. */
  list(): MeetingRecord[] {
    return this.prepare('SELECT * FROM meetings ORDER BY created_at DESC, rowid DESC').all().map(toRecord);
  }

  /** Oldest first: the order the transcription queue takes them in. */
  withStatus(...statuses: MeetingStatus[]): MeetingRecord[] {
    const marks = statuses.map(() => '?').join(', ');
    return this.prepare(`SELECT * FROM meetings WHERE status IN (${marks}) ORDER BY created_at, rowid`)
      .all(...statuses)
      .map(toRecord);
  }

  update(id: string, patch: MeetingPatch): MeetingRecord {
    const entries = Object.entries(patch).filter(([, value]) => value !== undefined) as [keyof MeetingPatch, unknown][];
    if (entries.length > 0) {
      const assignments = entries.map(([key]) => `${PATCH_COLUMNS[key]} = @${key}`).join(', ');
      const result = this.prepare(`UPDATE meetings SET ${assignments} WHERE id = @id`).run({
        ...Object.fromEntries(entries.map(([key, value]) => [key, columnValue(value)])),
        id,
      });
      if (result.changes === 0) throw new SwitchboardError('NOT_FOUND', `no meeting with id ${id}`);
    }
    return this.get(id);
  }

  /**
   * Marks a queued job running in this process, unless another process took it first: the check and
   * the write are one statement, so two processes never run the same job.
   */
  claim(id: string, runnerPid: number): MeetingRecord | undefined {
    const result = this.prepare(
      `UPDATE meetings SET status = 'running', runner_pid = ?, error = NULL WHERE id = ? AND status = 'queued'`,
    ).run(runnerPid, id);
    return result.changes === 1 ? this.get(id) : undefined;
  }

  /** Sets every segment's speaker at once (by position in the transcript), in one transaction. */
  setSpeakers(meetingId: string, speakers: readonly (string | null)[]): void {
    this.db.transaction(() => {
      const set = this.prepare('UPDATE segments SET speaker = ? WHERE meeting_id = ? AND idx = ?');
      for (const [i, segment] of this.segments(meetingId).entries()) {
        set.run(speakers[i] ?? null, meetingId, segment.index);
      }
    })();
  }

  /** Renames a speaker throughout a meeting's transcript; naming two speakers alike merges them. */
  renameSpeaker(meetingId: string, speaker: string, name: string): number {
    this.get(meetingId);
    return this.prepare('UPDATE segments SET speaker = ? WHERE meeting_id = ? AND speaker = ?').run(
      name,
      meetingId,
      speaker,
    ).changes;
  }

  delete(id: string): void {
    const result = this.prepare('DELETE FROM meetings WHERE id = ?').run(id);
    if (result.changes === 0) throw new SwitchboardError('NOT_FOUND', `no meeting with id ${id}`);
  }

  /**
   * Appends one finished segment (and the job's progress) in one transaction: once this returns the
   * segment survives a crash of the process.
   */
  appendSegment(meetingId: string, segment: Omit<TranscriptSegment, 'index'>, progress?: number): TranscriptSegment {
    return this.db.transaction(() => {
      const next = this.prepare('SELECT coalesce(max(idx) + 1, 0) AS next FROM segments WHERE meeting_id = ?').get(
        meetingId,
      ) as { next: number };
      this.insertSegment(meetingId, { ...segment, index: next.next });
      if (progress !== undefined)
        this.prepare('UPDATE meetings SET progress = ? WHERE id = ?').run(progress, meetingId);
      return { ...segment, index: next.next };
    })();
  }

  /** Replaces a meeting's transcript in one transaction (imports, tests, benchmarks). */
  replaceSegments(meetingId: string, segments: readonly TranscriptSegment[]): void {
    this.db.transaction(() => {
      this.prepare('DELETE FROM segments WHERE meeting_id = ?').run(meetingId);
      for (const segment of segments) this.insertSegment(meetingId, segment);
    })();
  }

  private insertSegment(meetingId: string, segment: TranscriptSegment): void {
    this.prepare(
      `INSERT INTO segments (meeting_id, idx, start_seconds, end_seconds, text, speaker, confidence, channel, words)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      meetingId,
      segment.index,
      segment.start,
      segment.end,
      segment.text,
      segment.speaker ?? null,
      segment.confidence ?? null,
      segment.channel ?? null,
      segment.words ? JSON.stringify(segment.words) : null,
    );
  }

  /** In time order: a live recording's two channels finish their utterances out of order. */
  segments(meetingId: string): TranscriptSegment[] {
    return this.prepare('SELECT * FROM segments WHERE meeting_id = ? ORDER BY start_seconds, idx')
      .all(meetingId)
      .map(toSegment);
  }

  /** The segment that ends last (of one channel's, when given): where an interrupted transcription goes on. */
  lastSegment(meetingId: string, channel?: SegmentChannel): TranscriptSegment | undefined {
    const row = channel
      ? this.prepare(
          'SELECT * FROM segments WHERE meeting_id = ? AND channel = ? ORDER BY end_seconds DESC LIMIT 1',
        ).get(meetingId, channel)
      : this.prepare('SELECT * FROM segments WHERE meeting_id = ? ORDER BY end_seconds DESC LIMIT 1').get(meetingId);
    return row ? toSegment(row) : undefined;
  }

  saveSummary(meetingId: string, summary: StoredSummary): void {
    this.prepare(
      `INSERT INTO summaries (meeting_id, model, template, summary, action_items, decisions, created_at, produced_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (meeting_id) DO UPDATE SET model = excluded.model, template = excluded.template,
           summary = excluded.summary, action_items = excluded.action_items, decisions = excluded.decisions,
           created_at = excluded.created_at, produced_by = excluded.produced_by`,
    ).run(
      meetingId,
      summary.model,
      summary.template,
      summary.summary,
      JSON.stringify(summary.actionItems),
      JSON.stringify(summary.decisions),
      summary.createdAt,
      summary.producedBy ? JSON.stringify(summary.producedBy) : null,
    );
  }

  summary(meetingId: string): StoredSummary | null {
    const raw = this.prepare('SELECT * FROM summaries WHERE meeting_id = ?').get(meetingId);
    if (!raw) return null;
    const row = summaryRow.parse(raw);
    return {
      model: row.model,
      template: row.template,
      summary: row.summary,
      actionItems: z.array(actionItemSchema).parse(JSON.parse(row.action_items)),
      decisions: z.array(z.string()).parse(JSON.parse(row.decisions)),
      createdAt: row.created_at,
      producedBy: parseProvenance(row.produced_by),
    };
  }
}
