import { z } from 'zod';
import { type RequestContext, readJson, sendJson, sseFrame, startSse, writeFrame } from './http.ts';
import { openAIErrors } from './openai.ts';
import { HttpError } from './problems.ts';
import type { Router } from './router.ts';
import type { ServerDeps } from './types.ts';

/** The models a provider keeps itself (Ollama's): pulled with progress, deleted. */

/** `ollama/llama3.2:1b` → the provider and its own model name. */
function providerModel(name: string): { providerId: string; model: string } {
  const slash = name.indexOf('/');
  if (slash <= 0 || slash === name.length - 1) {
    throw new HttpError(400, 'invalid_request', 'model: name it as provider/model, e.g. ollama/llama3.2:1b', 'model');
  }
  return { providerId: name.slice(0, slash), model: name.slice(slash + 1) };
}

const pullSchema = z.object({ model: z.string().min(3).max(300) });

/** Server-sent events, one per status the provider reports (`{status, completed?, total?}`), then the stream ends. */
async function pull(ctx: RequestContext, deps: ServerDeps): Promise<void> {
  const body = await readJson(ctx, pullSchema);
  const { providerId, model } = providerModel(body.model);
  const progress = deps.engine.pullProviderModel(providerId, model, ctx.signal)[Symbol.asyncIterator]();
  // The first status before the stream opens: an unknown provider or model is a plain error status.
  let next = await progress.next();
  startSse(ctx);
  while (!next.done) {
    await writeFrame(ctx, sseFrame(next.value));
    next = await progress.next();
  }
  ctx.res.end();
}

async function remove(ctx: RequestContext, deps: ServerDeps): Promise<void> {
  const name = ctx.query.get('model');
  if (!name) throw new HttpError(400, 'invalid_request', 'model: give it as ?model=ollama/NAME', 'model');
  const { providerId, model } = providerModel(name);
  await deps.engine.deleteProviderModel(providerId, model);
  sendJson(ctx, 200, { deleted: name });
}

export function addProviderModelRoutes(router: Router, deps: ServerDeps): void {
  const route = (handler: (ctx: RequestContext, deps: ServerDeps) => Promise<void>) => ({
    handler: (ctx: RequestContext) => handler(ctx, deps),
    access: 'token' as const,
    errors: openAIErrors,
  });
  router.add('POST', '/api/v1/models/pull', route(pull)).add('DELETE', '/api/v1/models', route(remove));
}
