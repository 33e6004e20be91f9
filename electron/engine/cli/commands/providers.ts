import type { Command } from 'commander';
import { engineStatusBody } from '../../server/operations.ts';
import type { CliContext } from '../context.ts';
import { printJson, printTable } from '../context.ts';
import { askRunningServer, readsRunningServer } from '../running-server.ts';

/** `providers list|status`; the routing commands add `stats` and `health` to the returned command. */
export function registerProvidersCommand(program: Command, context: CliContext): Command {
  const providers = program.command('providers').description('the providers Switchboard routes to');

  providers
    .command('list')
    .description('configured providers (keys masked)')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const { engine } = await context.services();
      const views = engine.listProviders();
      if (options.json) return printJson(views);
      printTable([
        ['ID', 'TYPE', 'ENABLED', 'PRIORITY', 'MODEL', 'KEYS', 'WHERE'],
        ...views.map((p) => [
          p.id,
          p.vendor,
          p.enabled ? (p.usable ? 'yes' : 'yes (cloud off)') : 'no',
          String(p.priority),
          p.defaultModel ?? '-',
          p.keys.join(',') || '-',
          p.onMachine ? 'this machine' : (p.baseUrl ?? '-'),
        ]),
      ]);
    });

  readsRunningServer(
    providers
      .command('status')
      .description('the engine: cloud fallback, strategy, configuration problems (of the running server, if one runs)')
      .option('--json', 'machine-readable output')
      .action(async (options: { json?: boolean }) => {
        const status =
          (await askRunningServer<ReturnType<typeof engineStatusBody>>(context, '/api/v1/status')) ??
          engineStatusBody(await context.services());
        if (options.json) return printJson(status);
        process.stdout.write(`cloud fallback: ${status.cloudFallback ? 'on' : 'off'}\nstrategy: ${status.strategy}\n`);
        process.stdout.write(`providers: ${status.providers.length}${status.localOnly ? ' (local only)' : ''}\n`);
        if (status.configFile) process.stdout.write(`config: ${status.configFile}\n`);
        process.stdout.write(`routing state: ${status.state.message}\n`);
        if (status.note) process.stdout.write(`${status.note}\n`);
        if (status.configError) process.stderr.write(`${status.configError}\n`);
      }),
  );

  return providers;
}
