import type { Command } from 'commander';
import type { Engine } from '../../engine.ts';
import { providerStatsBody } from '../../server/operations.ts';
import type { CliContext } from '../context.ts';
import { printJson, printTable } from '../context.ts';
import { askRunningServer, readsRunningServer } from '../running-server.ts';

/** The app's engine, the one front door every command goes through. */
export async function engineOf(context: CliContext): Promise<Engine> {
  return (await context.services()).engine;
}

export function usd(value: number): string {
  return value === 0 ? '$0' : value < 0.01 ? `$${value.toFixed(6)}` : `$${value.toFixed(2)}`;
}

/** `providers stats [--json]`: per provider health, breaker, load, requests, errors, spend, latency and keys. */
export function registerProvidersStatsCommand(providers: Command, context: CliContext): void {
  readsRunningServer(
    providers
      .command('stats')
      .description(
        'routing statistics: health, circuit breakers, requests, errors, spend, latency, keys (of the running server, if one runs)',
      )
      .option('--json', 'machine-readable output')
      .action(async (options: { json?: boolean }) => {
        const stats =
          (await askRunningServer<ReturnType<typeof providerStatsBody>>(context, '/api/v1/providers/stats')) ??
          providerStatsBody({ engine: await engineOf(context) });
        if (options.json) return printJson(stats);
        process.stdout.write(`strategy: ${stats.strategy}\n`);
        printTable([
          [
            'ID',
            'HEALTH',
            'BREAKER',
            'IN FLIGHT',
            'REQUESTS',
            'ERRORS',
            'SUCCESS',
            'COST',
            'AVG LATENCY',
            'TTFT',
            'KEYS',
          ],
          ...stats.providers.map((p) => [
            p.providerId,
            p.health,
            p.breaker,
            String(p.inFlight),
            String(p.requests),
            String(p.errors),
            `${Math.round(p.successRate * 100)}%`,
            usd(p.costUsd),
            p.avgLatencyMs ? `${p.avgLatencyMs} ms` : '-',
            p.ttftMs === undefined ? '-' : `${p.ttftMs} ms`,
            p.keys.map((k) => (k.status === 'active' ? k.key : `${k.key} (${k.status})`)).join(', ') || '-',
          ]),
        ]);
        const sticky = stats.sticky;
        if (sticky.cache_size > 0) {
          process.stdout.write(
            `sticky users: ${sticky.cache_size} (${Object.entries(sticky.distribution)
              .map(([id, share]) => `${id} ${share}%`)
              .join(', ')})\n`,
          );
        }
        for (const budget of stats.budgets) {
          process.stdout.write(
            `budget ${budget.scope} ${budget.period}: ${usd(budget.spentUsd)} of ${usd(budget.limitUsd)}${budget.exceeded ? ' (spent)' : ''}\n`,
          );
        }
      }),
  );
}

/** `providers health [id] [--json]`: checks now (a list-models call each); exit code 1 when one is down. */
export function registerProvidersHealthCommand(providers: Command, context: CliContext): void {
  providers
    .command('health')
    .description('check each provider now with a cheap call (list models)')
    .argument('[id]', 'one provider')
    .option('--json', 'machine-readable output')
    .action(async (id: string | undefined, options: { json?: boolean }) => {
      const engine = await engineOf(context);
      const reports = await engine.health(id);
      const breakers = engine.reports.breakers();
      if (options.json) return printJson(reports);
      printTable([
        ['ID', 'STATUS', 'LATENCY', 'MODELS', 'BREAKER', 'DETAIL'],
        ...reports.map((r) => [
          r.providerId,
          r.status,
          r.latencyMs === undefined ? '-' : `${r.latencyMs} ms`,
          r.models === undefined ? '-' : String(r.models),
          breakers.find((b) => b.providerId === r.providerId && b.state !== 'closed')?.state ?? 'closed',
          r.error ?? '',
        ]),
      ]);
      if (reports.some((r) => r.status === 'down')) process.exitCode = 1;
    });
}
