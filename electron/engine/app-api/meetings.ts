import { basename } from 'node:path';
import type { z } from 'zod';
import type {
  apiInputs,
  ExportFile,
  MeetingEvent,
  MeetingSummary,
  MeetingSummaryText,
  MeetingView,
  SummaryTemplateView,
} from '../contract/api.ts';
import { SwitchboardError } from '../contract/errors.ts';
import { exportMeeting, importBundle, loadMeetingDocument } from '../meetings/export.ts';
import type { LiveRecordings } from '../meetings/live.ts';
import type { TranscriptionQueue } from '../meetings/queue.ts';
import { findSpeakers, type SpeakerDiarizer } from '../meetings/speakers.ts';
import { type ChatFn, type MeetingSummarizer, summarizeMeeting } from '../meetings/summarize.ts';
import { type MeetingRecord, toMeetingSummary } from '../store/meetings.ts';
import type { Store } from '../store/store.ts';

type Input<M extends keyof typeof apiInputs> = z.output<(typeof apiInputs)[M]>;
interface HandlerContext {
  signal: AbortSignal;
}

export interface MeetingsApiDeps {
  store: Pick<Store, 'meetings' | 'templates'>;
  queue: TranscriptionQueue;
  /** Meetings being recorded live. */
  live: LiveRecordings;
  /** The Engine's chat, for summaries (profile `summarize`, local first). */
  chat: ChatFn;
  /** The file an upload id names (server/uploads.ts resolveUpload, bound to the uploads folder). */
  resolveUpload: (uploadId: string) => string;
  /** Where the player loads a meeting's audio: HTTP in browser mode, the app protocol in Electron. */
  audioUrl?: (meeting: MeetingRecord) => string | null;
  /** Finds who spoke when in a recording (native/diarization). */
  diarizer: SpeakerDiarizer;
  /** Engine.chatTarget: the model a summary goes to and its real context (longer transcripts are map-reduced). */
  chatTarget: MeetingSummarizer['chatTarget'];
}

function withoutTemplate(summary: MeetingSummaryText & { template?: string }): MeetingSummaryText {
  const { template: _template, ...text } = summary;
  return text;
}

/** 16-bit samples from their base64 (a copy: Int16Array needs an aligned buffer). */
function pcmOf(base64: string): Int16Array {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length % 2 !== 0) {
    throw new SwitchboardError('INVALID_REQUEST', 'pcm: send whole 16-bit samples (an even number of bytes)', {
      retryable: false,
    });
  }
  const samples = new Int16Array(bytes.length / 2);
  new Uint8Array(samples.buffer).set(bytes);
  return samples;
}

/** Handlers for meetings.* (contract/api.ts): transcription jobs, transcripts, summaries, exports. */
export function createMeetingsHandlers(deps: MeetingsApiDeps) {
  const { store, queue } = deps;
  const viewOf = (id: string): MeetingView => {
    const { meeting, segments, summary } = loadMeetingDocument(store.meetings, id);
    return {
      ...toMeetingSummary(meeting),
      segments,
      summary: summary ? withoutTemplate(summary) : null,
      audioUrl: meeting.audioFile ? (deps.audioUrl?.(meeting) ?? null) : null,
    };
  };

  return {
    'meetings.list': async (_input: Input<'meetings.list'>): Promise<MeetingSummary[]> =>
      store.meetings.list().map(toMeetingSummary),

    'meetings.get': async (input: Input<'meetings.get'>): Promise<MeetingView> => viewOf(input.id),

    'meetings.rename': async (input: Input<'meetings.rename'>): Promise<MeetingSummary> =>
      toMeetingSummary(store.meetings.update(input.id, { title: input.title })),

    'meetings.delete': async (input: Input<'meetings.delete'>): Promise<{ ok: true }> => {
      await deps.live.discard(input.id);
      await queue.remove(input.id);
      return { ok: true };
    },

    'meetings.transcribe': async (input: Input<'meetings.transcribe'>): Promise<MeetingSummary> => {
      const filePath = deps.resolveUpload(input.uploadId);
      return queue.enqueue({
        filePath,
        move: true,
        sourceName: basename(filePath),
        title: input.title,
        language: input.language,
      });
    },

    'meetings.watch': (input: Input<'meetings.watch'>, ctx: HandlerContext): AsyncIterable<MeetingEvent> =>
      queue.watch(input.id, ctx.signal),

    'meetings.record': async (input: Input<'meetings.record'>): Promise<MeetingSummary> => deps.live.start(input),

    'meetings.recordAudio': async (input: Input<'meetings.recordAudio'>): Promise<{ seconds: number }> =>
      deps.live.append(input.id, input.seq, pcmOf(input.pcm)),

    'meetings.stopRecording': async (input: Input<'meetings.stopRecording'>): Promise<MeetingSummary> =>
      deps.live.stop(input.id, { refine: input.refine }),

    // Cancelling a recording stops it where it is, without the final pass.
    'meetings.cancel': async (input: Input<'meetings.cancel'>): Promise<MeetingSummary> =>
      deps.live.isRecording(input.id) ? deps.live.stop(input.id, { refine: false }) : queue.cancel(input.id),

    'meetings.retry': async (input: Input<'meetings.retry'>): Promise<MeetingSummary> => queue.retry(input.id),

    'meetings.import': async (input: Input<'meetings.import'>): Promise<MeetingSummary> =>
      toMeetingSummary(await importBundle(store.meetings, input.content, { audioDir: queue.audioDir })),

    'meetings.answerConsent': async (input: Input<'meetings.answerConsent'>): Promise<MeetingSummary> =>
      queue.answerConsent(input.id, input.allow),

    'meetings.summarize': async (
      input: Input<'meetings.summarize'>,
      ctx: HandlerContext,
    ): Promise<MeetingSummaryText> =>
      withoutTemplate(
        await summarizeMeeting(
          { store, chat: deps.chat, chatTarget: deps.chatTarget },
          { ...input, signal: ctx.signal },
        ),
      ),

    'meetings.findSpeakers': async (
      input: Input<'meetings.findSpeakers'>,
      ctx: HandlerContext,
    ): Promise<MeetingView> => {
      await findSpeakers(
        { meetings: store.meetings, diarizer: deps.diarizer, audioPathOf: (id) => queue.audioPathOf(id) },
        input.id,
        { speakers: input.speakers, signal: ctx.signal },
      );
      return viewOf(input.id);
    },

    'meetings.renameSpeaker': async (input: Input<'meetings.renameSpeaker'>): Promise<MeetingView> => {
      store.meetings.renameSpeaker(input.id, input.speaker, input.name.trim());
      return viewOf(input.id);
    },

    'templates.list': async (_input: Input<'templates.list'>): Promise<SummaryTemplateView[]> =>
      store.templates.list().map(({ id, name, builtin }) => ({ id, name, builtin })),

    'meetings.export': async (input: Input<'meetings.export'>): Promise<ExportFile> =>
      exportMeeting(loadMeetingDocument(store.meetings, input.id), input.format),
  };
}
