/**
 * What the Electron preload puts on `window.switchboard`. contextBridge copies values and proxies
 * functions but cannot carry async iterators, Blobs or Error subclasses, so the bridge speaks in
 * envelopes and pull-style stream handles; the IPC transport turns them back into SwitchboardApi.
 * The preload implements this interface (type-only import), the renderer consumes it.
 */
import type { SerializedError } from './errors.ts';

export type BridgeResult<T> = { ok: true; value: T } | { ok: false; error: SerializedError };

export type BridgeStreamStep = { done: false; value: unknown } | { done: true } | { error: SerializedError };

export interface BridgeStream {
  /** Resolves the next event, the end, or the error that ended the stream. */
  next(): Promise<BridgeStreamStep>;
  /** Cancels the work in the engine; pending and later next() calls resolve done. */
  cancel(): void;
}

export interface SwitchboardBridge {
  call(method: string, input: unknown): Promise<BridgeResult<unknown>>;
  stream(method: string, input: unknown): BridgeStream;
  upload(bytes: ArrayBuffer, filename: string): Promise<BridgeResult<{ uploadId: string }>>;
  /** The engine's operational events (OperationalEventRecord values) until cancelled. */
  events(): BridgeStream;
}
