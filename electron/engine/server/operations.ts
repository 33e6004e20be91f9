import { type RequestContext, sendJson } from './http.ts';
import { openAIErrors } from './openai.ts';
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

export function addOperationsRoutes(router: Router, deps: ServerDeps): void {
  const route = (body: (deps: ServerDeps) => unknown) => ({
    handler: (ctx: RequestContext) => sendJson(ctx, 200, body(deps)),
    access: 'token' as const,
    errors: openAIErrors,
  });
  router
    .add('GET', '/api/v1/status', route(engineStatusBody))
    .add('GET', '/api/v1/providers/stats', route(providerStatsBody));
}
