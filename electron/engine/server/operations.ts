import type { OperationsFeed } from '../operations/feed.ts';
import { type RequestContext, sendJson, sseFrame, startSse } from './http.ts';
import { openAIErrors } from './openai.ts';
import { HttpError } from './problems.ts';
import type { Router } from './router.ts';
import type { ServerDeps } from './types.ts';

/**
 * The running engine's state, in the shapes `switchboard providers status --json` and `providers stats --json`
 * print: the CLI reads them here when a server runs on its data dir, so it shows the breakers, key states,
 * health and configuration problems of the process that serves, not those of a fresh one.
 */
export function engineStatusBody(deps: Pick<ServerDeps, 'engine'>) {
  return { ...deps.engine.status(), providers: deps.engine.listProviders() };
}

export function providerStatsBody(deps: Pick<ServerDeps, 'engine'>) {
  const { reports } = deps.engine;
  return { ...reports.stats(), breakers: reports.breakers(), budgets: reports.budgetStatus() };
}

/** Keeps proxies and clients from closing a quiet stream: an SSE comment every so often. */
const KEEPALIVE_MS = 15_000;

/** `GET /api/events`: every operational event from now on, as server-sent events named after it. */
function streamEvents(ctx: RequestContext, feed: OperationsFeed | undefined): Promise<void> {
  if (!feed) throw new HttpError(404, 'not_found', 'this server streams no operational events');
  startSse(ctx);
  ctx.res.write(': operational events of this Switchboard follow\n\n');
  return new Promise((resolve) => {
    const unsubscribe = feed.subscribe((record) => {
      ctx.res.write(`id: ${record.id}\n${sseFrame(record, record.event)}`);
    });
    const keepalive = setInterval(() => ctx.res.write(': keepalive\n\n'), KEEPALIVE_MS);
    ctx.res.once('close', () => {
      clearInterval(keepalive);
      unsubscribe();
      resolve();
    });
  });
}

export function addOperationsRoutes(router: Router, deps: ServerDeps, feed?: OperationsFeed): void {
  const route = (body: (deps: ServerDeps) => unknown) => ({
    handler: (ctx: RequestContext) => sendJson(ctx, 200, body(deps)),
    access: 'token' as const,
    errors: openAIErrors,
  });
  router
    .add('GET', '/api/v1/status', route(engineStatusBody))
    .add('GET', '/api/v1/providers/stats', route(providerStatsBody))
    .add('GET', '/api/events', {
      handler: (ctx: RequestContext) => streamEvents(ctx, feed),
      access: 'token-or-session',
      errors: openAIErrors,
    });
}
