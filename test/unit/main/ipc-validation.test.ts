import { describe, expect, it } from 'vitest';
import { SwitchboardError } from '../../../electron/engine/contract/errors.ts';
import type { StreamPortMessage } from '../../../electron/main/ipc-channels.ts';
import { type AppApiHandlers, dispatchCall, dispatchStream } from '../../../electron/main/ipc-dispatch.ts';
import { validateIpcMessage } from '../../../electron/main/ipc-validation.ts';

describe('validateIpcMessage', () => {
  it('accepts a known method with a valid input, and says whether it is a call or a stream', () => {
    expect(validateIpcMessage('meetings.get', { id: 'm1' })).toEqual({
      ok: true,
      method: 'meetings.get',
      kind: 'call',
      input: { id: 'm1' },
    });
    const send = validateIpcMessage('chat.send', { content: 'hello' });
    expect(send.ok && send.kind).toBe('stream');
  });

  it('strips keys the schema does not know, so nothing extra reaches a handler', () => {
    const message = validateIpcMessage('meetings.get', { id: 'm1', __proto__: { admin: true }, sql: 'DROP' });
    expect(message.ok && message.input).toEqual({ id: 'm1' });
  });

  it.each([
    ['an unknown method', 'fs.readFile', {}, 'unknown method "fs.readFile"'],
    ['a method that is not a string', 42, {}, 'unknown method number'],
    ['a prototype key as method', '__proto__', {}, 'unknown method "__proto__"'],
    ['a missing field', 'meetings.get', {}, 'meetings.get: id:'],
    ['a field of the wrong type', 'providers.setEnabled', { id: 'openai', enabled: 'yes' }, 'enabled:'],
    ['an out-of-range number', 'search', { query: 'x', limit: 10_000 }, 'limit:'],
    ['a short key', 'providers.addKey', { id: 'openai', key: 'abc' }, 'key:'],
    ['an unknown export format', 'meetings.export', { id: 'm1', format: 'exe' }, 'format:'],
    ['an input that is not an object', 'conversations.list', 'everything', 'conversations.list:'],
  ])('rejects %s with an INVALID_REQUEST error value', (_, method, input, expected) => {
    const message = validateIpcMessage(method, input);
    expect(message.ok).toBe(false);
    if (message.ok) return;
    expect(message.error.code).toBe('INVALID_REQUEST');
    expect(message.error.message).toContain(expected);
  });

  it('never throws, even for hostile inputs', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const getterBomb = Object.defineProperty({}, 'id', {
      get() {
        throw new Error('boom');
      },
      enumerable: true,
    });
    for (const input of [null, undefined, cyclic, getterBomb, [1, 2], Symbol('x'), () => 1]) {
      expect(() => validateIpcMessage('meetings.get', input)).not.toThrow();
      expect(validateIpcMessage('meetings.get', input).ok).toBe(false);
    }
  });
});

describe('IPC dispatch', () => {
  const handlers: AppApiHandlers = {
    'meetings.get': async (input: { id: string }) => ({ id: input.id, title: 'Standup' }),
    'meetings.delete': async () => {
      throw new SwitchboardError('NOT_FOUND', 'no meeting m9');
    },
    'models.pull': async function* (input: { id: string }, { signal }: { signal: AbortSignal }) {
      yield { type: 'progress', receivedBytes: 1, id: input.id };
      if (input.id === 'fails') throw new SwitchboardError('CONNECTION_FAILED', 'the download stopped');
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      yield { type: 'progress', receivedBytes: 2 };
    },
  };

  it('answers a call with the handler’s value', async () => {
    expect(await dispatchCall(handlers, 'meetings.get', { id: 'm1' })).toEqual({
      ok: true,
      value: { id: 'm1', title: 'Standup' },
    });
  });

  it('turns a thrown engine error into its serialized value, code and message intact', async () => {
    const result = await dispatchCall(handlers, 'meetings.delete', { id: 'm9' });
    expect(result).toMatchObject({ ok: false, error: { code: 'NOT_FOUND', message: 'NOT_FOUND: no meeting m9' } });
  });

  it('refuses malformed calls before any handler runs, and streams asked for as calls', async () => {
    expect(await dispatchCall(handlers, 'meetings.get', { id: '' })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REQUEST' },
    });
    expect(await dispatchCall(handlers, 'models.pull', { id: 'x' })).toMatchObject({
      ok: false,
      error: { message: 'INVALID_REQUEST: models.pull is a stream method, not a call' },
    });
    expect(await dispatchCall(handlers, 'usage.get', {})).toMatchObject({
      ok: false,
      error: { code: 'NOT_SUPPORTED' },
    });
  });

  it('streams events, then the error that ended the stream', async () => {
    const posted: StreamPortMessage[] = [];
    await dispatchStream(handlers, 'models.pull', { id: 'fails' }, (m) => posted.push(m), new AbortController().signal);
    expect(posted).toEqual([
      { type: 'event', value: { type: 'progress', receivedBytes: 1, id: 'fails' } },
      { type: 'error', error: expect.objectContaining({ code: 'CONNECTION_FAILED' }) },
    ]);
  });

  it('cancelling stops the engine’s work and posts no more events', async () => {
    const posted: StreamPortMessage[] = [];
    const controller = new AbortController();
    const done = dispatchStream(handlers, 'models.pull', { id: 'slow' }, (m) => posted.push(m), controller.signal);
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    await done;
    expect(posted.filter((m) => m.type === 'event')).toHaveLength(1);
    expect(posted.at(-1)).toEqual({ type: 'end' });
  });

  it('refuses a malformed stream with an error message on the port', async () => {
    const posted: StreamPortMessage[] = [];
    await dispatchStream(handlers, 'chat.send', { content: '' }, (m) => posted.push(m), new AbortController().signal);
    expect(posted).toEqual([{ type: 'error', error: expect.objectContaining({ code: 'INVALID_REQUEST' }) }]);
  });
});
