import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AppServices } from '../../../electron/engine/bootstrap.ts';
import {
  registerProvidersHealthCommand,
  registerProvidersStatsCommand,
} from '../../../electron/engine/cli/commands/stats.ts';
import { registerUsageCommand } from '../../../electron/engine/cli/commands/usage.ts';
import type { CliContext } from '../../../electron/engine/cli/context.ts';
import { RoutingService } from '../../../electron/engine/routing/router.ts';
import { always, type FakeServer, startFakeOpenAI } from '../../fakes/providers.ts';
import { adaptersFor, chat, engineConfig, provider } from './helpers.ts';

let stdout = '';
let fakes: FakeServer[] = [];
let routing: RoutingService;

/** The CLI wired as main.ts does, over a routing service on real fake servers. */
function program(): Command {
  const root = new Command().exitOverride();
  const context: CliContext = {
    paths: () => {
      throw new Error('not needed');
    },
    services: async () => ({ routing }) as unknown as AppServices,
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
  const config = engineConfig([
    provider('good', fakes[0]!.url, { vendor: 'openai' }),
    provider('bad', fakes[1]!.url, { retry: { attempts: 1, backoffFactor: 0 } }),
  ]);
  routing = new RoutingService(config, adaptersFor(config));
  for (let i = 0; i < 3; i++) await chat(routing);
});

afterEach(async () => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
  routing.close();
  await Promise.all(fakes.map((f) => f.close()));
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
