import { z } from 'zod';
import type { FileProvider } from '../config/schema.ts';
import { chatMessageSchema } from '../contract/chat.ts';
import type { ProviderView, RouteInfo } from '../engine.ts';
import { collectChat } from '../providers/collect.ts';
import {
  type ErrorDialect,
  markEngineCall,
  markEngineEvent,
  type RequestContext,
  readJson,
  routeHeaders,
  sendJson,
} from './http.ts';
import { HttpError, type Problem } from './problems.ts';
import type { Router } from './router.ts';
import { requestOptions, type ServerDeps } from './types.ts';

/**
 * The seeds' provider-manager endpoints, same paths and shapes: /api/chat/* (per-user assignment)
 * and /api/v1/providers/* (status, settings, health, cost). Errors as FastAPI wrote them: { detail }.
 */

const detailBody = (problem: Problem) => ({ detail: problem.message, code: problem.code });
export const providerManagerErrors: ErrorDialect = {
  body: detailBody,
  sseFrame: (problem) => `data: ${JSON.stringify(detailBody(problem))}\n\n`,
};

const epochSeconds = () => Date.now() / 1000;

/** A provider by id or by label, case-insensitively ("Groq" finds groq), as the seeds named them. */
function findProvider(deps: ServerDeps, name: string): ProviderView {
  const wanted = name.trim().toLowerCase();
  const providers = deps.engine.listProviders();
  const found = providers.find((p) => p.id.toLowerCase() === wanted || p.label.toLowerCase() === wanted);
  if (!found) {
    throw new HttpError(
      404,
      'provider_not_found',
      `no provider named "${name}": one of ${providers.map((p) => p.id).join(', ') || '(none configured)'}`,
      'provider_name',
    );
  }
  return found;
}

const querySchema = z.object({
  user_id: z.string().min(1).max(200),
  session_id: z.string().max(200).nullish(),
  query: z.string().min(1).max(200_000),
});

async function query(ctx: RequestContext, deps: ServerDeps): Promise<void> {
  const body = await readJson(ctx, querySchema);
  markEngineCall(ctx);
  let route: RouteInfo | undefined;
  const result = await collectChat(
    (async function* () {
      for await (const event of deps.engine.chat(
        { messages: [{ role: 'user', content: body.query }] },
        requestOptions(ctx, body.user_id),
      )) {
        markEngineEvent(ctx);
        if (event.type === 'route') route = event.route;
        else yield event;
      }
    })(),
  );
  sendJson(
    ctx,
    200,
    {
      response: result.text,
      provider_used: route?.providerLabel ?? null,
      provider: route?.providerId ?? null,
      model: route?.model ?? result.model,
      fallback_depth: route?.fallbackDepth ?? 0,
      response_time_ms: Math.round(performance.now() - ctx.started),
      session_id: body.session_id ?? null,
      usage: { input_tokens: result.usage.inputTokens, output_tokens: result.usage.outputTokens },
    },
    routeHeaders(ctx, route),
  );
}

function providerStats(ctx: RequestContext, deps: ServerDeps): void {
  sendJson(ctx, 200, { stats: deps.engine.sticky.statistics(), timestamp: epochSeconds() });
}

function forceProvider(ctx: RequestContext, deps: ServerDeps): void {
  const userId = ctx.query.get('user_id');
  const name = ctx.query.get('provider_name');
  if (!userId) throw new HttpError(400, 'invalid_request', 'user_id: give the user as ?user_id=…', 'user_id');
  if (!name)
    throw new HttpError(
      400,
      'invalid_request',
      'provider_name: give the provider as ?provider_name=…',
      'provider_name',
    );
  const provider = findProvider(deps, name);
  deps.engine.sticky.forceProvider(userId, provider.id);
  sendJson(ctx, 200, { message: `Forced provider ${provider.id} for user ${userId}`, timestamp: epochSeconds() });
}

const byPriority = (providers: ProviderView[]) => [...providers].sort((a, b) => a.priority - b.priority);

async function chatProviderStatus(ctx: RequestContext, deps: ServerDeps): Promise<void> {
  // What the local provider can do depends on the models installed now.
  await deps.engine.refreshLocalModels(false);
  const providers = byPriority(deps.engine.listProviders());
  const first = (capability: string) =>
    providers.find((p) => p.usable && p.capabilities.includes(capability))?.id ?? null;
  sendJson(ctx, 200, {
    current_chat_provider: first('chat'),
    current_embedding_provider: first('embedding'),
    all_providers: Object.fromEntries(
      providers.map((p) => [
        p.id,
        { label: p.label, enabled: p.enabled, available: p.usable, priority: p.priority, on_machine: p.onMachine },
      ]),
    ),
    timestamp: epochSeconds(),
  });
}

async function providersStatus(ctx: RequestContext, deps: ServerDeps): Promise<void> {
  await deps.engine.refreshLocalModels(false);
  const status = deps.engine.status();
  sendJson(ctx, 200, {
    strategy: status.strategy,
    cloud_fallback: status.cloudFallback,
    providers: Object.fromEntries(
      byPriority(deps.engine.listProviders()).map((p) => [
        p.id,
        {
          enabled: p.enabled,
          priority: p.priority,
          weight: p.weight,
          available: p.usable,
          on_machine: p.onMachine,
          models: p.models,
          default_model: p.defaultModel ?? null,
        },
      ]),
    ),
  });
}

const updateSchema = z.object({
  provider: z.string().min(1).max(100),
  enabled: z.boolean().optional(),
  priority: z.number().int().optional(),
  weight: z.number().min(0).optional(),
  /** Any other provider setting, as providers.yaml spells it (default_model, models, base_url, …). */
  custom_config: z.record(z.string(), z.unknown()).optional(),
});

async function updateProvider(ctx: RequestContext, deps: ServerDeps): Promise<void> {
  const body = await readJson(ctx, updateSchema);
  const provider = findProvider(deps, body.provider);
  const patch = {
    ...body.custom_config,
    ...(body.enabled === undefined ? {} : { enabled: body.enabled }),
    ...(body.priority === undefined ? {} : { priority: body.priority }),
    ...(body.weight === undefined ? {} : { weight: body.weight }),
  } as FileProvider;
  // Validated with the whole configuration before it is kept; a bad value is a 400 naming it.
  deps.engine.updateProvider(provider.id, patch);
  const updated = findProvider(deps, provider.id);
  sendJson(ctx, 200, {
    status: 'updated',
    provider: updated.id,
    config: { enabled: updated.enabled, priority: updated.priority, weight: updated.weight },
  });
}

async function providersHealth(ctx: RequestContext, deps: ServerDeps): Promise<void> {
  const reports = await deps.engine.health();
  sendJson(ctx, 200, Object.fromEntries(reports.map((r) => [r.providerId, r.status === 'healthy'])));
}

const compareSchema = z.object({
  request_type: z.enum(['chat', 'embedding', 'transcription']).default('chat'),
  model: z.string().max(200).optional(),
  messages: z.array(chatMessageSchema).optional(),
  prompt: z.string().optional(),
  max_tokens: z.number().int().positive().optional(),
});

async function compareCost(ctx: RequestContext, deps: ServerDeps): Promise<void> {
  const body = await readJson(ctx, compareSchema);
  const { quotes, cheapest } = deps.engine.reports.compareProviders({
    capability: body.request_type,
    model: body.model,
    messages: body.messages ?? (body.prompt ? [{ role: 'user', content: body.prompt }] : undefined),
    maxOutputTokens: body.max_tokens,
  });
  sendJson(ctx, 200, {
    cheapest: cheapest?.providerId ?? null,
    providers: quotes.map((quote) => ({
      provider: quote.providerId,
      label: quote.label,
      model: quote.model,
      cost: quote.estimatedCostUsd ?? null,
      on_machine: quote.onMachine,
      ...(quote.onMachine ? { note: 'runs on this machine: free' } : {}),
      ...(quote.estimatedCostUsd === undefined ? { note: 'price unknown' } : {}),
    })),
  });
}

export function addProviderManagerRoutes(router: Router, deps: ServerDeps): void {
  const route = (handler: (ctx: RequestContext, deps: ServerDeps) => Promise<void> | void) => ({
    handler: (ctx: RequestContext) => handler(ctx, deps),
    access: 'token' as const,
    errors: providerManagerErrors,
  });
  router
    .add('POST', '/api/chat/query', route(query))
    .add('GET', '/api/chat/provider-stats', route(providerStats))
    .add('POST', '/api/chat/force-provider', route(forceProvider))
    .add('GET', '/api/chat/provider-status', route(chatProviderStatus))
    .add('GET', '/api/v1/providers/status', route(providersStatus))
    .add('POST', '/api/v1/providers/update', route(updateProvider))
    .add('GET', '/api/v1/providers/health', route(providersHealth))
    .add('POST', '/api/v1/providers/compare-cost', route(compareCost));
}
