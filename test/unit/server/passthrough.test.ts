import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { RouteInfo } from '../../../electron/engine/engine.ts';
import type { WireChunk } from '../../../electron/engine/providers/types.ts';
import type { RequestContext } from '../../../electron/engine/server/http.ts';
import { answerRelayed } from '../../../electron/engine/server/passthrough.ts';

const ROUTE: RouteInfo = {
  providerId: 'up',
  providerLabel: 'Up',
  model: 'm',
  onMachine: false,
  fallbackDepth: 0,
  profile: 'default',
  strategy: 'priority',
};

const frame = (text: string) => Buffer.from(`data: {"choices":[{"delta":{"content":"${text}"}}]}\n\n`);
const wire = (bytes: Buffer, last?: boolean): WireChunk => ({
  type: 'wire',
  bytes,
  contentType: 'text/event-stream',
  ...(last ? { last } : {}),
});

/**
 * A relayed stream as the engine hands it over: its frames, then the pipeline's bookkeeping (the usage
 * event, the stages let go), which runs only when the server reads past the last frame and here waits
 * until `book` is called.
 */
function relayed(chunks: WireChunk[]) {
  let book!: () => void;
  const booked = new Promise<void>((resolve) => {
    book = resolve;
  });
  async function* events() {
    yield { type: 'route' as const, route: ROUTE };
    for (const chunk of chunks) yield chunk;
    await booked;
  }
  return { events: events(), book };
}

/** One request to a real server whose handler answers with `answerRelayed`; its text and the handler's end. */
async function serve(chunks: WireChunk[]) {
  const { events, book } = relayed(chunks);
  let handled!: Promise<unknown>;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const ctx = {
      req,
      res,
      method: 'POST',
      path: '/v1/chat/completions',
      query: new URLSearchParams(),
      rest: '',
      started: performance.now(),
      signal: new AbortController().signal,
      id: 'req-1',
      limits: {},
      streaming: false,
    } as RequestContext;
    handled = answerRelayed(ctx, events, true);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    const reply = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: '{}' });
    // The bookkeeping has not run yet: the whole stream must already be here.
    const text = await reply.text();
    book();
    await handled;
    return { reply, text };
  } finally {
    server.close();
  }
}

describe('a relayed stream', () => {
  it("ends the response with the upstream's last frames, before the request is booked", async () => {
    const { reply, text } = await serve([
      wire(frame('Hel')),
      wire(Buffer.concat([frame('lo'), Buffer.from('data: [DONE]\n\n')]), true),
    ]);
    expect(reply.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(reply.headers.get('x-switchboard-provider')).toBe('up');
    expect(text).toBe(`${frame('Hel')}${frame('lo')}data: [DONE]\n\n`);
  });

  it('sends a stream that came whole (one chunk, the last) in one piece', async () => {
    const whole = Buffer.concat([frame('Hello'), Buffer.from('data: [DONE]\n\n')]);
    const { text } = await serve([wire(whole, true)]);
    expect(text).toBe(whole.toString());
  });
});
