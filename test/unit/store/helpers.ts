import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach } from 'vitest';

/** A fresh temp directory per call, removed after the test. */
export function tempDirsRemovedAfterEach(): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-store-'));
    dirs.push(dir);
    return dir;
  };
}

/** What a connection of its own reads from the file, as the CLI or a second app process would see it. */
export function readElsewhere(file: string, sql: string): unknown[] {
  const other = new BetterSqlite3(file, { readonly: true });
  try {
    return other.prepare(sql).all();
  } finally {
    other.close();
  }
}

/** How many rows of `table` a connection of its own sees in the file. */
export function rowsSeenElsewhere(file: string, table: string): number {
  return (readElsewhere(file, `SELECT count(*) AS n FROM ${table}`)[0] as { n: number }).n;
}
