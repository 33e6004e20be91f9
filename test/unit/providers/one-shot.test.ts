import { afterEach, describe, expect, it } from 'vitest';
import { collectChat } from '../../../electron/engine/providers/collect.ts';
import type { ChatCall } from '../../../electron/engine/providers/types.ts';
import { always } from '../../fakes/faults.ts';
import type { FakeServer } from '../../fakes/http-fake.ts';
import { callWith, failure, PROTOCOLS, setUp, timedChat } from './harness.ts';

const TEXT = 'The quick brown fox jumps over the lazy dog.';
const OPENAI_PROTOCOLS = PROTOCOLS.filter((protocol) => protocol.name.startsWith('openai-compatible'));

describe.each(OPENAI_PROTOCOLS)('a collected chat (stream: false) through the $name adapter', (protocol) => {
  let fake: FakeServer | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  const call = (extra: Partial<ChatCall> = {}): ChatCall => ({
    model: protocol.model,
    messages: [{ role: 'user', content: 'Say the pangram.' }],
    stream: false,
    ...extra,
  });

  it('asks the upstream for one answer, not a stream, and returns what the stream would have', async () => {
    const setup = await setUp(protocol, { text: TEXT });
    fake = setup.fake;
    const oneShot = await collectChat(setup.adapter.chat(call(), callWith(setup.key)));
    const streamed = await collectChat(setup.adapter.chat(call({ stream: true }), callWith(setup.key)));
    expect(fake.requests.map((request) => request.stream)).toEqual([false, true]);
    expect((fake.requests[0]!.body as Record<string, unknown>).stream_options).toBeUndefined();
    expect(oneShot).toEqual(streamed);
    expect(oneShot).toMatchObject({ text: TEXT, finishReason: 'stop', usage: { estimated: false } });
  });

  it('returns the tool calls the model made, whole', async () => {
    const toolCalls = [
      { name: 'get_weather', arguments: '{"city":"Paris"}' },
      { name: 'get_time', arguments: '{"zone":"CET"}' },
    ];
    const setup = await setUp(protocol, { toolCalls });
    fake = setup.fake;
    const tools = toolCalls.map(({ name }) => ({ type: 'function' as const, function: { name } }));
    const result = await collectChat(setup.adapter.chat(call({ tools }), callWith(setup.key)));
    expect(result.finishReason).toBe('tool_calls');
    expect(result.toolCalls.map((c) => c.function)).toEqual(toolCalls);
    expect(result.toolCalls.every((c) => c.id.length > 0)).toBe(true);
  });

  it('waits for the whole answer under the total timeout, not the first-token one', async () => {
    const setup = await setUp(protocol, { text: TEXT, tokenDelayMs: 0 }, { firstTokenTimeoutMs: 1 });
    fake = setup.fake;
    // A first-token timeout of 1 ms would fail any stream; one answer in one piece has no first token.
    expect((await collectChat(timedChat(setup.adapter, call(), setup.key, { collected: true }))).text).toBe(TEXT);
  });

  it('says TIMEOUT for an upstream that never answers, and CANCELLED when the caller leaves', async () => {
    const setup = await setUp(protocol, { faults: always('hang') }, { timeoutMs: 300 });
    fake = setup.fake;
    const timedOut = await failure(() => collectChat(timedChat(setup.adapter, call(), setup.key, { collected: true })));
    expect(timedOut.code).toBe('TIMEOUT');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const cancelled = await failure(() =>
      collectChat(setup.adapter.chat(call(), callWith(setup.key, controller.signal))),
    );
    expect(cancelled.code).toBe('CANCELLED');
  });
});
