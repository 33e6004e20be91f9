import { contextBridge, ipcRenderer } from 'electron';
import type { BridgeResult, BridgeStream, BridgeStreamStep, SwitchboardBridge } from '../engine/contract/bridge.ts';
import { IPC_CHANNELS, type StreamControlMessage, type StreamPortMessage } from '../main/ipc-channels.ts';

/**
 * Opens a stream over its own MessagePort on `channel`: events arrive in order and are buffered until
 * the page pulls them; cancel() tells main to abort the work in the engine.
 */
function openStream(channel: string, request: unknown): BridgeStream {
  const { port1, port2 } = new MessageChannel();
  const buffered: BridgeStreamStep[] = [];
  const waiting: ((step: BridgeStreamStep) => void)[] = [];
  let finished = false;

  const push = (step: BridgeStreamStep) => {
    const resolve = waiting.shift();
    if (resolve) resolve(step);
    else buffered.push(step);
  };
  const finish = (step: BridgeStreamStep) => {
    if (finished) return;
    finished = true;
    push(step);
    port1.close();
    for (const resolve of waiting.splice(0)) resolve({ done: true });
  };

  port1.onmessage = ({ data }: MessageEvent<StreamPortMessage>) => {
    if (data.type === 'event') push({ done: false, value: data.value });
    else if (data.type === 'end') finish({ done: true });
    else finish({ error: data.error });
  };
  port1.start();
  ipcRenderer.postMessage(channel, request, [port2]);

  return {
    next: () => {
      const step = buffered.shift();
      if (step) return Promise.resolve(step);
      if (finished) return Promise.resolve({ done: true });
      return new Promise((resolve) => waiting.push(resolve));
    },
    cancel: () => {
      if (finished) return;
      port1.postMessage({ type: 'cancel' } satisfies StreamControlMessage);
      finish({ done: true });
    },
  };
}

const bridge: SwitchboardBridge = {
  call: (method, input) => ipcRenderer.invoke(IPC_CHANNELS.call, method, input) as Promise<BridgeResult<unknown>>,
  stream: (method, input) => openStream(IPC_CHANNELS.stream, { method, input }),
  events: () => openStream(IPC_CHANNELS.events, {}),
  upload: (bytes, filename) =>
    ipcRenderer.invoke(IPC_CHANNELS.upload, new Uint8Array(bytes), filename) as Promise<
      BridgeResult<{ uploadId: string }>
    >,
};

contextBridge.exposeInMainWorld('switchboard', bridge);
