import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TranscriptionEvent } from '../../../electron/engine/contract/transcription.ts';
import { createAdapter } from '../../../electron/engine/providers/create-adapter.ts';
import type { OllamaAdapter } from '../../../electron/engine/providers/ollama/adapter.ts';
import { always } from '../../fakes/faults.ts';
import type { FakeServer } from '../../fakes/http-fake.ts';
import { callWith, expectNoKey, failure, PROTOCOLS, type ProtocolCase, providerConfig, setUp } from './harness.ts';

const byName = (prefix: string): ProtocolCase => PROTOCOLS.find((p) => p.name.startsWith(prefix))!;
const groq = byName('openai-compatible (Groq)');
const azure = byName('openai-compatible (Azure)');
const gemini = byName('gemini');
const ollama = byName('ollama');
const anthropic = byName('anthropic');

let fake: FakeServer | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe('embeddings', () => {
  const cases: [ProtocolCase, string, boolean][] = [
    [groq, 'text-embedding-3-small', false],
    [azure, 'text-embedding-3-small', false],
    [gemini, 'gemini-embedding-001', true],
    [ollama, 'nomic-embed-text:latest', false],
  ];
  it.each(cases)('%s embeds a batch in input order with its usage', async (protocol, model, estimated) => {
    const setup = await setUp(protocol);
    fake = setup.fake;
    const result = await setup.adapter.embed!(
      { model, input: ['alpha beta', 'gamma'], dimensions: 16 },
      callWith(setup.key),
    );
    expect(result.vectors).toHaveLength(2);
    expect(result.vectors[0]).toHaveLength(16);
    expect(result.vectors[0]).not.toEqual(result.vectors[1]);
    // The fake's vectors are unit length; a decoding slip (base64, order) would break that.
    expect(Math.hypot(...result.vectors[0]!)).toBeCloseTo(1, 5);
    expect(result.usage.estimated).toBe(estimated);
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    const again = await setup.adapter.embed!({ model, input: 'gamma', dimensions: 16 }, callWith(setup.key));
    expect(again.vectors[0]).toEqual(result.vectors[1]);
  });

  it('maps an embedding failure like a chat failure', async () => {
    const setup = await setUp(gemini, { faults: always('unavailable') });
    fake = setup.fake;
    const error = await failure(() =>
      setup.adapter.embed!({ model: 'gemini-embedding-001', input: 'x' }, callWith(setup.key)),
    );
    expect(error.code).toBe('PROVIDER_UNAVAILABLE');
    expect(error.message).toContain('Google Gemini is unavailable (HTTP 503)');
  });

  it('Anthropic has no embeddings', async () => {
    const setup = await setUp(anthropic);
    fake = setup.fake;
    expect(setup.adapter.embed).toBeUndefined();
  });
});

describe('listModels', () => {
  it.each(PROTOCOLS)('$name lists the models the server offers', async (protocol) => {
    const setup = await setUp(protocol);
    fake = setup.fake;
    const models = await setup.adapter.listModels(callWith(setup.key));
    expect(models.map((m) => m.id).sort()).toEqual([...fake.models].sort());
    expect(models.every((m) => m.providerId === setup.adapter.config.id)).toBe(true);
  });

  it('Gemini reports capabilities and context windows from the model list', async () => {
    const setup = await setUp(gemini);
    fake = setup.fake;
    const models = await setup.adapter.listModels(callWith(setup.key));
    const embedding = models.find((m) => m.id === 'gemini-embedding-001');
    const flash = models.find((m) => m.id === 'gemini-2.5-flash');
    expect(embedding?.capabilities).toEqual(['embedding']);
    expect(flash?.capabilities).toContain('chat');
    expect(flash?.contextWindow).toBe(1_048_576);
  });

  it('a wrong key on the models endpoint is PROVIDER_UNAUTHORIZED without the key', async () => {
    const setup = await setUp(anthropic);
    fake = setup.fake;
    const wrong = `${setup.key}x`;
    const error = await failure(() => setup.adapter.listModels(callWith(wrong)));
    expect(error.code).toBe('PROVIDER_UNAUTHORIZED');
    expectNoKey(error, wrong);
  });
});

describe('OpenAI moderation and transcription', () => {
  it('moderates text with /v1/moderations', async () => {
    const setup = await setUp(groq);
    fake = setup.fake;
    const flagged = await setup.adapter.moderate!('I will attack the castle', callWith(setup.key));
    const calm = await setup.adapter.moderate!('I will visit the castle', callWith(setup.key));
    expect(flagged).toMatchObject({ flagged: true, categories: { violence: true } });
    expect(calm.flagged).toBe(false);
    expect(fake.requests.map((r) => r.path)).toEqual(['/v1/moderations', '/v1/moderations']);
  });

  it('uploads the audio file and yields its segments from verbose_json', async () => {
    const audio = path.resolve(import.meta.dirname, '../../../../shared/audio/jfk.wav');
    if (!existsSync(audio)) throw new Error(`test data missing: ${audio} (the shared fixtures at ../shared)`);
    const setup = await setUp(groq, {
      text: 'And so my fellow Americans. Ask not what your country can do for you. Ask what you can do for your country.',
    });
    fake = setup.fake;
    const events: TranscriptionEvent[] = [];
    for await (const event of setup.adapter.transcribe!(
      { filePath: audio, model: 'whisper-1', language: 'en' },
      callWith(setup.key),
    )) {
      events.push(event);
    }
    const segments = events.flatMap((e) => (e.type === 'segment' ? [e.segment] : []));
    expect(segments.map((s) => s.text)).toEqual([
      'And so my fellow Americans.',
      'Ask not what your country can do for you.',
      'Ask what you can do for your country.',
    ]);
    expect(segments.every((s, i) => s.index === i && s.end > s.start)).toBe(true);
    const done = events.at(-1);
    expect(done).toMatchObject({ type: 'done', model: 'whisper-1' });
    // 11 s of 16 kHz 16-bit mono, measured by the fake from the bytes it received.
    expect(done?.type === 'done' && done.durationSeconds).toBeCloseTo(11, 0);
    const body = fake.requests[0]?.body as {
      fields: Record<string, unknown>;
      files: { bytes: number; filename: string }[];
    };
    expect(body.files[0]).toMatchObject({ bytes: statSync(audio).size, filename: 'jfk.wav' });
    expect(body.fields).toMatchObject({ model: 'whisper-1', response_format: 'verbose_json', language: 'en' });
  });
});

describe('Azure OpenAI', () => {
  it('calls the deployment mapped to the model, with api-version and the api-key header', async () => {
    const setup = await setUp(azure, { text: 'from azure' });
    fake = setup.fake;
    const events = [];
    for await (const event of setup.adapter.chat(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
      callWith(setup.key),
    )) {
      events.push(event);
    }
    const request = fake.requests[0]!;
    expect(request.path).toBe('/openai/deployments/chat-deployment/chat/completions');
    expect(request.query['api-version']).toBe('2024-10-21');
    expect(request.headers['api-key']).toBe(setup.key);
    expect(request.headers.authorization).toBeUndefined();
  });

  it('an unknown deployment is MODEL_NOT_FOUND naming the model', async () => {
    const setup = await setUp(azure);
    fake = setup.fake;
    const error = await failure(async () => {
      for await (const _ of setup.adapter.chat(
        { model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] },
        callWith(setup.key),
      )) {
        // drain
      }
    });
    expect(error.code).toBe('MODEL_NOT_FOUND');
    expect(error.message).toContain('Azure OpenAI has no model "gpt-5"');
  });
});

describe('Ollama model management', () => {
  it('pulls a model with streamed progress, lists it, and deletes it', async () => {
    const setup = await setUp(ollama);
    fake = setup.fake;
    const adapter = setup.adapter as OllamaAdapter;
    const progress = [];
    for await (const step of adapter.pullModel('qwen3:0.6b', callWith(setup.key))) progress.push(step);
    expect(progress[0]?.status).toBe('pulling manifest');
    expect(progress.at(-1)?.status).toBe('success');
    expect(progress.some((p) => p.total && p.completed === p.total)).toBe(true);
    expect((await adapter.listModels(callWith(setup.key))).map((m) => m.id)).toContain('qwen3:0.6b');
    await adapter.deleteModel('qwen3:0.6b', callWith(setup.key));
    expect((await adapter.listModels(callWith(setup.key))).map((m) => m.id)).not.toContain('qwen3:0.6b');
    const error = await failure(() => adapter.deleteModel('qwen3:0.6b', callWith(setup.key)));
    expect(error.code).toBe('MODEL_NOT_FOUND');
  });

  it('talks to a keyless local Ollama without an Authorization header', async () => {
    fake = await ollama.start({ text: 'local' });
    const adapter = createAdapter(
      providerConfig({ kind: 'ollama', vendor: 'ollama', label: 'Ollama', baseUrl: `${fake.url}/v1` }),
    );
    const events = [];
    for await (const event of adapter.chat(
      { model: 'llama3.2:1b', messages: [{ role: 'user', content: 'hi' }] },
      { signal: new AbortController().signal },
    )) {
      events.push(event);
    }
    expect(events.at(-1)).toMatchObject({ type: 'finish', usage: { estimated: false } });
    expect(fake.requests[0]?.path).toBe('/api/chat');
    expect(fake.requests[0]?.headers.authorization).toBeUndefined();
  });
});

describe('createAdapter', () => {
  it('refuses kind local with a message that says where local adapters come from', () => {
    expect(() => createAdapter(providerConfig({ kind: 'local', vendor: 'local', label: 'Local' }))).toThrow(
      /NOT_SUPPORTED: provider "local" is local: its adapter comes from the local runtime/,
    );
  });
});
