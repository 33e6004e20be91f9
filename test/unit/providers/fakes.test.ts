import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { FAKE_ANTHROPIC_KEY, startFakeAnthropic } from '../../fakes/anthropic.ts';
import { always, FAULT_KINDS, faultMix, faultSequence } from '../../fakes/faults.ts';
import { FAKE_GEMINI_KEY, startFakeGemini } from '../../fakes/gemini.ts';
import type { FakeServer } from '../../fakes/http-fake.ts';
import { startFakeOllama } from '../../fakes/ollama.ts';
import { FAKE_OPENAI_KEY, startFakeOpenAI } from '../../fakes/openai.ts';

// The fakes are only worth something if the official clients accept them as the real thing.
let fake: FakeServer | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const TEXT = 'Plain answer, not streamed.';

describe('the fakes speak the real protocols (official SDKs, non-streaming)', () => {
  it('OpenAI chat completion', async () => {
    fake = await startFakeOpenAI({ text: TEXT });
    const client = new OpenAI({ apiKey: FAKE_OPENAI_KEY, baseURL: `${fake.url}/v1`, maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion.choices[0]?.message.content).toBe(TEXT);
    expect(completion.usage?.completion_tokens).toBe(4);
    // The SDK's default base64 embeddings decode to the same vector as floats.
    const base64 = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'x', dimensions: 4 });
    const floats = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'x',
      dimensions: 4,
      encoding_format: 'float',
    });
    expect(base64.data[0]?.embedding.map((v) => v.toFixed(5))).toEqual(
      floats.data[0]?.embedding.map((v) => v.toFixed(5)),
    );
  });

  it('Anthropic message', async () => {
    fake = await startFakeAnthropic({ text: TEXT });
    const client = new Anthropic({ apiKey: FAKE_ANTHROPIC_KEY, baseURL: fake.url, maxRetries: 0 });
    const message = await client.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(message.content[0]).toMatchObject({ type: 'text', text: TEXT });
    expect(message.stop_reason).toBe('end_turn');
  });

  it('Anthropic error bodies are the real {type:"error", error:{type,message}}', async () => {
    fake = await startFakeAnthropic({ faults: always('unavailable') });
    const response = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': FAKE_ANTHROPIC_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [] }),
    });
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({
      type: 'error',
      error: { type: 'overloaded_error', message: 'Overloaded' },
    });
  });

  it('Gemini generateContent, with the key as ?key= too', async () => {
    fake = await startFakeGemini({ text: TEXT });
    const client = new GoogleGenAI({ apiKey: FAKE_GEMINI_KEY, httpOptions: { baseUrl: fake.url } });
    const response = await client.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' });
    expect(response.text).toBe(TEXT);
    expect(response.usageMetadata?.candidatesTokenCount).toBe(4);
    const byQuery = await fetch(`${fake.url}/v1beta/models?key=${FAKE_GEMINI_KEY}`);
    expect(byQuery.status).toBe(200);
  });

  it('Ollama native chat and its OpenAI-compatible /v1', async () => {
    fake = await startFakeOllama({ text: TEXT });
    const response = await new Ollama({ host: fake.url }).chat({
      model: 'llama3.2:1b',
      messages: [{ role: 'user', content: 'hi' }],
      stream: false,
    });
    expect(response.message.content).toBe(TEXT);
    expect(response.eval_count).toBe(4);
    const openai = new OpenAI({ apiKey: 'ollama', baseURL: `${fake.url}/v1`, maxRetries: 0 });
    const completion = await openai.chat.completions.create({
      model: 'llama3.2:1b',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion.choices[0]?.message.content).toBe(TEXT);
  });
});

describe('fault plans', () => {
  it('a sequence fails the first request and answers the second; the record shows both', async () => {
    fake = await startFakeOpenAI({ faults: faultSequence('unavailable') });
    const client = new OpenAI({ apiKey: FAKE_OPENAI_KEY, baseURL: `${fake.url}/v1`, maxRetries: 0 });
    await expect(client.models.list()).rejects.toMatchObject({ status: 503 });
    await client.models.list();
    expect(fake.requests.map((r) => [r.fault, r.status])).toEqual([
      ['unavailable', 503],
      [undefined, 200],
    ]);
  });

  it('a seeded mix is reproducible and close to its probabilities over 2,000 draws', () => {
    const mix = {
      'rate-limit': 0.1,
      'server-error': 0.05,
      unavailable: 0.05,
      hang: 0.03,
      reset: 0.04,
      cut: 0.03,
    } as const;
    const draw = (seed: number) => {
      const plan = faultMix(mix, { seed });
      return Array.from({ length: 2000 }, (_, index) => plan({ index, method: 'POST', path: '/', stream: true }));
    };
    const first = draw(42);
    expect(draw(42)).toEqual(first);
    expect(draw(43)).not.toEqual(first);
    const failed = first.filter(Boolean).length / first.length;
    expect(failed).toBeGreaterThan(0.26);
    expect(failed).toBeLessThan(0.34);
    expect(new Set(first.filter(Boolean))).toEqual(new Set(Object.keys(mix)));
    expect(() => faultMix({ reset: 0.8, hang: 0.3 })).toThrow(/sum to 1.1/);
    expect(FAULT_KINDS).toContain('cut');
  });

  it('close() ends even while a request hangs', async () => {
    fake = await startFakeOpenAI({ faults: always('hang') });
    const pending = fetch(`${fake.url}/v1/models`, { headers: { authorization: `Bearer ${FAKE_OPENAI_KEY}` } }).catch(
      (e: Error) => e,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    await fake.close();
    fake = undefined;
    expect(await pending).toBeInstanceOf(Error);
  });
});
