import type { Command } from 'commander';
import type { AppKey, IssuedAppKey } from '../../contract/api.ts';
import { SwitchboardError } from '../../contract/errors.ts';
import type { AppKeySpec } from '../../store/app-keys.ts';
import { openStore, type Store } from '../../store/store.ts';
import type { CliContext } from '../context.ts';
import { printJson, printTable } from '../context.ts';
import { usd } from './stats.ts';

interface CreateOptions {
  rpm?: string;
  tpm?: string;
  dailyBudget?: string;
  monthlyBudget?: string;
  models?: string;
  json?: boolean;
}

function numberOption(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) {
    throw new SwitchboardError('INVALID_REQUEST', `${flag} "${raw}" is not a number`, { retryable: false });
  }
  return value;
}

function limitsOf(key: AppKey): string {
  const parts: string[] = [];
  if (key.rpm !== undefined) parts.push(`${key.rpm} rpm`);
  if (key.tpm !== undefined) parts.push(`${key.tpm} tpm`);
  if (key.dailyBudgetUsd !== undefined) parts.push(`${usd(key.dailyBudgetUsd)}/day`);
  if (key.monthlyBudgetUsd !== undefined) parts.push(`${usd(key.monthlyBudgetUsd)}/month`);
  return parts.join(', ') || '-';
}

/** The new key, once: it is not kept anywhere it could be shown again. */
function printIssued(issued: IssuedAppKey, json: boolean | undefined, verb: string): void {
  if (json) {
    printJson(issued);
    return;
  }
  process.stdout.write(`${issued.key}\n`);
  process.stderr.write(
    `${verb} app key ${issued.id} (${issued.name}). This is the only time the key is shown: store it now.\n`,
  );
}

/** `keys create|list|revoke|rotate`: per-app keys with their own limits, budgets and models. */
export function registerAppKeysCommand(program: Command, context: CliContext): void {
  // The keys live in the database alone: no engine, models or Redis to start for them.
  const withStore = async <T>(use: (store: Store) => T): Promise<T> => {
    const store = openStore({ file: context.paths().databaseFile });
    try {
      return use(store);
    } finally {
      store.close();
    }
  };

  const keys = program
    .command('keys')
    .description('API keys for programs: each with its own rate limits, budgets and models, and its own usage');

  keys
    .command('create')
    .description('make a key for a program; it is printed once')
    .argument('<name>', 'what the key is for (a program, a script)')
    .option('--rpm <n>', 'requests per minute it may send')
    .option('--tpm <n>', 'tokens per minute it may use')
    .option('--daily-budget <usd>', 'USD it may spend a day')
    .option('--monthly-budget <usd>', 'USD it may spend a month')
    .option('--models <a,b,…>', 'the only models it may use (provider/model or a model id)')
    .option('--json', 'machine-readable output: {"id", "name", "key", …}')
    .action(async (name: string, options: CreateOptions) => {
      const spec: AppKeySpec = {
        name,
        rpm: numberOption('--rpm', options.rpm),
        tpm: numberOption('--tpm', options.tpm),
        dailyBudgetUsd: numberOption('--daily-budget', options.dailyBudget),
        monthlyBudgetUsd: numberOption('--monthly-budget', options.monthlyBudget),
        models: options.models
          ?.split(',')
          .map((model) => model.trim())
          .filter(Boolean),
      };
      for (const field of Object.keys(spec) as (keyof AppKeySpec)[]) if (spec[field] === undefined) delete spec[field];
      printIssued(await withStore((store) => store.appKeys.create(spec)), options.json, 'Created');
    });

  keys
    .command('list')
    .description('every key: id, name, limits, models, and whether it is revoked (never the key itself)')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const all = await withStore((store) => store.appKeys.list());
      if (options.json) return printJson(all);
      if (all.length === 0) {
        process.stdout.write('No app keys yet: `switchboard keys create NAME` makes one.\n');
        return;
      }
      printTable([
        ['ID', 'NAME', 'KEY', 'LIMITS', 'MODELS', 'STATE'],
        ...all.map((key) => [
          key.id,
          key.name,
          key.hint,
          limitsOf(key),
          key.models?.join(',') ?? 'all',
          key.revokedAt === undefined ? 'active' : `revoked ${new Date(key.revokedAt).toISOString().slice(0, 10)}`,
        ]),
      ]);
    });

  keys
    .command('revoke')
    .description('stop a key working at once (its usage stays on record)')
    .argument('<id>', 'the key id, as `keys list` shows it')
    .option('--json', 'machine-readable output')
    .action(async (id: string, options: { json?: boolean }) => {
      const revoked = await withStore((store) => store.appKeys.revoke(id));
      if (options.json) return printJson(revoked);
      process.stdout.write(`Revoked app key ${revoked.id} (${revoked.name}).\n`);
    });

  keys
    .command('rotate')
    .description('a new secret for a key (same id, limits and usage); the old one stops working at once')
    .argument('<id>', 'the key id, as `keys list` shows it')
    .option('--json', 'machine-readable output')
    .action(async (id: string, options: { json?: boolean }) => {
      printIssued(await withStore((store) => store.appKeys.rotate(id)), options.json, 'Rotated');
    });
}
