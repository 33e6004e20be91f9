import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../electron/engine/contract/api.ts';
import type { AppApiTable } from '../../electron/engine/server/app-api.ts';
import { resolveUpload } from '../../electron/engine/server/uploads.ts';
import { createHttpTransport } from '../../renderer/src/api/http-transport.ts';
import { REPLY, type Stack, startStack, TOKEN } from './server-harness.ts';

/**
 * Browser mode: the one-time login code, the session cookie, and the app API over HTTP, exercised
 * with the renderer's own HTTP transport against a small real handler table over the Engine.
 */

const JFK_WAV = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'audio', 'jfk.wav');

let stack: Stack;
let uploadsDir: string;
const watchAborted: boolean[] = [];

function handlers(getStack: () => Stack): AppApiTable {
  return {
    'providers.list': async () => getStack().engine.listProviders(),
    'providers.setEnabled': async (input) => {
      const { id, enabled } = input as { id: string; enabled: boolean };
      getStack().engine.setProviderEnabled(id, enabled);
      return getStack().engine.listProviders();
    },
    'chat.send': async function* (input, { signal }) {
      const { content, model } = input as { content: string; model?: string };
      yield { type: 'conversation', conversationId: 'c1', userMessageId: 'u1', assistantMessageId: 'a1' };
      for await (const event of getStack().engine.chat({ model, messages: [{ role: 'user', content }] }, { signal })) {
        yield event;
      }
    },
    'meetings.watch': async function* (_input, { signal }) {
      yield { type: 'progress', fraction: 0, etaSeconds: null };
      await new Promise<void>((done) => signal.addEventListener('abort', () => done(), { once: true }));
      watchAborted.push(signal.aborted);
    },
    'meetings.transcribe': async (input) => {
      const { uploadId } = input as { uploadId: string };
      return { bytes: statSync(resolveUpload(uploadsDir, uploadId)).size };
    },
  };
}

beforeAll(async () => {
  uploadsDir = mkdtempSync(join(tmpdir(), 'switchboard-uploads-'));
  stack = await startStack({ server: { appApi: handlers(() => stack), uploadsDir } });
});
afterAll(async () => {
  await stack?.close();
  rmSync(uploadsDir, { recursive: true, force: true });
});

async function signIn(): Promise<string> {
  const code = new URL(stack.server.loginUrl()).searchParams.get('code')!;
  const response = await fetch(`${stack.server.url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code }),
  });
  expect(response.status).toBe(200);
  const cookie = response.headers.get('set-cookie') ?? '';
  return cookie.split(';')[0]!;
}

/** The renderer's transport, as a signed-in page uses it (the browser would attach the cookie). */
function browser(cookie: string, origin?: string) {
  return createHttpTransport({
    baseUrl: stack.server.url,
    fetch: (input, init) =>
      fetch(input, {
        ...init,
        headers: { ...(init?.headers as Record<string, string>), cookie, ...(origin ? { origin } : {}) },
      }),
  });
}

describe('signing in with the one-time code', () => {
  it('prints a URL whose code buys one HttpOnly, SameSite=Strict session cookie, once', async () => {
    const url = new URL(stack.server.loginUrl());
    expect(url.origin).toBe(stack.server.url);
    expect(url.href).not.toContain(TOKEN);
    const code = url.searchParams.get('code')!;
    const first = await fetch(`${stack.server.url}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    expect(first.status).toBe(200);
    const cookie = first.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toContain(TOKEN);
    const again = await fetch(`${stack.server.url}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    expect(again.status).toBe(401);
  });

  it('lets the cookie reach the app API only, and only from the page’s own origin', async () => {
    const cookie = await signIn();
    expect(await browser(cookie).call('providers.list', {})).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: 'openai', keys: ['…0000'] })]),
    );
    // Another page on this machine is same-site but not same-origin.
    await expect(browser(cookie, 'http://127.0.0.1:1').call('providers.list', {})).rejects.toMatchObject({
      status: 401,
    });
    const openAIRoute = await fetch(`${stack.server.url}/v1/models`, { headers: { cookie } });
    expect(openAIRoute.status).toBe(401);
  });
});

describe('the app API over HTTP', () => {
  it('validates input with apiInputs and answers { error } with a status', async () => {
    const api = browser(await signIn());
    const error = await api.call('providers.setEnabled', { id: 'openai' } as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'INVALID_REQUEST', status: 400 });
    expect((error as Error).message).toContain('enabled');
    const unknown = await fetch(`${stack.server.url}/api/app/call/no.such.method`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(unknown.status).toBe(404);
    const missing = await api.call('settings.get', {}).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'NOT_SUPPORTED', status: 400 });
  });

  it('dispatches a call and applies it in the engine', async () => {
    const api = browser(await signIn());
    const providers = await api.call('providers.setEnabled', { id: 'anthropic', enabled: false });
    expect(providers.find((p) => p.id === 'anthropic')?.enabled).toBe(false);
    await api.call('providers.setEnabled', { id: 'anthropic', enabled: true });
  });

  it('streams events as SSE until `end`, with the bearer token too', async () => {
    const api = createHttpTransport({
      baseUrl: stack.server.url,
      fetch: (input, init) =>
        fetch(input, {
          ...init,
          headers: { ...(init?.headers as Record<string, string>), authorization: `Bearer ${TOKEN}` },
        }),
    });
    const events = [];
    for await (const event of api.stream('chat.send', { content: 'Say hello.', model: 'openai/gpt-4o-mini' })) {
      events.push(event);
    }
    expect(events[0]).toMatchObject({ type: 'conversation' });
    expect(events[1]).toMatchObject({ type: 'route', route: { providerId: 'openai' } });
    expect(
      events
        .filter((e) => e.type === 'text')
        .map((e) => (e as { text: string }).text)
        .join(''),
    ).toBe(REPLY);
    expect(events.at(-1)).toMatchObject({ type: 'finish' });
  });

  it('reports a failure inside the stream as an error event the transport throws', async () => {
    const api = browser(await signIn());
    const consume = async () => {
      for await (const _ of api.stream('chat.send', { content: 'Hi', model: 'nope/none' })) {
        // events before the failure
      }
    };
    await expect(consume()).rejects.toMatchObject({ code: expect.stringMatching(/NOT_FOUND|MODEL_NOT_FOUND/) });
  });

  it('cancels the handler’s work when the page stops reading', async () => {
    const api = browser(await signIn());
    const controller = new AbortController();
    const iterator = api.stream('meetings.watch', { id: 'm1' }, controller.signal)[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ type: 'progress' });
    controller.abort();
    await expect.poll(() => watchAborted.length, { timeout: 2_000 }).toBe(1);
    expect(watchAborted[0]).toBe(true);
  });

  it('takes an audio upload and hands its id to a handler, which finds the same bytes', async () => {
    const api = browser(await signIn());
    const audio = readFileSync(JFK_WAV);
    const { uploadId } = await api.upload(new Blob([audio], { type: 'audio/wav' }), 'jfk.wav');
    expect(uploadId).toMatch(/^switchboard-upload-.*\.wav$/);
    expect(await api.call('meetings.transcribe', { uploadId } as never)).toEqual({ bytes: audio.length });
    await expect(api.call('meetings.transcribe', { uploadId: '../../etc/passwd' } as never)).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
    await expect(api.upload(new Blob(['#!/bin/sh'], { type: 'text/x-sh' }), 'run.sh')).rejects.toMatchObject({
      status: 415,
    });
  });
});
