import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import busboy from 'busboy';
import { type Fault, type FaultKind, type FaultPlan, faultKind } from './faults.ts';

/**
 * The shared core of the fake providers: a real HTTP server on 127.0.0.1, request recording, the auth
 * check, and fault injection. Protocol modules add routes (what to answer) and dialects (how that
 * protocol spells its errors and where it carries the key).
 */

export interface UploadedFile {
  field: string;
  filename: string;
  mimeType: string;
  bytes: number;
}

export interface RecordedRequest {
  index: number;
  method: string;
  path: string;
  query: Record<string, string>;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** Parsed JSON, multipart fields and files, or the raw text. */
  body: unknown;
  /** The body's text as it arrived (empty for multipart). */
  text: string;
  model?: string;
  stream: boolean;
  /** The fault injected into this request, if any; 'bad-key' when the auth check failed. */
  fault?: FaultKind | 'bad-key';
  /** Status of the answer, once one was sent (undefined for hangs and resets). */
  status?: number;
  /** The client closed the connection before the answer was complete. */
  closedEarly?: boolean;
}

export type ErrorKind =
  | 'bad-key'
  | 'unauthorized'
  | 'forbidden'
  | 'unknown-model'
  | 'rate-limit'
  | 'quota'
  | 'content-filter'
  | 'server-error'
  | 'unavailable'
  | 'context-too-long'
  | 'bad-request'
  | 'no-route';

export interface ErrorReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** How one protocol carries its key and spells its errors. */
export interface Dialect {
  credential(request: RecordedRequest): string | undefined;
  error(
    kind: ErrorKind,
    info: { message?: string; model?: string; key?: string; retryAfterSeconds: number },
  ): ErrorReply;
  /** Whether 429 answers carry a Retry-After header (Google's put the delay in the body instead). */
  retryAfterHeader: boolean;
  /** The frame this protocol sends when it fails after a stream has begun. */
  streamError: StreamFrame;
}

export interface StreamFrame {
  /** SSE event name (Anthropic names every event). */
  event?: string;
  /** Serialised as JSON; a string is written as is (OpenAI's `[DONE]`). */
  data: unknown;
}

export type Reply =
  | { type: 'json'; status?: number; body: unknown }
  | { type: 'stream'; format: 'sse' | 'ndjson'; frames: StreamFrame[] }
  | { type: 'error'; kind: ErrorKind; message?: string; model?: string };

export interface Route {
  method: string;
  path: RegExp;
  dialect: Dialect;
  /** The model and streaming mode of a request, for recording and fault plans. */
  describe?(request: RecordedRequest, match: RegExpExecArray): { model?: string; stream?: boolean };
  handle(request: RecordedRequest, match: RegExpExecArray, fake: FakeState): Reply;
}

/** Settings every fake shares. */
export interface FakeOptions {
  /** The key the fake accepts; requests with another key get the protocol's 401. Undefined = no auth. */
  apiKey?: string;
  /** Models the fake serves; others get the protocol's 404. */
  models?: string[];
  /** The reply text, streamed word by word. */
  text?: string;
  /** When the request offers tools, call these instead of answering with text. */
  toolCalls?: { name: string; arguments: string }[];
  /** Report token usage (default true); off to exercise estimation. */
  usage?: boolean;
  /** Delay between stream frames. */
  tokenDelayMs?: number;
  faults?: FaultPlan;
  /** Members every successful answer and stream frame carries besides the protocol's own (a vendor's extensions). */
  extra?: Record<string, unknown>;
}

export interface FakeState {
  options: Required<Omit<FakeOptions, 'apiKey' | 'faults' | 'toolCalls' | 'extra'>> &
    Pick<FakeOptions, 'apiKey' | 'toolCalls' | 'extra'>;
  /** The reply text split into the pieces a stream sends. */
  tokens(): string[];
}

export interface FakeServer {
  /** Base URL, e.g. http://127.0.0.1:41234 (no path). */
  url: string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  setFaults(plan: FaultPlan | undefined): void;
  setText(text: string): void;
  setTokenDelay(ms: number): void;
  /** Mutable: add or remove models the fake serves. */
  readonly models: string[];
  close(): Promise<void>;
}

export async function startFake(routes: Route[], options: FakeOptions, defaultModels: string[]): Promise<FakeServer> {
  const state: FakeState = {
    options: {
      apiKey: options.apiKey,
      models: [...(options.models ?? defaultModels)],
      text: options.text ?? 'Hello from the fake provider.',
      toolCalls: options.toolCalls,
      usage: options.usage ?? true,
      tokenDelayMs: options.tokenDelayMs ?? 0,
      extra: options.extra,
    },
    tokens: () => state.options.text.match(/\S+\s*/g) ?? [''],
  };
  let plan = options.faults;
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`fake server error: ${String(error)}`);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const request: RecordedRequest = {
      index: requests.length,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
      body: undefined,
      text: '',
      stream: false,
    };
    requests.push(request);
    res.on('close', () => {
      if (!res.writableFinished) request.closedEarly = true;
    });
    Object.assign(request, await readBody(req));

    let found: { route: Route; match: RegExpExecArray } | undefined;
    for (const route of routes) {
      const match = route.method === request.method ? route.path.exec(request.path) : null;
      if (match) {
        found = { route, match };
        break;
      }
    }
    if (!found) {
      const dialect = routes[0]!.dialect;
      return sendError(res, request, dialect, 'no-route', {
        message: `no route for ${request.method} ${request.path}`,
      });
    }
    const { route, match } = found;
    Object.assign(request, route.describe?.(request, match) ?? {});

    if (state.options.apiKey !== undefined && route.dialect.credential(request) !== state.options.apiKey) {
      request.fault = 'bad-key';
      return sendError(res, request, route.dialect, 'bad-key', { key: route.dialect.credential(request) });
    }

    const fault = plan?.({
      index: request.index,
      method: request.method,
      path: request.path,
      model: request.model,
      stream: request.stream,
      body: request.body,
    });
    if (fault) request.fault = faultKind(fault);
    const kind = fault ? faultKind(fault) : undefined;
    if (kind === 'reset') {
      // An RST, as a crashed proxy or load balancer sends, rather than an orderly close.
      req.socket.resetAndDestroy();
      return;
    }
    if (kind === 'hang' && !(typeof fault === 'object' && fault.kind === 'hang' && fault.afterChunks !== undefined))
      return;
    if (kind && kind !== 'hang' && kind !== 'malformed' && kind !== 'cut' && kind !== 'stream-error') {
      const retryAfter = typeof fault === 'object' && fault.kind === 'rate-limit' ? fault : undefined;
      return sendError(res, request, route.dialect, kind, { model: request.model }, retryAfter);
    }

    const reply = route.handle(request, match, state);
    if (reply.type === 'error') {
      return sendError(res, request, route.dialect, reply.kind, { message: reply.message, model: reply.model });
    }
    if (reply.type === 'json' && kind === 'stream-error')
      return sendError(res, request, route.dialect, 'server-error', {});
    request.status = reply.type === 'json' ? (reply.status ?? 200) : 200;
    const extra = state.options.extra;
    if (reply.type === 'json') return sendJson(res, reply.status ?? 200, withExtra(reply.body, extra), fault);
    const frames = kind === 'stream-error' ? withStreamError(reply.frames, fault, route.dialect) : reply.frames;
    const extended = extra ? frames.map((frame) => ({ ...frame, data: withExtra(frame.data, extra) })) : frames;
    return sendStream(res, reply.format, extended, fault, state.options.tokenDelayMs);
  }

  function sendError(
    res: ServerResponse,
    request: RecordedRequest,
    dialect: Dialect,
    kind: ErrorKind,
    info: { message?: string; model?: string; key?: string },
    rateLimit?: { retryAfter?: string; retryAfterMs?: number },
  ): void {
    const retryAfter = rateLimit?.retryAfter ?? '1';
    const retryAfterSeconds = /^\d+$/.test(retryAfter) ? Number(retryAfter) : 1;
    const reply = dialect.error(kind, { ...info, retryAfterSeconds });
    const headers: Record<string, string> = { 'content-type': 'application/json', ...reply.headers };
    if (kind === 'rate-limit' && dialect.retryAfterHeader) headers['retry-after'] = retryAfter;
    if (kind === 'rate-limit' && rateLimit?.retryAfterMs !== undefined) {
      headers['retry-after-ms'] = String(rateLimit.retryAfterMs);
    }
    request.status = reply.status;
    res.writeHead(reply.status, headers);
    res.end(JSON.stringify(reply.body));
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    models: state.options.models,
    setFaults: (next) => {
      plan = next;
    },
    setText: (text) => {
      state.options.text = text;
    },
    setTokenDelay: (ms) => {
      state.options.tokenDelayMs = ms;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A JSON object with the fake's extra members added; anything else as it is. */
function withExtra(body: unknown, extra: Record<string, unknown> | undefined): unknown {
  if (!extra || typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  return { ...body, ...extra };
}

/** The first frames of a stream, then the protocol's error event in place of the rest. */
function withStreamError(frames: StreamFrame[], fault: Fault | undefined, dialect: Dialect): StreamFrame[] {
  const after = typeof fault === 'object' && fault.kind === 'stream-error' ? (fault.afterChunks ?? 3) : 3;
  return [...frames.slice(0, after), dialect.streamError];
}

function sendJson(res: ServerResponse, status: number, body: unknown, fault: Fault | undefined): void {
  const text = JSON.stringify(body);
  const kind = fault ? faultKind(fault) : undefined;
  if (kind === 'malformed') {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(text.slice(0, Math.floor(text.length / 2)));
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  if (kind === 'cut' || kind === 'hang') {
    // Headers promise the whole body; half of it comes, then the connection dies or stalls.
    res.write(text.slice(0, Math.floor(text.length / 2)), () => {
      if (kind === 'cut') res.destroy();
    });
    return;
  }
  res.end(text);
}

async function sendStream(
  res: ServerResponse,
  format: 'sse' | 'ndjson',
  frames: StreamFrame[],
  fault: Fault | undefined,
  delayMs: number,
): Promise<void> {
  const kind = fault ? faultKind(fault) : undefined;
  const stopAfter =
    typeof fault === 'object' && (fault.kind === 'cut' || fault.kind === 'hang') ? (fault.afterChunks ?? 3) : 3;
  const serialise = (frame: StreamFrame, malformed = false): string => {
    let data = typeof frame.data === 'string' ? frame.data : JSON.stringify(frame.data);
    if (malformed) data = data.slice(0, Math.floor(data.length / 2));
    if (format === 'ndjson') return `${data}\n`;
    return `${frame.event ? `event: ${frame.event}\n` : ''}data: ${data}\n\n`;
  };
  res.writeHead(200, {
    'content-type': format === 'sse' ? 'text/event-stream' : 'application/x-ndjson',
    'cache-control': 'no-cache',
  });
  for (let i = 0; i < frames.length; i++) {
    if (res.destroyed) return;
    if ((kind === 'cut' || kind === 'hang') && i === stopAfter) {
      if (kind === 'hang') return;
      if (typeof fault === 'object' && fault.kind === 'cut' && fault.how === 'end') res.end();
      else res.destroy();
      return;
    }
    // A malformed frame replaces the second one, once the stream has visibly started.
    // Waiting for each write to reach the socket makes a later destroy cut after this frame, not before it.
    await new Promise((resolve) =>
      res.write(serialise(frames[i]!, kind === 'malformed' && i === Math.min(1, frames.length - 1)), resolve),
    );
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
  res.end();
}

async function readBody(req: IncomingMessage): Promise<{ body: unknown; text: string }> {
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('multipart/form-data')) {
    return new Promise((resolve, reject) => {
      const fields: Record<string, string | string[]> = {};
      const files: UploadedFile[] = [];
      const parser = busboy({ headers: req.headers });
      parser.on('field', (name, value) => {
        const previous = fields[name];
        fields[name] = previous === undefined ? value : [previous, value].flat();
      });
      parser.on('file', (field, stream, info) => {
        const file: UploadedFile = { field, filename: info.filename ?? '', mimeType: info.mimeType, bytes: 0 };
        files.push(file);
        stream.on('data', (chunk: Buffer) => {
          file.bytes += chunk.length;
        });
      });
      parser.on('close', () => resolve({ body: { fields, files }, text: '' }));
      parser.on('error', reject);
      req.pipe(parser);
    });
  }
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return { body: undefined, text };
  try {
    return { body: JSON.parse(text), text };
  } catch {
    return { body: text, text };
  }
}

/** Words of every string in a request body: the fakes' stand-in for a prompt token count. */
export function countWords(value: unknown): number {
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean).length;
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + countWords(item), 0);
  if (value && typeof value === 'object') return countWords(Object.values(value));
  return 0;
}

/** A deterministic unit-length vector for a text, so equal inputs embed equally. */
export function fakeEmbedding(text: string, dimensions = 8): number[] {
  const values = Array.from({ length: dimensions }, (_, i) => {
    let h = 2166136261 ^ i;
    for (let c = 0; c < text.length; c++) h = Math.imul(h ^ text.charCodeAt(c), 16777619);
    return ((h >>> 0) / 4294967295) * 2 - 1;
  });
  const norm = Math.hypot(...values) || 1;
  return values.map((v) => v / norm);
}

/** Arguments split into a few pieces, as providers stream tool-call JSON. */
export function splitArguments(text: string, pieces = 3): string[] {
  const size = Math.max(1, Math.ceil(text.length / pieces));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length > 0 ? out : [''];
}
