import type {
  ApiCallMethod,
  ApiCallOutputs,
  ApiInput,
  ApiStreamEvents,
  ApiStreamMethod,
  SwitchboardApi,
} from '#contract/api.ts';
import { ApiError } from '#contract/api-error.ts';
import type { BridgeResult, SwitchboardBridge } from '#contract/bridge.ts';

function unwrap<T>(result: BridgeResult<T>): T {
  if (!result.ok) throw new ApiError(result.error);
  return result.value;
}

/** The app API over Electron IPC, through the preload's bridge. */
export function createIpcTransport(bridge: SwitchboardBridge): SwitchboardApi {
  return {
    async call<M extends ApiCallMethod>(method: M, input: ApiInput<M>): Promise<ApiCallOutputs[M]> {
      return unwrap(await bridge.call(method, input)) as ApiCallOutputs[M];
    },

    async *stream<M extends ApiStreamMethod>(
      method: M,
      input: ApiInput<M>,
      signal?: AbortSignal,
    ): AsyncIterable<ApiStreamEvents[M]> {
      if (signal?.aborted) return;
      const handle = bridge.stream(method, input);
      const cancel = () => handle.cancel();
      signal?.addEventListener('abort', cancel, { once: true });
      try {
        while (true) {
          const step = await handle.next();
          if ('error' in step) throw new ApiError(step.error);
          if (step.done) return;
          yield step.value as ApiStreamEvents[M];
        }
      } finally {
        // Also reached when the consumer stops iterating early: the engine's work stops with it.
        signal?.removeEventListener('abort', cancel);
        handle.cancel();
      }
    },

    async upload(file: Blob, filename: string): Promise<{ uploadId: string }> {
      return unwrap(await bridge.upload(await file.arrayBuffer(), filename));
    },
  };
}
