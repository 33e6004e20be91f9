import { Worker } from 'node:worker_threads';
import { TranscriptionError } from './errors.ts';
import { chooseDtype, listInstalledModels, resolveModel } from './models.ts';
import type { LocalTranscriber, TranscriptionEvent, TranscriptionRequest, WhisperTranscriberOptions } from './types.ts';
import type { JobMessage, WorkerMessage } from './worker.ts';

/**
 * Local Whisper transcription (transformers.js + onnxruntime, CPU) in a worker thread, so a long job never
 * blocks the caller's event loop. Jobs run one at a time, in order; the loaded model stays in the worker
 * between jobs. Cancelling ends the caller's iteration at once and tells the worker to stop, which it does
 * within one decoder step (or the encoder pass in flight); the next job waits for that.
 */
export function createWhisperTranscriber(options: WhisperTranscriberOptions): LocalTranscriber {
  let worker: Worker | undefined;
  let tail: Promise<void> = Promise.resolve();
  let nextJob = 1;
  let closed = false;
  /** The job the worker is on, and a promise that settles when it has finished, failed or been cancelled. */
  let activeJob: number | undefined;
  let idle: Promise<void> = Promise.resolve();

  /** Waits for the jobs queued before this one; the returned function lets the next one go. */
  const takeTurn = async (signal: AbortSignal): Promise<() => void> => {
    const previous = tail;
    let release!: () => void;
    tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      await untilAborted(previous, signal);
    } catch (error) {
      void previous.then(release);
      throw error;
    }
    return release;
  };

  async function* transcribe(request: TranscriptionRequest, signal: AbortSignal): AsyncIterable<TranscriptionEvent> {
    if (closed) throw new TranscriptionError('INTERNAL', 'the transcriber was closed; create a new one');
    if (signal.aborted) throw cancelled();
    const model = await resolveModel(options.modelsDir, request.model);
    const dtype = chooseDtype(model, options.quantization);
    const release = await takeTurn(signal);
    const events = new EventQueue<TranscriptionEvent>();
    const job = nextJob++;
    worker ??= new Worker(new URL('./worker.ts', import.meta.url));
    const current = worker;
    let settle!: () => void;
    activeJob = job;
    idle = new Promise<void>((resolve) => {
      settle = () => {
        if (activeJob === job) activeJob = undefined;
        resolve();
      };
    });
    const onMessage = (message: WorkerMessage) => {
      if (message.job !== job) return;
      if (message.type === 'event') return events.push(message.event);
      settle();
      if (message.type === 'finished') events.end();
      else events.fail(new TranscriptionError(message.code, message.message));
    };
    const onGone = (reason: string) => {
      if (worker === current) worker = undefined;
      settle();
      events.fail(new TranscriptionError('INTERNAL', `the Whisper worker ${reason}; try again`));
    };
    const onCrash = (error: Error) => onGone(`crashed (${error.message})`);
    const onExit = (code: number) => onGone(`stopped unexpectedly (exit code ${code})`);
    const onAbort = () => events.fail(cancelled());
    current.on('message', onMessage).on('error', onCrash).on('exit', onExit).ref();
    signal.addEventListener('abort', onAbort, { once: true });
    const message: JobMessage = {
      type: 'transcribe',
      job,
      model: { id: model.id, dir: model.dir, dtype },
      threads: options.threads,
      device: options.device ?? 'auto',
      request: { ...request },
    };
    current.postMessage(message);
    let complete = false;
    try {
      yield* events;
      complete = true;
    } finally {
      signal.removeEventListener('abort', onAbort);
      // Cancelled, or the caller stopped listening: the worker may still be on this job.
      if (!complete) current.postMessage({ type: 'cancel', job } satisfies JobMessage);
      void idle.then(() => {
        current.off('message', onMessage).off('error', onCrash).off('exit', onExit).unref();
        release();
      });
    }
  }

  return {
    async listModels() {
      return (await listInstalledModels(options.modelsDir)).map((model) => ({ id: model.id }));
    },
    transcribe,
    async close() {
      closed = true;
      const stopping = worker;
      worker = undefined;
      if (activeJob !== undefined) stopping?.postMessage({ type: 'cancel', job: activeJob } satisfies JobMessage);
      // Terminating only once the worker is idle: never while onnxruntime is running (see worker.ts).
      await idle;
      await stopping?.terminate();
    },
  };
}

function cancelled(): TranscriptionError {
  return new TranscriptionError('CANCELLED', 'the transcription was cancelled');
}

function untilAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(cancelled());
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(cancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/** A push/pull queue: the worker's messages go in as they come, the caller's for-await takes them out. */
class EventQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiting: { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void } | undefined;
  private state: { done: false } | { done: true; error?: unknown } = { done: false };

  push(item: T): void {
    if (this.state.done) return;
    if (this.waiting) {
      this.waiting.resolve({ value: item, done: false });
      this.waiting = undefined;
    } else {
      this.items.push(item);
    }
  }

  end(): void {
    this.settle({ done: true });
  }

  fail(error: unknown): void {
    this.settle({ done: true, error });
  }

  private settle(state: { done: true; error?: unknown }): void {
    if (this.state.done) return;
    this.state = state;
    // A failure overtakes queued events: after a cancel nothing more reaches the caller.
    if (state.error !== undefined) this.items.length = 0;
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting && state.error !== undefined) waiting.reject(state.error);
    else waiting?.resolve({ value: undefined, done: true });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (true) {
      const item = this.items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.state.done) {
        if (this.state.error !== undefined) throw this.state.error;
        return;
      }
      const next = await new Promise<IteratorResult<T>>((resolve, reject) => {
        this.waiting = { resolve, reject };
      });
      if (next.done) continue;
      yield next.value;
    }
  }
}
