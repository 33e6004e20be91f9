import { Worker } from 'node:worker_threads';

/**
 * JSON.parse of a body of megabytes holds the event loop for tens of milliseconds (every other
 * request, /health included, waits); a body this large is parsed on a worker thread instead, and only
 * the finished value comes back (a long string is copied, not parsed, on this side). A value of very
 * many parts is not worth it: rebuilding it from the worker's copy costs this thread more than parsing
 * it, so the worker hands such a body back to be parsed here.
 */
export const PARSE_OFF_THREAD_BYTES = 256 * 1024;
/** Commas, brackets and braces beyond which a body is parsed here after all (about as many values). */
const MOST_PARTS_OFF_THREAD = 20_000;

// Inline, so that the bundled desktop engine needs no separate worker file.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const decoder = new TextDecoder();
function parts(bytes) {
  let count = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte === 0x2c || byte === 0x7b || byte === 0x5b) count++;
  }
  return count;
}
parentPort.on('message', ({ id, bytes }) => {
  if (parts(bytes) > ${MOST_PARTS_OFF_THREAD}) return parentPort.postMessage({ id, here: true });
  try {
    parentPort.postMessage({ id, value: JSON.parse(decoder.decode(bytes)) });
  } catch (error) {
    parentPort.postMessage({ id, error: String(error && error.message) });
  }
});
`;

type Waiting = { bytes: Buffer; resolve(value: unknown): void; reject(error: Error): void };

let worker: Worker | undefined;
const waiting = new Map<number, Waiting>();
let nextId = 0;

function parser(): Worker {
  if (worker) return worker;
  const started = new Worker(WORKER_SOURCE, { eval: true });
  started.on('message', ({ id, value, error, here }: { id: number; value?: unknown; error?: string; here?: true }) => {
    const entry = waiting.get(id);
    waiting.delete(id);
    if (!entry) return;
    if (here) {
      try {
        entry.resolve(JSON.parse(entry.bytes.toString('utf8')));
      } catch (thrown) {
        entry.reject(thrown as Error);
      }
    } else if (error === undefined) entry.resolve(value);
    else entry.reject(new SyntaxError(error));
  });
  started.on('error', (error) => {
    for (const entry of waiting.values()) entry.reject(error);
    waiting.clear();
    worker = undefined;
  });
  started.on('exit', () => {
    worker = undefined;
  });
  // It must not keep a CLI run or a test alive (it holds nothing worth a clean shutdown); unref'd after
  // the listeners, as adding a 'message' listener refs the worker again.
  started.unref();
  worker = started;
  return started;
}

/** The parsed JSON text: on this thread when it is small, on the parser thread when it is large. */
export function parseJson(bytes: Buffer): unknown | Promise<unknown> {
  if (bytes.length < PARSE_OFF_THREAD_BYTES) return JSON.parse(bytes.toString('utf8'));
  return new Promise((resolve, reject) => {
    const id = nextId++;
    waiting.set(id, { bytes, resolve, reject });
    parser().postMessage({ id, bytes });
  });
}
