import { join } from 'node:path';
import log from 'electron-log/main';

/** The desktop app's log file: in the data dir, beside the database, so one folder holds everything. */
export function desktopLogFile(dataDir: string): string {
  return join(dataDir, 'logs', 'desktop.log');
}

/**
 * The desktop app's one log: start, quit, failures and uncaught errors, written to the data dir (rotated
 * by electron-log at 1 MB). Only the app's own sentences go in: never a request's content or a key.
 */
export function startDesktopLog(dataDir: string): typeof log {
  log.transports.file.resolvePathFn = () => desktopLogFile(dataDir);
  log.transports.file.level = 'info';
  log.transports.console.level = process.env.NODE_ENV === 'development' ? 'debug' : 'warn';
  log.errorHandler.startCatching({ showDialog: false });
  return log;
}
