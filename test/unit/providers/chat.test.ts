import { afterEach, describe, expect, it } from 'vitest';
import type { ChatStreamEvent } from '../../../electron/engine/contract/chat.ts';
import { collectChat } from '../../../electron/engine/providers/collect.ts';
import type { ChatCall } from '../../../electron/engine/providers/types.ts';
import type { FakeServer } from '../../fakes/http-fake.ts';
import { callWith, failure, PROTOCOLS, setUp } from './harness.ts';

const TEXT = 'The quick brown fox jumps over the lazy dog.';

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

describe.each(PROTOCOLS)('chat through the $name adapter', (protocol) => {
  let fake: FakeServer | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  const call = (extra: Partial<ChatCall> = {}): ChatCall => ({
    model: protocol.model,
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Say the pangram.' },
    ],
    ...extra,
  });

  it('streams the reply as text deltas, then a finish with the usage the provider reported', async () => {
    const setup = await setUp(protocol, { text: TEXT });
    fake = setup.fake;
    const events: ChatStreamEvent[] = [];
    for await (const event of setup.adapter.chat(call(), callWith(setup.key))) {
      events.push(event);
    }
    const texts = events.filter((e) => e.type === 'text');
    expect(texts.length).toBeGreaterThan(1);
    expect(texts.map((e) => e.text).join('')).toBe(TEXT);
    const finish = events.at(-1);
    expect(finish).toMatchObject({ type: 'finish', reason: 'stop', usage: { estimated: false } });
    expect(finish?.type === 'finish' && finish.usage?.outputTokens).toBe(TEXT.split(' ').length);
    expect(fake.requests).toHaveLength(1);
  });

  it('collects the same stream into one result when the caller does not stream', async () => {
    const setup = await setUp(protocol, { text: TEXT });
    fake = setup.fake;
    const result = await collectChat(setup.adapter.chat(call(), callWith(setup.key)));
    expect(result).toMatchObject({ text: TEXT, finishReason: 'stop', toolCalls: [] });
    expect(result.usage.estimated).toBe(false);
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(result.model).toContain(fake.requests[0]?.model ?? '?');
  });

  it('estimates usage with the tokenizer when the provider reports none', async () => {
    const setup = await setUp(protocol, { text: TEXT, usage: false });
    fake = setup.fake;
    const result = await collectChat(setup.adapter.chat(call(), callWith(setup.key)));
    // "The quick brown fox jumps over the lazy dog." is 10 tokens in o200k_base.
    expect(result.usage).toEqual({ inputTokens: expect.any(Number), outputTokens: 10, estimated: true });
    expect(result.usage.inputTokens).toBeGreaterThan(5);
  });

  it('passes tools to the provider and assembles its tool call', async () => {
    const args = '{"city":"Lisbon","unit":"celsius"}';
    const setup = await setUp(protocol, { toolCalls: [{ name: 'get_weather', arguments: args }] });
    fake = setup.fake;
    const result = await collectChat(
      setup.adapter.chat(call({ tools: [weatherTool], tool_choice: 'auto' }), callWith(setup.key)),
    );
    expect(result.finishReason).toBe('tool_calls');
    expect(result.toolCalls).toHaveLength(1);
    expect(result.toolCalls[0]?.function.name).toBe('get_weather');
    expect(JSON.parse(result.toolCalls[0]?.function.arguments ?? '')).toEqual(JSON.parse(args));
    expect(result.toolCalls[0]?.id).toBeTruthy();
    expect(JSON.stringify(fake.requests[0]?.body)).toContain('"city"');
  });

  it('sends a tool round (assistant tool call, tool result) back in the protocol own shape', async () => {
    const setup = await setUp(protocol, { text: 'It is sunny.' });
    fake = setup.fake;
    const result = await collectChat(
      setup.adapter.chat(
        call({
          tools: [weatherTool],
          messages: [
            { role: 'user', content: 'Weather in Lisbon?' },
            {
              role: 'assistant',
              content: null,
              tool_calls: [
                { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lisbon"}' } },
              ],
            },
            { role: 'tool', tool_call_id: 'call_1', content: '{"sky":"sunny"}' },
          ],
        }),
        callWith(setup.key),
      ),
    );
    expect(result.text).toBe('It is sunny.');
    const sent = JSON.stringify(fake.requests[0]?.body);
    expect(sent).toContain('Lisbon');
    expect(sent).toContain('sunny');
  });

  it('stops the upstream request and reports CANCELLED when the caller aborts mid-stream', async () => {
    const setup = await setUp(protocol, { text: TEXT, tokenDelayMs: 50 });
    fake = setup.fake;
    const controller = new AbortController();
    const received: string[] = [];
    const error = await failure(async () => {
      for await (const event of setup.adapter.chat(call(), { signal: controller.signal, apiKey: setup.key })) {
        if (event.type === 'text') {
          received.push(event.text);
          controller.abort();
        }
      }
    });
    expect(error.code).toBe('CANCELLED');
    expect(error.retryable).toBe(false);
    expect(received.length).toBeLessThan(TEXT.split(' ').length);
  });
});

describe('OpenAI wire shapes pass through intact', () => {
  it('sends tools, tool_choice, response_format and seed exactly as the caller wrote them', async () => {
    const protocol = PROTOCOLS[0]!;
    const { fake, adapter, key } = await setUp(protocol);
    try {
      const responseFormat = {
        type: 'json_schema' as const,
        json_schema: {
          name: 'answer',
          schema: { type: 'object', properties: { a: { type: 'string' } } },
          strict: true,
        },
      };
      const toolChoice = { type: 'function', function: { name: 'get_weather' } };
      await collectChat(
        adapter.chat(
          {
            model: protocol.model,
            messages: [{ role: 'user', content: 'hi' }],
            tools: [weatherTool],
            tool_choice: toolChoice,
            response_format: responseFormat,
            seed: 7,
            max_tokens: 50,
          },
          callWith(key),
        ),
      );
      expect(fake.requests[0]?.body).toMatchObject({
        tools: [weatherTool],
        tool_choice: toolChoice,
        response_format: responseFormat,
        seed: 7,
        max_tokens: 50,
        stream: true,
      });
      expect(fake.requests[0]?.headers.authorization).toBe(`Bearer ${key}`);
    } finally {
      await fake.close();
    }
  });
});

describe.each(PROTOCOLS.filter((p) => !p.name.startsWith('openai')))('$name translating a tool round', (protocol) => {
  it('refuses tool-call arguments that are not a JSON object before anything is sent', async () => {
    const setup = await setUp(protocol);
    try {
      const error = await failure(() =>
        collectChat(
          setup.adapter.chat(
            {
              model: protocol.model,
              messages: [
                { role: 'user', content: 'Weather?' },
                {
                  role: 'assistant',
                  content: null,
                  tool_calls: [
                    { id: 'c1', type: 'function', function: { name: 'get_weather', arguments: 'city=Lisbon' } },
                  ],
                },
                { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
              ],
            },
            callWith(setup.key),
          ),
        ),
      );
      expect(error.code).toBe('INVALID_REQUEST');
      expect(error.message).toContain('tool call arguments must be a JSON object, got: city=Lisbon');
      expect(setup.fake.requests).toHaveLength(0);
    } finally {
      await setup.fake.close();
    }
  });
});
