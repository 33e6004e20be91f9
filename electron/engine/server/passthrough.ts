import type { EngineChatEvent, RouteInfo } from '../engine.ts';
import type { WireChunk } from '../providers/types.ts';
import { markEngineEvent, type RequestContext, routeHeaders, startSse, writeFrame } from './http.ts';

type Relayed = EngineChatEvent | WireChunk;

/**
 * Answers a relayed chat whose candidate took the client's protocol as it was (wire chunks): its bytes go
 * to the client as they come, a stream frame by frame, a one-piece answer as it stands. Returns undefined
 * then; otherwise the events, the ones already read included, for the route's own translation.
 */
export async function answerRelayed(
  ctx: RequestContext,
  events: AsyncIterable<Relayed>,
  stream: boolean,
): Promise<AsyncIterable<EngineChatEvent> | undefined> {
  const iterator = events[Symbol.asyncIterator]();
  let route: RouteInfo | undefined;
  let next = await iterator.next();
  while (!next.done && next.value.type === 'route') {
    markEngineEvent(ctx);
    route = next.value.route;
    next = await iterator.next();
  }
  if (next.done || next.value.type !== 'wire') return translated(route, next, iterator);
  markEngineEvent(ctx);
  const first = next.value;
  if (!stream) {
    ctx.res.writeHead(200, {
      'content-type': first.contentType,
      'content-length': first.bytes.length,
      'cache-control': 'no-store',
      ...routeHeaders(ctx, route),
    });
    ctx.res.end(first.bytes);
    // Reading on lets the pipeline finish the request: its usage event and the release of its stages.
    while (!(await iterator.next()).done);
    return undefined;
  }
  // The answer's last bytes end the response at once: the client has the whole stream before the pipeline
  // books the request (read on below), and the end goes out with the last frames, not in a write of its own.
  let ended = first.last === true;
  await startSse(ctx, routeHeaders(ctx, route), first.bytes, ended);
  for (next = await iterator.next(); !next.done; next = await iterator.next()) {
    if (next.value.type !== 'wire' || ended) continue;
    if (next.value.last) {
      ctx.res.end(next.value.bytes);
      ended = true;
    } else await writeFrame(ctx, next.value.bytes);
  }
  if (!ended) ctx.res.end();
  return undefined;
}

/** The route and the first event, put back in front of the rest. */
async function* translated(
  route: RouteInfo | undefined,
  first: IteratorResult<Relayed>,
  rest: AsyncIterator<Relayed>,
): AsyncIterable<EngineChatEvent> {
  try {
    if (route) yield { type: 'route', route };
    for (let next = first; !next.done; next = await rest.next()) {
      // A candidate answers in one way throughout: a translated answer holds no wire chunks.
      if (next.value.type !== 'wire') yield next.value;
    }
  } finally {
    // A reader that stops early ends the routed chat too (its stages released, its usage booked).
    await rest.return?.();
  }
}
