import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createSpeakerDiarizer } from '../../native/diarization/index.ts';
import { detectHardware, getLlamaHost } from '../../native/gpu/llama-host.ts';
import { createLlamaRuntime } from '../../native/llama/llama-runtime.ts';
import { ModelStore } from '../../native/models/model-store.ts';
import { createWhisperTranscriber, whisperDeviceFor } from '../../native/whisper/index.ts';
import { PriceBook } from './accounting/prices.ts';
import { AnswerRuns } from './app-api/answer-runs.ts';
import { createAppApi } from './app-api/index.ts';
import type { ResolvedPaths } from './config/paths.ts';
import { ConfigSource } from './config/source.ts';
import type { EngineProvider } from './config/types.ts';
import { Engine, type KeyVault } from './engine.ts';
import { LiveRecordings } from './meetings/live.ts';
import { TranscriptionQueue, transcribeThrough } from './meetings/queue.ts';
import type { SpeakerDiarizer } from './meetings/speakers.ts';
import { createAdapter } from './providers/create-adapter.ts';
import { createLocalAdapter } from './providers/local/local-adapter.ts';
import type { ProviderAdapter, ProviderConfig } from './providers/types.ts';
import type { AppApiTable } from './server/app-api.ts';
import { resolveUpload } from './server/uploads.ts';
import type { MeetingRecord } from './store/meetings.ts';
import type { KeyProvider } from './store/secrets.ts';
import { openStore, type Store } from './store/store.ts';

/** Everything a front (CLI, HTTP server, Electron main) runs on, built from the paths alone. */
export interface AppServices {
  paths: ResolvedPaths;
  /** Finds who spoke when in a recording (native/diarization, models from the model store). */
  diarizer: SpeakerDiarizer;
  engine: Engine;
  store: Store;
  models: ModelStore;
  queue: TranscriptionQueue;
  live: LiveRecordings;
  /** The app API (contract/api.ts) for IPC and browser mode. */
  appApi: AppApiTable;
  /** Where uploads (dropped files, recordings) wait until a job takes them. */
  uploadsDir: string;
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
  /** The URL the player loads a meeting's audio from (HTTP in browser mode, the app protocol in Electron). */
  audioUrl?: (meeting: MeetingRecord) => string | null;
}

/** providers.yaml, .yml or .json in the data dir, unless a file was named. */
function findConfigFile(paths: ResolvedPaths): string | undefined {
  if (paths.configFile) return paths.configFile;
  return ['providers.yaml', 'providers.yml', 'providers.json']
    .map((name) => join(paths.dataDir, name))
    .find(existsSync);
}

const KEY_PREFIX = 'provider-key:';

/** Provider keys added in the app, in the store's encrypted secrets, one entry per key. */
function secretKeyVault(store: Store): KeyVault & { all(): Record<string, string[]> } {
  const nameOf = (providerId: string, key: string) =>
    `${KEY_PREFIX}${providerId}:${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
  // A key stored by the desktop app (under its OS-protected key) cannot be read headless, and the other
  // way round: such keys are left out here rather than stopping the engine.
  const readable = (name: string): string | undefined => {
    try {
      return store.secrets.getSecret(name);
    } catch {
      return undefined;
    }
  };
  const all = (): Record<string, string[]> => {
    const keys: Record<string, string[]> = {};
    for (const { name } of store.secrets.listMasked()) {
      if (!name.startsWith(KEY_PREFIX)) continue;
      const providerId = name.slice(KEY_PREFIX.length, name.lastIndexOf(':'));
      const value = readable(name);
      if (value) keys[providerId] = [...(keys[providerId] ?? []), value];
    }
    return keys;
  };
  return {
    all,
    list: (providerId) => all()[providerId] ?? [],
    add: (providerId, key) => store.secrets.setSecret(nameOf(providerId, key), key),
    remove: (providerId, key) => {
      store.secrets.deleteSecret(nameOf(providerId, key));
    },
  };
}

export async function createAppServices(paths: ResolvedPaths, options: BootstrapOptions = {}): Promise<AppServices> {
  mkdirSync(paths.dataDir, { recursive: true });
  const store = openStore({ file: paths.databaseFile, keyProvider: options.keyProvider });
  const vault = secretKeyVault(store);
  const file = findConfigFile(paths);
  const source = new ConfigSource({
    file,
    env: options.env,
    overridesFile: join(paths.dataDir, 'settings.json'),
    dotEnvFile: [file ? join(dirname(file), '.env') : undefined, join(paths.dataDir, '.env')].find(
      (f) => f && existsSync(f),
    ),
    extraKeys: vault.all,
  });
  if (options.watchConfig) source.watch();

  const local = source.current.local;
  const models = new ModelStore({ modelsDir: paths.modelsDir, quantization: local.quantization, env: options.env });
  const host = getLlamaHost({ device: local.device });
  // Runtimes load models on first use, so making them per local adapter costs nothing until a request.
  const localAdapter = (provider: ProviderConfig): ProviderAdapter =>
    createLocalAdapter(provider, {
      llm: createLlamaRuntime({ store: models, host, idleTtlMs: local.idleUnloadMs }),
      transcriber: createWhisperTranscriber({
        modelsDir: models.whisperDir,
        quantization: local.quantization,
        device: whisperDeviceFor(local.device),
      }),
    });
  const adapterFor = (provider: EngineProvider): ProviderAdapter => createAdapter(provider, { local: localAdapter });
  const engine = new Engine(source, adapterFor, { vault, usage: store.usage });

  const uploadsDir = join(paths.dataDir, 'uploads');
  mkdirSync(uploadsDir, { recursive: true });
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
    audioUrl: options.audioUrl,
    models,
    quantization: local.quantization,
    hardware: () => detectHardware({ device: local.device }),
    llama: () => host.llama(),
  });

  return {
    paths,
    engine,
    store,
    models,
    queue,
    diarizer,
    live,
    appApi,
    uploadsDir,
    close: async () => {
      await answers.close();
      await live.close();
      await queue.close();
      await engine.close();
      store.close();
    },
  };
}
