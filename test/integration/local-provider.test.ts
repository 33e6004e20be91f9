import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatStreamEvent } from '../../electron/engine/contract/chat.ts';
import { SwitchboardError } from '../../electron/engine/contract/errors.ts';
import type { TranscriptionEvent } from '../../electron/engine/contract/transcription.ts';
import { createLocalAdapter } from '../../electron/engine/providers/local/local-adapter.ts';
import type { LocalLlmRuntime, LocalTranscriber } from '../../electron/engine/providers/local/runtime.ts';
import type { ProviderAdapter, ProviderConfig } from '../../electron/engine/providers/types.ts';
import { getLlamaHost } from '../../native/gpu/llama-host.ts';
import { createLlamaRuntime, type LlamaRuntime } from '../../native/llama/llama-runtime.ts';
import { createWhisperTranscriber } from '../../native/whisper/index.ts';
import { providerConfig } from '../support/provider-config.ts';
import { REPO_ROOT, sharedFile, storiesGguf } from '../unit/native/models/shared-data.ts';

const config: ProviderConfig = providerConfig({
  id: 'local',
  kind: 'local',
  vendor: 'local',
  label: 'This machine',
  capabilities: ['chat', 'text_generation', 'embedding', 'transcription'],
  limits: { onLimit: 'queue', maxQueueMs: 30_000 },
  timeoutMs: 120_000,
  firstTokenTimeoutMs: 60_000,
});

let runtime: LlamaRuntime;
let adapter: ProviderAdapter;

beforeAll(async () => {
  runtime = createLlamaRuntime({
    modelsDir: mkdtempSync(join(tmpdir(), 'local-provider-')),
    host: getLlamaHost({ device: 'cpu', threads: 1 }),
    contextSize: 512,
  });
  await runtime.store.importPath(storiesGguf(), { id: 'stories' });
  await runtime.store.importPath(join(REPO_ROOT, 'test', 'fixtures', 'whisper-tiny-random'));
  // The engine's interfaces accept the native implementations as they are (checked by tsc).
  const llm: LocalLlmRuntime = runtime;
  const transcriber: LocalTranscriber = createWhisperTranscriber({ modelsDir: runtime.store.whisperDir, threads: 1 });
  adapter = createLocalAdapter(config, { llm, transcriber });
});
afterAll(() => adapter.close?.());

const ctx = () => ({ signal: new AbortController().signal });

async function collect(events: AsyncIterable<ChatStreamEvent>) {
  const all: ChatStreamEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

describe('local provider through the ProviderAdapter interface', () => {
  it('answers a chat as a stream of text with usage at the end', async () => {
    const events = await collect(
      adapter.chat(
        { model: 'stories', messages: [{ role: 'user', content: 'Tell me a story about a dog.' }], max_tokens: 20 },
        ctx(),
      ),
    );
    const texts = events.filter((e) => e.type === 'text');
    expect(texts.length).toBeGreaterThan(2);
    expect(
      texts
        .map((e) => e.text)
        .join('')
        .trim(),
    ).not.toBe('');
    expect(events.at(-1)).toEqual({
      type: 'finish',
      reason: 'length',
      model: 'stories',
      usage: { inputTokens: expect.any(Number), outputTokens: 20, estimated: false },
    });
  });

  it('constrains the answer to a JSON schema given as response_format', async () => {
    const events = await collect(
      adapter.chat(
        {
          model: 'stories',
          messages: [{ role: 'user', content: 'Name a pet.' }],
          max_tokens: 120,
          response_format: {
            type: 'json_schema',
            json_schema: {
              name: 'pet',
              schema: {
                type: 'object',
                properties: {
                  pet: { enum: ['cat', 'dog', 'bird'] },
                  legs: { type: 'integer', minimum: 0, maximum: 8 },
                },
                required: ['pet', 'legs'],
              },
            },
          },
        },
        ctx(),
      ),
    );
    const text = events.flatMap((e) => (e.type === 'text' ? [e.text] : [])).join('');
    const value = JSON.parse(text);
    expect(['cat', 'dog', 'bird']).toContain(value.pet);
    expect(Number.isInteger(value.legs)).toBe(true);
  });

  it('embeds through the adapter and refuses a dimension the model does not have', async () => {
    const result = await adapter.embed!({ model: 'stories', input: ['one', 'two'] }, ctx());
    expect(result.vectors.map((v) => v.length)).toEqual([64, 64]);
    expect(result.usage.estimated).toBe(false);
    await expect(adapter.embed!({ model: 'stories', input: 'one', dimensions: 32 }, ctx())).rejects.toThrow(
      /INVALID_REQUEST: stories makes 64-dimensional embeddings; it cannot give 32/,
    );
  });

  it('lists chat and Whisper models with their capabilities', async () => {
    const models = await adapter.listModels(ctx());
    expect(models).toEqual([
      expect.objectContaining({ id: 'stories', providerId: 'local', capabilities: expect.arrayContaining(['chat']) }),
      expect.objectContaining({ id: 'whisper-tiny-random', providerId: 'local', capabilities: ['transcription'] }),
    ]);
  });

  it('hands transcription to the Whisper transcriber', async () => {
    const controller = new AbortController();
    const events: TranscriptionEvent[] = [];
    for await (const event of adapter.transcribe!(
      { filePath: sharedFile('audio', 'jfk.wav'), model: 'whisper-tiny-random' },
      { signal: controller.signal },
    )) {
      events.push(event);
      break; // random weights transcribe garbage: the first event proves the hand-over
    }
    expect(events[0]?.type).toMatch(/progress|segment/);
  });

  it('fails as a SwitchboardError that says what to do', async () => {
    const error = await collect(
      adapter.chat({ model: 'llama-3.2-1b-instruct', messages: [{ role: 'user', content: 'hi' }] }, ctx()),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SwitchboardError);
    expect(error).toMatchObject({
      code: 'MODEL_NOT_INSTALLED',
      providerId: 'local',
      message:
        'MODEL_NOT_INSTALLED: model llama-3.2-1b-instruct is not installed; run `switchboard models pull llama-3.2-1b-instruct`',
    });
  });

  it('reports a cancelled chat as CANCELLED', async () => {
    const controller = new AbortController();
    const stream = adapter.chat(
      { model: 'stories', messages: [{ role: 'user', content: 'Go on.' }], max_tokens: 400 },
      { signal: controller.signal },
    );
    const error = await (async () => {
      for await (const event of stream) if (event.type === 'text') controller.abort();
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SwitchboardError);
    expect(error).toMatchObject({ code: 'CANCELLED', providerId: 'local' });
  });
});
