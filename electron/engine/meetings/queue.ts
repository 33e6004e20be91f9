import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { finishWav } from '../../../native/audio/index.ts';
import type { MeetingEvent, MeetingStatus, MeetingSummary } from '../contract/api.ts';
import { SwitchboardError } from '../contract/errors.ts';
import type { TranscriptionEvent, TranscriptionRequest, TranscriptSegment } from '../contract/transcription.ts';
import type { EngineTranscriptionEvent, RequestOptions } from '../engine.ts';
import { processIsAlive } from '../process-alive.ts';
import type { ConsentRequest } from '../routing/consent.ts';
import type { RouteInfo } from '../routing/types.ts';
import { type MeetingRecord, type MeetingRepository, toMeetingSummary, withProvenance } from '../store/meetings.ts';
import { makePrivate } from '../store/private-files.ts';
import { asSwitchboardError } from './errors.ts';
import { refineTranscript } from './refine.ts';

/**
 * The engine's transcribe (or a local transcriber): data events, and a `route` event saying who
 * transcribes, which the meeting keeps. `consent` carries the user's one-time yes for this job.
 */
export type TranscribeFn = (
  request: TranscriptionRequest,
  signal: AbortSignal,
  consent?: ConsentRequest,
) => AsyncIterable<TranscriptionEvent | { type: 'route'; route: RouteInfo }>;

/** The Engine's transcribe as a TranscribeFn, for meeting audio: cloud providers only with consent. */
export function transcribeThrough(engine: {
  transcribe(request: TranscriptionRequest, options: RequestOptions): AsyncIterable<EngineTranscriptionEvent>;
}): TranscribeFn {
  return (request, signal, consent) =>
    engine.transcribe(request, { signal, dataKind: 'meeting_audio', cloudConsent: consent?.cloudConsent });
}

export interface TranscriptionQueueOptions {
  meetings: MeetingRepository;
  transcribe: TranscribeFn;
  /** The data dir's audio folder: every queued file is copied here first. */
  audioDir: string;
  /** Jobs transcribed at once. Default 1: Whisper already uses every core it is given. */
  concurrency?: number;
  /**
   * A job found running at start was cut short by a crash: 'resume' (default) continues it from the end
   * of its last stored segment; 'mark' leaves it `interrupted` with its partial transcript.
   */
  onInterrupted?: 'resume' | 'mark';
  /**
   * Whether this queue also runs jobs other processes left queued in the database (the app: yes). A
   * one-shot CLI run says no, so it transcribes its own file and leaves the app's queue alone.
   */
  adoptStoredJobs?: boolean;
}

export interface EnqueueRequest {
  /** The audio file: copied into the audio folder (the original is left alone), or moved with `move`. */
  filePath: string;
  /**
   * The file is the app's own upload or recording: it is moved into the meeting's storage, so the
   * meeting holds the one copy and deleting the meeting deletes the audio.
   */
  move?: boolean;
  /** The name to show (an upload's original file name); default: the file's name. */
  sourceName?: string;
  title?: string;
  language?: string;
}

const TERMINAL: ReadonlySet<MeetingStatus> = new Set(['done', 'failed', 'cancelled', 'interrupted']);
// Progress is stored for the UI after a reload; a row write per whisper window would be wasted work.
const PROGRESS_WRITE_STEP = 0.01;

type StopReason = 'cancel' | 'shutdown';

interface RunningJob {
  controller: AbortController;
  stopReason?: StopReason;
  done: Promise<void>;
}

interface QueueEvents {
  event: [meetingId: string, event: MeetingEvent];
}

/**
 * Transcription jobs with their state in SQLite (a meeting's status), so the queue outlives the process.
 * Each finished segment is committed on its own, so a crash keeps everything transcribed up to it, and a
 * restarted queue picks the job up where it stopped.
 */
export class TranscriptionQueue extends EventEmitter<QueueEvents> {
  private readonly meetings: MeetingRepository;
  private readonly transcribe: TranscribeFn;
  /** The data dir's audio folder, where each meeting keeps its copy of its recording. */
  readonly audioDir: string;
  private readonly concurrency: number;
  private readonly onInterrupted: 'resume' | 'mark';
  private readonly adoptStoredJobs: boolean;
  private readonly ownJobs = new Set<string>();
  /** Jobs that are a final pass over a live recording (see refine()), not a transcription from the start. */
  private readonly refining = new Set<string>();
  private readonly running = new Map<string, RunningJob>();
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(options: TranscriptionQueueOptions) {
    super();
    this.meetings = options.meetings;
    this.transcribe = options.transcribe;
    this.audioDir = options.audioDir;
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.onInterrupted = options.onInterrupted ?? 'resume';
    this.adoptStoredJobs = options.adoptStoredJobs ?? true;
  }

  /** Where a meeting's stored audio is (for the player), if it has any. */
  audioPathOf(meetingId: string): string | undefined {
    const audioFile = this.meetings.find(meetingId)?.audioFile;
    return audioFile ? join(this.audioDir, audioFile) : undefined;
  }

  /** Recovers jobs a crash left running, then starts the queued ones. Call once after opening the store. */
  start(): void {
    this.recover();
    this.pump();
  }

  /**
   * Finds jobs whose process died mid-transcription (killed, crashed, the machine went down): a queue
   * that runs stored jobs and resumes queues them again; otherwise they become `interrupted`, their
   * transcript so far kept, until someone resumes them. Jobs another live process runs are left alone.
   * A live recording whose recorder died keeps its audio up to the crash: its file is finished, and the
   * rest of it transcribed like any interrupted job.
   */
  recover(): void {
    for (const meeting of this.meetings.withStatus('running')) {
      if (this.running.has(meeting.id) || runnerIsAlive(meeting.runnerPid)) continue;
      if (meeting.recording) {
        const file = this.audioPathOf(meeting.id);
        this.meetings.update(meeting.id, { recording: false, durationSeconds: file ? finishWav(file) : null });
      }
      if (this.adoptStoredJobs && this.onInterrupted === 'resume') this.setStatus(meeting.id, { status: 'queued' });
      else {
        const kept = this.meetings.lastSegment(meeting.id);
        this.setStatus(meeting.id, {
          status: 'interrupted',
          error: `Switchboard stopped while transcribing; the transcript up to ${formatClock(kept?.end ?? 0)} is kept. Resume it to finish: \`switchboard meetings resume ${meeting.id}\`, or Resume in the app.`,
        });
      }
    }
  }

  /** Puts the file into the audio folder, stores a queued meeting and starts it when a slot is free. */
  async enqueue(request: EnqueueRequest): Promise<MeetingSummary> {
    if (this.closed) throw new SwitchboardError('INVALID_REQUEST', 'the transcription queue is shut down');
    const id = randomUUID();
    const sourceName = request.sourceName ?? basename(request.filePath);
    const audioFile = `${id}${extname(sourceName).toLowerCase()}`;
    await mkdir(this.audioDir, { recursive: true, mode: 0o700 });
    try {
      await placeAudio(request.filePath, join(this.audioDir, audioFile), request.move ?? false);
    } catch (error) {
      throw new SwitchboardError(
        'AUDIO_INVALID',
        `${sourceName} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); choose an audio file`,
        { cause: error },
      );
    }
    const meeting = this.meetings.create({
      id,
      title: request.title?.trim() || sourceName.replace(/\.[^.]+$/, ''),
      sourceFile: sourceName,
      audioFile,
      language: request.language ?? null,
      status: 'queued',
    });
    this.ownJobs.add(id);
    this.emitStatus(meeting);
    this.pump();
    return toMeetingSummary(this.meetings.get(id));
  }

  /**
   * Queues an interrupted, failed or cancelled meeting again; it continues after its last segment.
   * `cloudConsent`: the user said yes to sending this one recording to a cloud provider.
   */
  retry(id: string, options: { cloudConsent?: boolean } = {}): MeetingSummary {
    const meeting = this.meetings.get(id);
    if (!TERMINAL.has(meeting.status) || meeting.status === 'done') {
      throw new SwitchboardError(
        'INVALID_REQUEST',
        `meeting ${id} is ${meeting.status}; only a stopped transcription can be retried`,
      );
    }
    const queued = this.setStatus(id, {
      status: 'queued',
      error: null,
      consentProviderId: null,
      cloudConsent: options.cloudConsent ?? false,
    });
    this.ownJobs.add(id);
    this.pump();
    return toMeetingSummary(queued);
  }

  /** Sends an event to everyone watching the meeting (a live recording's segments and status). */
  publish(meetingId: string, event: MeetingEvent): void {
    this.emit('event', meetingId, event);
  }

  /**
   * Queues the final pass over a finished live recording: the whole file is transcribed again, with the
   * context of whole windows, and replaces the live transcript wherever the model is more confident (see
   * refineTranscript). Interrupted, it is not redone: the live transcript stays.
   */
  refine(id: string): MeetingSummary {
    this.refining.add(id);
    this.ownJobs.add(id);
    const queued = this.setStatus(id, { status: 'queued', progress: 0 });
    this.pump();
    return toMeetingSummary(queued);
  }

  /** Marks a meeting done without another pass (a live recording whose transcript is final). */
  finish(id: string, patch: { durationSeconds?: number | null } = {}): MeetingSummary {
    return toMeetingSummary(this.setStatus(id, { status: 'done', progress: 1, ...patch }));
  }

  /** Stops a queued or running job; its transcript so far is kept. Resolves once it has stopped. */
  async cancel(id: string): Promise<MeetingSummary> {
    const job = this.running.get(id);
    if (job) {
      job.stopReason = 'cancel';
      job.controller.abort(new SwitchboardError('CANCELLED', 'the transcription was cancelled'));
      await job.done;
    } else if (this.meetings.get(id).status === 'queued') {
      this.setStatus(id, { status: 'cancelled' });
    }
    return toMeetingSummary(this.meetings.get(id));
  }

  /**
   * The answer to the consent question: yes queues the job again with consent for this recording only;
   * no keeps the recording on this machine and the meeting failed, with a message that says so.
   */
  answerConsent(id: string, allow: boolean): MeetingSummary {
    const meeting = this.meetings.get(id);
    if (!meeting.consentProviderId) {
      throw new SwitchboardError('INVALID_REQUEST', `meeting ${id} is not waiting for an answer about the cloud`);
    }
    if (allow) return this.retry(id, { cloudConsent: true });
    const reason = (meeting.error ?? '').replace(/^CONSENT_REQUIRED: /, '').split(/(?<=\.) /)[0] ?? '';
    return toMeetingSummary(
      this.setStatus(id, {
        status: 'failed',
        consentProviderId: null,
        error: `Not transcribed: you chose to keep this recording on this machine. ${reason}`.trim(),
      }),
    );
  }

  /** Stops every queued and running job (their transcripts so far are kept). */
  async cancelAll(): Promise<void> {
    for (const meeting of this.meetings.withStatus('queued', 'running')) await this.cancel(meeting.id);
  }

  /** Cancels the job if needed, then deletes the meeting and its audio copy. */
  async remove(id: string): Promise<void> {
    await this.cancel(id);
    const { audioFile } = this.meetings.get(id);
    this.meetings.delete(id);
    if (audioFile) await rm(join(this.audioDir, audioFile), { force: true });
  }

  /** The meeting's current status, then its live progress, segments and status until the job ends. */
  async *watch(id: string, signal?: AbortSignal): AsyncIterable<MeetingEvent> {
    const pending: MeetingEvent[] = [];
    let wake: (() => void) | undefined;
    const listener = (meetingId: string, event: MeetingEvent) => {
      if (meetingId !== id) return;
      pending.push(event);
      wake?.();
    };
    const onAbort = () => wake?.();
    this.on('event', listener);
    signal?.addEventListener('abort', onAbort);
    try {
      const current = toMeetingSummary(this.meetings.get(id));
      yield { type: 'status', meeting: current };
      if (TERMINAL.has(current.status)) return;
      while (!signal?.aborted) {
        const event = pending.shift();
        if (!event) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
          continue;
        }
        yield event;
        if (event.type === 'status' && TERMINAL.has(event.meeting.status)) return;
      }
    } finally {
      this.off('event', listener);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Resolves when no job is running or queued. */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops running jobs without losing them: they stay queued and resume after the next start. */
  async close(): Promise<void> {
    this.closed = true;
    const jobs = [...this.running.values()];
    for (const job of jobs) {
      job.stopReason = 'shutdown';
      job.controller.abort(new SwitchboardError('CANCELLED', 'Switchboard is shutting down'));
    }
    await Promise.all(jobs.map((job) => job.done));
  }

  private queuedJobs(): MeetingRecord[] {
    const queued = this.meetings.withStatus('queued');
    return this.adoptStoredJobs ? queued : queued.filter((meeting) => this.ownJobs.has(meeting.id));
  }

  private isIdle(): boolean {
    return this.running.size === 0 && (this.closed || this.queuedJobs().length === 0);
  }

  private pump(): void {
    if (!this.closed) {
      for (const meeting of this.queuedJobs()) {
        if (this.running.size >= this.concurrency) break;
        if (this.running.has(meeting.id)) continue;
        const controller = new AbortController();
        const job: RunningJob = { controller, done: Promise.resolve() };
        this.running.set(meeting.id, job);
        job.done = this.run(meeting, job).finally(() => {
          this.running.delete(meeting.id);
          this.pump();
        });
      }
    }
    if (this.isIdle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async run(queued: MeetingRecord, job: RunningJob): Promise<void> {
    // Another process (the app, `serve`, a CLI command) may have taken the job since it was listed.
    const meeting = this.meetings.claim(queued.id, process.pid);
    if (!meeting) return;
    this.emitStatus(meeting);
    const refining = this.refining.delete(meeting.id);
    const started = performance.now();
    let firstFraction: number | undefined;
    let storedProgress = meeting.progress;
    let progress = meeting.progress;
    // A call recorded as two channels is transcribed one channel at a time, each segment tagged with its side.
    const channels = meeting.channels ?? [undefined];
    const finalPass: Omit<TranscriptSegment, 'index'>[] = [];
    let finished: Extract<TranscriptionEvent, { type: 'done' }> | undefined;
    let route: RouteInfo | undefined;
    try {
      if (!meeting.audioFile)
        throw new SwitchboardError('AUDIO_INVALID', 'the meeting has no audio file to transcribe');
      for (const [c, channel] of channels.entries()) {
        const startAt = refining ? undefined : this.meetings.lastSegment(meeting.id, channel)?.end;
        const request: TranscriptionRequest = { filePath: join(this.audioDir, meeting.audioFile) };
        if (meeting.language) request.language = meeting.language;
        if (startAt !== undefined) request.startAt = startAt;
        if (channel) request.channel = c;
        finished = undefined;
        const consent = { cloudConsent: meeting.cloudConsent };
        for await (const event of this.transcribe(request, job.controller.signal, consent)) {
          if (event.type === 'route') route = event.route;
          else if (event.type === 'progress') {
            progress = Math.min(1, Math.max(0, (c + event.fraction) / channels.length));
            firstFraction ??= progress;
            const done = progress - firstFraction;
            const elapsed = (performance.now() - started) / 1000;
            const etaSeconds = done > 0 ? (elapsed * (1 - progress)) / done : null;
            if (progress - storedProgress >= PROGRESS_WRITE_STEP) {
              this.meetings.update(meeting.id, { progress });
              storedProgress = progress;
            }
            this.emit('event', meeting.id, { type: 'progress', fraction: progress, etaSeconds });
          } else if (event.type === 'segment') {
            // A resumed transcriber may repeat the segment it restarted inside; the stored one wins.
            if (startAt !== undefined && event.segment.end <= startAt) continue;
            const { index: _index, ...segment } = event.segment;
            if (channel) segment.channel = channel;
            if (refining) {
              finalPass.push(segment);
              continue;
            }
            const stored = this.meetings.appendSegment(meeting.id, segment, progress);
            storedProgress = progress;
            this.emit('event', meeting.id, { type: 'segment', segment: stored });
          } else finished = event;
        }
        // Read to the end rather than stopping at 'done': a transcription left unread counts as cancelled
        // in usage, and a finished one is a success.
        if (!finished) throw new SwitchboardError('BAD_RESPONSE', 'the transcriber stopped without finishing the file');
      }
      if (refining)
        this.meetings.replaceSegments(meeting.id, refineTranscript(this.meetings.segments(meeting.id), finalPass));
      this.setStatus(meeting.id, {
        status: 'done',
        progress: 1,
        durationSeconds: finished!.durationSeconds,
        language: meeting.language ?? finished!.language,
        // The consent was for this job: a later job asks again.
        cloudConsent: false,
        transcribedBy: route
          ? withProvenance(meeting.transcribedBy, {
              providerId: route.providerId,
              providerLabel: route.providerLabel,
              model: finished!.model,
              onMachine: route.onMachine,
            })
          : meeting.transcribedBy,
      });
    } catch (error) {
      if (job.stopReason === 'cancel') this.setStatus(meeting.id, { status: 'cancelled', cloudConsent: false });
      else if (job.stopReason === 'shutdown') this.setStatus(meeting.id, { status: 'queued' });
      else {
        // Errors name the file the transcriber read, the audio copy; the user knows the file they chose.
        const failure = asSwitchboardError(error);
        const message = failure.message;
        const named =
          meeting.audioFile && meeting.sourceFile ? message.replaceAll(meeting.audioFile, meeting.sourceFile) : message;
        this.setStatus(meeting.id, {
          status: 'failed',
          error: named,
          cloudConsent: false,
          // The app asks whether this recording may go to that provider; nothing was sent to it.
          consentProviderId: failure.code === 'CONSENT_REQUIRED' ? (failure.providerId ?? null) : null,
        });
      }
    }
  }

  private setStatus(
    id: string,
    patch: Parameters<MeetingRepository['update']>[1] & { status: Exclude<MeetingStatus, 'running'> },
  ): MeetingRecord {
    const meeting = this.meetings.update(id, { ...patch, runnerPid: null });
    this.emitStatus(meeting);
    return meeting;
  }

  private emitStatus(meeting: MeetingRecord): void {
    this.emit('event', meeting.id, { type: 'status', meeting: toMeetingSummary(meeting) });
  }
}

/** Whether the process that claimed a job still runs (signal 0 tests for it without sending anything). */
function runnerIsAlive(pid: number | null): boolean {
  return pid !== null && pid !== process.pid && processIsAlive(pid);
}

/** Moves (or copies) a recording into the audio folder, readable by its owner only. */
async function placeAudio(from: string, to: string, move: boolean): Promise<void> {
  if (move) {
    try {
      await rename(from, to);
    } catch (error) {
      // Another file system (an uploads folder elsewhere): copy, then remove the original.
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      await copyFile(from, to);
      await rm(from, { force: true });
    }
  } else await copyFile(from, to);
  makePrivate(to);
}

/** 75.4 → "1:15". */
export function formatClock(seconds: number): string {
  const whole = Math.floor(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const secs = String(whole % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${secs}` : `${minutes}:${secs}`;
}
