import { z } from 'zod';
import { CAPABILITIES, capabilitySchema } from '../contract/capabilities.ts';
import type { OperationsFeed } from '../operations/feed.ts';
import { markEngineCall, type RequestContext, readJson, sendJson, sseFrame, startSse } from './http.ts';
import { openAIErrors } from './openai.ts';
import { HttpError } from './problems.ts';
import { providerManagerErrors } from './provider-manager.ts';
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

const compareSchema = z.object({
  prompt: z.string().min(1).max(200_000),
  providers: z.array(z.string().min(1)).min(1).max(20),
});

const batchSchema = z.object({
  prompts: z.array(z.string().min(1).max(200_000)).min(1).max(10_000),
  provider: z.string().min(1),
  concurrency: z.number().int().min(1).max(64).optional(),
});

/** A provider id the engine routes to, or a 404 naming those it does. */
function knownProvider(deps: ServerDeps, id: string, param: string): string {
  const ids = deps.engine.listProviders().map((p) => p.id);
  if (!ids.includes(id))
    throw new HttpError(404, 'provider_not_found', `no provider "${id}": one of ${ids.join(', ')}`, param);
  return id;
}

/** `POST /api/v1/compare`: one prompt to several providers at once; answers, latency, tokens and cost side by side. */
async function compare(ctx: RequestContext, deps: ServerDeps): Promise<void> {
  const body = await readJson(ctx, compareSchema);
  const ids = body.providers.map((id) => knownProvider(deps, id, 'providers'));
  markEngineCall(ctx);
  sendJson(ctx, 200, { responses: await deps.engine.reports.compareResponses(body.prompt, ids, ctx.signal) });
}

/** `POST /api/v1/batch`: prompts to one provider, a few at a time; answers in prompt order. */
async function batch(ctx: RequestContext, deps: ServerDeps): Promise<void> {
  const body = await readJson(ctx, batchSchema);
  const id = knownProvider(deps, body.provider, 'provider');
  markEngineCall(ctx);
  const responses = await deps.engine.reports.batchQuery(body.prompts, id, {
    concurrency: body.concurrency,
    signal: ctx.signal,
  });
  sendJson(ctx, 200, { provider: id, responses });
}

/** `GET /api/v1/models/cheapest?capability=C&free_only=true`. */
function cheapest(ctx: RequestContext, deps: ServerDeps): void {
  const capability = capabilitySchema.safeParse(ctx.query.get('capability') ?? 'chat');
  if (!capability.success)
    throw new HttpError(400, 'invalid_request', `capability: one of ${CAPABILITIES.join(', ')}`, 'capability');
  const freeOnly = ctx.query.get('free_only') === 'true';
  const choice = deps.engine.reports.cheapestModelFor(capability.data, { freeOnly });
  if (!choice) {
    throw new HttpError(
      404,
      'no_model',
      `no configured model${freeOnly ? ' that costs nothing' : ' with a known price'} can do ${capability.data}`,
      'capability',
    );
  }
  sendJson(ctx, 200, { capability: capability.data, free_only: freeOnly, ...choice });
}

/** The seeds' `DELETE /api/chat/user-cache?user_id=…`: forgets a user's sticky provider. */
function clearUserCache(ctx: RequestContext, deps: ServerDeps): void {
  const userId = ctx.query.get('user_id');
  if (!userId) throw new HttpError(400, 'invalid_request', 'user_id: give the user as ?user_id=…', 'user_id');
  deps.engine.sticky.clearUser(userId);
  sendJson(ctx, 200, { message: `Cleared the provider of user ${userId}`, user_id: userId });
}

/** The seeds' `POST /api/chat/rotate`: every sticky user gets a provider afresh. */
function rotate(ctx: RequestContext, deps: ServerDeps): void {
  deps.engine.sticky.forceRotation();
  sendJson(ctx, 200, { message: 'Rotated: every user gets a provider afresh', timestamp: Date.now() / 1000 });
}

export function addOperationsRoutes(router: Router, deps: ServerDeps, feed?: OperationsFeed): void {
  const route = (body: (deps: ServerDeps) => unknown) => ({
    handler: (ctx: RequestContext) => sendJson(ctx, 200, body(deps)),
    access: 'token' as const,
    errors: openAIErrors,
  });
  const handle = (handler: (ctx: RequestContext, deps: ServerDeps) => Promise<void> | void) => ({
    handler: (ctx: RequestContext) => handler(ctx, deps),
    access: 'token' as const,
    errors: openAIErrors,
  });
  router
    .add('GET', '/api/v1/status', route(engineStatusBody))
    .add('GET', '/api/v1/providers/stats', route(providerStatsBody))
    .add('POST', '/api/v1/compare', handle(compare))
    .add('POST', '/api/v1/batch', handle(batch))
    .add('GET', '/api/v1/models/cheapest', handle(cheapest))
    .add('DELETE', '/api/chat/user-cache', { ...handle(clearUserCache), errors: providerManagerErrors })
    .add('POST', '/api/chat/rotate', { ...handle(rotate), errors: providerManagerErrors })
    .add('GET', '/api/events', {
      handler: (ctx: RequestContext) => streamEvents(ctx, feed),
      access: 'token-or-session',
      errors: openAIErrors,
    });
}
