import { join } from 'node:path';
import type { AppServices } from '../engine/bootstrap.ts';
import { OpsLogger, secretsRedactor } from '../engine/operations/logger.ts';

/** The desktop app's log file: in the data dir, beside the database, so one folder holds everything. */
export function desktopLogFile(dataDir: string): string {
  return join(dataDir, 'logs', 'desktop.log');
}

export interface DesktopLog {
  logger: OpsLogger;
  /** From now on, log the engine's routed requests and operational events, with its keys redacted. */
  follow(services: Pick<AppServices, 'engine' | 'operations'>): void;
}

/**
 * The desktop app's one log, the same JSON lines as `switchboard serve` writes (operations/logger.ts), in
 * <data dir>/logs/desktop.log (0600, rotated by size): start and quit, every request the engine routed
 * (provider, model, key mask, tokens, cost), breakers, keys, health, budgets, reloads, and errors nothing
 * else caught — one file for the main process (the renderer reports through it). Never a key: every line
 * is redacted against the configured provider keys.
 */
export function startDesktopLog(dataDir: string): DesktopLog {
  const logger = new OpsLogger({
    file: { path: desktopLogFile(dataDir) },
    console: process.env.NODE_ENV === 'development' ? { stream: process.stdout, format: 'pretty' } : undefined,
  });
  return {
    logger,
    follow(services) {
      logger.redactWith(secretsRedactor(services.engine));
      services.engine.on('usage', (event) => logger.usage(event));
      services.operations.subscribe((record) => logger.operational(record));
    },
  };
}

/**
 * Errors nothing else caught, logged and survived as Electron's own handler would (without its dialog):
 * one bad callback must not take the app down with the user's meeting in it.
 */
export function logUncaughtErrors(logger: OpsLogger): void {
  process.on('uncaughtException', (error) =>
    logger.note('error', 'desktop.uncaught', error.message, { stack: error.stack }),
  );
  process.on('unhandledRejection', (reason) =>
    logger.note('error', 'desktop.unhandled_rejection', reason instanceof Error ? reason.message : String(reason)),
  );
}
