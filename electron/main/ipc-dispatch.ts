import type { BridgeResult } from '../engine/contract/bridge.ts';
import type { SerializedError } from '../engine/contract/errors.ts';
import { toSwitchboardError } from '../engine/contract/errors.ts';
import type { StreamPortMessage } from './ipc-channels.ts';
import { type MethodKind, validateIpcMessage } from './ipc-validation.ts';

type Context = { signal: AbortSignal };

/**
 * The app API's handler table as the engine's bootstrap returns it (app-api/index.ts). Each handler
 * takes its own method's input (hence `never` here); validation has checked the input before the call.
 */
export type AppApiHandlers = Readonly<
  Record<string, (input: never, ctx: Context) => Promise<unknown> | AsyncIterable<unknown>>
>;

type Resolved =
  | { ok: true; run: (ctx: Context) => Promise<unknown> | AsyncIterable<unknown> }
  | { ok: false; error: SerializedError };

function refuse(code: 'INVALID_REQUEST' | 'NOT_SUPPORTED', message: string): Resolved {
  return { ok: false, error: { code, message: `${code}: ${message}` } };
}

/** Validates a renderer message and finds its handler, or says why not. */
function resolve(handlers: AppApiHandlers, kind: MethodKind, method: unknown, input: unknown): Resolved {
  const message = validateIpcMessage(method, input);
  if (!message.ok) return message;
  if (message.kind !== kind)
    return refuse('INVALID_REQUEST', `${message.method} is a ${message.kind} method, not a ${kind}`);
  const handler = Object.hasOwn(handlers, message.method) ? handlers[message.method] : undefined;
  if (!handler) return refuse('NOT_SUPPORTED', `this build does not serve ${message.method}`);
  const run = handler as (input: unknown, ctx: Context) => Promise<unknown> | AsyncIterable<unknown>;
  return { ok: true, run: (ctx) => run(message.input, ctx) };
}

/** Runs one `call` method. Resolves an envelope and never rejects: a thrown error becomes its serialized value. */
export async function dispatchCall(
  handlers: AppApiHandlers,
  method: unknown,
  input: unknown,
): Promise<BridgeResult<unknown>> {
  const resolved = resolve(handlers, 'call', method, input);
  if (!resolved.ok) return resolved;
  try {
    return { ok: true, value: await resolved.run({ signal: new AbortController().signal }) };
  } catch (error) {
    return { ok: false, error: toSwitchboardError(error).toJSON() };
  }
}

/**
 * Runs one `stream` method, posting each event, then the end or the error, through `post`.
 * Aborting `signal` (the renderer cancelled, or its port closed) cancels the work in the engine.
 */
export async function dispatchStream(
  handlers: AppApiHandlers,
  method: unknown,
  input: unknown,
  post: (message: StreamPortMessage) => void,
  signal: AbortSignal,
): Promise<void> {
  const resolved = resolve(handlers, 'stream', method, input);
  if (!resolved.ok) {
    post({ type: 'error', error: resolved.error });
    return;
  }
  try {
    for await (const value of resolved.run({ signal }) as AsyncIterable<unknown>) {
      if (signal.aborted) break;
      post({ type: 'event', value });
    }
    post({ type: 'end' });
  } catch (error) {
    post({ type: 'error', error: toSwitchboardError(error).toJSON() });
  }
}
