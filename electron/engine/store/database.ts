import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3, { type Database, type Statement } from 'better-sqlite3';
import {
  type Checkpointer,
  type CheckpointerOptions,
  startCheckpointer,
  WAL_SIZE_LIMIT_BYTES,
} from './checkpointer.ts';
import { migrate, SCHEMA_VERSION } from './migrations.ts';
import { ensurePrivateFile, makePrivate } from './private-files.ts';

export type { Database } from 'better-sqlite3';

export interface OpenDatabaseOptions {
  /** Schema version to migrate to; the latest unless a migration test stops short. */
  schemaVersion?: number;
  /** How long a writer waits for another connection's lock before SQLITE_BUSY. */
  busyTimeoutMs?: number;
  /**
   * Run the WAL checkpoints on a worker thread instead of inside commits on this one: for the processes
   * that stay up and serve (the app, `serve`). A one-shot CLI command leaves it off: it commits a few rows
   * and exits, a thread and a second connection would cost it more than the checkpoint it might meet, and
   * closing the file checkpoints anyway.
   */
  checkpointOffThread?: boolean | CheckpointerOptions;
}

const checkpointers = new WeakMap<Database, Checkpointer>();

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
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    migrate(db, options.schemaVersion ?? SCHEMA_VERSION);
    if (onDisk && options.checkpointOffThread) {
      const checkpointOptions = options.checkpointOffThread === true ? {} : options.checkpointOffThread;
      checkpointers.set(db, startCheckpointer(db, file, checkpointOptions));
    }
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Closes a database from openDatabase: its checkpoint thread first, then a last checkpoint that empties the WAL. */
export function closeDatabase(db: Database): void {
  const checkpointer = checkpointers.get(db);
  if (checkpointer) {
    checkpointer.stop();
    checkpointers.delete(db);
    // Another process (the CLI) may still read: then the close below leaves the WAL to whoever closes last.
    db.pragma('wal_checkpoint(TRUNCATE)');
  }
  db.close();
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

/**
 * What another writing connection to the app's file sets (openWriteConnection, and the usage writer
 * thread, whose inline source is given the list): durability and secure delete as the main connection has
 * them, and no checkpoint of its own (the checkpoint thread's job, or the main connection's).
 */
export const WRITE_CONNECTION_PRAGMAS: readonly string[] = [
  'synchronous = NORMAL',
  'secure_delete = ON',
  'wal_autocheckpoint = 0',
];

/**
 * Another connection of this process to the app's file, for writes beside the main connection's. It
 * waits for another connection's lock `busyTimeoutMs`: 0 on the event loop, where SQLite's busy handler
 * would sleep and stop every request for as long; the write throws at once instead (`isLockedError`).
 */
export function openWriteConnection(file: string, busyTimeoutMs: number): Database {
  const db = new BetterSqlite3(file, { fileMustExist: true, timeout: busyTimeoutMs });
  for (const pragma of WRITE_CONNECTION_PRAGMAS) db.pragma(pragma);
  return db;
}

/** SQLite's SQLITE_BUSY (and its extended codes): another connection held a lock this one needed. */
export function isLockedError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}
