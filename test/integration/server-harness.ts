import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ConfigSource } from '../../electron/engine/config/source.ts';
import { Engine } from '../../electron/engine/engine.ts';
import { OpsLogger, secretsRedactor } from '../../electron/engine/operations/logger.ts';
import { createServer, type RunningServer, type ServerOptions } from '../../electron/engine/server/server.ts';
import { FAKE_ANTHROPIC_KEY, startFakeAnthropic } from '../fakes/anthropic.ts';
import type { FakeOptions, FakeServer } from '../fakes/http-fake.ts';
import { FAKE_OPENAI_KEY, startFakeOpenAI } from '../fakes/openai.ts';
import { cloudAdapters } from '../support/cloud-adapters.ts';

export const TOKEN = 'sb-test-token-0123456789abcdefghij';
export const REPLY = 'Hello from the fake provider, word by word.';

/**
 * A live stack for the server's tests: the fake OpenAI and Anthropic servers on loopback, a real
 * Engine over a real providers.yaml (ConfigSource, createAdapter), and the server.
 */
export interface Stack {
  server: RunningServer;
  engine: Engine;
  openai: FakeServer;
  anthropic: FakeServer;
  dataDir: string;
  /** Every line the server logged. */
  log: string[];
  close(): Promise<void>;
}

export interface StackOptions {
  fake?: FakeOptions;
  server?: Partial<ServerOptions>;
  /** Extra top-level providers.yaml settings (profiles, strategy, …). */
  config?: Record<string, unknown>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const openai = await startFakeOpenAI({ text: REPLY, ...options.fake });
  const anthropic = await startFakeAnthropic({ text: REPLY, ...options.fake });
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-server-'));
  const file = join(dataDir, 'providers.yaml');
  writeFileSync(
    file,
    stringify({
      local: { enabled: false },
      providers: {
        openai: {
          type: 'openai',
          api_key: FAKE_OPENAI_KEY,
          base_url: `${openai.url}/v1`,
          models: ['gpt-4o-mini', 'text-embedding-3-small', 'whisper-1'],
          default_model: 'gpt-4o-mini',
          priority: 1,
          retry: { max_attempts: 1 },
          prices: { 'gpt-4o-mini': { input: 0.15, output: 0.6 } },
        },
        anthropic: {
          type: 'anthropic',
          api_key: FAKE_ANTHROPIC_KEY,
          base_url: anthropic.url,
          models: ['claude-haiku-4-5'],
          default_model: 'claude-haiku-4-5',
          priority: 2,
          retry: { max_attempts: 1 },
          prices: { 'claude-haiku-4-5': { input: 1, output: 5 } },
        },
      },
      profiles: { fast: { provider: 'openai', model: 'gpt-4o-mini', fallback_providers: ['anthropic'] } },
      ...options.config,
    }),
  );
  const source = new ConfigSource({ file, env: {}, overridesFile: join(dataDir, 'settings.json') });
  const engine = new Engine(source, cloudAdapters);
  // The JSON lines serve would log, as serve's logger writes them.
  const log: string[] = [];
  const logger = new OpsLogger({
    console: { stream: { write: (line) => log.push(line) }, format: 'json' },
    redact: secretsRedactor(engine, TOKEN),
  });
  const server = await createServer({
    engine,
    metricsText: () => engine.reports.metricsText(),
    token: TOKEN,
    port: 0,
    logger,
    ...options.server,
  });
  return {
    server,
    engine,
    openai,
    anthropic,
    dataDir,
    log,
    async close() {
      await server.close();
      await engine.close();
      await Promise.all([openai.close(), anthropic.close()]);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function authorized(extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...extra };
}
