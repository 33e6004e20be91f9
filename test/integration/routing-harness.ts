import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach } from 'vitest';
import { stringify } from 'yaml';
import { type AppServices, createAppServices } from '../../electron/engine/bootstrap.ts';
import { resolvePaths } from '../../electron/engine/config/paths.ts';
import { createServer, type RunningServer } from '../../electron/engine/server/server.ts';
import { type FakeServer, startFakeOpenAI } from '../fakes/providers.ts';

export const TOKEN = 'sb-routing-test-token-0123456789abcdef';

/**
 * Switchboard as `switchboard serve` runs it — the app's composition root (createAppServices: real
 * store, real config file, real adapters) behind the real HTTP server on 127.0.0.1 — over a
 * providers.yaml the test writes, with fake upstreams that speak OpenAI's protocol.
 */
export interface Gateway {
  url: string;
  services: AppServices;
  dataDir: string;
  /** POST JSON with the token; answers status, headers and the parsed body. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Reply>;
  get(path: string): Promise<Reply>;
  /** A chat completion for `model` (default: none, the default profile). */
  chat(model?: string, extra?: Record<string, unknown>): Promise<Reply>;
  close(): Promise<void>;
}

export interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: test replies are read field by field
  json: any;
}

export async function startGateway(config: Record<string, unknown>): Promise<Gateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-routing-http-'));
  const file = join(dataDir, 'providers.yaml');
  writeFileSync(file, stringify({ local: { enabled: false }, ...config }));
  const services = await createAppServices(resolvePaths({ dataDir, config: file }, {}), { env: {} });
  let server: RunningServer;
  try {
    server = await createServer({
      engine: services.engine,
      token: TOKEN,
      port: 0,
      appApi: services.appApi,
      metricsText: () => services.engine.reports.metricsText(),
    });
  } catch (error) {
    await services.close();
    throw error;
  }
  const send = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
      // A string is sent as it is (bodies JSON.stringify cannot make, such as very deep ones).
      body: body === undefined || typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: response.status, headers: response.headers, json };
  };
  return {
    url: server.url,
    services,
    dataDir,
    post: (path, body, headers) => send('POST', path, body, headers),
    get: (path) => send('GET', path),
    chat: (model, extra = {}) =>
      send('POST', '/v1/chat/completions', {
        ...(model ? { model } : {}),
        messages: [{ role: 'user', content: 'Say hello' }],
        ...extra,
      }),
    close: async () => {
      await server.close();
      await services.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Fake OpenAI-protocol upstreams, closed together. */
export class Upstreams {
  private readonly fakes: FakeServer[] = [];

  async start(options: Parameters<typeof startFakeOpenAI>[0] = {}): Promise<FakeServer> {
    const fake = await startFakeOpenAI({ apiKey: undefined, ...options });
    this.fakes.push(fake);
    return fake;
  }

  async close(): Promise<void> {
    await Promise.all(this.fakes.splice(0).map((f) => f.close()));
  }
}

/** Chat completions a fake received. */
export function chatsTo(fake: FakeServer): number {
  return fake.requests.filter((r) => r.path.endsWith('/chat/completions')).length;
}

/** A custom (OpenAI-compatible) provider entry for providers.yaml, aimed at a fake. */
export function custom(fake: Pick<FakeServer, 'url'>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'custom',
    base_url: `${fake.url}/v1`,
    default_model: 'gpt-4o-mini',
    health_check_interval: 0,
    ...extra,
  };
}

const BIN = resolve(import.meta.dirname, '../../bin/switchboard.mjs');

/** `switchboard serve` as its own process, as a person starts it. */
export interface ServeProcess {
  /** The API's origin, e.g. http://127.0.0.1:41234. */
  api: string;
  child: ChildProcess;
  /** Its stdout and stderr so far. */
  output(): string;
}

/**
 * Starts `switchboard --data-dir … --config … serve --port 0` with TOKEN (and `env` besides this process's);
 * resolves once it listens.
 */
export async function startServe(
  dataDir: string,
  config: Record<string, unknown>,
  env: Record<string, string> = {},
): Promise<ServeProcess> {
  const file = join(dataDir, 'providers.yaml');
  writeFileSync(file, stringify({ local: { enabled: false }, ...config }));
  const { SWITCHBOARD_CONFIG: _c, SWITCHBOARD_DATA_DIR: _d, ...inherited } = process.env;
  const child = spawn(process.execPath, [BIN, '--data-dir', dataDir, '--config', file, 'serve', '--port', '0'], {
    env: { ...inherited, ...env, SWITCHBOARD_API_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  await new Promise<void>((listening) => {
    const collect = (chunk: Buffer) => {
      out += chunk.toString();
      if (/Switchboard API on http/.test(out)) listening();
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    child.once('exit', () => listening());
    setTimeout(listening, 60_000).unref();
  });
  const api = /Switchboard API on (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(out)?.[1];
  if (!api) throw new Error(`switchboard serve did not start: ${out}`);
  return { api, child, output: () => out };
}

/**
 * A gateway and upstreams per test, closed after each: `open(config)` starts the gateway over
 * providers.yaml `config`, `upstreams.start()` a fake.
 */
export function gatewayPerTest(): { upstreams: Upstreams; open(config: Record<string, unknown>): Promise<Gateway> } {
  const upstreams = new Upstreams();
  let gateway: Gateway | undefined;
  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
    await upstreams.close();
  });
  return {
    upstreams,
    open: async (config) => {
      gateway = await startGateway(config);
      return gateway;
    },
  };
}

/** Which provider answered (Switchboard's response header). */
export const answeredBy = (reply: { headers: Headers }) => reply.headers.get('x-switchboard-provider');

/** Runs `count` calls of `run`, `concurrency` at a time; the outcomes in call order. */
export async function inPool<T>(count: number, concurrency: number, run: (index: number) => Promise<T>): Promise<T[]> {
  const outcomes: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const index = next++;
        outcomes[index] = await run(index);
      }
    }),
  );
  return outcomes;
}
