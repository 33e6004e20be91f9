import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openAIWire } from '../../../electron/engine/providers/passthrough/openai-wire.ts';
import { createRelay } from '../../../electron/engine/providers/passthrough/relay.ts';
import type { WireChunk } from '../../../electron/engine/providers/types.ts';
import { providerConfig } from '../../support/provider-config.ts';

/**
 * The relay against an upstream on 127.0.0.1 that writes its stream in awkward pieces: events cut
 * mid-line across TCP writes, CRLF line ends, comments, a last event without its blank line.
 */

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

async function upstream(answer: string, pieceBytes: number): Promise<string> {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let at = 0; at < answer.length; at += pieceBytes) {
        await new Promise((resolve) => res.write(answer.slice(at, at + pieceBytes), resolve));
        await new Promise((resolve) => setImmediate(resolve));
      }
      res.end();
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}/v1`;
}

const chunk = (content: string) =>
  `data: {"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}}}],"usage":null}`;

async function relayed(baseUrl: string, body: object): Promise<WireChunk[]> {
  const relay = createRelay(
    providerConfig({ kind: 'openai-compatible', vendor: 'custom', label: 'Up', id: 'up', baseUrl }),
    openAIWire,
  );
  const bytes = Buffer.from(JSON.stringify(body));
  const chunks: WireChunk[] = [];
  try {
    for await (const piece of relay.send(
      { model: 'm', body: bytes, json: body as Record<string, unknown>, stream: true, headers: {} },
      { signal: new AbortController().signal },
    ))
      chunks.push(piece);
  } finally {
    await relay.close();
  }
  return chunks;
}

describe('a stream relayed as bytes', () => {
  it('arrives whole when its events are cut across writes, and the usage chunk the client did not ask for is kept from it', async () => {
    const usage =
      'data: {"id":"c1","object":"chat.completion.chunk","model":"m","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}';
    const answer = [': keep-alive', chunk('Hel'), chunk('lo'), chunk('!'), usage, 'data: [DONE]']
      .map((event) => event.replaceAll('\n', '\r\n'))
      .join('\r\n\r\n');
    const url = await upstream(answer, 7);
    const chunks = await relayed(url, { model: 'up/m', messages: [], stream: true });

    const text = Buffer.concat(chunks.map((c) => c.bytes)).toString();
    expect(text).toContain(': keep-alive');
    const contents = [...text.matchAll(/"content":"([^"]*)"/g)].map((m) => m[1]).join('');
    expect(contents).toBe('Hello!');
    expect(text).not.toContain('"choices":[]');
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(text).toContain('"model":"up/m"');
    expect(chunks.at(-1)!.usage).toEqual({ inputTokens: 7, outputTokens: 3, estimated: false });
  });

  it('a stream that ends without [DONE] is an error, not a short answer', async () => {
    const url = await upstream(`${chunk('Hel')}\n\n${chunk('lo')}\n\n`, 50);
    await expect(relayed(url, { model: 'up/m', messages: [], stream: true })).rejects.toMatchObject({
      code: 'STREAM_INTERRUPTED',
    });
  });
});
