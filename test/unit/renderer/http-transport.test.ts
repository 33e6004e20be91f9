import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import busboy from 'busboy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, type SwitchboardApi } from '../../../electron/engine/contract/api.ts';
import { createHttpTransport } from '../../../renderer/src/api/http-transport.ts';
import { parseSse } from '../../../renderer/src/api/sse.ts';

/** A real HTTP server on 127.0.0.1 that answers the way `switchboard serve` frames things, with hostile chunking. */
let server: Server;
let api: SwitchboardApi;
let baseUrl: string;
const seen: { path: string; body: string; accept?: string }[] = [];
let lastStreamClosed: Promise<void> = Promise.resolve();

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Writes a text a few bytes at a time, so frames, lines, CRLFs and UTF-8 characters all split across chunks. */
async function trickle(res: ServerResponse, text: string, size = 3): Promise<void> {
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i += size) {
    res.write(bytes.subarray(i, i + size));
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function sse(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
  res.flushHeaders();
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = req.url ?? '';
  if (path === '/api/app/upload') {
    const parser = busboy({ headers: req.headers });
    let received = { field: '', filename: '', bytes: 0, type: '' };
    parser.on('file', (field, stream, info) => {
      received = { field, filename: info.filename ?? '', bytes: 0, type: info.mimeType };
      stream.on('data', (chunk: Buffer) => {
        received.bytes += chunk.length;
      });
    });
    req.pipe(parser);
    await once(parser, 'close');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ uploadId: `${received.field}:${received.filename}:${received.bytes}:${received.type}` }));
    return;
  }
  const body = await readBody(req);
  seen.push({ path, body, accept: req.headers.accept });
  switch (path) {
    case '/api/app/call/meetings.get':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: JSON.parse(body).id, title: 'Standup — ünïcode ✓' }));
      return;
    case '/api/app/call/meetings.delete':
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'NOT_FOUND: there is no meeting m9' } }));
      return;
    case '/api/app/call/usage.get':
      res.writeHead(401, { 'content-type': 'text/plain' });
      res.end('no session');
      return;
    case '/api/app/call/hardware.get':
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<h1>Bad gateway</h1>');
      return;
    case '/api/app/stream/chat.send': {
      sse(res);
      await trickle(
        res,
        [
          ': keep-alive comment\r\n\r\n',
          `data: ${JSON.stringify({ type: 'route', route: { providerId: 'local', providerLabel: 'On this machine', model: 'stories260K', fallbackDepth: 0 } })}\r\n\r\n`,
          `data: ${JSON.stringify({ type: 'text', text: 'Once upon a time — ' })}\n\n`,
          // One event over two data lines (joined by a newline), with a CR line ending.
          'data: {"type":"text",\rdata: "text":"a little girl named Lily 🌼"}\r\r',
          'event: end\ndata: {}\n\n',
        ].join(''),
        3,
      );
      res.end();
      return;
    }
    case '/api/app/stream/chat.regenerate': {
      sse(res);
      await trickle(res, `data: ${JSON.stringify({ type: 'text', text: 'partial' })}\n\n`);
      await trickle(
        res,
        `event: error\ndata: ${JSON.stringify({ error: { code: 'STREAM_INTERRUPTED', message: 'STREAM_INTERRUPTED: Groq stopped mid-answer', providerId: 'groq' } })}\n\n`,
      );
      res.end();
      return;
    }
    case '/api/app/stream/meetings.watch': {
      sse(res);
      res.write(`data: ${JSON.stringify({ type: 'progress', fraction: 0.5, etaSeconds: 3 })}\n\n`);
      // The server dies mid-stream: no `event: end`.
      await new Promise((resolve) => setTimeout(resolve, 50));
      res.socket?.destroy();
      return;
    }
    case '/api/app/stream/models.pull': {
      sse(res);
      lastStreamClosed = once(res, 'close').then(() => undefined);
      res.write(
        `data: ${JSON.stringify({ type: 'progress', receivedBytes: 1, totalBytes: 10, bytesPerSecond: 1, etaSeconds: 9 })}\n\n`,
      );
      // …and then nothing until the client goes away.
      return;
    }
    default:
      res.writeHead(404).end();
  }
}

beforeAll(async () => {
  server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.destroy(error instanceof Error ? error : undefined);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  api = createHttpTransport({ baseUrl });
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const events: T[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

describe('HTTP transport: calls', () => {
  it('posts the input as JSON and resolves the answer', async () => {
    const meeting = await api.call('meetings.get', { id: 'm1' });
    expect(meeting).toEqual({ id: 'm1', title: 'Standup — ünïcode ✓' });
    expect(seen.find((s) => s.path === '/api/app/call/meetings.get')?.body).toBe('{"id":"m1"}');
  });

  it('rejects with the engine’s error code, message and HTTP status', async () => {
    const error = await api.call('meetings.delete', { id: 'm9' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'NOT_FOUND', message: 'NOT_FOUND: there is no meeting m9', status: 404 });
  });

  it('a lost session sends the page back to sign-in; a non-JSON failure is explained in words', async () => {
    let ended = 0;
    const signedOut = createHttpTransport({ baseUrl, onUnauthorized: () => ended++ });
    await expect(signedOut.call('usage.get', {})).rejects.toMatchObject({ status: 401, message: /not signed in/ });
    expect(ended).toBe(1);
    await expect(api.call('hardware.get', {})).rejects.toMatchObject({ code: 'INTERNAL', status: 502 });
  });

  it('says the server is unreachable when nothing listens', async () => {
    const offline = createHttpTransport({ baseUrl: 'http://127.0.0.1:9' });
    await expect(offline.call('settings.get', {})).rejects.toMatchObject({ code: 'CONNECTION_FAILED' });
  });
});

describe('HTTP transport: SSE streams', () => {
  it('yields every event in order however the bytes were split (CRLF, CR, comments, multi-line data, UTF-8)', async () => {
    const events = await collect(api.stream('chat.send', { content: 'Tell me a story' }));
    expect(events).toEqual([
      {
        type: 'route',
        route: { providerId: 'local', providerLabel: 'On this machine', model: 'stories260K', fallbackDepth: 0 },
      },
      { type: 'text', text: 'Once upon a time — ' },
      { type: 'text', text: 'a little girl named Lily 🌼' },
    ]);
    const request = seen.find((s) => s.path === '/api/app/stream/chat.send');
    expect(request?.accept).toBe('text/event-stream');
    expect(JSON.parse(request?.body ?? '')).toEqual({ content: 'Tell me a story' });
  });

  it('yields what came before an error frame, then throws the engine’s error', async () => {
    const events: unknown[] = [];
    const error = await (async () => {
      for await (const event of api.stream('chat.regenerate', { conversationId: 'c', messageId: 'm' }))
        events.push(event);
    })().catch((e: unknown) => e);
    expect(events).toEqual([{ type: 'text', text: 'partial' }]);
    expect(error).toMatchObject({ code: 'STREAM_INTERRUPTED', message: 'STREAM_INTERRUPTED: Groq stopped mid-answer' });
  });

  it('reports a stream that stops without its end frame instead of passing it off as complete', async () => {
    const events: unknown[] = [];
    const error = await (async () => {
      for await (const event of api.stream('meetings.watch', { id: 'm1' })) events.push(event);
    })().catch((e: unknown) => e);
    expect(events).toEqual([{ type: 'progress', fraction: 0.5, etaSeconds: 3 }]);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'STREAM_INTERRUPTED' });
  });

  it('stops quietly when aborted, and the server sees the request go away', async () => {
    const controller = new AbortController();
    const events: unknown[] = [];
    for await (const event of api.stream('models.pull', { id: 'llama' }, controller.signal)) {
      events.push(event);
      controller.abort();
    }
    expect(events).toHaveLength(1);
    await expect(
      Promise.race([
        lastStreamClosed,
        new Promise((_, reject) => setTimeout(() => reject(new Error('still open')), 2000)),
      ]),
    ).resolves.toBeUndefined();
  });
});

describe('HTTP transport: uploads', () => {
  it('sends the file as the multipart field "file" with its name and type', async () => {
    const audio = new Blob([new Uint8Array(48_000)], { type: 'audio/wav' });
    expect(await api.upload(audio, 'standup.wav')).toEqual({ uploadId: 'file:standup.wav:48000:audio/wav' });
  });
});

describe('parseSse', () => {
  it('drops a message with no data and keeps the last event name per message', async () => {
    const body = new Blob(['event: ignored\n\nevent: a\nevent: b\ndata: x\n\n']).stream();
    const messages = [];
    for await (const message of parseSse(body)) messages.push(message);
    expect(messages).toEqual([{ event: 'b', data: 'x' }]);
  });
});
