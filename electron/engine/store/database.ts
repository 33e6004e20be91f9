import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3, { type Database, type Statement } from 'better-sqlite3';
import { migrate, SCHEMA_VERSION } from './migrations.ts';
import { ensurePrivateFile, makePrivate } from './private-files.ts';

export type { Database } from 'better-sqlite3';

export interface OpenDatabaseOptions {
  /** Schema version to migrate to; the latest unless a migration test stops short. */
  schemaVersion?: number;
  /** How long a writer waits for another connection's lock before SQLITE_BUSY. */
  busyTimeoutMs?: number;
}

/**
 * Opens (creating if needed) the app's SQLite file: WAL so readers never wait on the writer and a
 * crash loses at most the transaction in flight, foreign keys on (off by default in SQLite), a busy
 * timeout for the CLI and the app sharing one file, then the pending migrations. The file, its WAL and
 * its SHM are readable by their owner only, and deleted rows are overwritten rather than left in free
 * pages, so a deleted transcript cannot be read back out of the file.
 */
export function openDatabase(file: string, options: OpenDatabaseOptions = {}): Database {
  const onDisk = file !== ':memory:';
  if (onDisk) {
    // A folder made here is private; an existing one is the data dir's business (bootstrap repairs it).
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // SQLite creates the WAL and SHM files with the database file's mode: create that one 0600 first.
    ensurePrivateFile(file);
  }
  const db = new BetterSqlite3(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('secure_delete = ON');
    if (onDisk) for (const suffix of ['-wal', '-shm']) makePrivate(`${file}${suffix}`);
    // NORMAL is durable across application crashes in WAL mode; only a power cut may lose the last commits.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    migrate(db, options.schemaVersion ?? SCHEMA_VERSION);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** db.prepare with memory: repositories run the same few statements many times, and preparing costs more than running. */
export function statementCache(db: Database): (sql: string) => Statement {
  const statements = new Map<string, Statement>();
  return (sql) => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
}
