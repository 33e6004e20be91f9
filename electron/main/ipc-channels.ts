import type { SerializedError } from '../engine/contract/errors.ts';

/** IPC channel names, shared by the preload and main. */
export const IPC_CHANNELS = {
  call: 'sb:call',
  stream: 'sb:stream',
  upload: 'sb:upload',
  /** The engine's operational events, over a MessagePort the preload opens. */
  events: 'sb:events',
} as const;

/** Messages on a stream's MessagePort, main → preload. */
export type StreamPortMessage =
  | { type: 'event'; value: unknown }
  | { type: 'end' }
  | { type: 'error'; error: SerializedError };

/** Messages on a stream's MessagePort, preload → main. */
export type StreamControlMessage = { type: 'cancel' };
