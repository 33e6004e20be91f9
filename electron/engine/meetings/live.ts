import { randomUUID } from 'node:crypto';
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { finishWav, WAV_HEADER_BYTES, wavHeader } from '../../../native/audio/index.ts';
import { type Span, VoiceActivityDetector } from '../../../native/vad/index.ts';
import type { MeetingSummary } from '../contract/api.ts';
import { SwitchboardError } from '../contract/errors.ts';
import type { SegmentChannel, TranscriptionRequest } from '../contract/transcription.ts';
import { type MeetingRepository, toMeetingSummary } from '../store/meetings.ts';
import { asSwitchboardError } from './errors.ts';
import type { TranscribeFn, TranscriptionQueue } from './queue.ts';

/** Live audio arrives as 16-bit PCM at 16 kHz (what Whisper and Silero hear), channels interleaved. */
export const LIVE_SAMPLE_RATE = 16_000;
/** Utterances waiting together are transcribed as one window, up to Whisper's 30 s (less its margin). */
const MAX_BATCH_SECONDS = 29;
/** Words of the previous text on a channel that prime the decoder for the next utterance. */
const PROMPT_CHARACTERS = 200;

export interface StartRecording {
  title?: string;
  language?: string;
  /** 1: the microphone; 2: the microphone ("me") and the system audio ("them"), interleaved in that order. */
  channels?: 1 | 2;
}

export interface LiveRecordingsOptions {
  meetings: MeetingRepository;
  transcribe: TranscribeFn;
  queue: TranscriptionQueue;
  /** The data dir's audio folder: the recording is written there as it arrives, owned by its meeting. */
  audioDir: string;
}

interface Pending {
  channel: number;
  span: Span;
}

interface Session {
  id: string;
  file: FileHandle;
  path: string;
  channels: (SegmentChannel | undefined)[];
  /** Frames (samples per channel) written so far. */
  frames: number;
  nextSeq: number;
  vads: VoiceActivityDetector[];
  pending: Pending[];
  /** The running transcription loop, while there is one. */
  draining?: Promise<void>;
  /** Appends run one after another, in order. */
  appending: Promise<unknown>;
  language?: string;
  /** The latest text per channel, to prime the decoder (names, the topic) for the next utterance. */
  context: string[];
  controller: AbortController;
}

/**
 * Meetings recorded live: the audio arrives in chunks (the app's recorder, `switchboard record`,
 * `switchboard transcribe --live`), is appended to the meeting's own WAV file at once — a crash loses at
 * most the chunk in flight, and the next start transcribes what was kept — and is cut into utterances by
 * Silero VAD as it arrives; each utterance is transcribed as soon as it ends, and its segments reach
 * every watcher of the meeting (TranscriptionQueue.watch) while the recording goes on. After Stop, a
 * final pass over the whole file refines the live transcript (TranscriptionQueue.refine).
 */
export class LiveRecordings {
  private readonly meetings: MeetingRepository;
  private readonly transcribe: TranscribeFn;
  private readonly queue: TranscriptionQueue;
  private readonly audioDir: string;
  private readonly sessions = new Map<string, Session>();

  constructor(options: LiveRecordingsOptions) {
    this.meetings = options.meetings;
    this.transcribe = options.transcribe;
    this.queue = options.queue;
    this.audioDir = options.audioDir;
  }

  isRecording(id: string): boolean {
    return this.sessions.has(id);
  }

  /** Creates the meeting and its audio file; chunks then go to append(). */
  async start(options: StartRecording = {}): Promise<MeetingSummary> {
    const id = randomUUID();
    const channels: (SegmentChannel | undefined)[] = options.channels === 2 ? ['me', 'them'] : [undefined];
    await mkdir(this.audioDir, { recursive: true });
    const audioFile = `${id}.wav`;
    const path = join(this.audioDir, audioFile);
    const file = await open(path, 'wx', 0o600);
    const vads: VoiceActivityDetector[] = [];
    try {
      await file.write(wavHeader(channels.length, LIVE_SAMPLE_RATE), 0, WAV_HEADER_BYTES, 0);
      for (const _ of channels) vads.push(await VoiceActivityDetector.create());
    } catch (error) {
      await Promise.all(vads.map((vad) => vad.close()));
      await file.close();
      throw error;
    }
    const startedAt = new Date();
    const meeting = this.meetings.create({
      id,
      title: options.title?.trim() || `Recording ${startedAt.toISOString().slice(0, 16).replace('T', ' ')}`,
      createdAt: startedAt.getTime(),
      audioFile,
      language: options.language ?? null,
      status: 'running',
      channels: options.channels === 2 ? ['me', 'them'] : null,
      recording: true,
    });
    // This process records it: another one starting meanwhile leaves it alone (TranscriptionQueue.recover).
    this.meetings.update(id, { runnerPid: process.pid });
    this.sessions.set(id, {
      id,
      file,
      path,
      channels,
      frames: 0,
      nextSeq: 0,
      vads,
      pending: [],
      appending: Promise.resolve(),
      ...(options.language ? { language: options.language } : {}),
      context: channels.map(() => ''),
      controller: new AbortController(),
    });
    const summary = toMeetingSummary(meeting);
    this.queue.publish(id, { type: 'status', meeting: summary });
    return summary;
  }

  /**
   * Appends chunk number `seq` (from 0; interleaved 16-bit samples): written to disk before this resolves.
   * A chunk sent again (a retry) is acknowledged without writing it twice; one that skips ahead is refused.
   */
  append(id: string, seq: number, pcm: Int16Array): Promise<{ seconds: number }> {
    const session = this.session(id);
    const run = session.appending.then(() => this.write(session, seq, pcm));
    session.appending = run.catch(() => undefined);
    return run;
  }

  /**
   * Ends the recording: the last utterance is cut, the file finished, and once every utterance is
   * transcribed the final pass is queued (`refine`, default) or the meeting is done.
   */
  async stop(id: string, options: { refine?: boolean } = {}): Promise<MeetingSummary> {
    const session = this.session(id);
    this.sessions.delete(id);
    await session.appending;
    for (const [channel, vad] of session.vads.entries()) {
      for (const span of await vad.flush()) session.pending.push({ channel, span });
    }
    await session.file.close();
    const durationSeconds = finishWav(session.path);
    const meeting = this.meetings.update(id, { recording: false, durationSeconds });
    this.queue.publish(id, { type: 'status', meeting: toMeetingSummary(meeting) });
    this.kick(session);
    void (session.draining ?? Promise.resolve())
      .then(async () => {
        await Promise.all(session.vads.map((vad) => vad.close()));
        if (session.controller.signal.aborted) return;
        if (options.refine ?? true) this.queue.refine(id);
        else this.queue.finish(id, { durationSeconds });
      })
      .catch(() => undefined);
    return toMeetingSummary(meeting);
  }

  /** Stops the recording without a final pass or waiting for its transcription (the meeting is being deleted). */
  async discard(id: string): Promise<void> {
    const session = this.sessions.get(id);
    if (!session) return;
    session.controller.abort();
    await this.stop(id, { refine: false });
    await session.draining;
  }

  /**
   * Shutting down: every recording is closed with what has arrived, and left to the next start, which
   * transcribes the rest of it (as after a crash, but with a finished file).
   */
  async close(): Promise<void> {
    await Promise.all(
      [...this.sessions.values()].map(async (session) => {
        this.sessions.delete(session.id);
        session.controller.abort();
        await session.appending;
        await session.file.close();
        const durationSeconds = finishWav(session.path);
        await session.draining;
        await Promise.all(session.vads.map((vad) => vad.close()));
        this.meetings.update(session.id, { recording: false, durationSeconds, status: 'queued', runnerPid: null });
      }),
    );
  }

  private session(id: string): Session {
    const session = this.sessions.get(id);
    if (!session) {
      const meeting = this.meetings.get(id);
      throw new SwitchboardError(
        'INVALID_REQUEST',
        `meeting ${id} is not being recorded (${meeting.status}); start a new recording`,
        { retryable: false },
      );
    }
    return session;
  }

  private async write(session: Session, seq: number, pcm: Int16Array): Promise<{ seconds: number }> {
    const channels = session.channels.length;
    if (seq < session.nextSeq) return { seconds: session.frames / LIVE_SAMPLE_RATE };
    if (seq > session.nextSeq) {
      throw new SwitchboardError(
        'INVALID_REQUEST',
        `audio chunk ${seq} arrived before chunk ${session.nextSeq}; send the chunks in order`,
        { retryable: false },
      );
    }
    if (pcm.length % channels !== 0) {
      throw new SwitchboardError(
        'INVALID_REQUEST',
        `an audio chunk of a ${channels}-channel recording holds whole frames (${channels} samples each)`,
        { retryable: false },
      );
    }
    const bytes = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    const position = WAV_HEADER_BYTES + session.frames * channels * 2;
    await session.file.write(bytes, 0, bytes.length, position);
    session.frames += pcm.length / channels;
    session.nextSeq++;
    const frames = pcm.length / channels;
    for (const [channel, vad] of session.vads.entries()) {
      const samples = new Float32Array(frames);
      for (let i = 0; i < frames; i++) samples[i] = pcm[i * channels + channel]! / 32768;
      for (const span of await vad.push(samples)) session.pending.push({ channel, span });
    }
    this.kick(session);
    return { seconds: session.frames / LIVE_SAMPLE_RATE };
  }

  /** Transcribes the utterances as they end, one window at a time, until none is waiting. */
  private kick(session: Session): void {
    if (session.draining || session.pending.length === 0 || session.controller.signal.aborted) return;
    session.draining = (async () => {
      try {
        while (session.pending.length > 0 && !session.controller.signal.aborted) {
          // Utterances that piled up while the last one was transcribed go together, one encoder pass.
          const first = session.pending.shift()!;
          let end = first.span.end;
          while (
            session.pending[0]?.channel === first.channel &&
            session.pending[0].span.end - first.span.start <= MAX_BATCH_SECONDS
          ) {
            end = session.pending.shift()!.span.end;
          }
          await this.transcribeStretch(session, first.channel, { start: first.span.start, end });
        }
      } finally {
        session.draining = undefined;
      }
    })();
  }

  private async transcribeStretch(session: Session, channel: number, span: Span): Promise<void> {
    const label = session.channels[channel];
    const request: TranscriptionRequest = { filePath: session.path, startAt: span.start, endAt: span.end };
    if (label) request.channel = channel;
    if (session.language) request.language = session.language;
    if (session.context[channel]) request.prompt = session.context[channel];
    try {
      for await (const event of this.transcribe(request, session.controller.signal)) {
        if (event.type === 'segment') {
          const { index: _index, ...segment } = event.segment;
          if (label) segment.channel = label;
          const stored = this.meetings.appendSegment(session.id, segment);
          session.context[channel] = `${session.context[channel]} ${segment.text}`.slice(-PROMPT_CHARACTERS);
          this.queue.publish(session.id, { type: 'segment', segment: stored });
        } else if (event.type === 'done' && !session.language) {
          // The first utterance decides the language for the rest (a multilingual model detects it once).
          session.language = event.language;
          this.meetings.update(session.id, { language: event.language });
        }
      }
    } catch (error) {
      if (session.controller.signal.aborted) return;
      // One utterance that fails is skipped, not the recording: the final pass gets another go at it.
      const message = asSwitchboardError(error).message;
      const meeting = this.meetings.update(session.id, {
        error: `the words at ${Math.round(span.start)} s could not be transcribed live (${message})`,
      });
      this.queue.publish(session.id, { type: 'status', meeting: toMeetingSummary(meeting) });
    }
  }
}
