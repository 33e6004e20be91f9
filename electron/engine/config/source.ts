import { EventEmitter } from 'node:events';
import { existsSync, type FSWatcher, mkdirSync, readFileSync, renameSync, watch, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ConfigError } from './errors.ts';
import { loadConfig, withDotEnv } from './load.ts';
import { type FileConfig, fileConfigSchema } from './schema.ts';
import type { EngineConfig } from './types.ts';

export interface ConfigSourceOptions {
  /** providers.yaml / .json; absent: defaults + environment + overrides only. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Where changes made in the app are kept (JSON, same shape as providers.yaml). */
  overridesFile: string;
  /** A .env file read under the real environment. */
  dotEnvFile?: string;
  /** Keys added in the app, read at every load (they live encrypted in the store). */
  extraKeys?: () => Record<string, string[]>;
  /** Header values given through the app or the API (encrypted in the store, as they may carry credentials). */
  extraHeaders?: () => Record<string, Record<string, string>>;
}

interface ConfigEvents {
  change: [EngineConfig];
  error: [ConfigError];
}

const RELOAD_DEBOUNCE_MS = 150;

/**
 * The running configuration: loads it, watches the file, and keeps the last good configuration
 * when an edit breaks it (the error is reported, nothing stops serving).
 */
export class ConfigSource extends EventEmitter<ConfigEvents> {
  readonly file?: string;
  private readonly options: ConfigSourceOptions;
  private config: EngineConfig;
  private error?: ConfigError;
  private overrides: FileConfig;
  private watcher?: FSWatcher;
  private reloadTimer?: NodeJS.Timeout;

  constructor(options: ConfigSourceOptions) {
    super();
    this.options = options;
    this.file = options.file;
    // No earlier good configuration exists at start: a broken one stops here (ConfigError), rather than
    // running on what is left of it and sending keys where the file did not say.
    this.overrides = readOverrides(options.overridesFile);
    this.config = this.build(this.overrides);
  }

  get current(): EngineConfig {
    return this.config;
  }

  /** The problem with the file as it is now, while the engine runs on the last good configuration. */
  get lastError(): ConfigError | undefined {
    return this.error;
  }

  get currentOverrides(): FileConfig {
    return structuredClone(this.overrides);
  }

  private env(): NodeJS.ProcessEnv {
    return withDotEnv(this.options.env ?? process.env, this.options.dotEnvFile);
  }

  private build(overrides: FileConfig): EngineConfig {
    return loadConfig({
      file: this.file,
      env: this.env(),
      overrides,
      extraKeys: this.options.extraKeys?.(),
      extraHeaders: this.options.extraHeaders?.(),
    });
  }

  /** Reads the file again; returns false (and emits 'error') when it is broken. */
  reload(): boolean {
    let config: EngineConfig;
    try {
      config = this.build(this.overrides);
    } catch (thrown) {
      // Runs from a file watch: whatever the edit did, the server keeps serving the last good configuration.
      const error =
        thrown instanceof ConfigError
          ? thrown
          : new ConfigError([
              { source: this.file ?? 'configuration', path: '', message: `cannot be loaded: ${String(thrown)}` },
            ]);
      this.error = error;
      this.emit('error', error);
      return false;
    }
    this.config = config;
    this.error = undefined;
    this.emit('change', config);
    return true;
  }

  /** Hot reload: watches the config file's folder (editors replace files, which a file watch misses). */
  watch(): void {
    if (!this.file || this.watcher) return;
    const name = basename(this.file);
    this.watcher = watch(dirname(this.file), (_event, changed) => {
      if (changed !== null && changed !== name) return;
      clearTimeout(this.reloadTimer);
      this.reloadTimer = setTimeout(() => this.reload(), RELOAD_DEBOUNCE_MS);
    });
  }

  /**
   * Applies a change made through the engine API (enable a provider, set priority, update its
   * settings). The change is validated with everything else before it is kept; a change that would
   * break the configuration throws ConfigError and is not saved.
   */
  update(change: (overrides: FileConfig) => void): EngineConfig {
    const { overrides, config } = this.apply(change);
    this.config = config;
    this.overrides = overrides;
    writeOverrides(this.options.overridesFile, overrides);
    this.emit('change', this.config);
    return this.config;
  }

  /** The configuration a change would give, neither kept nor announced (throws ConfigError as update does). */
  preview(change: (overrides: FileConfig) => void): EngineConfig {
    return this.apply(change).config;
  }

  private apply(change: (overrides: FileConfig) => void): { overrides: FileConfig; config: EngineConfig } {
    const next = structuredClone(this.overrides);
    change(next);
    const parsed = fileConfigSchema.safeParse(next);
    if (!parsed.success) {
      throw new ConfigError(
        parsed.error.issues.map((issue) => ({
          source: 'settings',
          path: issue.path.join('.'),
          message: issue.message,
        })),
      );
    }
    return { overrides: parsed.data, config: this.build(parsed.data) };
  }

  close(): void {
    clearTimeout(this.reloadTimer);
    this.watcher?.close();
    this.watcher = undefined;
  }
}

/** The changes made in the app; a damaged file is reported, not silently dropped with the user's settings. */
function readOverrides(file: string): FileConfig {
  if (!existsSync(file)) return {};
  const damaged = (reason: string) =>
    new ConfigError([
      {
        source: file,
        path: '',
        message: `${reason}: fix it, or delete it to forget the changes made in the app`,
      },
    ]);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw damaged(`not valid JSON (${(error as Error).message})`);
  }
  const parsed = fileConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw damaged(`not valid settings (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'unknown problem'})`);
  }
  return parsed.data;
}

function writeOverrides(file: string, overrides: FileConfig): void {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  writeFileSync(temporary, `${JSON.stringify(overrides, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}
