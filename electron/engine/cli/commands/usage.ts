import type { Command } from 'commander';
import { API_TOKEN_KEY, API_TOKEN_KEY_NAME, REPORT_DIMENSIONS, type ReportDimension } from '../../accounting/ledger.ts';
import { SwitchboardError } from '../../contract/errors.ts';
import type { CliContext } from '../context.ts';
import { printJson, printTable } from '../context.ts';
import { engineOf, usd } from './stats.ts';

/** `usage [--by provider|model|day|key] [--days N] [--json]`: spending and requests, and the budgets. */
export function registerUsageCommand(program: Command, context: CliContext): void {
  program
    .command('usage')
    .description('what requests cost: totals by provider, model, day or app key, and budget status')
    .option('--by <dimension>', `group by ${REPORT_DIMENSIONS.join(', ')}`, 'provider')
    .option('--days <n>', 'only the last N days (history from the store)')
    .option('--json', 'machine-readable output')
    .action(async (options: { by: string; days?: string; json?: boolean }) => {
      if (!REPORT_DIMENSIONS.includes(options.by as ReportDimension)) {
        throw new SwitchboardError('INVALID_REQUEST', `--by must be one of ${REPORT_DIMENSIONS.join(', ')}`, {
          retryable: false,
        });
      }
      const days = options.days === undefined ? undefined : Number(options.days);
      if (days !== undefined && !(days > 0)) {
        throw new SwitchboardError('INVALID_REQUEST', '--days must be a positive number', { retryable: false });
      }
      const { reports } = await engineOf(context);
      const report = reports.costReport(options.by as ReportDimension, {
        sinceMs: days === undefined ? undefined : Date.now() - days * 86_400_000,
      });
      const budgets = reports.budgetStatus();
      // Rows by key carry the key's id; people know keys by name.
      const names = new Map<string, string>([[API_TOKEN_KEY, API_TOKEN_KEY_NAME]]);
      if (report.by === 'key') {
        for (const key of (await context.services()).store.appKeys.list()) names.set(key.id, key.name);
      }
      const keyLabel = (id: string) =>
        id === API_TOKEN_KEY ? names.get(id)! : names.has(id) ? `${names.get(id)} (${id})` : id;
      if (options.json) {
        const named = report.rows.map((row) => (report.by === 'key' ? { ...row, name: names.get(row.key) } : row));
        return printJson({ ...report, rows: named, budgets });
      }
      const header = { provider: 'PROVIDER', model: 'PROVIDER/MODEL', day: 'DAY (UTC)', key: 'KEY' }[report.by];
      const line = (key: string, r: (typeof report.rows)[number]) => [
        key,
        String(r.requests),
        String(r.errors),
        String(r.inputTokens),
        String(r.outputTokens),
        usd(r.costUsd),
        r.requests ? `${r.avgLatencyMs} ms` : '-',
      ];
      printTable([
        [header, 'REQUESTS', 'ERRORS', 'INPUT TOKENS', 'OUTPUT TOKENS', 'COST', 'AVG LATENCY'],
        ...report.rows.map((r) => line(report.by === 'key' ? keyLabel(r.key) : r.key, r)),
        line('total', report.total),
      ]);
      if (report.source === 'session') process.stdout.write('(this session only: no usage history is stored)\n');
      for (const b of budgets) {
        process.stdout.write(
          `budget ${b.scope} ${b.period}: ${usd(b.spentUsd)} of ${usd(b.limitUsd)}, ${usd(b.remainingUsd)} left${b.exceeded ? ' (spent)' : ''}\n`,
        );
      }
    });
}
