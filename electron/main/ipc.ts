import { type IpcMainEvent, type IpcMainInvokeEvent, ipcMain } from 'electron';
import type { BridgeResult } from '../engine/contract/bridge.ts';
import { toSwitchboardError } from '../engine/contract/errors.ts';
import { IPC_CHANNELS, type StreamControlMessage, type StreamPortMessage } from './ipc-channels.ts';
import { type AppApiHandlers, dispatchCall, dispatchStream } from './ipc-dispatch.ts';
import { forwardOperationalEvents, type OperationalEventFeed } from './operations-bridge.ts';

export interface IpcOptions {
  handlers: AppApiHandlers;
  /** True for URLs of the app's own pages; messages from any other frame are refused. */
  isAppUrl: (url: string) => boolean;
  /** Stores an uploaded audio file where the engine's transcription jobs find it. */
  saveUpload: (bytes: Uint8Array, filename: string) => Promise<{ uploadId: string }>;
  /** The engine's operational events, forwarded to the page for its toasts. */
  operations: OperationalEventFeed;
}

function fromApp(event: IpcMainEvent | IpcMainInvokeEvent, isAppUrl: (url: string) => boolean): boolean {
  const frame = event.senderFrame;
  return frame !== null && frame.parent === null && isAppUrl(frame.url);
}

const FOREIGN_FRAME = {
  ok: false,
  error: { code: 'INVALID_REQUEST', message: 'INVALID_REQUEST: this page may not use the app API' },
} as const satisfies BridgeResult<never>;

/** Wires the app API to IPC: calls by invoke, streams over a MessagePort, uploads by invoke. */
export function registerIpc({ handlers, isAppUrl, saveUpload, operations }: IpcOptions): () => void {
  ipcMain.handle(IPC_CHANNELS.call, (event, method: unknown, input: unknown) => {
    if (!fromApp(event, isAppUrl)) return FOREIGN_FRAME;
    return dispatchCall(handlers, method, input);
  });

  ipcMain.on(IPC_CHANNELS.stream, (event, request: unknown) => {
    const port = event.ports[0];
    if (!port) return;
    const post = (message: StreamPortMessage) => port.postMessage(message);
    if (!fromApp(event, isAppUrl)) {
      post({ type: 'error', error: FOREIGN_FRAME.error });
      port.close();
      return;
    }
    const { method, input } = (request ?? {}) as { method?: unknown; input?: unknown };
    const controller = new AbortController();
    port.on('message', ({ data }: { data: StreamControlMessage }) => {
      if (data?.type === 'cancel') controller.abort();
    });
    port.on('close', () => controller.abort());
    port.start();
    void dispatchStream(handlers, method, input, post, controller.signal).finally(() => port.close());
  });

  ipcMain.on(IPC_CHANNELS.events, (event) => {
    const port = event.ports[0];
    if (!port) return;
    if (!fromApp(event, isAppUrl)) {
      port.postMessage({ type: 'error', error: FOREIGN_FRAME.error } satisfies StreamPortMessage);
      port.close();
      return;
    }
    forwardOperationalEvents(operations, port);
  });

  ipcMain.handle(
    IPC_CHANNELS.upload,
    async (event, bytes: unknown, filename: unknown): Promise<BridgeResult<unknown>> => {
      if (!fromApp(event, isAppUrl)) return FOREIGN_FRAME;
      if (
        !(bytes instanceof Uint8Array) ||
        typeof filename !== 'string' ||
        filename.length === 0 ||
        filename.length > 255
      ) {
        return {
          ok: false,
          error: { code: 'INVALID_REQUEST', message: 'INVALID_REQUEST: an upload needs the file bytes and its name' },
        };
      }
      try {
        return { ok: true, value: await saveUpload(bytes, filename) };
      } catch (error) {
        return { ok: false, error: toSwitchboardError(error).toJSON() };
      }
    },
  );

  return () => {
    ipcMain.removeHandler(IPC_CHANNELS.call);
    ipcMain.removeHandler(IPC_CHANNELS.upload);
    ipcMain.removeAllListeners(IPC_CHANNELS.stream);
    ipcMain.removeAllListeners(IPC_CHANNELS.events);
  };
}
