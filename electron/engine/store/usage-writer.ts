import type { Worker } from 'node:worker_threads';
import { WRITE_CONNECTION_PRAGMAS } from './database.ts';
import { reportOnStderr, startDatabaseWorker } from './database-worker.ts';

/** How long a flush waits for the writer thread's commits, and close for its connection, before going on. */
const WAIT_MS = 5000;

export interface UsageWriterOptions<Row> {
  /** The SQLite file the repository's connection has open. */
  file: string;
  /** The statements a reservation and a settled event are written with. */
  reserveSql: string;
  settleSql: string;
  /** The same transaction on this thread's connection: used if the thread cannot start or dies. */
  writeInline: (reservations: Row[], settled: Row[]) => void;
  /** How long the writer waits for another connection's lock (the app's own writes, a checkpoint) before failing. */
  busyTimeoutMs?: number;
  /** Where the fall back to this thread is reported (once); default stderr. */
  onProblem?: (message: string) => void;
}

// The thread (startDatabaseWorker). state[0]: the last batch committed (or failed); state[1]: 1 once the
// connection is closed, 2 if it never opened.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { file, driver, pragmas, reserveSql, settleSql, busyTimeoutMs, state } = workerData;
const signal = (index, value) => { Atomics.store(state, index, value); Atomics.notify(state, index); };
let db, write;
try {
  const Database = require(driver);
  // No busy timeout: SQLite's busy handler sleeps 1, 2, 5, 10 ms… between its tries, so a lock held for
  // 6 ms (the checkpoint thread starting the WAL over) cost 18. writeWaiting tries every millisecond.
  db = new Database(file, { fileMustExist: true, timeout: 0 });
  // WRITE_CONNECTION_PRAGMAS: no checkpoint runs inside a commit a request waits for.
  for (const pragma of pragmas) db.pragma(pragma);
  const reserve = db.prepare(reserveSql);
  const settle = db.prepare(settleSql);
  write = db.transaction((reservations, settled) => {
    for (const row of reservations) reserve.run(row);
    for (const row of settled) settle.run(row);
  });
} catch (error) {
  signal(1, 2);
  throw error;
}
const pause = new Int32Array(new SharedArrayBuffer(4));
const writeWaiting = (reservations, settled) => {
  for (const deadline = Date.now() + busyTimeoutMs; ; Atomics.wait(pause, 0, 0, 1)) {
    try {
      return write(reservations, settled);
    } catch (error) {
      if (!String(error.code).startsWith('SQLITE_BUSY') || Date.now() >= deadline) throw error;
    }
  }
};
parentPort.on('message', (batch) => {
  if (batch === 'stop') {
    db.close();
    signal(1, 1);
    parentPort.close();
    return;
  }
  let error;
  try {
    writeWaiting(batch.reservations, batch.settled);
  } catch (failure) {
    error = failure.message;
  }
  signal(0, batch.seq);
  parentPort.postMessage({ seq: batch.seq, error });
});
`;

/** The rows of one transaction, and the callers waiting for its commit. */
interface Batch<Row> {
  reservations: Row[];
  settled: Row[];
  waiting: { resolve: () => void; reject: (error: unknown) => void }[];
}

/**
 * Writes usage rows on a worker thread with its own connection to the database file, so that the
 * gateway's event loop neither runs the inserts nor waits for the commits: at 50 clients they were a
 * fifth of its CPU per request, and the event loop is the gateway's one busy core. A write resolves once
 * its transaction is committed (a reservation's promise, "on disk before the answer", is kept); `drain`
 * waits, synchronously, for every write asked for so far, so a query on this thread's connection reads
 * them. One transaction at a time: a write asked for while the thread commits waits for that commit and
 * goes with the others that came meanwhile in the next (group commit without a timer: a write to an idle
 * thread starts at once, and under load the batches grow by themselves). If the thread cannot start or
 * dies, the writes still waiting are made on this thread, and so is every later one (with one line
 * saying so).
 */
export class UsageWriterThread<Row> {
  private readonly options: UsageWriterOptions<Row>;
  private readonly state = new Int32Array(new SharedArrayBuffer(8));
  /** The batch the thread is committing, by its number, and the one gathering rows meanwhile. */
  private readonly inFlight = new Map<number, Batch<Row>>();
  private next: Batch<Row> | undefined;
  private readonly worker: Worker | undefined;
  private seq = 0;
  private stopping = false;
  private fallenBack = false;

  constructor(options: UsageWriterOptions<Row>) {
    this.options = options;
    this.worker = startDatabaseWorker({
      name: 'usage writer',
      source: WORKER_SOURCE,
      workerData: {
        file: options.file,
        pragmas: WRITE_CONNECTION_PRAGMAS,
        reserveSql: options.reserveSql,
        settleSql: options.settleSql,
        busyTimeoutMs: options.busyTimeoutMs ?? 5000,
        state: this.state,
      },
      onMessage: ({ seq, error }: { seq: number; error?: string }) => {
        const batch = this.inFlight.get(seq);
        if (!batch) return;
        this.inFlight.delete(seq);
        const failure = error === undefined ? undefined : new Error(`usage rows could not be written: ${error}`);
        for (const caller of batch.waiting) {
          if (failure) caller.reject(failure);
          else caller.resolve();
        }
        if (this.next && this.inFlight.size === 0) this.post();
      },
      onGone: (why) => this.fallBack(why),
    });
  }

  /** No write asked for is waiting: one made on the caller's connection now comes after all of them. */
  get idle(): boolean {
    return this.inFlight.size === 0 && this.next === undefined;
  }

  /** Resolves once the rows are committed; rejects if they could not be. */
  write(reservations: Row[], settled: Row[]): Promise<void> {
    if (this.fallenBack || !this.worker) return this.writeHere(reservations, settled);
    this.next ??= { reservations: [], settled: [], waiting: [] };
    const next = this.next;
    next.reservations.push(...reservations);
    next.settled.push(...settled);
    const written = new Promise<void>((resolve, reject) => next.waiting.push({ resolve, reject }));
    if (this.inFlight.size === 0) this.post();
    return written;
  }

  /** Returns once every write asked for so far is committed (or has failed). */
  drain(): void {
    if (this.next && !this.fallenBack) this.post();
    const deadline = Date.now() + WAIT_MS;
    for (let done = Atomics.load(this.state, 0); done < this.seq; done = Atomics.load(this.state, 0)) {
      if (this.fallenBack) return;
      if (Atomics.load(this.state, 1) === 2) {
        this.fallBack('the usage writer thread could not open the database');
        return;
      }
      const left = deadline - Date.now();
      if (left <= 0 || Atomics.wait(this.state, 0, done, left) === 'timed-out') return;
    }
  }

  /** Writes what is in flight, then closes the thread's connection (before the caller closes its own). */
  close(): void {
    if (this.stopping) return;
    this.drain();
    this.stopping = true;
    if (!this.worker || this.fallenBack) return;
    this.worker.postMessage('stop');
    Atomics.wait(this.state, 1, 0, WAIT_MS);
    void this.worker.terminate();
  }

  private post(): void {
    const batch = this.next!;
    this.next = undefined;
    const seq = ++this.seq;
    this.inFlight.set(seq, batch);
    this.worker!.postMessage({ seq, reservations: batch.reservations, settled: batch.settled });
  }

  private writeHere(reservations: Row[], settled: Row[]): Promise<void> {
    try {
      this.options.writeInline(reservations, settled);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private fallBack(why: string): void {
    if (this.stopping || this.fallenBack) return;
    this.fallenBack = true;
    (this.options.onProblem ?? reportOnStderr)(`usage rows are written on the event loop again: ${why}`);
    // The batches the thread had not confirmed, in their order, then the one gathering: each write is an
    // upsert, so one the thread did commit is written again to the same row.
    const left = [
      ...[...this.inFlight].sort(([a], [b]) => a - b).map(([, batch]) => batch),
      ...(this.next ? [this.next] : []),
    ];
    this.inFlight.clear();
    this.next = undefined;
    for (const batch of left) {
      const written = this.writeHere(batch.reservations, batch.settled);
      for (const caller of batch.waiting) written.then(caller.resolve, caller.reject);
    }
  }
}
