import type { Command } from 'commander';
import type { AppServices, BootstrapOptions } from '../bootstrap.ts';
import { type ResolvedPaths, resolvePaths } from '../config/paths.ts';

/** What every subcommand gets: the global options resolved, and the app's services built on first use. */
export interface CliContext {
  paths(): ResolvedPaths;
  /** Builds the services on first call; the options of that first call decide (serve runs the queue, one-shot commands do not). */
  services(options?: BootstrapOptions): Promise<AppServices>;
  close(): Promise<void>;
}

export function createCliContext(
  program: Command,
  build: (paths: ResolvedPaths, options?: BootstrapOptions) => Promise<AppServices>,
): CliContext {
  let services: Promise<AppServices> | undefined;
  const paths = () => resolvePaths(program.opts<{ config?: string; dataDir?: string; modelsDir?: string }>());
  return {
    paths,
    services: (options) => {
      services ??= build(paths(), options);
      return services;
    },
    close: async () => {
      // Services that failed to build have nothing to close; their error was reported already.
      const built = await services?.catch(() => undefined);
      await built?.close();
    },
  };
}

/** Prints a value as JSON (for --json) on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Fixed-width columns for terminal tables. */
export function printTable(rows: string[][]): void {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  for (const row of rows)
    process.stdout.write(
      `${row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd()}\n`,
    );
}
