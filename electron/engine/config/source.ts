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

/** Each event names the file it came from where one did (the configuration file, or the settings file). */
interface ConfigEvents {
  change: [EngineConfig, string | undefined];
  error: [ConfigError, string | undefined];
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
  /** The settings file's text as last read or written: a watch event that leaves it so (our own write) changes nothing. */
  private overridesText?: string;
  private readonly watchers: FSWatcher[] = [];
  private reloadTimer?: NodeJS.Timeout;
  private configFileChanged = false;

  constructor(options: ConfigSourceOptions) {
    super();
    this.options = options;
    this.file = options.file;
    // No earlier good configuration exists at start: a broken one stops here (ConfigError), rather than
    // running on what is left of it and sending keys where the file did not say.
    ({ overrides: this.overrides, text: this.overridesText } = readOverrides(options.overridesFile));
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

  /**
   * Reads the configuration file and the settings file again (the CLI, or another process on the same
   * data dir, may have changed the settings); returns false (and emits 'error') when either is broken.
   */
  reload(changed: string | undefined = this.file): boolean {
    let read: { overrides: FileConfig; text?: string } | undefined;
    let config: EngineConfig;
    try {
      read = readOverrides(this.options.overridesFile);
      config = this.build(read.overrides);
    } catch (thrown) {
      // Runs from a file watch: whatever the edit did, the server keeps serving the last good configuration.
      const error =
        thrown instanceof ConfigError
          ? thrown
          : new ConfigError([
              { source: this.file ?? 'configuration', path: '', message: `cannot be loaded: ${String(thrown)}` },
            ]);
      this.error = error;
      this.emit('error', error, read ? this.file : this.options.overridesFile);
      return false;
    }
    this.overrides = read.overrides;
    this.overridesText = read.text;
    this.config = config;
    this.error = undefined;
    this.emit('change', config, changed);
    return true;
  }

  /**
   * Hot reload: watches the folders of the configuration file and of the settings file (editors replace
   * files, which a file watch misses), so an edit of providers.yaml and a change made by another process
   * (`switchboard providers add` beside a running `serve`) both apply.
   */
  watch(): void {
    if (this.watchers.length > 0) return;
    const watched = new Map<string, Set<string>>();
    for (const file of [this.file, this.options.overridesFile]) {
      if (!file) continue;
      const names = watched.get(dirname(file)) ?? new Set<string>();
      watched.set(dirname(file), names.add(basename(file)));
    }
    for (const [dir, names] of watched) {
      if (!existsSync(dir)) continue;
      const watcher = watch(dir, (_event, changed) => {
        if (changed !== null && !names.has(changed)) return;
        if (changed === null || join(dir, changed) !== this.options.overridesFile) this.configFileChanged = true;
        clearTimeout(this.reloadTimer);
        this.reloadTimer = setTimeout(() => this.reloadChanged(), RELOAD_DEBOUNCE_MS);
      });
      this.watchers.push(watcher);
    }
  }

  /** A watch event's reload: skipped when only the settings file stirred and holds what was last read or written. */
  private reloadChanged(): void {
    const configFileChanged = this.configFileChanged;
    this.configFileChanged = false;
    if (!configFileChanged && !this.error && readText(this.options.overridesFile) === this.overridesText) return;
    this.reload(configFileChanged ? this.file : this.options.overridesFile);
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
    this.overridesText = writeOverrides(this.options.overridesFile, overrides);
    this.emit('change', this.config, undefined);
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
    for (const watcher of this.watchers.splice(0)) watcher.close();
  }
}

/** The file's text; undefined when there is none. */
function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The changes made in the app; a damaged file is reported, not silently dropped with the user's settings. */
function readOverrides(file: string): { overrides: FileConfig; text?: string } {
  const text = readText(file);
  if (text === undefined) return { overrides: {} };
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
    raw = JSON.parse(text);
  } catch (error) {
    throw damaged(`not valid JSON (${(error as Error).message})`);
  }
  const parsed = fileConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw damaged(`not valid settings (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'unknown problem'})`);
  }
  return { overrides: parsed.data, text };
}

/** Writes the settings whole (a reader never sees half a file); returns the text written. */
function writeOverrides(file: string, overrides: FileConfig): string {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  const text = `${JSON.stringify(overrides, null, 2)}\n`;
  writeFileSync(temporary, text, { mode: 0o600 });
  renameSync(temporary, file);
  return text;
}
