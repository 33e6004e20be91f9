// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators, not DOM nodes
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { stringify } from 'yaml';
import type { MeetingView } from '../../electron/engine/contract/api.ts';
import type { FakeOptions, FakeServer } from '../fakes/http-fake.ts';
import { FAKE_OPENAI_KEY, startFakeOpenAI } from '../fakes/openai.ts';

/**
 * The end-to-end suite's stage: the renderer built for browser mode, a real `switchboard serve`
 * child process over a temp data dir and a models dir holding real models, and Chromium driven by
 * playwright-core. Missing prerequisites fail the test with what is missing, never a silent pass.
 */

export const repoRoot = resolve(import.meta.dirname, '../..');
export const sharedDir = resolve(repoRoot, '..', 'shared');
export const STORIES_GGUF = join(sharedDir, 'models', 'gguf', 'stories260K.gguf');
export const STANDUP_WAV = join(sharedDir, 'audio', 'standup.wav');
export const WHISPER_FIXTURE = join(repoRoot, 'test', 'fixtures', 'whisper-tiny-random');
export const CHROMIUM = '/usr/bin/chromium';
const RENDERER_OUT = join(repoRoot, 'out', 'renderer');
/** Where the suite's screenshots go (ignored by git); scripts/update-screenshots.sh copies the curated ones to docs/. */
export const SCREENSHOTS = join(repoRoot, 'test-results', 'screenshots');

export function requireFile(path: string, what: string): void {
  if (!existsSync(path)) throw new Error(`${what} is missing: ${path}`);
}

export function requirePrerequisites(): void {
  requireFile(STORIES_GGUF, 'shared test data (the checkout needs ../shared beside the repo): stories260K.gguf');
  requireFile(STANDUP_WAV, 'shared test data (the checkout needs ../shared beside the repo): standup.wav');
  requireFile(WHISPER_FIXTURE, 'the committed random-weight Whisper model (test/fixtures/whisper-tiny-random)');
  requireFile(CHROMIUM, 'Chromium (Debian package `chromium`: apt-get install -y chromium)');
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

function rendererIsCurrent(): boolean {
  const index = join(RENDERER_OUT, 'index.html');
  if (!existsSync(index)) return false;
  const sources = Math.max(
    newestMtime(join(repoRoot, 'renderer')),
    newestMtime(join(repoRoot, 'electron', 'engine', 'contract')),
  );
  return statSync(index).mtimeMs > sources;
}

/** Builds out/renderer unless it is newer than its sources; a lock keeps parallel test files from building at once. */
export async function ensureRendererBuilt(): Promise<void> {
  const lock = join(repoRoot, 'out', '.e2e-build-lock');
  mkdirSync(join(repoRoot, 'out'), { recursive: true });
  const deadline = Date.now() + 120_000;
  while (true) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than two minutes belongs to a run that died.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 120_000)
        rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`another test run holds ${lock}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    if (rendererIsCurrent()) return;
    const { build } = await import('vite');
    const { rendererConfig } = await import('../../electron.vite.config.ts');
    // Vitest sets NODE_ENV=test, which would make Vite bundle React's development build.
    const nodeEnv = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      await build({ ...rendererConfig, mode: 'production', configFile: false, logLevel: 'warn' });
    } finally {
      process.env.NODE_ENV = nodeEnv;
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface Workspace {
  dir: string;
  dataDir: string;
  modelsDir: string;
  configFile: string;
  cleanup(): void;
}

export interface WorkspaceOptions {
  /** Base URL (…/v1) of the fake OpenAI-compatible cloud provider. */
  cloudUrl: string;
  cloudKey: string;
  cloudFallback?: boolean;
  /** Install stories260K and the Whisper fixture (default); false: a first run with no local model. */
  models?: boolean;
}

export const CLOUD_PROVIDER = { id: 'fakecloud', label: 'Fake Cloud', model: 'gpt-4o-mini' } as const;

/**
 * A data dir with providers.yaml (the local provider first, a cloud provider on the fake second),
 * and a models dir with stories260K and the Whisper fixture.
 */
export function makeWorkspace(options: WorkspaceOptions): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-e2e-'));
  const dataDir = join(dir, 'data');
  const modelsDir = join(dir, 'models');
  mkdirSync(dataDir, { recursive: true });
  // The model store's layout: gguf/<id>.gguf and whisper/<id>/. Copies, so nothing the app does touches the originals.
  mkdirSync(join(modelsDir, 'gguf'), { recursive: true });
  if (options.models !== false) {
    copyFileSync(STORIES_GGUF, join(modelsDir, 'gguf', 'stories260K.gguf'));
    cpSync(WHISPER_FIXTURE, join(modelsDir, 'whisper', 'whisper-tiny-random'), { recursive: true });
  }
  const configFile = join(dataDir, 'providers.yaml');
  writeFileSync(
    configFile,
    stringify({
      cloud_fallback: options.cloudFallback ?? true,
      strategy: 'priority',
      local:
        options.models === false
          ? { enabled: true, priority: 1 }
          : { enabled: true, priority: 1, llm_model: 'stories260K', whisper_model: 'whisper-tiny-random' },
      providers: {
        [CLOUD_PROVIDER.id]: {
          type: 'openai',
          name: CLOUD_PROVIDER.label,
          api_key: options.cloudKey,
          base_url: options.cloudUrl,
          models: [CLOUD_PROVIDER.model],
          default_model: CLOUD_PROVIDER.model,
          priority: 2,
          retry: { max_attempts: 1 },
        },
      },
    }),
  );
  return { dir, dataDir, modelsDir, configFile, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface RunningApp {
  /** The `switchboard serve` child process (for tests that kill it). */
  pid: number;
  /** The login URL the server printed: the UI with its one-time `?code=`. */
  loginUrl: string;
  origin: string;
  output(): string;
  stop(): Promise<void>;
  /** kill -9: the server dies mid-work, as in a crash. */
  kill(): Promise<void>;
}

const CLI = join(repoRoot, 'bin', 'switchboard.mjs');

/** Runs a `switchboard` command on the workspace's data dir, as a user would in a terminal. */
export function runCli(
  workspace: Workspace,
  args: string[],
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, '--data-dir', workspace.dataDir, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 60_000,
    // No desktop here: `switchboard open` prints its link instead of starting a browser.
    env: { ...process.env, DISPLAY: '', WAYLAND_DISPLAY: '' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The global options that point the CLI at a workspace. */
function workspaceArgs(workspace: Workspace): string[] {
  return ['--data-dir', workspace.dataDir, '--models-dir', workspace.modelsDir, '--config', workspace.configFile];
}

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * `switchboard ARGS` on the workspace's data dir, models dir and config, as a child process that does not
 * block: the caller's own HTTP connections (to a running `serve`) stay serviced meanwhile.
 */
export function switchboard(
  workspace: Workspace,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<CliResult> {
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      [CLI, ...workspaceArgs(workspace), ...args],
      { cwd: repoRoot, encoding: 'utf8', timeout: 240_000, env: { ...process.env, ...options.env } },
      (error, stdout, stderr) =>
        done({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(options.input ?? '');
  });
}

/** The app API over HTTP with the API token: calls (JSON in, JSON out, errors thrown) and audio uploads. */
export function appApiClient(app: RunningApp, token: string) {
  const authorization = `Bearer ${token}`;
  return {
    async call<T>(method: string, input: unknown): Promise<T> {
      const response = await fetch(`${app.origin}/api/app/call/${method}`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify(input),
      });
      const body = (await response.json()) as T & { error?: { message: string } };
      if (!response.ok) throw new Error(`${method}: ${response.status} ${body.error?.message}`);
      return body;
    },
    async upload(bytes: Uint8Array, name: string): Promise<string> {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(bytes)], { type: 'audio/wav' }), name);
      const response = await fetch(`${app.origin}/api/app/upload`, {
        method: 'POST',
        headers: { authorization },
        body: form,
      });
      return ((await response.json()) as { uploadId: string }).uploadId;
    },
    /** Polls a meeting until its transcription stops (done, failed, cancelled, interrupted). */
    async settled(id: string): Promise<MeetingView> {
      const deadline = Date.now() + 240_000;
      while (Date.now() < deadline) {
        const meeting = await this.call<MeetingView>('meetings.get', { id });
        if (meeting.status !== 'queued' && meeting.status !== 'running') return meeting;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      throw new Error(`meeting ${id} did not finish transcribing in 240 s`);
    },
  };
}

/** Why `switchboard serve` cannot be started yet, or undefined when its help answers. */
function serveUnavailable(): string | undefined {
  const probe = spawnSync(process.execPath, [CLI, 'serve', '--help'], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 60_000,
  });
  // Commander answers `<unknown> --help` with the program's help: only serve's own help lists --port.
  if (probe.status === 0 && probe.stdout.includes('--port')) return undefined;
  if (probe.status === 0) return 'bin/switchboard.mjs has no `serve` command yet';
  return `\`switchboard serve --help\` fails:\n${`${probe.stdout}${probe.stderr}`.slice(0, 1500)}`;
}

/**
 * Starts `switchboard serve` (bin/switchboard.mjs) as a child process on a free port and waits for
 * the login URL it prints. Fails with its output when it does not come up.
 */
export async function startApp(workspace: Workspace): Promise<RunningApp> {
  const unavailable = serveUnavailable();
  if (unavailable) throw new Error(`browser mode cannot start as the real CLI child process: ${unavailable}`);
  const args = [CLI, ...workspaceArgs(workspace), 'serve', '--port', '0'];
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, SWITCHBOARD_LOG: 'info', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    output += text;
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    output += text;
  });
  const loginUrl = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`switchboard serve printed no login URL in 60 s:\n${output}`)),
      60_000,
    );
    const check = () => {
      const match = /(http:\/\/127\.0\.0\.1:\d+\/\S*[?&]code=[\w-]+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`switchboard serve exited with ${code} before printing its URL:\n${output}`));
    });
  });
  return {
    pid: child.pid!,
    loginUrl,
    origin: new URL(loginUrl).origin,
    output: () => output,
    stop: () => stopChild(child),
    kill: () => {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
      child.kill('SIGKILL');
      return exited;
    },
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolveStop();
    });
    child.kill('SIGTERM');
  });
}

export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Flags that give Chromium a microphone which plays a file, and skip the permission prompt. */
export function fakeMicrophoneFlags(audioFile: string): string[] {
  return [
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-audio-capture=${audioFile}`,
  ];
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Chromium with a fresh profile (its own --user-data-dir), at the window size the app is designed for. */
export async function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'switchboard-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS, ...extraArgs],
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Opens the login URL: the page trades the code for a session cookie and drops it from the address bar;
 * returns once the app shows its sections and listens to the engine's operational events.
 */
export async function openApp(browser: Browser, app: RunningApp): Promise<Page> {
  const page = await browser.context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => {
    // "Failed to load resource" names the resource only in its location.
    if (message.type() === 'error') problems.push(`${message.text()} (${message.location().url})`);
  });
  (page as Page & { problems?: string[] }).problems = problems;
  // The app listens to the engine's operational events from its shell: a test that makes one happen
  // (a providers.yaml edit, a breaker) must not do it before the app is listening, or the toast never comes.
  const listening = page.waitForResponse((response) => new URL(response.url()).pathname === '/api/events');
  await page.goto(app.loginUrl);
  await page.getByRole('navigation', { name: 'Sections' }).waitFor();
  await listening;
  return page;
}

/** Errors the page logged (uncaught exceptions and console errors), for assertions and failure messages. */
export function pageProblems(page: Page): string[] {
  return (page as Page & { problems?: string[] }).problems ?? [];
}

/**
 * Waits for a meeting to open after an upload; when the page shows an error instead, fails with it
 * and with what `switchboard serve` printed, so the reason is in the test output.
 */
export async function waitForMeetingOrError(page: Page, app: RunningApp): Promise<void> {
  const title = page.getByRole('textbox', { name: 'Meeting title' });
  // The pane's own error; a toast about a provider (outside the pane) is another matter.
  const alert = page.getByRole('main').getByRole('alert');
  await title.or(alert).first().waitFor({ timeout: 60_000 });
  if ((await alert.count()) > 0) {
    const shown = await alert.first().innerText();
    throw new Error(
      `the page shows an error instead of the meeting: ${shown}\n--- switchboard serve printed:\n${app.output().slice(-2000)}`,
    );
  }
}

export async function saveScreenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // Let fonts and transitions settle so the picture shows the steady state.
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

export async function goToPane(
  page: Page,
  label: 'Chat' | 'Meetings' | 'Providers & settings' | 'Usage',
): Promise<void> {
  await page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name: label }).click();
  await page.getByRole('main', { name: label }).waitFor();
}

export interface StageOptions {
  /** The fake cloud provider's settings (its models: the cloud model unless given). */
  fake?: Partial<FakeOptions>;
  workspace?: Omit<WorkspaceOptions, 'cloudUrl' | 'cloudKey'>;
  browserArgs?: string[];
  /** Start the server and open the app before the tests (default); false: the suite starts it itself. */
  start?: boolean;
}

/** What a suite runs against; filled in by stageSuite's beforeAll. */
export interface Stage {
  fake: FakeServer;
  workspace: Workspace;
  browser: Browser;
  app?: RunningApp;
  page?: Page;
}

/**
 * Registers the suite's setup and teardown: a fake cloud provider, a workspace pointing at it, the
 * server and Chromium with the app open. The returned object is filled in before the first test.
 */
export function stageSuite(options: StageOptions = {}): Stage {
  const stage = {} as Stage;
  beforeAll(async () => {
    requirePrerequisites();
    await ensureRendererBuilt();
    stage.fake = await startFakeOpenAI({ models: [CLOUD_PROVIDER.model], ...options.fake });
    stage.workspace = makeWorkspace({
      ...options.workspace,
      cloudUrl: `${stage.fake.url}/v1`,
      cloudKey: FAKE_OPENAI_KEY,
    });
    stage.browser = await launchBrowser(options.browserArgs);
    if (options.start !== false) {
      stage.app = await startApp(stage.workspace);
      stage.page = await openApp(stage.browser, stage.app);
    }
  }, 180_000);
  afterAll(async () => {
    await stage.browser?.close();
    await stage.app?.stop();
    await stage.fake?.close();
    stage.workspace?.cleanup();
  });
  return stage;
}
