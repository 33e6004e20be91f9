import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { z } from 'zod';
import type { UsageEvent } from '../accounting/types.ts';
import type { BodyLimits } from '../config/types.ts';
import type { AppKey } from '../contract/api.ts';
import { isPromise } from '../core/state.ts';
import type { RouteInfo } from '../engine.ts';
import { parseJson } from './json-off-thread.ts';
import { HttpError, invalidRequest, type Problem } from './problems.ts';

/**
 * Deeper than any API shape (a JSON schema in a tool or response_format is a few dozen levels at most).
 * What follows parsing recurses (validation, cloning, the SDKs' serialisers), so a body nested 50,000
 * deep would overflow the stack inside the gateway; it is refused here as the client's mistake.
 */
export const JSON_DEPTH_LIMIT = 128;

/** How a group of routes writes its errors: as a JSON body, and as a frame once an SSE stream has begun. */
export interface ErrorDialect {
  body(problem: Problem): unknown;
  sseFrame(problem: Problem): string;
}

/** One request as the handlers see it. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
  query: URLSearchParams;
  /** What follows a prefix route's prefix, %-decoded (the method name of /api/app/call/<method>). */
  rest: string;
  /** performance.now() when the request arrived. */
  started: number;
  /** Aborted when the client goes away before the answer is complete. */
  signal: AbortSignal;
  /** The request's id: the client's `x-request-id` when it sent a usable one, else made here; sent back. */
  id: string;
  /** Who asked, for the log line: `master` (the API token), `session`, or the app key's name. */
  caller?: string;
  /** The provider and model that answered, for the log line. */
  provider?: string;
  model?: string;
  /** The usage events of the engine calls this request made (tokens, cost, key), for the log line. */
  settled?: UsageEvent[];
  /** What a failed request answered with (redacted), for the log line. */
  problem?: { code: string; message: string };
  /** When the engine was called and when it last produced something: the server's own time is the rest. */
  engineCalledAt?: number;
  engineLastEventAt?: number;
  /** The largest bodies this request may send (the configuration's, as it was when the request arrived). */
  limits: BodyLimits;
  /** Set once an SSE stream has begun: later errors become frames, not statuses. */
  streaming: boolean;
  /** The app key the request came with (not the API token or a browser session): its limits apply. */
  appKey?: AppKey;
}

/**
 * Reads the whole body as a Buffer, refusing more than `limit` bytes with 413 as soon as it is known (the
 * rest is left to the error path, which drains it). Listeners rather than an async iterator: this is on
 * every request's path, and the iterator's machinery cost more than the read.
 */
export function readBody(ctx: RequestContext, limit: number): Promise<Buffer> {
  const { req } = ctx;
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(tooLarge(ctx, limit, 'json'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        stop();
        req.pause();
        reject(tooLarge(ctx, limit, 'json'));
      } else chunks.push(chunk);
    };
    const onEnd = () => {
      stop();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      stop();
      reject(error);
    };
    // The client went away before the body was complete.
    const onClose = () => onError(new Error('the request ended before its body was complete'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** 10485760 → "10 MB", 524288 → "512 KB". */
function sizeLabel(bytes: number): string {
  const mb = bytes / 1024 / 1024;
  return mb >= 1 ? `${Number(mb.toFixed(1))} MB` : `${Math.round(bytes / 1024)} KB`;
}

/** The kinds of body the local API reads, each with its own limit (BodyLimits). */
export type BodyKind = 'json' | 'upload';

/** What a client can do about a body that is too large, by kind of endpoint. */
const SMALLER: Record<BodyKind, [string, string]> = {
  json: ['send less (a shorter conversation, fewer or smaller images, fewer inputs at once)', 'max_json_body_mb'],
  upload: ['split or compress the recording (16 kHz mono Opus or MP3 is plenty for speech)', 'max_upload_mb'],
};

/**
 * "<what> is larger than <limit>, the most <where> accepts: <send less>, or raise server.<setting> in
 * providers.yaml": the one wording of a size refusal, over HTTP and over the desktop app's IPC alike.
 */
export function tooLargeMessage(what: string, where: string, limit: number, kind: BodyKind): string {
  const [smaller, setting] = SMALLER[kind];
  return `${what} is larger than ${sizeLabel(limit)}, the most ${where} accepts: ${smaller}, or raise server.${setting} in providers.yaml`;
}

/** 413 naming the limit, the endpoint, and what to do: send less, or raise the limit in the configuration. */
export function tooLarge(ctx: RequestContext, limit: number, kind: BodyKind): HttpError {
  const what = kind === 'json' ? 'the request body' : 'the upload';
  return new HttpError(413, 'request_too_large', tooLargeMessage(what, ctx.path, limit, kind));
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/**
 * Whether JSON text nests objects and arrays more than `limit` deep: one pass over the bytes, brackets
 * inside strings ignored (UTF-8 continuation bytes never look like ASCII), no recursion.
 */
export function nestsDeeperThan(body: Uint8Array, limit: number): boolean {
  if (body.length <= limit) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) inString = true;
    else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth > limit) return true;
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) depth--;
  }
  return false;
}

/** A JSON body as it arrived, parsed, and validated: the pass-through path forwards the bytes themselves. */
export interface JsonBody<T> {
  value: T;
  bytes: Buffer;
  /** The parsed body before validation (validation drops fields it does not know; the bytes keep them). */
  json: Record<string, unknown>;
}

/** Parses a JSON body and validates it; malformed JSON and schema failures are 400s naming the problem. */
export async function readJsonBody<S extends z.ZodType>(ctx: RequestContext, schema: S): Promise<JsonBody<z.infer<S>>> {
  const bytes = await readBody(ctx, ctx.limits.jsonBytes);
  if (nestsDeeperThan(bytes, JSON_DEPTH_LIMIT)) {
    throw new HttpError(
      400,
      'json_too_deep',
      `the request body nests objects and arrays more than ${JSON_DEPTH_LIMIT} levels deep, the most Switchboard accepts: flatten it`,
    );
  }
  let json: unknown;
  try {
    const parsing = bytes.length === 0 ? {} : parseJson(bytes);
    json = isPromise(parsing) ? await parsing : parsing;
  } catch (error) {
    throw new HttpError(400, 'invalid_json', `the request body is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw invalidRequest(parsed.error);
  return { value: parsed.data, bytes, json: json as Record<string, unknown> };
}

export async function readJson<S extends z.ZodType>(ctx: RequestContext, schema: S): Promise<z.infer<S>> {
  return (await readJsonBody(ctx, schema)).value;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

export function sendJson(ctx: RequestContext, status: number, body: unknown, headers?: OutgoingHttpHeaders): void {
  const text = JSON.stringify(body);
  ctx.res.writeHead(status, headers ? { ...JSON_HEADERS, ...headers } : JSON_HEADERS);
  ctx.res.end(text);
}

/**
 * The most of a refused body read and dropped after the answer: enough for a client that sends its whole
 * body before it reads to get past a body slightly over the limit and see the answer; reading more would
 * let any client make the server take in hundreds of MB it then throws away.
 */
const DRAIN_LIMIT_BYTES = 4 * 1024 * 1024;

/**
 * How long a connection whose refused body was not all read stays open after the drain stops. Closing a
 * socket with unread bytes makes the kernel send a reset, and a reset can throw away the answer before the
 * client has read it; the answer (its length declared) is complete on the wire, so a busy client gets this
 * long to read it — while its own writes just wait, the server reading nothing more — as nginx's
 * lingering close does.
 */
const LINGER_MS = 2_000;

/**
 * Answers a request whose body is still on its way, and closes the connection (`Connection: close`): the
 * answer goes out whole at once, then the rest of the body is read and dropped until it ends — so a client
 * still sending is not reset before it reads the answer — or until DRAIN_LIMIT_BYTES, where reading stops
 * and the connection is cut LINGER_MS later.
 */
export function sendJsonAndClose(
  ctx: RequestContext,
  status: number,
  body: unknown,
  headers?: OutgoingHttpHeaders,
): void {
  const { req, res } = ctx;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...JSON_HEADERS,
    ...headers,
    connection: 'close',
    'content-length': Buffer.byteLength(text),
  });
  res.write(text);
  let drained = 0;
  const onData = (chunk: Buffer) => {
    drained += chunk.length;
    if (drained <= DRAIN_LIMIT_BYTES) return;
    // Ending the answer with the rest unread closes the connection at once (the client gets a reset), so
    // not before the client has had time to read the answer.
    req.off('data', onData);
    req.pause();
    setTimeout(() => res.end(), LINGER_MS).unref();
  };
  req.on('data', onData);
  req.once('end', () => res.end());
  req.resume();
}

export function sendText(
  ctx: RequestContext,
  status: number,
  text: string,
  contentType: string,
  headers?: OutgoingHttpHeaders,
): void {
  ctx.res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', ...headers });
  ctx.res.end(text);
}

/** A path segment (a meeting id, a method name) as sent; a malformed %-escape is the client's mistake, a 400. */
export function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'invalid_path', `the path is not valid URL encoding: "${segment}"`);
  }
}

/**
 * Starts an SSE response and sends its headers at once, so the client sees the stream open; with the
 * first frame at hand they go out together, in one write, and with `last` the response ends there too.
 * Returns as `writeFrame` does.
 */
export function startSse(
  ctx: RequestContext,
  headers?: OutgoingHttpHeaders,
  first?: string | Buffer,
  last = false,
): Promise<void> | undefined {
  ctx.res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
    connection: 'keep-alive',
    ...headers,
  });
  ctx.streaming = true;
  if (first !== undefined && last) {
    // The whole stream at once: head, frames and the end go out in one write.
    ctx.res.end(first);
    return undefined;
  }
  if (first !== undefined) return writeFrame(ctx, first);
  ctx.res.flushHeaders();
  return undefined;
}

/** `data: <json>\n\n`, with an optional event name. */
export function sseFrame(data: unknown, event?: string): string {
  const payload = typeof data === 'string' ? data : JSON.stringify(data);
  return event ? `event: ${event}\ndata: ${payload}\n\n` : `data: ${payload}\n\n`;
}

/** Writes a frame; waits only when the socket's buffer is full (a slow reader), or until the client is gone. */
export function writeFrame(ctx: RequestContext, text: string | Buffer): Promise<void> | undefined {
  if (ctx.res.write(text) || ctx.res.destroyed) return undefined;
  return new Promise((resolve) => {
    const done = () => {
      ctx.res.off('drain', done);
      ctx.res.off('close', done);
      resolve();
    };
    ctx.res.on('drain', done);
    ctx.res.on('close', done);
  });
}

/** Notes that the engine is being called now: the time before this is the server's own. */
export function markEngineCall(ctx: RequestContext): void {
  ctx.engineCalledAt = performance.now();
  ctx.engineLastEventAt = ctx.engineCalledAt;
}

export function markEngineEvent(ctx: RequestContext): void {
  ctx.engineLastEventAt = performance.now();
}

/**
 * x-switchboard-* headers: who answered, after how many fallbacks, and the milliseconds Switchboard
 * itself spent (parsing and validation before the engine was called, writing after its last event).
 */
export function routeHeaders(ctx: RequestContext, route: RouteInfo | undefined): OutgoingHttpHeaders {
  const now = performance.now();
  const before = (ctx.engineCalledAt ?? now) - ctx.started;
  const after = now - (ctx.engineLastEventAt ?? now);
  const headers: OutgoingHttpHeaders = { 'x-switchboard-overhead-ms': (before + after).toFixed(3) };
  if (route) {
    ctx.provider = route.providerId;
    ctx.model = route.model;
    headers['x-switchboard-provider'] = route.providerId;
    headers['x-switchboard-model'] = route.model;
    headers['x-switchboard-fallback-depth'] = String(route.fallbackDepth);
  }
  return headers;
}
