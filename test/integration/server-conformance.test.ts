import { createReadStream, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeEmbedding } from '../fakes/http-fake.ts';
import { REPLY, type Stack, startStack, TOKEN } from './server-harness.ts';

/**
 * The official SDKs, pointed at Switchboard with baseURL, against a real Engine whose providers are
 * the fake OpenAI and Anthropic servers: what a program using either SDK sees.
 */

const SHARED = resolve(import.meta.dirname, '..', '..', '..', 'shared');
const JFK_WAV = join(SHARED, 'audio', 'jfk.wav');
const TOOL_ARGS = '{"city":"Lisbon"}';
const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

let stack: Stack;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  // The transcription test sends audio to the (fake) cloud: the user has allowed cloud processing for meetings.
  stack = await startStack({
    fake: { toolCalls: [{ name: 'get_weather', arguments: TOOL_ARGS }] },
    config: { meetings_cloud: true },
  });
  openai = new OpenAI({ baseURL: `${stack.server.url}/v1`, apiKey: TOKEN, maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: stack.server.url, apiKey: TOKEN, maxRetries: 0 });
});
afterAll(async () => {
  await stack?.close();
});

const lastBody = (fake: Stack['openai']) => fake.requests.at(-1)?.body as Record<string, unknown>;

describe('the openai SDK', () => {
  it('gets a chat completion, with the answering provider in the headers', async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello.' }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe(REPLY);
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(data.model).toBe('openai/gpt-4o-mini');
    expect(data.usage?.completion_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-switchboard-provider')).toBe('openai');
    expect(response.headers.get('x-switchboard-model')).toBe('gpt-4o-mini');
    expect(response.headers.get('x-switchboard-fallback-depth')).toBe('0');
    expect(Number(response.headers.get('x-switchboard-overhead-ms'))).toBeGreaterThanOrEqual(0);
  });

  it('streams chunks as they come, ending with the usage chunk when asked', async () => {
    const stream = await openai.chat.completions.create({
      model: 'openai/gpt-4o-mini',
      messages: [{ role: 'user', content: 'Say hello.' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(REPLY);
    expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBe(REPLY.split(' ').length);
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.at(-1)?.usage?.completion_tokens).toBe(REPLY.split(' ').length);
    expect(lastBody(stack.openai).stream).toBe(true);
  });

  it('forwards each chunk as the provider sends it, not when the answer is complete', async () => {
    const slow = await startStack({ fake: { tokenDelayMs: 100, text: 'one two three four five six' } });
    try {
      const client = new OpenAI({ baseURL: `${slow.server.url}/v1`, apiKey: TOKEN, maxRetries: 0 });
      const started = performance.now();
      const arrivals: number[] = [];
      const stream = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Count.' }],
        stream: true,
      });
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content) arrivals.push(performance.now() - started);
      }
      expect(arrivals).toHaveLength(6);
      // The provider takes ~100 ms per word: the first word arrives long before the last is sent.
      expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(300);
    } finally {
      await slow.close();
    }
  });

  it('passes tools and response_format through, and returns the tool call', async () => {
    const completion = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Weather in Lisbon?' }],
      tools: [weatherTool],
      tool_choice: 'auto',
    });
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    const call = completion.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function.name).toBe('get_weather');
    expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ city: 'Lisbon' });
    expect(lastBody(stack.openai).tools).toEqual([weatherTool]);

    await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'JSON please.' }],
      response_format: { type: 'json_object' },
    });
    expect(lastBody(stack.openai).response_format).toEqual({ type: 'json_object' });
  });

  it('streams tool calls as tool_call deltas', async () => {
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Weather in Lisbon?' }],
      tools: [weatherTool],
      stream: true,
    });
    let name = '';
    let args = '';
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
        name += call.function?.name ?? '';
        args += call.function?.arguments ?? '';
      }
    }
    expect(name).toBe('get_weather');
    expect(JSON.parse(args)).toEqual({ city: 'Lisbon' });
  });

  it('routes through a profile named as the model, and takes the user for sticky routing', async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: 'fast', user: 'user-42', messages: [{ role: 'user', content: 'Hi' }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe(REPLY);
    expect(response.headers.get('x-switchboard-provider')).toBe('openai');
  });

  it('gets embeddings (the SDK asks for base64 and decodes it) equal to the provider’s', async () => {
    const result = await openai.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['red apple', 'blue sky'],
    });
    expect(result.data).toHaveLength(2);
    expect(result.data[1]?.embedding.length).toBe(8);
    result.data.forEach((item, i) => {
      const expected = fakeEmbedding(['red apple', 'blue sky'][i]!);
      item.embedding.forEach((value, j) => {
        expect(value).toBeCloseTo(expected[j]!, 5);
      });
    });
    const floats = await openai.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'red apple',
      encoding_format: 'float',
    });
    expect(floats.data[0]?.embedding).toEqual(fakeEmbedding('red apple'));
    expect(floats.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it('uploads audio for transcription in every response_format, and leaves no temp file behind', async () => {
    expect(existsSync(JFK_WAV), `shared test audio missing: ${JFK_WAV} (the ../shared checkout)`).toBe(true);
    const uploads = () => readdirSync(tmpdir()).filter((name) => name.startsWith('switchboard-upload-'));
    const before = uploads();
    const verbose = await openai.audio.transcriptions.create({
      file: createReadStream(JFK_WAV),
      model: 'whisper-1',
      response_format: 'verbose_json',
      language: 'en',
    });
    expect(verbose.text).toBe(REPLY);
    expect(verbose.segments?.length).toBeGreaterThan(0);
    expect(verbose.duration).toBeGreaterThan(10);
    const upstream = stack.openai.requests.at(-1)!;
    expect(upstream.path).toBe('/v1/audio/transcriptions');
    // The whole file reached the provider: 11 s of 16 kHz 16-bit mono.
    expect((upstream.body as { files: { bytes: number }[] }).files[0]?.bytes).toBeGreaterThan(350_000);

    const json = await openai.audio.transcriptions.create({ file: createReadStream(JFK_WAV), model: 'whisper-1' });
    expect(json.text).toBe(REPLY);
    const text = await openai.audio.transcriptions.create({
      file: createReadStream(JFK_WAV),
      model: 'whisper-1',
      response_format: 'text',
    });
    expect(String(text).trim()).toBe(REPLY);
    const srt = await openai.audio.transcriptions.create({
      file: createReadStream(JFK_WAV),
      model: 'whisper-1',
      response_format: 'srt',
    });
    expect(String(srt)).toMatch(/^1\r?\n00:00:00,000 --> 00:00:\d\d,\d{3}/);
    const vtt = await openai.audio.transcriptions.create({
      file: createReadStream(JFK_WAV),
      model: 'whisper-1',
      response_format: 'vtt',
    });
    expect(String(vtt)).toMatch(/^WEBVTT/);
    expect(uploads()).toEqual(before);
  });

  it('lists every model of every enabled provider as provider/model, and the profiles', async () => {
    const ids: string[] = [];
    for await (const model of openai.models.list()) ids.push(model.id);
    expect(ids).toEqual(expect.arrayContaining(['openai/gpt-4o-mini', 'anthropic/claude-haiku-4-5', 'fast']));
  });

  it('raises NotFoundError for an unknown model, with a message saying what to do', async () => {
    const error = await openai.chat.completions
      .create({ model: 'no-such-model', messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    expect((error as Error).message).toContain('provider/model');
  });

  it('raises AuthenticationError without the right token', async () => {
    const stranger = new OpenAI({
      baseURL: `${stack.server.url}/v1`,
      apiKey: 'sb-not-the-token-000000000',
      maxRetries: 0,
    });
    await expect(stranger.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('raises BadRequestError for a malformed request, naming the field', async () => {
    const error = await openai.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [], temperature: 7 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as Error).message).toMatch(/messages|temperature/);
  });
});

describe('the Anthropic SDK', () => {
  it('gets a message, with x-api-key as the token', async () => {
    const message = await anthropic.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 100,
      system: 'Be brief.',
      messages: [{ role: 'user', content: 'Say hello.' }],
    });
    expect(message.content).toEqual([{ type: 'text', text: REPLY }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage.output_tokens).toBeGreaterThan(0);
    expect(stack.anthropic.requests.at(-1)?.path).toBe('/v1/messages');
  });

  it('streams with the real event types into the same message', async () => {
    const stream = anthropic.messages.stream({
      model: 'anthropic/claude-haiku-4-5',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'Say hello.' }],
    });
    const types = new Set<string>();
    stream.on('streamEvent', (event) => types.add(event.type));
    const message = await stream.finalMessage();
    expect(message.content).toMatchObject([{ type: 'text', text: REPLY }]);
    expect(message.stop_reason).toBe('end_turn');
    expect([...types]).toEqual(
      expect.arrayContaining([
        'message_start',
        'content_block_start',
        'content_block_delta',
        'content_block_stop',
        'message_delta',
        'message_stop',
      ]),
    );
  });

  it('uses tools through another provider’s protocol: tool_use out, tool_result back in', async () => {
    const tools = [
      {
        name: 'get_weather',
        description: 'Current weather for a city',
        input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } },
      },
    ];
    const stream = anthropic.messages.stream({
      model: 'openai/gpt-4o-mini',
      max_tokens: 100,
      tools,
      messages: [{ role: 'user', content: 'Weather in Lisbon?' }],
    });
    const first = await stream.finalMessage();
    expect(first.stop_reason).toBe('tool_use');
    const use = first.content.find((block) => block.type === 'tool_use');
    expect(use).toMatchObject({ name: 'get_weather', input: { city: 'Lisbon' } });
    await anthropic.messages.create({
      model: 'openai/gpt-4o-mini',
      max_tokens: 100,
      messages: [
        { role: 'user', content: 'Weather in Lisbon?' },
        { role: 'assistant', content: first.content },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: use!.type === 'tool_use' ? use!.id : '', content: '21 °C' }],
        },
      ],
    });
    const sent = lastBody(stack.openai).messages as { role: string; tool_call_id?: string; content: unknown }[];
    expect(sent.at(-1)).toMatchObject({ role: 'tool', content: '21 °C' });
  });

  it('raises NotFoundError and AuthenticationError as the Anthropic API would', async () => {
    await expect(
      anthropic.messages.create({
        model: 'no-such-model',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'Hi' }],
      }),
    ).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    const stranger = new Anthropic({ baseURL: stack.server.url, apiKey: 'sb-not-the-token-000000000', maxRetries: 0 });
    await expect(
      stranger.messages.create({
        model: 'claude-haiku-4-5',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'Hi' }],
      }),
    ).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    await expect(
      anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 0, messages: [] }),
    ).rejects.toBeInstanceOf(Anthropic.BadRequestError);
  });
});
