import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processIsAlive } from '../process-alive.ts';

/** Where a running `switchboard serve` says it can be reached, so `switchboard open` finds it (any port). */
export const SERVER_RECORD_FILE_NAME = 'server.json';

export interface ServerRecord {
  url: string;
  pid: number;
}

/** Records this process's server in the data dir; the returned function removes the record again. */
export function recordRunningServer(dataDir: string, url: string): () => void {
  const file = join(dataDir, SERVER_RECORD_FILE_NAME);
  const record: ServerRecord = { url, pid: process.pid };
  writeFileSync(file, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  return () => {
    // Another server may have started on the same data dir since: leave its record alone.
    if (findRunningServer(dataDir)?.pid === process.pid) rmSync(file, { force: true });
  };
}

/** The server a `switchboard serve` on this data dir runs, unless it has gone (a record left by a crash is ignored). */
export function findRunningServer(dataDir: string): ServerRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(join(dataDir, SERVER_RECORD_FILE_NAME), 'utf8')) as Partial<ServerRecord>;
    if (typeof record.url !== 'string' || typeof record.pid !== 'number') return undefined;
    return processIsAlive(record.pid) ? { url: record.url, pid: record.pid } : undefined;
  } catch {
    return undefined;
  }
}
