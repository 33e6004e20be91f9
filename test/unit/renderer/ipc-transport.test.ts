import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../electron/engine/contract/api.ts';
import type { BridgeStream, BridgeStreamStep, SwitchboardBridge } from '../../../electron/engine/contract/bridge.ts';
import { createIpcTransport } from '../../../renderer/src/api/ipc-transport.ts';

/**
 * The renderer's side of IPC over a bridge shaped like the preload's: what it hands the UI when the
 * engine answers, fails, or the user stops a stream half-way.
 */
function stepsOf(steps: BridgeStreamStep[], log: string[]): BridgeStream {
  const queue = [...steps];
  return {
    next: async () => queue.shift() ?? new Promise<BridgeStreamStep>(() => {}),
    cancel: () => log.push('cancel'),
  };
}

function bridgeWith(steps: BridgeStreamStep[], log: string[]): SwitchboardBridge {
  return {
    call: async (method) =>
      method === 'meetings.get'
        ? { ok: true, value: { id: 'm1' } }
        : { ok: false, error: { code: 'NOT_FOUND', message: 'NOT_FOUND: no such meeting' } },
    stream: (method): BridgeStream => {
      log.push(`open ${method}`);
      return stepsOf(steps, log);
    },
    events: (): BridgeStream => {
      log.push('open events');
      return stepsOf(steps, log);
    },
    upload: async (bytes, filename) => ({ ok: true, value: { uploadId: `${filename}:${bytes.byteLength}` } }),
  };
}

describe('IPC transport', () => {
  it('unwraps answers and turns error envelopes into ApiError with the engine’s code', async () => {
    const api = createIpcTransport(bridgeWith([], []));
    expect(await api.call('meetings.get', { id: 'm1' })).toEqual({ id: 'm1' });
    const error = await api.call('meetings.delete', { id: 'm1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'NOT_FOUND', message: 'NOT_FOUND: no such meeting' });
  });

  it('yields events until the end, then releases the stream', async () => {
    const log: string[] = [];
    const api = createIpcTransport(
      bridgeWith(
        [
          { done: false, value: { type: 'text', text: 'a' } },
          { done: false, value: { type: 'text', text: 'b' } },
          { done: true },
        ],
        log,
      ),
    );
    const events = [];
    for await (const event of api.stream('chat.send', { content: 'hi' })) events.push(event);
    expect(events).toEqual([
      { type: 'text', text: 'a' },
      { type: 'text', text: 'b' },
    ]);
    expect(log).toEqual(['open chat.send', 'cancel']);
  });

  it('throws the error that ended a stream after the events before it', async () => {
    const api = createIpcTransport(
      bridgeWith(
        [
          { done: false, value: { type: 'text', text: 'a' } },
          { error: { code: 'TIMEOUT', message: 'TIMEOUT: Groq took too long' } },
        ],
        [],
      ),
    );
    const events: unknown[] = [];
    const error = await (async () => {
      for await (const event of api.stream('chat.send', { content: 'hi' })) events.push(event);
    })().catch((e: unknown) => e);
    expect(events).toHaveLength(1);
    expect(error).toMatchObject({ code: 'TIMEOUT' });
  });

  it('cancels the engine’s work when the signal aborts or the consumer stops early', async () => {
    const log: string[] = [];
    const api = createIpcTransport(
      bridgeWith(
        [
          { done: false, value: { n: 1 } },
          { done: false, value: { n: 2 } },
        ],
        log,
      ),
    );
    for await (const _ of api.stream('models.pull', { id: 'x' })) break;
    expect(log).toEqual(['open models.pull', 'cancel']);

    const controller = new AbortController();
    controller.abort();
    const none = [];
    for await (const event of api.stream('models.pull', { id: 'x' }, controller.signal)) none.push(event);
    expect(none).toEqual([]);
    expect(log).toEqual(['open models.pull', 'cancel']);
  });

  it('hands over the operational events main forwards, and closes their port when the page stops listening', async () => {
    const log: string[] = [];
    const record = { id: 1, event: 'health.down', time: '2026-12-01T00:00:00Z', summary: 'groq is down', data: {} };
    const api = createIpcTransport(bridgeWith([{ done: false, value: record }], log));
    const received: unknown[] = [];
    for await (const event of api.events()) {
      received.push(event);
      break;
    }
    expect(received).toEqual([record]);
    expect(log).toEqual(['open events', 'cancel']);
  });

  it('sends an upload’s bytes with its name', async () => {
    const api = createIpcTransport(bridgeWith([], []));
    expect(await api.upload(new Blob([new Uint8Array(1234)]), 'talk.webm')).toEqual({ uploadId: 'talk.webm:1234' });
  });
});
