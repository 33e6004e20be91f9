import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import type { AppServices } from '../../../electron/engine/bootstrap.ts';
import {
  registerProvidersHealthCommand,
  registerProvidersStatsCommand,
} from '../../../electron/engine/cli/commands/stats.ts';
import { registerUsageCommand } from '../../../electron/engine/cli/commands/usage.ts';
import type { CliContext } from '../../../electron/engine/cli/context.ts';
import { resolvePaths } from '../../../electron/engine/config/paths.ts';
import { ConfigSource } from '../../../electron/engine/config/source.ts';
import { Engine } from '../../../electron/engine/engine.ts';
import { always, type FakeServer, startFakeOpenAI } from '../../fakes/providers.ts';
import { cloudAdapters } from '../../support/cloud-adapters.ts';

let stdout = '';
let fakes: FakeServer[] = [];
let engine: Engine;
let dataDir: string;

/** The CLI wired as main.ts does, over a real Engine on real fake servers. */
function program(): Command {
  const root = new Command().exitOverride();
  const context: CliContext = {
    // No `serve` runs on this data dir: the commands answer from this process's engine.
    paths: () => resolvePaths({ dataDir }, {}),
    services: async () => ({ engine }) as AppServices,
    close: async () => {},
  };
  const providers = root.command('providers');
  registerProvidersStatsCommand(providers, context);
  registerProvidersHealthCommand(providers, context);
  registerUsageCommand(root, context);
  return root;
}

beforeEach(async () => {
  stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  fakes = [
    await startFakeOpenAI({ apiKey: undefined, text: 'one two three' }),
    await startFakeOpenAI({ apiKey: undefined, faults: always('unavailable') }),
  ];
  dataDir = mkdtempSync(join(tmpdir(), 'sb-commands-'));
  const file = join(dataDir, 'providers.yaml');
  const common = { models: ['gpt-4o-mini'], retry: { max_attempts: 1 }, health_check_interval: 0 };
  writeFileSync(
    file,
    stringify({
      local: { enabled: false },
      providers: {
        good: { type: 'openai', api_key: 'sk-good-key-0000000000', base_url: `${fakes[0]!.url}/v1`, ...common },
        bad: { type: 'custom', base_url: `${fakes[1]!.url}/v1`, ...common },
      },
    }),
  );
  const source = new ConfigSource({ file, env: {}, overridesFile: join(dataDir, 'settings.json') });
  engine = new Engine(source, cloudAdapters);
  for (let i = 0; i < 3; i++) {
    for await (const _ of engine.chat({ messages: [{ role: 'user', content: 'Say hello.' }] })) {
      // drain
    }
  }
});

afterEach(async () => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
  await engine.close();
  await Promise.all(fakes.map((f) => f.close()));
  rmSync(dataDir, { recursive: true, force: true });
});

describe('CLI: providers stats|health, usage', () => {
  it('providers stats shows requests, spend and health per provider', async () => {
    await program().parseAsync(['node', 'sb', 'providers', 'stats']);
    expect(stdout).toMatch(/strategy: fallback/);
    expect(stdout).toMatch(/^good\s+unknown\s+closed\s+0\s+3\s+0\s+100%\s+\$0\.\d+/m);
    stdout = '';
    await program().parseAsync(['node', 'sb', 'providers', 'stats', '--json']);
    const json = JSON.parse(stdout);
    expect(json.providers.map((p: { providerId: string; requests: number }) => [p.providerId, p.requests])).toEqual([
      ['local', 0],
      ['good', 3],
      ['bad', 0],
    ]);
  });

  it('providers health checks now and exits 1 when a provider is down', async () => {
    await program().parseAsync(['node', 'sb', 'providers', 'health']);
    expect(stdout).toMatch(/^good\s+healthy\s+\d+ ms\s+5\s+closed/m);
    expect(stdout).toMatch(/^bad\s+degraded/m);
    await program().parseAsync(['node', 'sb', 'providers', 'health', 'bad']);
    expect(stdout).toMatch(/^bad\s+down/m);
    expect(process.exitCode).toBe(1);
  });

  it('usage groups spending by provider, model or day', async () => {
    await program().parseAsync(['node', 'sb', 'usage', '--by', 'model']);
    expect(stdout).toMatch(/^good\/gpt-4o-mini\s+3\s+0\s+\d+\s+9\s+\$0\.\d+/m);
    expect(stdout).toMatch(/^total\s+3/m);
    stdout = '';
    await program().parseAsync(['node', 'sb', 'usage', '--by', 'day', '--json']);
    const report = JSON.parse(stdout);
    expect(report.by).toBe('day');
    expect(report.rows).toHaveLength(1);
    expect(report.total.requests).toBe(3);
    await expect(program().parseAsync(['node', 'sb', 'usage', '--by', 'week'])).rejects.toThrow(/--by must be one of/);
  });
});
