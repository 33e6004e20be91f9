import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { getLlamaHost } from '../../native/gpu/llama-host.ts';
import { createLlamaRuntime } from '../../native/llama/llama-runtime.ts';
import { ModelStore } from '../../native/models/model-store.ts';
import { createWhisperTranscriber } from '../../native/whisper/index.ts';
import type { ResolvedPaths } from './config/paths.ts';
import { ConfigSource } from './config/source.ts';
import type { EngineProvider } from './config/types.ts';
import { Engine } from './engine.ts';
import { createAdapter } from './providers/create-adapter.ts';
import { createLocalAdapter } from './providers/local/local-adapter.ts';
import type { ProviderAdapter, ProviderConfig } from './providers/types.ts';
import { RoutingService } from './routing/router.ts';

/** Everything a front (CLI, HTTP server, Electron main) runs on, built from the paths alone. */
export interface AppServices {
  paths: ResolvedPaths;
  engine: Engine;
  models: ModelStore;
  close(): Promise<void>;
}

export interface BootstrapOptions {
  env?: NodeJS.ProcessEnv;
  /** Watch providers.yaml and apply edits while running (the app and `serve` do; one-shot commands need not). */
  watchConfig?: boolean;
}

/** providers.yaml, .yml or .json in the data dir, unless a file was named. */
function findConfigFile(paths: ResolvedPaths): string | undefined {
  if (paths.configFile) return paths.configFile;
  return ['providers.yaml', 'providers.yml', 'providers.json']
    .map((name) => join(paths.dataDir, name))
    .find(existsSync);
}

export async function createAppServices(paths: ResolvedPaths, options: BootstrapOptions = {}): Promise<AppServices> {
  mkdirSync(paths.dataDir, { recursive: true });
  const file = findConfigFile(paths);
  const source = new ConfigSource({
    file,
    env: options.env,
    overridesFile: join(paths.dataDir, 'settings.json'),
    dotEnvFile: [file ? join(dirname(file), '.env') : undefined, join(paths.dataDir, '.env')].find(
      (f) => f && existsSync(f),
    ),
  });
  if (options.watchConfig) source.watch();
  const local = source.current.local;
  const models = new ModelStore({ modelsDir: paths.modelsDir, quantization: local.quantization, env: options.env });
  // Runtimes load models on first use, so making them per local adapter costs nothing until a request.
  const localAdapter = (provider: ProviderConfig): ProviderAdapter =>
    createLocalAdapter(provider, {
      llm: createLlamaRuntime({
        store: models,
        host: getLlamaHost({ device: local.device }),
        idleTtlMs: local.idleUnloadMs,
      }),
      transcriber: createWhisperTranscriber({ modelsDir: models.whisperDir, quantization: local.quantization }),
    });
  const adapterFor = (provider: EngineProvider): ProviderAdapter => createAdapter(provider, { local: localAdapter });
  const engine = new Engine(
    source,
    adapterFor,
    (config, adapters, knownModels) => new RoutingService(config, adapters, { knownModels }),
  );
  return {
    paths,
    engine,
    models,
    close: () => engine.close(),
  };
}
