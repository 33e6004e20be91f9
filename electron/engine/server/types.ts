import type { Engine, RequestOptions } from '../engine.ts';
import type { OpsLogger } from '../operations/logger.ts';
import type { RequestContext } from './http.ts';

/** What the server needs of the engine (the real Engine fits; so does anything shaped like it). */
export type ServedEngine = Pick<
  Engine,
  | 'chat'
  | 'relayChat'
  | 'embed'
  | 'moderate'
  | 'pullProviderModel'
  | 'deleteProviderModel'
  | 'transcribe'
  | 'listModels'
  | 'listProviders'
  | 'health'
  | 'status'
  | 'updateProvider'
  | 'config'
  | 'sticky'
  | 'reports'
  | 'refreshLocalModels'
>;

/** Where the server's request lines and its own errors go (serve's log; it redacts every line). */
export type ServerLogger = Pick<OpsLogger, 'request' | 'note'>;

/** What every route module gets from the server. */
export interface ServerDeps {
  engine: ServedEngine;
  /** Removes the token and every provider key from a text. */
  redact(text: string): string;
  /** Where audio that only passes through (/v1/audio/transcriptions) waits while it is transcribed. */
  scratchDir: string;
}

/** Routing hints every engine call carries: who asks (for sticky assignment) and the abort signal. */
export function requestOptions(ctx: RequestContext, bodyUser?: string): RequestOptions {
  const { 'x-switchboard-user': user, traceparent, tracestate } = ctx.req.headers;
  return {
    userId: (typeof user === 'string' && user) || bodyUser || undefined,
    appKey: ctx.appKey,
    signal: ctx.signal,
    route: ctx.path,
    traceHeaders:
      typeof traceparent === 'string'
        ? { traceparent, tracestate: typeof tracestate === 'string' ? tracestate : undefined }
        : undefined,
    onSettled: (event) => {
      ctx.settled ??= [];
      ctx.settled.push(event);
    },
  };
}
