import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';

/**
 * `switchboard` run as a person runs it: bin/switchboard.mjs in its own process, with a data dir of its
 * own. Tests that need a model lay one out in that data dir first.
 */

const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'switchboard.mjs');
export const TEST_TOKEN = 'sb-test-token-0123456789abcdefghij';
export const SHARED = resolve(ROOT, '..', 'shared');
/** The committed random-weight Whisper (scripts/whisper-onnx): real graph, real tokenizer, garbage text. */
export const WHISPER_FIXTURE = join(ROOT, 'test', 'fixtures', 'whisper-tiny-random');

/** A file of ../shared, or an error saying the checkout lacks it. */
export function sharedFile(...path: string[]): string {
  const file = join(SHARED, ...path);
  if (!existsSync(file)) throw new Error(`shared test data missing: ${file} (the checkout needs ../shared beside it)`);
  return file;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Variables Switchboard reads: the tests' own environment must not leak keys, URLs or settings into a run. */
const SWITCHBOARD_VARIABLES =
  /^(SWITCHBOARD_|PROVIDER_|LOCAL_|CUSTOM_PROVIDER_|AZURE_OPENAI_|CLOUD_FALLBACK$|FORCE_PROVIDER$|PRIMARY_PROVIDER$|SECONDARY_PROVIDER$|FALLBACK_PROVIDER$)|_(API_KEY|API_TOKEN|BASE_URL|ENABLED|PRIORITY)$/;

/** The environment a CLI child gets: this one's, minus everything that would configure it, plus `env`. */
export function childEnv(env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !SWITCHBOARD_VARIABLES.test(name)));
  return { ...base, NO_COLOR: '1', ...env };
}

/** A stack trace's marks: the CLI must never print one. */
export const STACK_TRACE = /\n\s+at .+\(|node:internal|Node\.js v\d/;

/**
 * Runs one command line to its end, `input` on its standard input (a key typed or piped in); never throws
 * for a non-zero exit (the test looks at `code`).
 */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  { input = '', timeoutMs = 180_000 }: { input?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolveRun) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, env: childEnv(env), timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolveRun({ code, stdout, stderr });
      },
    );
    child.stdin?.end(input);
  });
}

/**
 * `providers add custom` for an OpenAI-compatible endpoint (a fake's `url`) named House, serving `models`,
 * as a person types it.
 */
export function addHouseArgs(url: string, models: string[]): string[] {
  return ['providers', 'add', 'custom', '--name', 'House', '--base-url', `${url}/v1`, '--models', models.join(',')];
}

/** Starts a command that keeps running (serve, transcribe); the caller kills it. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A started command and its end: the exit status and everything it printed. */
export function startCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; exited: Promise<CliResult> } {
  const child = spawnCli(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
  });
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  const exited = new Promise<CliResult>((done) =>
    child.once('close', (code) => done({ code: code ?? 1, stdout, stderr })),
  );
  return { child, exited };
}

export interface TestDataDir {
  dir: string;
  /** `--data-dir DIR`, to put before a command. */
  args: string[];
  /** Writes `config` as the data dir's providers.yaml; returns its path, for `--config`. */
  writeConfig(config: unknown): string;
  remove(): void;
}

/**
 * A fresh data dir; with `whisper`, the fixture Whisper installed in its models dir, with `stories`,
 * ../shared's stories260K as its chat model (linked, as `models import --link` would).
 */
export function testDataDir(options: { whisper?: boolean; stories?: boolean } = {}): TestDataDir {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-cli-'));
  if (options.whisper) {
    mkdirSync(join(dir, 'models', 'whisper'), { recursive: true });
    symlinkSync(WHISPER_FIXTURE, join(dir, 'models', 'whisper', 'whisper-tiny-random'), 'dir');
  }
  if (options.stories) {
    mkdirSync(join(dir, 'models', 'gguf'), { recursive: true });
    symlinkSync(sharedFile('models', 'gguf', 'stories260K.gguf'), join(dir, 'models', 'gguf', 'stories260K.gguf'));
  }
  return {
    dir,
    args: ['--data-dir', dir],
    writeConfig(config) {
      const file = join(dir, 'providers.yaml');
      writeFileSync(file, stringify(config));
      return file;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface ServedCli {
  url: string;
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** GET/POST with the token. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** POST /api/app/call/<method> with a JSON input; throws with the body on an error status. */
  call<T = unknown>(method: string, input: object): Promise<T>;
  stop(): Promise<void>;
}

/** `switchboard serve --port 0 --no-ui` on a data dir; resolves once it listens. */
export async function serveCli(
  data: Pick<TestDataDir, 'dir' | 'args'>,
  extra: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<ServedCli> {
  const child = spawnCli([...data.args, 'serve', '--port', '0', '--no-ui', '--quiet', ...extra], {
    SWITCHBOARD_API_TOKEN: TEST_TOKEN,
    ...env,
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in 90 s:\n${output}`)), 90_000);
    const look = () => {
      const match = /Switchboard API on (http:\/\/[^/\s]+)\/v1/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]!);
      }
    };
    child.stdout!.on('data', look);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${output}`));
    });
  });
  const authed = (path: string, init: RequestInit = {}) =>
    fetch(`${url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${TEST_TOKEN}`, ...(init.headers as Record<string, string> | undefined) },
    });
  return {
    url,
    child,
    output: () => output,
    fetch: authed,
    async call<T>(method: string, input: object): Promise<T> {
      const response = await authed(`/api/app/call/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(input),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} answered ${response.status}: ${text}`);
      return JSON.parse(text) as T;
    },
    stop: () =>
      new Promise<void>((resolveStop) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolveStop();
        child.once('exit', () => resolveStop());
        child.kill('SIGTERM');
      }),
  };
}
