import type { Engine, RequestOptions } from '../engine.ts';
import type { RequestContext } from './http.ts';
import type { RoutingService } from './routing-service.ts';

/** What the server needs of the engine (the real Engine fits; so does anything shaped like it). */
export type ServedEngine = Pick<
  Engine,
  'chat' | 'embed' | 'transcribe' | 'listModels' | 'listProviders' | 'health' | 'status' | 'updateProvider' | 'config'
>;

/** A request log line goes here; it never holds a key or the token (they are redacted before). */
export interface ServerLogger {
  info(line: string): void;
  error(line: string): void;
}

/** What every route module gets from the server. */
export interface ServerDeps {
  engine: ServedEngine;
  routingService?: RoutingService;
  /** Removes the token and every provider key from a text. */
  redact(text: string): string;
}

/** Routing hints every engine call carries: who asks (sticky assignment), a forced provider, the abort signal. */
export function requestOptions(ctx: RequestContext, deps: ServerDeps, bodyUser?: string): RequestOptions {
  const header = ctx.req.headers['x-switchboard-user'];
  const userId = (typeof header === 'string' && header) || bodyUser || undefined;
  return {
    userId,
    providerId: userId ? deps.routingService?.forcedProvider(userId) : undefined,
    signal: ctx.signal,
  };
}
