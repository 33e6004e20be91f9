import type { Database } from 'better-sqlite3';
import { reportOnStderr, startDatabaseWorker } from './database-worker.ts';

/** SQLite's own default: the automatic checkpoint runs inside the commit that passes this many WAL pages. */
const AUTOMATIC_CHECKPOINT_PAGES = 1000;
/** After a checkpoint the WAL is cut back to this size, so one burst of writes does not leave a large file. */
export const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;
/** How long close waits for the checkpointer to let go of the file before closing anyway. */
const STOP_WAIT_MS = 5000;

export interface CheckpointerOptions {
  /** How often the worker copies the WAL's frames into the database file. */
  intervalMs?: number;
  /** The module the worker opens SQLite with; better-sqlite3, resolved from here, unless an install lacks it. */
  driver?: string;
  /** Where the fallback to SQLite's automatic checkpoint is reported (once); default stderr. */
  onProblem?: (message: string) => void;
  /**
   * The WAL is kept under this: once all of it is in the database file and it is past half of it, the worker
   * has it started over (commits still coming) or emptied (none since its last look); default WAL_SIZE_LIMIT_BYTES.
   */
  walSizeLimitBytes?: number;
}

export interface Checkpointer {
  /** Stops the worker and waits (briefly, synchronously) until its connection is closed. */
  stop(): void;
}

// The thread (startDatabaseWorker). Its state word tells the opener, without an event loop turn, that the worker's connection is closed (1) or never opened (2).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { file, driver, intervalMs, walSizeLimit, state } = workerData;
const settle = (value) => { Atomics.store(state, 0, value); Atomics.notify(state, 0); };
let db;
try {
  const Database = require(driver);
  // Never waits for a lock: a checkpoint that cannot have one now is tried again at the next interval.
  db = new Database(file, { fileMustExist: true, timeout: 0 });
  db.pragma('journal_size_limit = ' + walSizeLimit);
} catch (error) {
  settle(2);
  throw error;
}
const frameBytes = db.pragma('page_size', { simple: true }) + 24;
// PASSIVE never takes the writer's lock: commits on the main thread go on while the frames are copied
// and both files synced here. An I/O error ends the worker, and the opener falls back.
// Under steady commits the WAL never starts over by itself: a commit writes from its start again only when
// it finds all of it copied, and commits keep coming while a PASSIVE checkpoint syncs. So, once all of it
// is copied:
// - writes still coming (commits since the last look) and its frames past half the limit: RESTART,
//   so that the next commit starts it over instead of growing it. That holds the writer's lock only to copy
//   the frames of the last few milliseconds and sync; no file is cut. (TRUNCATE here held it for the
//   ftruncate of tens of MB, 40 ms, while the commits on the event loop waited.)
// - writes paused (no commit since the last look) and its file past half the limit: TRUNCATE empties
//   it, when nobody waits for the lock.
const { statSync } = require('node:fs');
const walBytes = () => {
  try {
    return statSync(file + '-wal').size;
  } catch {
    return 0;
  }
};
// data_version changes whenever another connection commits.
let lastVersion = -1;
const timer = setInterval(() => {
  const [{ busy, log, checkpointed }] = db.pragma('wal_checkpoint(PASSIVE)');
  const version = db.pragma('data_version', { simple: true });
  const paused = version === lastVersion;
  lastVersion = version;
  if (busy !== 0 || checkpointed !== log) return;
  if (!paused && log * frameBytes > walSizeLimit / 2) db.pragma('wal_checkpoint(RESTART)');
  else if (paused && walBytes() > walSizeLimit / 2) db.pragma('wal_checkpoint(TRUNCATE)');
}, intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  settle(1);
  parentPort.close();
});
parentPort.postMessage('ready');
`;

/**
 * Runs the WAL checkpoints of `db` (on `file`) on a worker thread with its own connection. SQLite's
 * automatic checkpoint runs inside the commit that fills the WAL past 1,000 pages, on the thread that
 * commits, and syncs both files there: 80–190 ms in which every request on the event loop waited. The
 * automatic one is switched off only once the worker has its connection, and back on (with one line
 * saying so) if the worker cannot start or dies, so the WAL never grows without a checkpointer.
 */
export function startCheckpointer(db: Database, file: string, options: CheckpointerOptions = {}): Checkpointer {
  const report = options.onProblem ?? reportOnStderr;
  const state = new Int32Array(new SharedArrayBuffer(4));
  let stopping = false;
  let fallenBack = false;
  const fallBack = (why: string) => {
    if (stopping || fallenBack) return;
    fallenBack = true;
    if (db.open) db.pragma(`wal_autocheckpoint = ${AUTOMATIC_CHECKPOINT_PAGES}`);
    report(`the database checkpoints run on the event loop again (SQLite's automatic checkpoint): ${why}`);
  };
  const worker = startDatabaseWorker({
    name: 'checkpoint',
    source: WORKER_SOURCE,
    workerData: {
      file,
      driver: options.driver,
      intervalMs: options.intervalMs ?? 1000,
      walSizeLimit: options.walSizeLimitBytes ?? WAL_SIZE_LIMIT_BYTES,
      state,
    },
    onMessage: () => {
      if (!stopping && !fallenBack && db.open) db.pragma('wal_autocheckpoint = 0');
    },
    onGone: fallBack,
  });
  if (!worker) return { stop: () => {} };
  return {
    stop: () => {
      if (stopping) return;
      stopping = true;
      if (!fallenBack) {
        worker.postMessage('stop');
        // Synchronous, as closing the database is: the worker's connection must be closed before this one,
        // so that this close is the last and SQLite checkpoints and removes the WAL.
        Atomics.wait(state, 0, 0, STOP_WAIT_MS);
      }
      void worker.terminate();
    },
  };
}
