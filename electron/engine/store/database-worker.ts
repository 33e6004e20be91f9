import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** Where a database worker's fall-back to the event loop is reported unless the opener says otherwise: one line on stderr. */
export function reportOnStderr(message: string): void {
  process.stderr.write(`switchboard: ${message}\n`);
}

export interface DatabaseWorkerOptions<Message> {
  /** What the thread is, in the lines that say why it is gone ("the checkpoint thread failed (…)"). */
  name: string;
  /** The worker's code, inline, so that the bundled desktop engine needs no separate worker file. */
  source: string;
  /** Its workerData; `driver` (the module it opens SQLite with) is added: better-sqlite3, resolved from here, unless given. */
  workerData: Record<string, unknown> & { driver?: string };
  onMessage: (message: Message) => void;
  /** Called when it could not start, failed or ended (also after a clean stop: the caller ignores that one). */
  onGone: (why: string) => void;
}

/**
 * A worker thread with a connection of its own to the app's SQLite file (the checkpoints, a busy gateway's
 * usage rows), started with the same plumbing for each: undefined when it could not start (`onGone` says
 * why). Unref'd after its listeners (a 'message' listener refs it again): like any worker here, it must not
 * keep a process alive that forgot to close it.
 */
export function startDatabaseWorker<Message>(options: DatabaseWorkerOptions<Message>): Worker | undefined {
  let worker: Worker;
  try {
    const driver = options.workerData.driver ?? createRequire(import.meta.url).resolve('better-sqlite3');
    worker = new Worker(options.source, { eval: true, workerData: { ...options.workerData, driver } });
  } catch (error) {
    options.onGone(`the ${options.name} thread could not start (${(error as Error).message})`);
    return undefined;
  }
  worker.on('message', options.onMessage);
  worker.on('error', (error) => options.onGone(`the ${options.name} thread failed (${error.message})`));
  worker.on('exit', (code) => options.onGone(`the ${options.name} thread ended (exit code ${code})`));
  worker.unref();
  return worker;
}
