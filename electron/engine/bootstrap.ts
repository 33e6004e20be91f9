import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createSpeakerDiarizer } from '../../native/diarization/index.ts';
import { detectHardware, getLlamaHost } from '../../native/gpu/llama-host.ts';
import { createLlamaRuntime } from '../../native/llama/llama-runtime.ts';
import { ModelStore } from '../../native/models/model-store.ts';
import { createWhisperTranscriber, whisperDeviceFor } from '../../native/whisper/index.ts';
import { PriceBook } from './accounting/prices.ts';
import { AnswerRuns } from './app-api/answer-runs.ts';
import { createAppApi } from './app-api/index.ts';
import { ConfigError } from './config/errors.ts';
import type { ResolvedPaths } from './config/paths.ts';
import { ConfigSource } from './config/source.ts';
import type { EngineProvider } from './config/types.ts';
import { Engine, type KeyVault } from './engine.ts';
import { LiveRecordings } from './meetings/live.ts';
import { TranscriptionQueue, transcribeThrough } from './meetings/queue.ts';
import type { SpeakerDiarizer } from './meetings/speakers.ts';
import { OperationsFeed } from './operations/feed.ts';
import { startTracing } from './operations/tracing.ts';
import { WebhookAlerts } from './operations/webhook.ts';
import { createAdapter } from './providers/create-adapter.ts';
import { createLocalAdapter } from './providers/local/local-adapter.ts';
import type { ProviderAdapter, ProviderConfig } from './providers/types.ts';
import { RedisState } from './routing/redis-state.ts';
import type { AppApiTable } from './server/app-api.ts';
import { expireUploads, processScratchDir, resolveUpload, UPLOAD_TTL_MS } from './server/uploads.ts';
import type { MeetingRecord } from './store/meetings.ts';
import { ensurePrivateDir, repairPrivateTree } from './store/private-files.ts';
import type { KeyProvider } from './store/secrets.ts';
import { openStore, type Store } from './store/store.ts';

/** Everything a front (CLI, HTTP server, Electron main) runs on, built from the paths alone. */
export interface AppServices {
  paths: ResolvedPaths;
  /** Finds who spoke when in a recording (native/diarization, models from the model store). */
  diarizer: SpeakerDiarizer;
  engine: Engine;
  /** The engine's operational events, numbered and summarized once for every consumer. */
  operations: OperationsFeed;
  store: Store;
  models: ModelStore;
  queue: TranscriptionQueue;
  live: LiveRecordings;
  /** The app API (contract/api.ts) for IPC and browser mode. */
  appApi: AppApiTable;
  /** Where uploads (dropped files, recordings) wait until a job takes them (an hour at most). */
  uploadsDir: string;
  /** This process's scratch folder for audio that only passes through; removed at close, swept after a crash. */
  scratchDir: string;
  close(): Promise<void>;
}

export interface BootstrapOptions {
  env?: NodeJS.ProcessEnv;
  /** Watch providers.yaml and apply edits while running (the app and `serve` do; one-shot commands need not). */
  watchConfig?: boolean;
  /** Where the secrets key comes from (Electron: safeStorage); default a 0600 key file in the data dir. */
  keyProvider?: KeyProvider;
  /** Run the transcription queue, adopting jobs left in the database (the app and `serve`; not one-shot commands). */
  runQueue?: boolean;
  /**
   * Checkpoint SQLite's WAL on a worker thread, not inside a commit on the event loop (the app and `serve`,
   * which answer requests while they write; a one-shot command writes a few rows and checkpoints at close).
   */
  checkpointOffThread?: boolean;
  /** The URL the player loads a meeting's audio from (HTTP in browser mode, the app protocol in Electron). */
  audioUrl?: (meeting: MeetingRecord) => string | null;
  /** Where an alert the webhook never took is reported; default stderr. */
  onAlertFailure?: (message: string) => void;
}

/** providers.yaml, .yml or .json in the data dir, unless a file was named. */
function findConfigFile(paths: ResolvedPaths): string | undefined {
  if (paths.configFile) return paths.configFile;
  return ['providers.yaml', 'providers.yml', 'providers.json']
    .map((name) => join(paths.dataDir, name))
    .find(existsSync);
}

const KEY_PREFIX = 'provider-key:';
const HEADER_PREFIX = 'provider-header:';

/**
 * Provider keys and header values given in the app, the HTTP API or the CLI, in the store's encrypted
 * secrets: one entry per key (`provider-key:<id>:<hash>`) and per header (`provider-header:<id>:<name>`).
 */
function secretKeyVault(store: Store): KeyVault & {
  all(): Record<string, string[]>;
  allHeaders(): Record<string, Record<string, string>>;
} {
  const nameOf = (providerId: string, key: string) =>
    `${KEY_PREFIX}${providerId}:${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
  // A secret that cannot be decrypted (the key file was replaced) is left out rather than stopping the engine.
  const readable = (name: string): string | undefined => {
    try {
      return store.secrets.getSecret(name);
    } catch {
      return undefined;
    }
  };
  /** Every secret under a prefix as [provider id, what follows the id, value]. */
  const entries = (prefix: string): [string, string, string][] =>
    store.secrets
      .listNames()
      .filter((name) => name.startsWith(prefix))
      .flatMap((name) => {
        const value = readable(name);
        const split = name.lastIndexOf(':');
        return value === undefined ? [] : [[name.slice(prefix.length, split), name.slice(split + 1), value]];
      });
  const all = (): Record<string, string[]> => {
    const keys: Record<string, string[]> = {};
    for (const [providerId, , value] of entries(KEY_PREFIX)) keys[providerId] = [...(keys[providerId] ?? []), value];
    return keys;
  };
  const allHeaders = (): Record<string, Record<string, string>> => {
    const headers: Record<string, Record<string, string>> = {};
    for (const [providerId, name, value] of entries(HEADER_PREFIX))
      headers[providerId] = { ...headers[providerId], [name]: value };
    return headers;
  };
  return {
    protection: store.keyProtection,
    all,
    allHeaders,
    list: (providerId) => all()[providerId] ?? [],
    headers: (providerId) => allHeaders()[providerId] ?? {},
    add: (providerId, key) => store.secrets.setSecret(nameOf(providerId, key), key),
    setHeader: (providerId, name, value) =>
      store.secrets.setSecret(`${HEADER_PREFIX}${providerId}:${name.toLowerCase()}`, value),
    remove: (providerId, key) => {
      store.secrets.deleteSecret(nameOf(providerId, key));
    },
    clear: (providerId) => {
      const owned = [KEY_PREFIX, HEADER_PREFIX].map((prefix) => `${prefix}${providerId}:`);
      for (const name of store.secrets.listNames()) {
        const prefix = owned.find((p) => name.startsWith(p));
        if (prefix && !name.slice(prefix.length).includes(':')) store.secrets.deleteSecret(name);
      }
    },
  };
}

export async function createAppServices(paths: ResolvedPaths, options: BootstrapOptions = {}): Promise<AppServices> {
  // Private at creation, and repaired for a data dir made loose by an older version or a copy.
  repairPrivateTree(paths.dataDir);
  const store = openStore({
    file: paths.databaseFile,
    keyProvider: options.keyProvider,
    checkpointOffThread: options.checkpointOffThread,
  });
  const vault = secretKeyVault(store);
  const file = findConfigFile(paths);
  let source: ConfigSource;
  try {
    source = new ConfigSource({
      file,
      env: options.env,
      overridesFile: join(paths.dataDir, 'settings.json'),
      dotEnvFile: [file ? join(dirname(file), '.env') : undefined, join(paths.dataDir, '.env')].find(
        (f) => f && existsSync(f),
      ),
      extraKeys: vault.all,
      extraHeaders: vault.allHeaders,
    });
  } catch (error) {
    // An invalid configuration stops the start (ConfigError lists every problem); nothing stays open.
    store.close();
    throw error;
  }
  if (options.watchConfig) source.watch();

  const local = source.current.local;
  const models = new ModelStore({ modelsDir: paths.modelsDir, quantization: local.quantization, env: options.env });
  const host = getLlamaHost({ device: local.device });
  // Runtimes load models on first use, so making them per local adapter costs nothing until a request.
  const localAdapter = (provider: ProviderConfig): ProviderAdapter =>
    createLocalAdapter(provider, {
      llm: createLlamaRuntime({
        store: models,
        host,
        idleTtlMs: local.idleUnloadMs,
        // A model's own context and GPU layers, as set in the app (read at each use: a change applies at once).
        loadSettingsOf: (id) => {
          const options = source.current.modelOptions?.[`${provider.id}/${id}`];
          return { contextSize: options?.contextTokens, gpuLayers: options?.gpuLayers };
        },
      }),
      transcriber: createWhisperTranscriber({
        modelsDir: models.whisperDir,
        quantization: local.quantization,
        device: whisperDeviceFor(local.device),
      }),
    });
  const adapterFor = (provider: EngineProvider): ProviderAdapter => createAdapter(provider, { local: localAdapter });
  // Read once: instances move to or off a shared Redis by restarting, not by a reload.
  const redisUrl = source.current.state.redisUrl;
  const sharedState = redisUrl ? await RedisState.connect({ url: redisUrl }) : undefined;
  // OTEL_EXPORTER_OTLP_ENDPOINT set: a span per request and per upstream attempt; else nothing is loaded.
  const tracing = await startTracing(options.env ?? process.env);
  const engine = new Engine(source, adapterFor, {
    vault,
    usage: store.usage,
    routing: { state: sharedState, watchers: tracing ? [tracing] : undefined },
  });
  sharedState?.on('status', (status) => engine.emit('state.changed', status));
  try {
    engine.secureStoredSettings();
  } catch (error) {
    // A configuration that does not load now cannot be rewritten; the next start tries again.
    if (!(error instanceof ConfigError)) throw error;
  }

  const uploadsDir = join(paths.dataDir, 'uploads');
  ensurePrivateDir(uploadsDir);
  expireUploads(uploadsDir);
  const expiry = setInterval(() => expireUploads(uploadsDir), UPLOAD_TTL_MS / 4);
  expiry.unref();
  const scratch = processScratchDir(paths.dataDir);
  const audioDir = join(paths.dataDir, 'audio');
  const transcribe = transcribeThrough(engine);
  const queue = new TranscriptionQueue({
    meetings: store.meetings,
    transcribe,
    audioDir,
    adoptStoredJobs: options.runQueue ?? false,
  });
  // Every front, even a one-shot command, finds the jobs of a process that died (a killed CLI run).
  if (options.runQueue) queue.start();
  else queue.recover();
  const live = new LiveRecordings({ meetings: store.meetings, transcribe, queue, audioDir });

  const diarizer = createSpeakerDiarizer({ modelsDir: models.diarizationDir });
  const prices = new PriceBook();
  const chat = engine.chat.bind(engine);
  // Chat answers go on being written when the window looks elsewhere; closing stops and saves them.
  const answers = new AnswerRuns();
  // The long-running fronts (the app, `serve`) find the answers a process that died left unwritten.
  if (options.runQueue) store.conversations.markInterruptedAnswers();
  const appApi = createAppApi({
    engine,
    runs: answers,
    store,
    queue,
    live,
    chat,
    chatTarget: engine.chatTarget.bind(engine),
    diarizer,
    costOf: (route, usage) =>
      prices.estimate(engine.provider(route.providerId), route.model, usage.inputTokens, usage.outputTokens),
    resolveUpload: (uploadId) => resolveUpload(uploadsDir, uploadId),
    dataFolders: [audioDir, uploadsDir],
    audioUrl: options.audioUrl,
    models,
    quantization: local.quantization,
    hardware: () => detectHardware({ device: local.device }),
    llama: () => host.llama(),
  });

  // One subscriber to the engine's operational events feeds the log, GET /api/events and the alert webhook.
  const operations = new OperationsFeed(engine);
  const alerts = new WebhookAlerts(operations, () => engine.config.alerts, {
    onFailure: options.onAlertFailure ?? ((message) => process.stderr.write(`switchboard: ${message}\n`)),
  });

  return {
    paths,
    engine,
    operations,
    store,
    models,
    queue,
    diarizer,
    live,
    appApi,
    uploadsDir,
    scratchDir: scratch.dir,
    close: async () => {
      clearInterval(expiry);
      alerts.close();
      operations.close();
      await answers.close();
      await live.close();
      await queue.close();
      await engine.close();
      await tracing?.shutdown();
      await sharedState?.close();
      store.close();
      scratch.remove();
    },
  };
}
