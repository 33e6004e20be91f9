import type {
  ApiCallMethod,
  ApiCallOutputs,
  ApiInput,
  ApiStreamEvents,
  ApiStreamMethod,
  SwitchboardApi,
} from '#contract/api.ts';
import { ApiError } from '#contract/api-error.ts';
import type { BridgeResult, BridgeStream, SwitchboardBridge } from '#contract/bridge.ts';
import type { OperationalEventRecord } from '#contract/operations.ts';

function unwrap<T>(result: BridgeResult<T>): T {
  if (!result.ok) throw new ApiError(result.error);
  return result.value;
}

/** Iterates a bridge stream opened by `open`, until it ends, fails or the signal aborts. */
async function* pull<T>(open: () => BridgeStream, signal?: AbortSignal): AsyncIterable<T> {
  if (signal?.aborted) return;
  const handle = open();
  const cancel = () => handle.cancel();
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    while (true) {
      const step = await handle.next();
      if ('error' in step) throw new ApiError(step.error);
      if (step.done) return;
      yield step.value as T;
    }
  } finally {
    // Also reached when the consumer stops iterating early: the engine's work stops with it.
    signal?.removeEventListener('abort', cancel);
    handle.cancel();
  }
}

/** The app API over Electron IPC, through the preload's bridge. */
export function createIpcTransport(bridge: SwitchboardBridge): SwitchboardApi {
  return {
    async call<M extends ApiCallMethod>(method: M, input: ApiInput<M>): Promise<ApiCallOutputs[M]> {
      return unwrap(await bridge.call(method, input)) as ApiCallOutputs[M];
    },

    stream<M extends ApiStreamMethod>(
      method: M,
      input: ApiInput<M>,
      signal?: AbortSignal,
    ): AsyncIterable<ApiStreamEvents[M]> {
      return pull<ApiStreamEvents[M]>(() => bridge.stream(method, input), signal);
    },

    events(signal?: AbortSignal): AsyncIterable<OperationalEventRecord> {
      return pull<OperationalEventRecord>(() => bridge.events(), signal);
    },

    async upload(file: Blob, filename: string): Promise<{ uploadId: string }> {
      return unwrap(await bridge.upload(await file.arrayBuffer(), filename));
    },
  };
}
