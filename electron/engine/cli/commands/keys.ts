import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { ProviderView } from '../../contract/api.ts';
import { SwitchboardError } from '../../contract/errors.ts';
import type { Engine } from '../../engine.ts';
import type { CliContext } from '../context.ts';
import { askRunningServer } from '../running-server.ts';

/** The first line of standard input: a key is never an argument, where `ps` and the shell history would keep it. */
export async function readKey(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Paste the API key, then press Enter: ');
  const lines = createInterface({ input: process.stdin, terminal: false });
  for await (const line of lines) {
    lines.close();
    if (line.trim()) return line.trim();
    break;
  }
  throw new SwitchboardError(
    'INVALID_REQUEST',
    'no key on standard input: pipe it in, e.g. `pass show groq | switchboard providers add-key groq`',
  );
}

/**
 * A change of a provider's keys, made by the `switchboard serve` running on this data dir when there is one
 * (keys live in the database, which it does not watch: it applies the change itself, at once), else here.
 */
async function changeKeys(
  context: CliContext,
  method: 'providers.addKey' | 'providers.removeKey',
  input: object,
  here: (engine: Engine) => void,
): Promise<ProviderView[]> {
  const served = await askRunningServer<ProviderView[]>(context, `/api/app/call/${method}`, 'POST', input);
  if (served) return served;
  const { engine } = await context.services();
  here(engine);
  return engine.listProviders();
}

/** `providers add-key ID` and `providers remove-key ID NUMBER`: keys kept encrypted, as the app keeps them. */
export function registerProviderKeyCommands(providers: Command, context: CliContext): void {
  providers
    .command('add-key')
    .description("add an API key to a provider's pool (read from standard input, kept encrypted)")
    .argument('<id>', 'provider id')
    .action(async (id: string) => {
      const key = await readKey();
      const views = await changeKeys(context, 'providers.addKey', { id, key }, (engine) => engine.addKey(id, key));
      const view = views.find((p) => p.id === id);
      process.stdout.write(`${view?.label ?? id} keys: ${view?.keys.join(', ') ?? '-'}\n`);
    });

  providers
    .command('remove-key')
    .description('remove a key added in the app or with add-key (NUMBER as `providers list` shows them, from 1)')
    .argument('<id>', 'provider id')
    .argument('<number>', 'which key, from 1')
    .action(async (id: string, number: string) => {
      const index = Number.parseInt(number, 10) - 1;
      if (!Number.isInteger(index) || index < 0)
        throw new SwitchboardError('INVALID_REQUEST', `key number "${number}" is not 1, 2, 3, …`);
      const views = await changeKeys(context, 'providers.removeKey', { id, index }, (engine) =>
        engine.removeKey(id, index),
      );
      const view = views.find((p) => p.id === id);
      process.stdout.write(`${view?.label ?? id} keys: ${view?.keys.join(', ') || '-'}\n`);
    });
}
