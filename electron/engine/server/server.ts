import { randomUUID } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OperationsFeed } from '../operations/feed.ts';
import { secretsRedactor } from '../operations/logger.ts';
import { addAnthropicRoutes } from './anthropic.ts';
import { type AppApiTable, addAppApiRoutes } from './app-api.ts';
import { Auth, type AuthOptions, hasCredentialInQuery, sessionRequestAllowed } from './auth.ts';
import { BusyPoll } from './busy-poll.ts';
import {
  decodePathSegment,
  type ErrorDialect,
  type RequestContext,
  sendJson,
  sendJsonAndClose,
  sendText,
} from './http.ts';
import { addOpenAIRoutes, openAIErrors } from './openai.ts';
import { addOperationsRoutes } from './operations.ts';
import { HttpError, toProblem } from './problems.ts';
import { addProviderManagerRoutes } from './provider-manager.ts';
import { addProviderModelRoutes } from './provider-models.ts';
import { type Route, Router } from './router.ts';
import { serveStatic } from './static.ts';
import type { ServedEngine, ServerDeps, ServerLogger } from './types.ts';

export interface ServerOptions {
  engine: ServedEngine;
  /** The engine's operational events, streamed on GET /api/events. */
  operations?: OperationsFeed;
  /** Every request but /health, the login and the UI's files must carry it. */
  token: string;
  /** Signs browser sessions (server/token.ts keeps it in the data dir); absent: sessions end with the process. */
  sessionSecret?: Buffer;
  /** Per-app keys (`switchboard keys`), accepted wherever the token is, with their own limits. */
  appKey?: AuthOptions['appKey'];
  /** Default 127.0.0.1. Anything else exposes the API beyond this machine and needs `allowedHosts`. */
  host?: string;
  /**
   * Beyond loopback: the host names (or addresses) clients use to reach this server. Requests whose Host
   * header names anything else are refused, as on loopback, so a DNS-rebinding page cannot reach the API.
   */
  allowedHosts?: string[];
  /** Default 7878; 0 picks a free port. */
  port?: number;
  /** The built renderer, served for browser mode; absent: no UI. */
  staticDir?: string;
  /** The app API's handlers (browser mode). */
  appApi?: AppApiTable;
  /** Prometheus exposition text for GET /metrics. */
  metricsText?: () => string | Promise<string>;
  /** Serve /metrics without the token (for a local Prometheus scraper). Default false. */
  publicMetrics?: boolean;
  logger?: ServerLogger;
  /** Browser origins allowed to call the API (CORS). Default none: CORS is closed. */
  corsOrigins?: string[];
  /** Where /api/app/upload keeps files until a handler takes them. */
  uploadsDir?: string;
  /** Where /v1/audio/transcriptions keeps an upload while it is transcribed (the process's scratch folder). */
  scratchDir?: string;
  /** The stored audio of a meeting, for the player (GET /api/app/audio/<meeting id>). */
  meetingAudioFile?: (meetingId: string) => string | undefined;
}

export interface RunningServer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** The UI's address with a fresh one-time login code: valid once, for five minutes. */
  loginUrl(): string;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
const CORS_ALLOW_HEADERS = 'authorization, content-type, x-api-key, x-switchboard-user, anthropic-version';
const CORS_EXPOSE_HEADERS =
  'x-request-id, x-switchboard-provider, x-switchboard-model, x-switchboard-fallback-depth, x-switchboard-overhead-ms, retry-after';
/** A request id a client or proxy may choose (x-request-id); anything else gets one made here. */
const REQUEST_ID = /^[\w.:-]{1,128}$/;
/** API paths never fall through to the UI's files. */
const API_PREFIXES = ['/v1/', '/api/', '/metrics'];

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * The local API server: OpenAI- and Anthropic-compatible endpoints, the seeds' provider-manager
 * endpoints, the app API for browser mode, /metrics and /health, on node:http with a small router.
 */
export async function createServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const extraHosts = (options.allowedHosts ?? []).map((name) => name.trim().toLowerCase()).filter(Boolean);
  if (!LOOPBACK.has(host) && extraHosts.length === 0) {
    throw new Error(
      `listening on ${host} needs the host names clients will use (allowedHosts / --allow-host NAME): without them any web page could reach the API through DNS rebinding`,
    );
  }
  const auth = new Auth(options.token, { sessionSecret: options.sessionSecret, appKey: options.appKey });
  const engine = options.engine;
  const redact = secretsRedactor(engine, options.token);
  const deps: ServerDeps = { engine, redact, scratchDir: options.scratchDir ?? tmpdir() };
  const logger = options.logger;
  const cors = new Set(options.corsOrigins ?? []);
  let allowedHosts = new Set<string>();

  const router = new Router();
  const busyPoll = new BusyPoll(() => engine.config.busyPollMs);
  addOpenAIRoutes(router, deps);
  addAnthropicRoutes(router, deps);
  addProviderManagerRoutes(router, deps);
  addProviderModelRoutes(router, deps);
  addOperationsRoutes(router, deps, options.operations);
  addAppApiRoutes(router, {
    appApi: options.appApi,
    uploadsDir: options.uploadsDir ?? join(tmpdir(), 'switchboard-uploads'),
    auth,
    meetingAudioFile: options.meetingAudioFile,
  });
  router.add('GET', '/health', {
    // Liveness only: nothing about providers, keys or configuration.
    handler: (ctx) => sendJson(ctx, 200, { status: 'ok' }),
    access: 'public',
    errors: openAIErrors,
  });
  router.add('GET', '/metrics', {
    handler: async (ctx) => {
      if (!options.metricsText) throw new HttpError(404, 'not_found', 'metrics are not enabled in this server');
      sendText(ctx, 200, await options.metricsText(), 'text/plain; version=0.0.4; charset=utf-8');
    },
    access: options.publicMetrics ? 'public' : 'token',
    errors: openAIErrors,
  });

  function writeProblem(ctx: RequestContext, errors: ErrorDialect, thrown: unknown): void {
    const problem = toProblem(thrown, redact);
    ctx.problem = { code: problem.code, message: problem.message };
    const { res } = ctx;
    if (res.destroyed) return;
    if (res.headersSent) {
      // Output already reached the client: end the stream with an error frame it can read.
      if (ctx.streaming) res.end(errors.sseFrame(problem));
      else res.destroy();
      return;
    }
    const headers: OutgoingHttpHeaders = {};
    if (problem.status === 429 || problem.retryAfterSeconds !== undefined) {
      headers['retry-after'] = String(problem.retryAfterSeconds ?? 1);
    }
    if (problem.status === 401) headers['www-authenticate'] = 'Bearer realm="switchboard"';
    // A body refused before it was all read (413, or refused unread) ends the connection after the answer.
    if (ctx.req.complete) sendJson(ctx, problem.status, errors.body(problem), headers);
    else sendJsonAndClose(ctx, problem.status, errors.body(problem), headers);
  }

  function authorize(ctx: RequestContext, access: Route['access']): void {
    if (hasCredentialInQuery(ctx.query)) {
      throw new HttpError(
        401,
        'token_in_url',
        'credentials in the URL are refused (URLs end up in logs and history): send Authorization: Bearer <token>',
      );
    }
    if (access === 'public') return;
    const caller = auth.authenticate(ctx.req);
    if (caller?.kind === 'app') ctx.appKey = caller.key;
    if (caller) {
      ctx.caller = caller.kind === 'app' ? caller.key.name : 'master';
      return;
    }
    if (access === 'token-or-session' && auth.hasSession(ctx.req) && sessionRequestAllowed(ctx.req)) {
      ctx.caller = 'session';
      return;
    }
    throw new HttpError(
      401,
      'invalid_api_key',
      'missing or wrong API token: send Authorization: Bearer <token> (`switchboard token` shows it)',
    );
  }

  function applyCors(req: IncomingMessage, res: ServerResponse): boolean {
    const origin = req.headers.origin;
    if (!origin || !cors.has(origin)) return false;
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('vary', 'Origin');
    res.setHeader('access-control-expose-headers', CORS_EXPOSE_HEADERS);
    return true;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    busyPoll.started();
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const controller = new AbortController();
    const asked = req.headers['x-request-id'];
    const ctx: RequestContext = {
      id: typeof asked === 'string' && REQUEST_ID.test(asked) ? asked : randomUUID(),
      req,
      res,
      method: req.method ?? 'GET',
      path: q === -1 ? raw : raw.slice(0, q),
      query: new URLSearchParams(q === -1 ? '' : raw.slice(q + 1)),
      rest: '',
      started,
      signal: controller.signal,
      limits: engine.config.bodyLimits,
      streaming: false,
    };
    res.on('close', () => {
      busyPoll.ended();
      // The client went away before the answer was complete: cancel the upstream call or local job.
      if (!res.writableFinished) controller.abort();
      logger?.request({
        id: ctx.id,
        method: ctx.method,
        route: ctx.path,
        status: res.writableFinished ? res.statusCode : 499,
        latencyMs: performance.now() - started,
        key: ctx.caller,
        appKeyId: ctx.appKey?.id,
        provider: ctx.provider,
        model: ctx.model,
        usage: ctx.settled ?? [],
        error: ctx.problem,
      });
    });
    res.setHeader('x-request-id', ctx.id);

    const match = router.find(ctx.method, ctx.path);
    const route = match && 'route' in match ? match.route : undefined;
    const errors = route?.errors ?? openAIErrors;
    try {
      if (!allowedHosts.has((req.headers.host ?? '').toLowerCase())) {
        // A page on another name that resolves to 127.0.0.1 (DNS rebinding) must not reach the API.
        throw new HttpError(403, 'forbidden_host', `requests must be addressed to ${[...allowedHosts][0]}`);
      }
      if (cors.size > 0 && applyCors(req, res) && ctx.method === 'OPTIONS') {
        res.writeHead(204, {
          'access-control-allow-methods': 'GET, POST, OPTIONS',
          'access-control-allow-headers': CORS_ALLOW_HEADERS,
          'access-control-max-age': '600',
        });
        res.end();
        return;
      }
      const isUi =
        !match &&
        options.staticDir !== undefined &&
        (ctx.method === 'GET' || ctx.method === 'HEAD') &&
        !API_PREFIXES.some((prefix) => ctx.path.startsWith(prefix));
      authorize(ctx, route?.access ?? (isUi ? 'public' : 'token'));
      if (isUi) return await serveStatic(ctx, options.staticDir!);
      if (!match) throw new HttpError(404, 'not_found', `no endpoint ${ctx.method} ${ctx.path}`);
      if ('methodNotAllowed' in match) {
        res.setHeader('allow', match.methodNotAllowed.join(', '));
        throw new HttpError(405, 'method_not_allowed', `${ctx.path} accepts: ${match.methodNotAllowed.join(', ')}`);
      }
      ctx.rest = decodePathSegment(match.rest);
      await match.route.handler(ctx);
    } catch (error) {
      writeProblem(ctx, errors, error);
    }
  }

  const server = createHttpServer({ noDelay: true }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger?.note('error', 'server.error', `unhandled: ${error instanceof Error ? error.message : String(error)}`);
      res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 7878, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  // Loopback names always work (the machine itself); other names only when the operator listed them.
  allowedHosts = new Set(
    ['127.0.0.1', 'localhost', '[::1]', ...extraHosts.map(hostForUrl)].flatMap((name) =>
      port === 80 ? [`${name}:${port}`, name] : [`${name}:${port}`],
    ),
  );
  const url = `http://${hostForUrl(host)}:${port}`;
  return {
    url,
    loginUrl: () => `${url}/?code=${auth.issueLoginCode()}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
