import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { apiInputs } from '../contract/api.ts';
import { SwitchboardError } from '../contract/errors.ts';
import { Auth } from './auth.ts';
import { type ErrorDialect, type RequestContext, readJson, sendJson, sseFrame, startSse, writeFrame } from './http.ts';
import { receiveUpload } from './multipart.ts';
import { appErrorBody, HttpError } from './problems.ts';
import type { Router } from './router.ts';
import { uploadIdOf } from './uploads.ts';

/**
 * The app API over HTTP for browser mode (transport rules in contract/api.ts): call methods answer
 * JSON, stream methods answer SSE (`data: <event>` frames, then `event: end`), uploads go to the
 * uploads folder and come back as an uploadId the handlers resolve with resolveUpload().
 */

export type AppApiHandler = (input: unknown, ctx: { signal: AbortSignal }) => Promise<unknown> | AsyncIterable<unknown>;
export type AppApiTable = Record<string, AppApiHandler>;

export const appErrors: ErrorDialect = {
  body: appErrorBody,
  sseFrame: (problem) => sseFrame(appErrorBody(problem), 'error'),
};

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

function handlerFor(table: AppApiTable | undefined, method: string): { handler: AppApiHandler; schema: z.ZodType } {
  if (!Object.hasOwn(apiInputs, method)) {
    throw new HttpError(404, 'unknown_method', `the app API has no method "${method}"`);
  }
  if (!table || !Object.hasOwn(table, method)) {
    throw new SwitchboardError('NOT_SUPPORTED', `"${method}" is not available in this server`, { retryable: false });
  }
  return { handler: table[method]!, schema: apiInputs[method as keyof typeof apiInputs] };
}

async function call(ctx: RequestContext, table: AppApiTable | undefined): Promise<void> {
  const { handler, schema } = handlerFor(table, ctx.rest);
  const input = await readJson(ctx, schema);
  const result = handler(input, { signal: ctx.signal });
  if (isAsyncIterable(result)) {
    throw new HttpError(400, 'stream_method', `"${ctx.rest}" streams: POST it to /api/app/stream/${ctx.rest}`);
  }
  sendJson(ctx, 200, (await result) ?? null);
}

async function stream(ctx: RequestContext, table: AppApiTable | undefined): Promise<void> {
  const { handler, schema } = handlerFor(table, ctx.rest);
  const input = await readJson(ctx, schema);
  const result = await handler(input, { signal: ctx.signal });
  if (!isAsyncIterable(result)) {
    throw new HttpError(400, 'call_method', `"${ctx.rest}" is not a stream: POST it to /api/app/call/${ctx.rest}`);
  }
  // The stream opens with its first event, so a failure before any output still gets its HTTP status.
  for await (const event of result) {
    if (!ctx.streaming) startSse(ctx);
    await writeFrame(ctx, sseFrame(event));
  }
  if (!ctx.streaming) startSse(ctx);
  ctx.res.end(sseFrame({}, 'end'));
}

async function upload(ctx: RequestContext, uploadsDir: string): Promise<void> {
  const received = await receiveUpload(ctx, { dir: uploadsDir });
  if (!received.file)
    throw new HttpError(400, 'invalid_request', 'file: attach the audio as the multipart field "file"', 'file');
  sendJson(ctx, 200, { uploadId: uploadIdOf(received.file.path) });
}

const signInSchema = z.union([
  z.object({ code: z.string().min(1).max(200) }).strict(),
  z.object({ token: z.string().min(1).max(500) }).strict(),
]);

/** Sign-in from the sign-in page: a one-time code (from a link) or the pasted API token, traded for the cookie. */
async function signIn(ctx: RequestContext, auth: Auth): Promise<void> {
  const input = await readJson(ctx, signInSchema);
  const session = 'code' in input ? auth.redeemLoginCode(input.code) : auth.signInWithToken(input.token);
  if (!session) {
    throw new HttpError(
      401,
      'code' in input ? 'invalid_login_code' : 'invalid_api_key',
      'code' in input
        ? 'This sign-in link was already used or has expired. Sign in with the API token, or open a new link.'
        : 'That is not the API token of this Switchboard. Check that you copied all of it.',
    );
  }
  sendJson(ctx, 200, { signedIn: true }, { 'set-cookie': Auth.sessionCookie(session) });
}

/** A fresh one-time sign-in link for this server, for `switchboard open` (which holds the API token). */
function signInLink(ctx: RequestContext, auth: Auth): void {
  // The Host header has passed the server's allowed-hosts check: it is how this client reaches the server.
  sendJson(ctx, 200, { url: `http://${ctx.req.headers.host}/?code=${auth.issueLoginCode()}` });
}

const AUDIO_TYPES: Record<string, string> = {
  '.wav': 'audio/wav',
  '.mp3': 'audio/mpeg',
  '.m4a': 'audio/mp4',
  '.ogg': 'audio/ogg',
  '.oga': 'audio/ogg',
  '.webm': 'audio/webm',
  '.flac': 'audio/flac',
};

/**
 * A meeting's audio for the player, with byte ranges so seeking to a segment works. The file is the
 * one the store names for that meeting id; no path ever comes from the request.
 */
async function meetingAudio(ctx: RequestContext, fileOf?: (meetingId: string) => string | undefined): Promise<void> {
  const file = fileOf?.(ctx.rest);
  const info = file ? await stat(file).catch(() => undefined) : undefined;
  if (!file || !info?.isFile()) throw new HttpError(404, 'not_found', 'that meeting has no audio');
  const type = AUDIO_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
  const range = /^bytes=(\d*)-(\d*)$/.exec(ctx.req.headers.range ?? '');
  let start = 0;
  let end = info.size - 1;
  if (range && (range[1] || range[2])) {
    start = range[1] ? Number(range[1]) : Math.max(0, info.size - Number(range[2]));
    end = range[1] && range[2] ? Math.min(Number(range[2]), end) : end;
    if (start > end) {
      ctx.res.writeHead(416, { 'content-range': `bytes */${info.size}` });
      ctx.res.end();
      return;
    }
  }
  const partial = Boolean(range);
  ctx.res.writeHead(partial ? 206 : 200, {
    'content-type': type,
    'content-length': end - start + 1,
    'accept-ranges': 'bytes',
    'cache-control': 'no-store',
    ...(partial ? { 'content-range': `bytes ${start}-${end}/${info.size}` } : {}),
  });
  if (ctx.method === 'HEAD') {
    ctx.res.end();
    return;
  }
  await pipeline(createReadStream(file, { start, end }), ctx.res);
}

export function addAppApiRoutes(
  router: Router,
  options: {
    appApi?: AppApiTable;
    uploadsDir: string;
    auth: Auth;
    meetingAudioFile?: (meetingId: string) => string | undefined;
  },
): void {
  const access = 'token-or-session' as const;
  router
    .addPrefix('POST', '/api/app/call/', { handler: (ctx) => call(ctx, options.appApi), access, errors: appErrors })
    .addPrefix('POST', '/api/app/stream/', { handler: (ctx) => stream(ctx, options.appApi), access, errors: appErrors })
    .add('POST', '/api/app/upload', { handler: (ctx) => upload(ctx, options.uploadsDir), access, errors: appErrors })
    .addPrefix('GET', '/api/app/audio/', {
      handler: (ctx) => meetingAudio(ctx, options.meetingAudioFile),
      access,
      errors: appErrors,
    })
    .add('POST', '/api/session', { handler: (ctx) => signIn(ctx, options.auth), access: 'public', errors: appErrors })
    // Whether this browser is signed in: the page shows the sign-in page, never panes answered by 401s.
    .add('GET', '/api/session', {
      handler: (ctx) => sendJson(ctx, 200, { signedIn: options.auth.hasSession(ctx.req) }),
      access: 'public',
      errors: appErrors,
    })
    .add('DELETE', '/api/session', {
      handler: (ctx) => sendJson(ctx, 200, { signedIn: false }, { 'set-cookie': Auth.clearedSessionCookie() }),
      access: 'public',
      errors: appErrors,
    })
    .add('POST', '/api/session/link', {
      handler: (ctx) => signInLink(ctx, options.auth),
      access: 'token',
      errors: appErrors,
    });
}
