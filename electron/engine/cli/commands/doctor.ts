import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';

const SAYS = { nothing: 'nothing', chat: 'chat only', chat_and_meetings: 'chat and meetings' } as const;

/** Entries under the data dir that group or others may read (the start repairs them; this says if any are left). */
function looseEntries(dataDir: string): string[] {
  return readdirSync(dataDir, { withFileTypes: true, recursive: true })
    .filter((entry) => !entry.isSymbolicLink())
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((path) => (statSync(path).mode & 0o077) !== 0)
    .map((path) => relative(dataDir, path));
}

/** `switchboard doctor`: what can leave this machine, how keys are protected, whether the data dir is private. */
export function registerDoctorCommand(program: Command, context: CliContext): void {
  program
    .command('doctor')
    .description('privacy check: what can leave this machine, how API keys are protected, file modes')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const { engine, paths } = await context.services();
      const status = engine.status();
      const loose =
        process.platform === 'win32'
          ? []
          : [...((statSync(paths.dataDir).mode & 0o077) !== 0 ? ['.'] : []), ...looseEntries(paths.dataDir)];
      const report = {
        dataDir: paths.dataDir,
        mayLeave: status.mayLeave,
        cloudFallback: status.cloudFallback,
        meetingsCloud: status.meetingsCloud,
        keyProtection: status.keyProtection,
        looseFiles: loose,
      };
      if (options.json) return printJson(report);
      process.stdout.write(
        [
          `data dir: ${paths.dataDir}`,
          `can leave this machine now: ${SAYS[status.mayLeave]}`,
          `  chat: ${status.cloudFallback ? 'cloud fallback on' : 'cloud fallback off'}`,
          `  meetings: ${status.meetingsCloud ? 'cloud processing allowed' : 'stay on this machine (the app asks before sending one)'}`,
          `keys: ${status.keyProtection}`,
          loose.length === 0
            ? 'file modes: the data dir is 0700 and its files 0600'
            : `file modes: readable by others: ${loose.join(', ')}`,
          '',
        ].join('\n'),
      );
    });
}
