import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { closeDatabase, type Database, openDatabase } from '../../../electron/engine/store/database.ts';
import { rowsSeenElsewhere, tempDirsRemovedAfterEach } from './helpers.ts';

const tempDir = tempDirsRemovedAfterEach();

const ROWS = 400;
const ROW_BYTES = 16 * 1024;

/**
 * About 1,600 pages of 4 KiB in one commit: past the automatic checkpoint's 1,000, and all in the WAL once it
 * returns. (A commit per row let a worker on a slow machine copy the WAL and start it over mid-burst.)
 */
function writeMany(db: Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS filler (id INTEGER PRIMARY KEY, body BLOB)');
  const insert = db.prepare('INSERT INTO filler (body) VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < ROWS; i++) insert.run(Buffer.alloc(ROW_BYTES, i % 251));
  })();
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (const started = Date.now(); !condition(); await sleep(25)) {
    if (Date.now() - started > 10_000) throw new Error(`timed out waiting until ${what}`);
  }
}

/** This process's threads (Linux): the checkpoint worker is one of them while it runs. */
const threads = () => readdirSync('/proc/self/task').length;

const autocheckpoint = (db: Database) => db.pragma('wal_autocheckpoint', { simple: true }) as number;

/** After the worker failed: one line says so, and commits on this thread checkpoint again, so the WAL never grows without bound. */
async function expectAutomaticCheckpointsAgain(db: Database, file: string, problems: string[], said: RegExp) {
  await until(() => problems.length > 0, 'the failure is reported');
  await sleep(100); // the worker's exit comes after its error: still one line
  expect(problems).toEqual([expect.stringMatching(said)]);
  expect(autocheckpoint(db)).toBe(1000);
  const sizeBefore = statSync(file).size;
  writeMany(db);
  // The commit past 1,000 pages checkpointed on this thread.
  expect(statSync(file).size).toBeGreaterThan(sizeBefore + 1000 * 4096);
  closeDatabase(db);
  expect(existsSync(`${file}-wal`)).toBe(false);
  expect(rowsSeenElsewhere(file, 'filler')).toBe(ROWS);
}

describe('WAL checkpoints off the event loop', () => {
  it('copies the WAL into the database file from the worker, not inside commits, and empties it on close', async () => {
    const file = join(tempDir(), 'sb.db');
    const problems: string[] = [];
    const db = openDatabase(file, { checkpointOffThread: { intervalMs: 100, onProblem: (m) => problems.push(m) } });
    // Once the worker has its connection, commits on this thread no longer checkpoint.
    await until(() => autocheckpoint(db) === 0, 'the checkpoint thread is ready');
    const sizeBefore = statSync(file).size;
    writeMany(db);
    // No commit checkpointed: the rows are in the WAL only, until the worker copies them.
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(ROWS * ROW_BYTES);
    await until(() => statSync(file).size >= sizeBefore + ROWS * ROW_BYTES, 'the worker checkpointed the WAL');
    expect(rowsSeenElsewhere(file, 'filler')).toBe(ROWS);

    closeDatabase(db);
    // The worker's connection was closed first, so this close was the last: SQLite removed the WAL.
    expect(existsSync(`${file}-wal`)).toBe(false);
    expect(rowsSeenElsewhere(file, 'filler')).toBe(ROWS);
    expect(problems).toEqual([]);
  });

  it('empties a WAL that a burst grew past its limit once the writes pause, instead of leaving the cut to the next commit', async () => {
    const file = join(tempDir(), 'sb.db');
    const problems: string[] = [];
    const db = openDatabase(file, {
      checkpointOffThread: { intervalMs: 50, walSizeLimitBytes: 1024 * 1024, onProblem: (m) => problems.push(m) },
    });
    await until(() => autocheckpoint(db) === 0, 'the checkpoint thread is ready');
    writeMany(db);
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(ROWS * ROW_BYTES);
    // No commit since the burst: the worker copied the WAL and then cut it to nothing.
    await until(() => statSync(`${file}-wal`).size === 0, 'the worker emptied the WAL');
    expect(rowsSeenElsewhere(file, 'filler')).toBe(ROWS);
    writeMany(db);
    closeDatabase(db);
    expect(rowsSeenElsewhere(file, 'filler')).toBe(2 * ROWS);
    expect(problems).toEqual([]);
  });

  it('starts a WAL past half its limit over while commits keep coming, rather than cutting the file under them', async () => {
    const file = join(tempDir(), 'sb.db');
    const problems: string[] = [];
    const limit = 1024 * 1024;
    // A look every 250 ms: a writer that this busy test machine stalls for longer looks paused, and is cut.
    const db = openDatabase(file, {
      checkpointOffThread: { intervalMs: 250, walSizeLimitBytes: limit, onProblem: (m) => problems.push(m) },
    });
    await until(() => autocheckpoint(db) === 0, 'the checkpoint thread is ready');
    db.exec('CREATE TABLE filler (id INTEGER PRIMARY KEY, body BLOB)');
    const insert = db.prepare('INSERT INTO filler (body) VALUES (?)');
    // A steady writer: a 16 KiB row every few milliseconds for two seconds, about 6 MB in all.
    const sizes: number[] = [];
    for (const started = Date.now(); Date.now() - started < 2000; await sleep(4)) {
      insert.run(Buffer.alloc(ROW_BYTES, 7));
      sizes.push(statSync(`${file}-wal`).size);
    }
    // Started over, not grown: the file stays near the limit; and never cut (a cut holds the writer's lock
    // for the ftruncate, while the commits wait).
    expect(Math.max(...sizes)).toBeLessThan(3 * limit);
    expect(sizes.every((size, i) => i === 0 || size >= sizes[i - 1]!)).toBe(true);
    const rows = sizes.length;
    // Once the writes pause the worker empties it.
    await until(() => statSync(`${file}-wal`).size === 0, 'the worker emptied the WAL');
    closeDatabase(db);
    expect(rowsSeenElsewhere(file, 'filler')).toBe(rows);
    expect(problems).toEqual([]);
  });

  it('falls back to SQLite’s automatic checkpoint, saying so once, when the worker cannot start', async () => {
    const dir = tempDir();
    const file = join(dir, 'sb.db');
    const problems: string[] = [];
    const db = openDatabase(file, {
      checkpointOffThread: { driver: join(dir, 'no-such-driver.cjs'), onProblem: (m) => problems.push(m) },
    });
    await expectAutomaticCheckpointsAgain(
      db,
      file,
      problems,
      /automatic checkpoint.*could not|automatic checkpoint.*failed/,
    );
  });

  it('goes back to SQLite’s automatic checkpoint, saying so once, when the worker dies mid-run', async () => {
    const dir = tempDir();
    const file = join(dir, 'sb.db');
    // better-sqlite3 whose checkpoints fail as a disk I/O error would: the worker opens, then dies at its first checkpoint.
    const failingDriver = join(dir, 'failing-checkpoints.cjs');
    writeFileSync(
      failingDriver,
      `const Database = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))});
module.exports = class extends Database {
  pragma(source, options) {
    if (source.startsWith('wal_checkpoint')) throw new Error('disk I/O error');
    return super.pragma(source, options);
  }
};
`,
    );
    const problems: string[] = [];
    const db = openDatabase(file, {
      checkpointOffThread: { driver: failingDriver, intervalMs: 200, onProblem: (m) => problems.push(m) },
    });
    await expectAutomaticCheckpointsAgain(db, file, problems, /automatic checkpoint.*failed \(disk I\/O error\)/);
  });

  it('closing stops the worker: its thread ends and nothing is left behind', async () => {
    const file = join(tempDir(), 'sb.db');
    const problems: string[] = [];
    const threadsBefore = threads();
    const db = openDatabase(file, { checkpointOffThread: { onProblem: (m) => problems.push(m) } });
    await until(() => autocheckpoint(db) === 0, 'the checkpoint thread is ready');
    expect(threads()).toBeGreaterThan(threadsBefore);
    writeMany(db);
    closeDatabase(db);
    expect(existsSync(`${file}-wal`)).toBe(false);
    expect(rowsSeenElsewhere(file, 'filler')).toBe(ROWS);
    await until(() => threads() === threadsBefore, 'the checkpoint thread has ended');
    expect(problems).toEqual([]);
  });
});
