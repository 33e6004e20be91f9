import { create } from 'zustand';
import type { ExportFormat, MeetingSummary, MeetingView, SearchHit, SummaryTemplateView } from '#contract/api.ts';
import { ApiError } from '#contract/api-error.ts';
import type { TranscriptSegment } from '#contract/transcription.ts';
import { api, isDesktop } from '../api/client.ts';
import { downloadText } from '../lib/download.ts';
import { type ShownError, toShownError } from '../lib/errors.ts';
import { CaptureError, type LiveCapture, pcmBase64, startCapture } from '../lib/live-capture.ts';

export interface JobProgress {
  fraction: number;
  etaSeconds: number | null;
}

/** The recording this window is making: its meeting, when it started, and what has reached the engine. */
export interface ActiveRecording {
  id: string;
  startedAt: number;
  channels: 1 | 2;
  /** Seconds of audio stored so far. */
  storedSeconds: number;
}

interface MeetingsState {
  meetings: MeetingSummary[];
  activeId: string | null;
  active: MeetingView | null;
  /** Live progress of the active meeting while it transcribes. */
  progress: JobProgress | null;
  /** A file on its way to the engine (upload, then the job is queued). */
  uploading: string | null;
  recording: ActiveRecording | null;
  /** Why the last recording could not start or stopped early. */
  recordingError: string | null;
  summarizing: boolean;
  /** The summary of this meeting needs the cloud: the provider the question names, until answered. */
  summaryConsent: { meetingId: string; providerId: string; reason: string } | null;
  searchQuery: string;
  searchHits: SearchHit[] | null;
  /** Seconds the player should jump to once the active meeting shows (a search hit). */
  seekTo: number | null;
  error: ShownError | null;
  load(): Promise<void>;
  open(id: string | null, seekTo?: number): Promise<void>;
  transcribe(file: Blob, filename: string, title?: string): Promise<void>;
  /** Records live: the meeting opens at once and its transcript grows as people speak. */
  startRecording(options: { call: boolean }): Promise<void>;
  stopRecording(): Promise<void>;
  rename(id: string, title: string): Promise<void>;
  remove(id: string): Promise<void>;
  cancel(id: string): Promise<void>;
  /** Continues a cancelled, failed or interrupted transcription after its last kept segment. */
  retry(id: string): Promise<void>;
  /** Reads back a meeting exported as JSON and opens it. */
  importBundle(file: Blob): Promise<void>;
  /**
   * Summarises with a stored template (its id), or the built-in one. `allowCloud`: the user said yes to
   * sending this transcript to the provider the consent question named, once.
   */
  summarize(id: string, templateId?: string, allowCloud?: boolean): Promise<void>;
  /** Finds who spoke when in the meeting's recording; the transcript then shows Speaker 1, 2, … */
  findSpeakers(id: string): Promise<void>;
  findingSpeakers: boolean;
  /** Renames a speaker throughout one meeting. */
  renameSpeaker(id: string, speaker: string, name: string): Promise<void>;
  /** The stored summary templates, for the picker. */
  templates: SummaryTemplateView[];
  loadTemplates(): Promise<void>;
  /** The answer to "send this recording to <provider>?". */
  answerConsent(id: string, allow: boolean): Promise<void>;
  declineSummaryConsent(): void;
  exportAs(id: string, format: ExportFormat): Promise<void>;
  search(query: string): Promise<void>;
  clearError(): void;
  consumeSeek(): void;
}

let watching: AbortController | null = null;
let capture: LiveCapture | null = null;
/** Whether every captured chunk has reached the engine (the recording's sender is idle). */
let chunksSent: () => boolean = () => true;

function upsert(list: MeetingSummary[], meeting: MeetingSummary): MeetingSummary[] {
  const others = list.filter((m) => m.id !== meeting.id);
  return [meeting, ...others].sort((a, b) => b.createdAt - a.createdAt);
}

function addSegment(segments: TranscriptSegment[], segment: TranscriptSegment): TranscriptSegment[] {
  return [...segments.filter((s) => s.index !== segment.index), segment].sort((a, b) => a.start - b.start);
}

const isFinished = (status: MeetingSummary['status']) => status !== 'queued' && status !== 'running';

export const useMeetings = create<MeetingsState>((set, get) => {
  /** Follows a running job: status, progress and segments as they come; reloads the meeting when it ends. */
  async function watch(id: string): Promise<void> {
    watching?.abort();
    const controller = new AbortController();
    watching = controller;
    try {
      for await (const event of api.stream('meetings.watch', { id }, controller.signal)) {
        if (get().activeId !== id) break;
        if (event.type === 'progress') {
          // The list shows the same progress as the open meeting.
          set((state) => ({
            progress: { fraction: event.fraction, etaSeconds: event.etaSeconds },
            meetings: state.meetings.map((m) => (m.id === id ? { ...m, progress: event.fraction } : m)),
          }));
        } else if (event.type === 'segment') {
          set((state) =>
            state.active
              ? { active: { ...state.active, segments: addSegment(state.active.segments, event.segment) } }
              : {},
          );
        } else {
          const meeting = event.meeting;
          set((state) => ({
            meetings: upsert(state.meetings, meeting),
            active: state.active ? { ...state.active, ...meeting } : state.active,
          }));
          if (isFinished(meeting.status)) break;
        }
      }
    } catch (error) {
      if (!controller.signal.aborted) set({ error: toShownError(error) });
    } finally {
      if (watching === controller) watching = null;
    }
    if (!controller.signal.aborted && get().activeId === id) {
      set({ progress: null });
      await refresh(id);
    }
  }

  async function refresh(id: string): Promise<void> {
    try {
      const meeting = await api.call('meetings.get', { id });
      if (get().activeId !== id) return;
      set((state) => ({ active: meeting, meetings: upsert(state.meetings, meeting) }));
    } catch (error) {
      set({ error: toShownError(error) });
    }
  }

  return {
    meetings: [],
    activeId: null,
    active: null,
    progress: null,
    uploading: null,
    recording: null,
    recordingError: null,
    summarizing: false,
    findingSpeakers: false,
    templates: [],
    summaryConsent: null,
    searchQuery: '',
    searchHits: null,
    seekTo: null,
    error: null,

    async load() {
      try {
        set({ meetings: await api.call('meetings.list', {}) });
      } catch (error) {
        set({ error: toShownError(error) });
      }
    },

    async open(id, seekTo) {
      watching?.abort();
      set({ activeId: id, active: null, progress: null, seekTo: seekTo ?? null, error: null });
      if (id === null) return;
      await refresh(id);
      const meeting = get().active;
      if (meeting && meeting.id === id && !isFinished(meeting.status)) {
        set({ progress: { fraction: meeting.progress, etaSeconds: null } });
        void watch(id);
      }
    },

    async transcribe(file, filename, title) {
      set({ uploading: filename, error: null });
      try {
        const { uploadId } = await api.upload(file, filename);
        const meeting = await api.call('meetings.transcribe', { uploadId, ...(title ? { title } : {}) });
        set((state) => ({ meetings: upsert(state.meetings, meeting) }));
        await get().open(meeting.id);
      } catch (error) {
        set({ error: toShownError(error) });
      } finally {
        set({ uploading: null });
      }
    },

    async startRecording({ call }) {
      if (get().recording) return;
      set({ recordingError: null, error: null });
      // Chunks go to the engine one call at a time, in order; ones captured meanwhile wait and go together.
      const queue: Int16Array[] = [];
      let sending = false;
      let seq = 0;
      let meetingId: string | null = null;
      let failed = false;
      const send = async () => {
        if (sending || failed || !meetingId) return;
        sending = true;
        try {
          while (queue.length > 0) {
            const batch = queue.splice(0, queue.length);
            const pcm = new Int16Array(batch.reduce((n, chunk) => n + chunk.length, 0));
            let at = 0;
            for (const chunk of batch) {
              pcm.set(chunk, at);
              at += chunk.length;
            }
            const { seconds } = await api.call('meetings.recordAudio', { id: meetingId, seq, pcm: pcmBase64(pcm) });
            seq++;
            set((state) => (state.recording ? { recording: { ...state.recording, storedSeconds: seconds } } : {}));
          }
        } catch (error) {
          // The engine stopped taking audio (it was restarted, say): what it stored is kept and transcribed.
          failed = true;
          capture?.stop();
          capture = null;
          const stored = get().recording?.storedSeconds ?? 0;
          set({
            recording: null,
            recordingError: `The recording stopped: ${toShownError(error).message} What was recorded up to ${Math.floor(stored / 60)}:${String(Math.floor(stored % 60)).padStart(2, '0')} is kept.`,
          });
        } finally {
          sending = false;
        }
        if (queue.length > 0 && !failed) void send();
      };
      chunksSent = () => failed || (!sending && queue.length === 0);
      try {
        capture = await startCapture({
          call,
          desktop: isDesktop,
          onChunk: (pcm) => {
            queue.push(pcm);
            void send();
          },
        });
        const meeting = await api.call('meetings.record', { channels: capture.channels });
        meetingId = meeting.id;
        set((state) => ({
          meetings: upsert(state.meetings, meeting),
          recording: { id: meeting.id, startedAt: Date.now(), channels: capture!.channels, storedSeconds: 0 },
        }));
        void send();
        await get().open(meeting.id);
      } catch (error) {
        capture?.stop();
        capture = null;
        set({ recordingError: error instanceof CaptureError ? error.message : toShownError(error).message });
      }
    },

    async stopRecording() {
      const recording = get().recording;
      if (!recording) return;
      capture?.stop();
      capture = null;
      // Let the last chunks reach the engine before it closes the file.
      const deadline = Date.now() + 5_000;
      while (Date.now() < deadline && get().recording && !chunksSent()) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      set({ recording: null });
      try {
        const meeting = await api.call('meetings.stopRecording', { id: recording.id });
        set((state) => ({
          meetings: upsert(state.meetings, meeting),
          active: state.active?.id === meeting.id ? { ...state.active, ...meeting } : state.active,
        }));
      } catch (error) {
        set({ error: toShownError(error) });
      }
    },

    async rename(id, title) {
      try {
        const meeting = await api.call('meetings.rename', { id, title });
        set((state) => ({
          meetings: upsert(state.meetings, meeting),
          active: state.active?.id === id ? { ...state.active, title: meeting.title } : state.active,
        }));
      } catch (error) {
        set({ error: toShownError(error) });
      }
    },

    async remove(id) {
      try {
        await api.call('meetings.delete', { id });
        if (get().activeId === id) await get().open(null);
        set((state) => ({ meetings: state.meetings.filter((m) => m.id !== id) }));
      } catch (error) {
        set({ error: toShownError(error) });
      }
    },

    async cancel(id) {
      try {
        const meeting = await api.call('meetings.cancel', { id });
        set((state) => ({ meetings: upsert(state.meetings, meeting) }));
      } catch (error) {
        set({ error: toShownError(error) });
      }
    },

    async retry(id) {
      try {
        const meeting = await api.call('meetings.retry', { id });
        set((state) => ({ meetings: upsert(state.meetings, meeting) }));
        await get().open(id);
      } catch (error) {
        set({ error: toShownError(error) });
      }
    },

    async importBundle(file) {
      set({ error: null });
      try {
        const meeting = await api.call('meetings.import', { content: await file.text() });
        set((state) => ({ meetings: upsert(state.meetings, meeting) }));
        await get().open(meeting.id);
      } catch (error) {
        set({ error: toShownError(error) });
      }
    },

    async summarize(id, templateId, allowCloud) {
      set({ summarizing: true, error: null, summaryConsent: null });
      try {
        const summary = await api.call('meetings.summarize', {
          id,
          ...(templateId ? { templateId } : {}),
          ...(allowCloud ? { allowCloud } : {}),
        });
        set((state) => (state.active?.id === id ? { active: { ...state.active, summary } } : {}));
      } catch (error) {
        const shown = toShownError(error);
        // Nothing was sent: ask whether this transcript may go to the provider that could summarize it.
        if (shown.code === 'CONSENT_REQUIRED' && error instanceof ApiError && error.providerId) {
          set({ summaryConsent: { meetingId: id, providerId: error.providerId, reason: shown.message } });
        } else set({ error: shown });
      } finally {
        set({ summarizing: false });
      }
    },

    async findSpeakers(id) {
      set({ findingSpeakers: true, error: null });
      try {
        const meeting = await api.call('meetings.findSpeakers', { id });
        if (get().activeId === id) set({ active: meeting });
      } catch (error) {
        set({ error: toShownError(error) });
      } finally {
        set({ findingSpeakers: false });
      }
    },

    async renameSpeaker(id, speaker, name) {
      try {
        const meeting = await api.call('meetings.renameSpeaker', { id, speaker, name });
        if (get().activeId === id) set({ active: meeting });
      } catch (error) {
        set({ error: toShownError(error) });
      }
    },

    async answerConsent(id, allow) {
      try {
        const meeting = await api.call('meetings.answerConsent', { id, allow });
        set((state) => ({
          meetings: upsert(state.meetings, meeting),
          active:
            state.active?.id === id ? { ...state.active, ...meeting, consentProviderId: undefined } : state.active,
        }));
        if (allow) await get().open(id);
      } catch (error) {
        set({ error: toShownError(error) });
      }
    },

    declineSummaryConsent() {
      set({ summaryConsent: null });
    },

    async loadTemplates() {
      try {
        set({ templates: await api.call('templates.list', {}) });
      } catch (error) {
        set({ error: toShownError(error) });
      }
    },

    async exportAs(id, format) {
      try {
        const file = await api.call('meetings.export', { id, format });
        downloadText(file.filename, file.mimeType, file.content);
      } catch (error) {
        set({ error: toShownError(error) });
      }
    },

    async search(query) {
      set({ searchQuery: query });
      const trimmed = query.trim();
      if (!trimmed) {
        set({ searchHits: null });
        return;
      }
      try {
        const hits = await api.call('search', { query: trimmed, limit: 30 });
        if (get().searchQuery === query) set({ searchHits: hits });
      } catch (error) {
        set({ error: toShownError(error) });
      }
    },

    clearError() {
      set({ error: null });
    },

    consumeSeek() {
      set({ seekTo: null });
    },
  };
});
