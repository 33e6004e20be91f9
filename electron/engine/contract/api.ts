/**
 * The app's API: what the renderer may ask of the engine. One source for the preload (IPC), the HTTP
 * server (browser mode) and the renderer's client. Types only plus zod input schemas — the renderer
 * imports this file and nothing else from electron/.
 *
 * Transport rules (both transports follow them, so the UI never knows which it talks to):
 * - a `call` method takes one JSON input and resolves one JSON output;
 * - a `stream` method takes one JSON input and yields JSON events until done; aborting the signal
 *   cancels the work in the engine (upstream request, llama job or whisper worker);
 * - HTTP: POST /api/app/call/<method> and POST /api/app/stream/<method> (SSE: `data: <event>` frames,
 *   then `event: end`), errors as { error: SerializedError } with an HTTP status; uploads as
 *   multipart POST /api/app/upload (field `file`) returning { uploadId }.
 * - IPC: ipcRenderer.invoke('sb:call', method, input); streams over a MessagePort ('sb:stream').
 * - Operational events: GET /api/events (SSE named after each event); IPC: a MessagePort ('sb:events').
 */
import { z } from 'zod';
import type { ChatStreamEvent } from './chat.ts';
import type { SerializedError } from './errors.ts';
import type { OperationalEventRecord } from './operations.ts';
import type { SegmentChannel, TranscriptSegment } from './transcription.ts';

// ---- shapes the UI shows -------------------------------------------------------------------

export interface RouteView {
  providerId: string;
  providerLabel: string;
  model: string;
  /** The provider runs on this machine; false: the request went to a cloud provider. */
  onMachine: boolean;
  fallbackDepth: number;
}

/** Who produced a stored transcript or summary, and whether it ran on this machine. */
export interface Provenance {
  providerId: string;
  providerLabel: string;
  model: string;
  onMachine: boolean;
}

/** What can leave this machine right now, by the user's switches: the always-visible indicator. */
export type MayLeave = 'nothing' | 'chat' | 'chat_and_meetings';

export interface ChatMessageView {
  id: string;
  role: 'user' | 'assistant' | 'system';
  content: string;
  createdAt: number;
  providerId?: string;
  providerLabel?: string;
  model?: string;
  /** Written on this machine; false: by a cloud provider. Absent on answers stored before this was kept. */
  onMachine?: boolean;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number;
  latencyMs?: number;
  fallbackDepth?: number;
  error?: SerializedError;
}

export interface ConversationSummary {
  id: string;
  title: string;
  updatedAt: number;
  messageCount: number;
  /** True while the engine writes an answer in it (the window may be looking elsewhere). */
  answering?: boolean;
}

export interface ConversationView extends ConversationSummary {
  messages: ChatMessageView[];
  /** The assistant message being written now, if any: follow it with chat.watch. */
  answeringMessageId?: string;
}

export type ChatSendEvent =
  | { type: 'conversation'; conversationId: string; userMessageId: string; assistantMessageId: string }
  /** chat.watch's first event: the answer written so far, for a window that comes back to it. */
  | { type: 'resume'; conversationId: string; assistantMessageId: string; text: string; route: RouteView | null }
  | { type: 'route'; route: RouteView }
  | ChatStreamEvent
  | { type: 'saved'; message: ChatMessageView }
  /** The title the model gave a new conversation, after its first answer. */
  | { type: 'title'; conversationId: string; title: string };

export type MeetingStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled' | 'interrupted';

export interface MeetingSummary {
  id: string;
  title: string;
  createdAt: number;
  durationSeconds: number | null;
  status: MeetingStatus;
  sourceFile: string | null;
  language: string | null;
  /** 0..1 while running. */
  progress: number;
  error?: string;
  /** Its audio is still being recorded: segments arrive as the people speak. */
  recording?: boolean;
  /** A call recorded as two channels, in file order (the microphone is "me", the system audio "them"). */
  channels?: SegmentChannel[] | null;
  /** Who transcribed it (more than one when a job was resumed elsewhere). */
  transcribedBy: Provenance[];
  /**
   * Local transcription could not do the job and this cloud provider could: the app asks whether to
   * send this one recording there (meetings.answerConsent).
   */
  consentProviderId?: string;
}

export interface MeetingSummaryText {
  model: string;
  /** Who wrote the summary (every provider a map-reduce summary used); absent on summaries from before. */
  producedBy?: Provenance[];
  summary: string;
  actionItems: { text: string; owner: string | null }[];
  decisions: string[];
  createdAt: number;
}

export interface MeetingView extends MeetingSummary {
  segments: TranscriptSegment[];
  summary: MeetingSummaryText | null;
  /** URL the audio player can load (HTTP in browser mode, app protocol in Electron). */
  audioUrl: string | null;
}

export type MeetingEvent =
  | { type: 'status'; meeting: MeetingSummary }
  | { type: 'progress'; fraction: number; etaSeconds: number | null }
  | { type: 'segment'; segment: TranscriptSegment };

/** A stored summary prompt, as the picker shows it. */
export interface SummaryTemplateView {
  id: string;
  name: string;
  /** The one that ships with the app. */
  builtin: boolean;
}

export interface SearchHit {
  kind: 'meeting' | 'chat';
  /** Meeting id or conversation id. */
  id: string;
  title: string;
  /** Text around the match with the matched words wrapped in [[ ]]. */
  snippet: string;
  /** Seconds into the meeting, for meeting hits. */
  timestamp: number | null;
  rank: number;
}

export const EXPORT_FORMATS = ['md', 'txt', 'srt', 'vtt', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportFile {
  filename: string;
  mimeType: string;
  content: string;
}

/** A provider as it may be shown anywhere (UI, CLI, HTTP): keys masked, never in clear. */
export interface ProviderView {
  id: string;
  label: string;
  vendor: string;
  kind: string;
  enabled: boolean;
  onMachine: boolean;
  usable: boolean;
  priority: number;
  weight: number;
  baseUrl?: string;
  models: string[];
  defaultModel?: string;
  capabilities: string[];
  /** Masked (…a9f2), never in clear. */
  keys: string[];
  limits: { rpm?: number; tpm?: number; concurrency?: number; onLimit: 'queue' | 'skip'; maxQueueMs: number };
  /** Where its settings came from: the config file, "environment", or "built-in". */
  source: string;
}

export interface ProviderSummary extends ProviderView {
  health?: 'healthy' | 'degraded' | 'down' | 'disabled' | 'unknown';
  breaker?: 'closed' | 'open' | 'half_open';
}

/** A model's own settings: defaults for the requests it answers, and how a model on this machine loads. */
export interface ModelOptions {
  temperature?: number;
  maxTokens?: number;
  /** Put before every conversation that brings no system message of its own. */
  systemPrompt?: string;
  /** Tokens its context holds (a model on this machine). */
  contextTokens?: number;
  /** Layers offloaded to the GPU (a model on this machine; 0: CPU only). */
  gpuLayers?: number;
}

/** The jobs whose default model is chosen in the app. */
export const DEFAULT_MODEL_JOBS = ['chat', 'summaries', 'transcription', 'embeddings'] as const;
export type DefaultModelJob = (typeof DEFAULT_MODEL_JOBS)[number];

export interface SettingsView {
  cloudFallback: boolean;
  /** Meeting audio and transcripts may go to cloud providers (off by default). */
  meetingsCloud: boolean;
  mayLeave: MayLeave;
  /** How stored API keys are protected, in words (which key file, whether an OS keyring is used). */
  keyProtection: string;
  localOnly: boolean;
  strategy: string;
  strategies: string[];
  /**
   * The model each job uses when none is asked for: `provider/model` for chat and summaries, a model on
   * this machine for transcription and embeddings; absent where routing decides.
   */
  defaults: Partial<Record<DefaultModelJob, string>>;
  /** Settings per model, keyed `provider/model` as "Answer with" names it. */
  modelOptions: Record<string, ModelOptions>;
  /** The types of provider the app can add, with what each needs. */
  providerTypes: { type: string; label: string; baseUrl?: string; requiresKey: boolean }[];
  profiles: { name: string; strategy?: string; provider?: string; model?: string; fallbackProviders: string[] }[];
  budgets: { daily?: number; monthly?: number; alertThreshold: number; hardStop: 'off' | 'local_only' | 'refuse' };
  configFile?: string;
  configError?: string;
  note?: string;
}

/**
 * A key of its own for one program (`switchboard keys create`): it works wherever the API token works,
 * within its own limits, budgets and models. The key itself is shown once, at creation or rotation; what
 * is kept is its hash and its last four characters.
 */
export interface AppKey {
  id: string;
  name: string;
  /** The key's last characters (…a9f2), to tell keys apart. */
  hint: string;
  rpm?: number;
  tpm?: number;
  dailyBudgetUsd?: number;
  monthlyBudgetUsd?: number;
  /** Models it may use (`provider/model` or a bare model id); absent: every model. */
  models?: string[];
  createdAt: number;
  rotatedAt?: number;
  revokedAt?: number;
  /** When a request last came with it (the usage on record); absent: never used. */
  lastUsedAt?: number;
}

/** What a new or rotated key's owner gets, once: the key in clear. */
export interface IssuedAppKey extends AppKey {
  key: string;
}

export interface UsagePoint {
  /** Bucket start, epoch ms. */
  time: number;
  providerId: string;
  requests: number;
  errors: number;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  avgLatencyMs: number;
}

export interface UsageView {
  series: UsagePoint[];
  totals: { requests: number; errors: number; costUsd: number; inputTokens: number; outputTokens: number };
  byProvider: { providerId: string; requests: number; share: number; costUsd: number }[];
  /** Requests and spend per app key (`switchboard usage --by key`); the API token and the app are one row. */
  byKey: UsageByKey[];
  budgets: { scope: string; period: 'daily' | 'monthly'; limitUsd: number; spentUsd: number }[];
}

export interface UsageByKey {
  /** The app key's id, or `api-token` for requests with the API token (the app's own among them). */
  keyId: string;
  name: string;
  requests: number;
  errors: number;
  costUsd: number;
}

export interface HardwareView {
  /** What LOCAL_DEVICE asked for (auto, cpu, cuda, vulkan, metal). */
  requested: string;
  backend: 'cuda' | 'vulkan' | 'metal' | 'cpu';
  /** Which backend runs and why, in plain words ("No GPU found: models run on the CPU with 2 threads."). */
  explanation: string;
  /** The technical reason behind it (the setting that asked, the driver's error), for a Details toggle. */
  detail: string;
  /** A GPU was asked for, but the CPU runs the models. */
  fellBack: boolean;
  devices: string[];
  vramTotalBytes: number;
  vramFreeBytes: number;
  ramTotalBytes: number;
  ramFreeBytes: number;
  cpuCores: number;
}

export interface CatalogModelView {
  id: string;
  kind: 'llm' | 'whisper' | 'embedding' | 'diarization';
  family: string;
  parameters: string;
  /** The quantisation a download gets (LOCAL_QUANTIZATION's choice). */
  quantisation: string;
  sizeBytes: number;
  fits: boolean;
  /** How it fits this machine, in words: memory it needs and has, expected speed, or why it does not fit. */
  fitNote: string;
  recommended: boolean;
  installed: boolean;
  /** The publisher lists a sha256 for every file of this download: it is verified when it arrives. */
  checksum: boolean;
}

export interface InstalledModelView {
  id: string;
  kind: 'llm' | 'whisper' | 'embedding' | 'diarization';
  sizeBytes: number;
  path: string;
  /** Pulled from the catalog and matched the publisher's sha256. */
  verified: boolean;
  /** Pulled from the catalog, imported from a file or folder, or found in the models folder. */
  source: 'catalog' | 'imported' | 'found';
}

export type DownloadEvent =
  | {
      type: 'progress';
      receivedBytes: number;
      totalBytes: number | null;
      bytesPerSecond: number;
      etaSeconds: number | null;
    }
  | { type: 'done'; model: InstalledModelView };

// ---- methods -------------------------------------------------------------------------------

const id = z.string().min(1).max(200);

/** What the app may set on a provider (the file's name, base_url, models, default_model; a key for the vault). */
const providerSettings = {
  label: z.string().trim().min(1).max(100).optional(),
  /** Empty: the type's own address. */
  baseUrl: z.string().trim().max(2000).optional(),
  models: z.array(z.string().trim().min(1).max(200)).max(500).optional(),
  defaultModel: z.string().trim().max(200).optional(),
  key: z.string().trim().min(8).max(500).optional(),
};

/** A model's own settings as the app and the CLI set them (ModelOptions). */
export const modelOptionsSchema = z.object({
  temperature: z.number().min(0, 'give 0 to 2').max(2, 'give 0 to 2').optional(),
  maxTokens: z.number().int().positive('give 1 or more').max(1_000_000, 'give at most 1,000,000').optional(),
  systemPrompt: z.string().max(20_000, 'keep it under 20,000 characters').optional(),
  contextTokens: z
    .number()
    .int()
    .min(128, 'give at least 128 tokens')
    .max(1_048_576, 'give at most 1,048,576 tokens')
    .optional(),
  gpuLayers: z.number().int().min(0, 'give 0 or more').max(1_000, 'give at most 1,000').optional(),
});

export const apiInputs = {
  // chat
  'conversations.list': z.object({}),
  'conversations.get': z.object({ id }),
  'conversations.rename': z.object({ id, title: z.string().min(1).max(200) }),
  'conversations.delete': z.object({ id }),
  'chat.send': z.object({
    conversationId: id.optional(),
    content: z.string().min(1).max(200_000),
    model: z.string().max(200).optional(),
    providerId: z.string().max(100).optional(),
    profile: z.string().max(100).optional(),
  }),
  'chat.regenerate': z.object({
    conversationId: id,
    messageId: id,
    model: z.string().max(200).optional(),
    providerId: z.string().max(100).optional(),
    profile: z.string().max(100).optional(),
  }),
  'chat.edit': z.object({
    conversationId: id,
    messageId: id,
    content: z.string().min(1).max(200_000),
    model: z.string().max(200).optional(),
    providerId: z.string().max(100).optional(),
    profile: z.string().max(100).optional(),
  }),
  'chat.watch': z.object({ conversationId: id }),
  'chat.stop': z.object({ conversationId: id }),
  // meetings
  'meetings.list': z.object({}),
  'meetings.get': z.object({ id }),
  'meetings.rename': z.object({ id, title: z.string().min(1).max(200) }),
  'meetings.delete': z.object({ id }),
  'meetings.transcribe': z.object({
    uploadId: id,
    title: z.string().max(200).optional(),
    language: z.string().max(10).optional(),
  }),
  'meetings.watch': z.object({ id }),
  // Live recording: start, then the audio in order as it is captured, then stop (see MeetingsApi docs).
  'meetings.record': z.object({
    title: z.string().max(200).optional(),
    language: z.string().max(10).optional(),
    /** 1: microphone; 2: microphone ("me") and system audio ("them"), interleaved in that order. */
    channels: z.union([z.literal(1), z.literal(2)]).optional(),
  }),
  'meetings.recordAudio': z.object({
    id,
    /** The chunk's number, from 0: a chunk sent twice is written once, a gap is refused. */
    seq: z.number().int().nonnegative(),
    /** Base64 of little-endian 16-bit PCM at 16 kHz, channels interleaved. */
    pcm: z.string().max(4_000_000),
  }),
  'meetings.stopRecording': z.object({
    id,
    /** Run the final pass over the whole recording (default true). */
    refine: z.boolean().optional(),
  }),
  'meetings.cancel': z.object({ id }),
  /** Queues a cancelled, failed or interrupted transcription again; it continues after its last segment. */
  'meetings.retry': z.object({ id }),
  /** A meeting exported as JSON (the bundle), read back in. */
  'meetings.import': z.object({ content: z.string().min(2).max(10_000_000) }),
  'meetings.summarize': z.object({
    id,
    /** A stored template by id or name (templates.list); default the built-in one. */
    templateId: z.string().max(200).optional(),
    /** A prompt given in full, with {{transcript}} where the transcript goes. */
    template: z.string().max(20_000).optional(),
    /** The model to summarise with (as /v1/models names it); default the `summarize` profile's choice. */
    model: z.string().max(200).optional(),
    /** One-time consent: this transcript may go to a cloud provider for this summary. */
    allowCloud: z.boolean().optional(),
  }),
  /** The answer to "send this recording to <cloud provider>?": yes queues the job again for the cloud, once. */
  'meetings.answerConsent': z.object({ id, allow: z.boolean() }),
  /** Finds who spoke when (on this machine) and names them Speaker 1, 2, … in the transcript. */
  'meetings.findSpeakers': z.object({ id, speakers: z.number().int().min(1).max(20).optional() }),
  /** Renames a speaker throughout one meeting's transcript (naming two alike merges them). */
  'meetings.renameSpeaker': z.object({
    id,
    speaker: z.string().min(1).max(100),
    name: z.string().trim().min(1).max(100),
  }),
  'templates.list': z.object({}),
  'meetings.export': z.object({ id, format: z.enum(EXPORT_FORMATS) }),
  search: z.object({ query: z.string().min(1).max(500), limit: z.number().int().min(1).max(100).optional() }),
  // providers & settings
  'providers.list': z.object({}),
  'providers.health': z.object({ id: id.optional() }),
  'providers.setEnabled': z.object({ id, enabled: z.boolean() }),
  'providers.setPriority': z.object({ id, priority: z.number().int() }),
  'providers.reorder': z.object({ ids: z.array(id) }),
  'providers.addKey': z.object({ id, key: z.string().min(8).max(500) }),
  'providers.removeKey': z.object({ id, index: z.number().int().min(0) }),
  'providers.testKey': z.object({ id, key: z.string().min(8).max(500).optional() }),
  /** A provider of any type but local, added in the app; named after its label (made unique) unless `id` is given. */
  'providers.add': z.object({
    type: z.string().min(1).max(50),
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'use lower-case letters, digits, dash or underscore')
      .optional(),
    ...providerSettings,
  }),
  /** Changes a provider's name, address or models; a new address drops its stored keys unless `key` gives one. */
  'providers.update': z.object({ id, ...providerSettings }),
  /** Removes a provider added in the app, with its stored keys. */
  'providers.remove': z.object({ id }),
  'settings.get': z.object({}),
  'settings.update': z.object({
    cloudFallback: z.boolean().optional(),
    meetingsCloud: z.boolean().optional(),
    localOnly: z.boolean().optional(),
    strategy: z.string().max(50).optional(),
    budgets: z
      .object({
        daily: z.number().min(0).nullable().optional(),
        monthly: z.number().min(0).nullable().optional(),
        alertThreshold: z.number().gt(0).max(1).optional(),
        hardStop: z.enum(['off', 'local_only', 'refuse']).optional(),
      })
      .optional(),
    /** One model's settings (`provider/model`), replacing those set before; null forgets them. */
    modelOptions: z
      .object({
        model: z.string().min(3).max(300),
        options: modelOptionsSchema.nullable(),
      })
      .optional(),
    /** Default models per job (see SettingsView.defaults); null: routing decides. */
    defaults: z
      .object({
        chat: z.string().max(300).nullable().optional(),
        summaries: z.string().max(300).nullable().optional(),
        transcription: z.string().max(300).nullable().optional(),
        embeddings: z.string().max(300).nullable().optional(),
      })
      .optional(),
  }),
  /** Deletes every meeting, recording, chat, usage record, stored key and setting made in the app. */
  'data.deleteAll': z.object({ confirm: z.literal(true) }),
  'usage.get': z.object({ sinceMs: z.number().int().optional(), bucket: z.enum(['hour', 'day']).optional() }),
  /** Per-app keys (`switchboard keys`): the list never holds a key; create and rotate return it once. */
  'keys.list': z.object({}),
  'keys.create': z.object({
    name: z.string().min(1).max(100),
    rpm: z.number().int().positive().optional(),
    tpm: z.number().int().positive().optional(),
    dailyBudgetUsd: z.number().positive().optional(),
    monthlyBudgetUsd: z.number().positive().optional(),
    models: z.array(z.string().min(1).max(300)).min(1).max(100).optional(),
  }),
  'keys.revoke': z.object({ id: z.string().min(1).max(100) }),
  'keys.rotate': z.object({ id: z.string().min(1).max(100) }),
  // hardware & models
  'hardware.get': z.object({}),
  'models.catalog': z.object({}),
  'models.installed': z.object({}),
  'models.pull': z.object({ id }),
  'models.delete': z.object({ id }),
  'models.import': z.object({
    /** A GGUF file or a Whisper folder on this computer. */
    path: z.string().min(1).max(4096),
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'use letters, digits, dot, dash or underscore')
      .optional(),
    kind: z.enum(['llm', 'embedding']).optional(),
  }),
} as const;

export type ApiMethod = keyof typeof apiInputs;
export type ApiInput<M extends ApiMethod> = z.input<(typeof apiInputs)[M]>;

/** What each `call` method resolves to. */
export interface ApiCallOutputs {
  'conversations.list': ConversationSummary[];
  'conversations.get': ConversationView;
  'conversations.rename': ConversationSummary;
  'conversations.delete': { ok: true };
  'chat.stop': { ok: true };
  'meetings.list': MeetingSummary[];
  'meetings.get': MeetingView;
  'meetings.rename': MeetingSummary;
  'meetings.delete': { ok: true };
  'meetings.transcribe': MeetingSummary;
  'meetings.record': MeetingSummary;
  'meetings.recordAudio': { seconds: number };
  'meetings.stopRecording': MeetingSummary;
  'meetings.cancel': MeetingSummary;
  'meetings.retry': MeetingSummary;
  'meetings.import': MeetingSummary;
  'meetings.answerConsent': MeetingSummary;
  'meetings.summarize': MeetingSummaryText;
  'meetings.findSpeakers': MeetingView;
  'meetings.renameSpeaker': MeetingView;
  'templates.list': SummaryTemplateView[];
  'meetings.export': ExportFile;
  search: SearchHit[];
  'providers.list': ProviderSummary[];
  'providers.health': { providerId: string; status: string; latencyMs?: number; error?: string }[];
  'providers.setEnabled': ProviderSummary[];
  'providers.setPriority': ProviderSummary[];
  'providers.reorder': ProviderSummary[];
  'providers.addKey': ProviderSummary[];
  'providers.removeKey': ProviderSummary[];
  'providers.testKey': { ok: boolean; message: string };
  'providers.add': ProviderSummary[];
  'providers.update': ProviderSummary[];
  'providers.remove': ProviderSummary[];
  'settings.get': SettingsView;
  'settings.update': SettingsView;
  'usage.get': UsageView;
  'keys.list': AppKey[];
  'keys.create': IssuedAppKey;
  'keys.revoke': AppKey;
  'keys.rotate': IssuedAppKey;
  'data.deleteAll': { ok: true };
  'hardware.get': HardwareView;
  'models.catalog': CatalogModelView[];
  'models.installed': InstalledModelView[];
  'models.delete': { ok: true };
  'models.import': InstalledModelView;
}

/** What each `stream` method yields. */
export interface ApiStreamEvents {
  'chat.send': ChatSendEvent;
  'chat.regenerate': ChatSendEvent;
  'chat.edit': ChatSendEvent;
  'chat.watch': ChatSendEvent;
  'meetings.watch': MeetingEvent;
  'models.pull': DownloadEvent;
}

export type ApiCallMethod = keyof ApiCallOutputs;
export type ApiStreamMethod = keyof ApiStreamEvents;

/** The client the renderer holds; the IPC and HTTP transports both implement it. */
export interface SwitchboardApi {
  call<M extends ApiCallMethod>(method: M, input: ApiInput<M>): Promise<ApiCallOutputs[M]>;
  stream<M extends ApiStreamMethod>(
    method: M,
    input: ApiInput<M>,
    signal?: AbortSignal,
  ): AsyncIterable<ApiStreamEvents[M]>;
  /** Uploads an audio file (drop, picker or microphone recording) and returns its upload id. */
  upload(file: Blob, filename: string): Promise<{ uploadId: string }>;
  /**
   * The engine's operational events from now on (breakers, keys, health, budgets, configuration), until
   * the signal aborts or the connection ends. HTTP: `GET /api/events`; IPC: a port main feeds.
   */
  events(signal?: AbortSignal): AsyncIterable<OperationalEventRecord>;
}

export { ApiError } from './api-error.ts';
