import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { getLlamaHost } from '../../../../native/gpu/llama-host.ts';
import { createLlamaRuntime, type LlamaRuntime } from '../../../../native/llama/llama-runtime.ts';
import { ModelPool, type ModelPoolOptions } from '../../../../native/llama/model-pool.ts';
import type { LocalChatEvent } from '../../../../native/llama/types.ts';
import { storiesGguf, tinyRandomGguf } from '../models/shared-data.ts';

// One thread: the test machine is shared, and llama.cpp's spinning thread pool suffers badly when oversubscribed.
const host = getLlamaHost({ device: 'cpu', threads: 1 });
const runtimes: LlamaRuntime[] = [];

function runtime(options: Omit<ModelPoolOptions, 'host'> = {}): LlamaRuntime {
  const created = createLlamaRuntime({
    modelsDir: mkdtempSync(join(tmpdir(), 'llama-')),
    host,
    contextSize: 512,
    ...options,
  });
  runtimes.push(created);
  return created;
}

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.close()));
});

async function collect(events: AsyncIterable<LocalChatEvent>) {
  const chunks: string[] = [];
  let finish: Extract<LocalChatEvent, { type: 'finish' }> | undefined;
  for await (const event of events) {
    if (event.type === 'text') chunks.push(event.text);
    else finish = event;
  }
  return { chunks, text: chunks.join(''), finish: finish! };
}

const never = new AbortController().signal;

describe('llama runtime on real GGUF models', () => {
  it('continues "Once upon a time" greedily the way stories260K was trained', async () => {
    const { text, chunks, finish } = await collect(
      runtime().complete(storiesGguf(), 'Once upon a time', { maxTokens: 40, temperature: 0 }, never),
    );
    expect(`Once upon a time${text}`).toMatch(/^Once upon a time, there was a little girl named Lily\./);
    expect(chunks.length).toBeGreaterThan(5);
    expect(finish).toMatchObject({ type: 'finish', reason: 'length', usage: { outputTokens: 40, estimated: false } });
    expect(finish.usage.inputTokens).toBeGreaterThan(0);
  });

  it('streams a chat answer in several chunks, with usage, through the chat template', async () => {
    const { chunks, finish } = await collect(
      runtime().chat(
        {
          model: storiesGguf(),
          messages: [
            { role: 'system', content: 'You tell short stories.' },
            { role: 'user', content: 'Tell me about a cat.' },
          ],
          max_tokens: 24,
          temperature: 0,
        },
        never,
      ),
    );
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.join('').trim().length).toBeGreaterThan(10);
    // The prompt is the rendered template, so it counts more tokens than the bare message text.
    expect(finish.usage.inputTokens).toBeGreaterThan(10);
    expect(finish.usage.outputTokens).toBe(24);
    expect(finish.reason).toBe('length');
  });

  it('stops a running generation within 200 ms of the abort', async () => {
    const controller = new AbortController();
    let abortedAt = 0;
    let chunks = 0;
    const stream = runtime().chat(
      { model: tinyRandomGguf(), messages: [{ role: 'user', content: 'Talk.' }], max_tokens: 100_000 },
      controller.signal,
    );
    const outcome = (async () => {
      for await (const event of stream) {
        if (event.type === 'text' && ++chunks === 5) {
          abortedAt = performance.now();
          controller.abort();
        }
      }
    })();
    await expect(outcome).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(abortedAt).toBeGreaterThan(0);
    expect(performance.now() - abortedAt).toBeLessThan(200);
  });

  it('answers in JSON that matches the requested schema', async () => {
    const schema = {
      type: 'object',
      properties: {
        name: { type: 'string', maxLength: 24 },
        age: { type: 'integer', minimum: 1, maximum: 99 },
        happy: { type: 'boolean' },
      },
      required: ['name', 'age', 'happy'],
    };
    const { text } = await collect(
      runtime().chat(
        {
          model: storiesGguf(),
          messages: [{ role: 'user', content: 'Describe a child as JSON.' }],
          max_tokens: 200,
          response_format: { type: 'json_schema', json_schema: { name: 'child', schema } },
        },
        never,
      ),
    );
    const value = JSON.parse(text);
    expect(Object.keys(value).sort()).toEqual(['age', 'happy', 'name']);
    expect(typeof value.name).toBe('string');
    expect(Number.isInteger(value.age)).toBe(true);
    expect(typeof value.happy).toBe('boolean');
  });

  it("embeds text as vectors of the model's dimension", async () => {
    const { vectors, inputTokens } = await runtime().embed(storiesGguf(), ['a cat', 'a dog in the park'], never);
    expect(vectors).toHaveLength(2);
    expect(vectors.map((v) => v.length)).toEqual([64, 64]);
    expect(vectors[0]).not.toEqual(vectors[1]);
    expect(inputTokens).toBeGreaterThan(2);
  });

  it('says how to install a model that is not there', async () => {
    const stream = runtime().chat(
      { model: 'qwen2.5-0.5b-instruct', messages: [{ role: 'user', content: 'hi' }] },
      never,
    );
    await expect(collect(stream)).rejects.toThrow(
      'MODEL_NOT_INSTALLED: model qwen2.5-0.5b-instruct is not installed; run `switchboard models pull qwen2.5-0.5b-instruct`',
    );
  });

  it('lists installed chat models with the context window the catalog gives', async () => {
    const r = runtime();
    await r.store.importPath(storiesGguf(), { id: 'stories' });
    expect(await r.listModels()).toEqual([{ id: 'stories' }]);
    const { text } = await collect(r.complete('stories', 'Once upon a time', { maxTokens: 12 }, never));
    expect(text).toMatch(/^, there was a little girl named Lily/);
  });
});

describe('model pool', () => {
  it('unloads a model after its idle TTL', async () => {
    const r = runtime({ idleTtlMs: 150 });
    await collect(r.complete(storiesGguf(), 'Once', { maxTokens: 4 }, never));
    expect(r.pool.loaded().map((m) => m.path)).toEqual([storiesGguf()]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(r.pool.loaded()).toEqual([]);
  });

  it('evicts the least recently used model when the memory cap would be exceeded', async () => {
    const copy = join(mkdtempSync(join(tmpdir(), 'copy-')), 'stories-copy.gguf');
    copyFileSync(storiesGguf(), copy);
    const sizing = new ModelPool({ host, contextSize: 512 });
    const [a, b, c] = await Promise.all([storiesGguf(), copy, tinyRandomGguf()].map((p) => sizing.estimate(p)));
    // Room for any two of the three models, never for all three.
    const cap = Math.max(a! + b!, a! + c!, b! + c!) + 1;
    expect(cap).toBeLessThan(a! + b! + c!);
    const r = runtime({ memoryCapBytes: cap, idleTtlMs: 0 });
    const use = (path: string) => collect(r.complete(path, 'Once', { maxTokens: 2 }, never));

    await use(storiesGguf());
    await use(copy);
    await use(storiesGguf()); // the copy is now the least recently used
    await use(tinyRandomGguf());
    expect(r.pool.loaded().map((m) => m.path)).toEqual([storiesGguf(), tinyRandomGguf()]);
    expect(r.pool.loaded().reduce((sum, m) => sum + m.estimatedBytes, 0)).toBeLessThanOrEqual(cap);
  });

  it('refuses a model larger than the memory cap, saying so', async () => {
    const r = runtime({ memoryCapBytes: 1_000_000 });
    await expect(collect(r.complete(storiesGguf(), 'Once', { maxTokens: 2 }, never))).rejects.toThrow(
      /PROVIDER_UNAVAILABLE: .*stories260K\.gguf needs about \d+ MB, more than the local memory cap of 1 MB/,
    );
  });

  it('reuses one loaded model and its context across requests', async () => {
    const r = runtime();
    const first = await collect(r.complete(storiesGguf(), 'Once upon a time', { maxTokens: 12 }, never));
    const second = await collect(r.complete(storiesGguf(), 'Once upon a time', { maxTokens: 12 }, never));
    expect(second.text).toBe(first.text);
    expect(r.pool.loaded()).toHaveLength(1);
  });
});
