import { createHash } from 'node:crypto';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ModelCatalog, parseCatalog } from '../../../../native/models/catalog.ts';
import { partialPathOf } from '../../../../native/models/download.ts';
import {
  ModelStore,
  type ModelStore as ModelStoreType,
  type PullProgress,
} from '../../../../native/models/model-store.ts';
import { type ModelFileServer, startModelFileServer } from '../../../fakes/model-file-server.ts';
import { REPO_ROOT, SHARED_MODELS_DIR, STORIES_260K_SHA256, sharedFile, storiesGguf } from './shared-data.ts';

const STORIES_BYTES = 1185376;

/** A catalog whose hf: URIs name files of ../shared/models as the fake server lays them out. */
function testCatalog(): ModelCatalog {
  const sized = { sizeBytes: STORIES_BYTES, ramBytes: 60e6, vramBytes: 60e6 };
  const common = { family: 'llama', parameters: 2.6e5, licence: 'MIT', source: 'https://github.com/karpathy/llama2.c' };
  return parseCatalog({
    version: 1,
    models: [
      {
        id: 'stories260k',
        kind: 'llm',
        name: 'TinyStories 260K',
        contextWindow: 512,
        ...common,
        quantisations: [
          { name: 'F32', bits: 32, uri: 'hf:test/shared/gguf/stories260K.gguf', sha256: STORIES_260K_SHA256, ...sized },
        ],
      },
      {
        id: 'stories-unverified',
        kind: 'llm',
        name: 'TinyStories 260K without a checksum',
        contextWindow: 512,
        ...common,
        quantisations: [{ name: 'F32', bits: 32, uri: 'hf:test/shared/gguf/stories260K.gguf', ...sized }],
      },
      {
        id: 'gone',
        kind: 'llm',
        name: 'A model whose file the server does not have',
        contextWindow: 512,
        ...common,
        quantisations: [{ name: 'Q4_K_M', bits: 4, uri: 'hf:test/shared/gguf/gone-Q4_K_M.gguf', ...sized }],
      },
      {
        id: 'whisper-tiny.en',
        kind: 'whisper',
        name: 'Whisper tiny (English), configuration only',
        englishOnly: true,
        repo: 'hf:test/shared/whisper-tiny.en-config',
        ...common,
        family: 'whisper',
        quantisations: [{ name: 'q8', bits: 8, ...sized }],
      },
    ],
  });
}

let server: ModelFileServer;
let store: ModelStoreType;
let modelsDir: string;

beforeAll(async () => {
  sharedFile('models', 'gguf', 'stories260K.gguf');
  server = await startModelFileServer(SHARED_MODELS_DIR);
});
afterAll(() => server.close());
beforeEach(() => {
  modelsDir = mkdtempSync(join(tmpdir(), 'models-'));
  store = new ModelStore({ modelsDir, catalog: testCatalog(), hfBaseUrl: server.baseUrl, env: {} });
  server.reset();
});

const sha256Of = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (error: { code?: string }) => error.code,
  );

describe('model store: downloads from a real HTTP server', () => {
  it('pulls a model with progress events, verifies it and lists it with its size', async () => {
    const events: PullProgress[] = [];
    const model = await store.pull('stories260k', { onProgress: (p) => events.push(p) });

    expect(model).toMatchObject({ id: 'stories260k', kind: 'llm', quantisation: 'F32', sizeBytes: STORIES_BYTES });
    expect(sha256Of(model.path)).toBe(STORIES_260K_SHA256);
    const last = events.at(-1)!;
    expect(last).toMatchObject({ model: 'stories260k', receivedBytes: STORIES_BYTES, totalBytes: STORIES_BYTES });
    expect(last.bytesPerSecond).toBeGreaterThan(0);
    expect(last.etaSeconds).toBe(0);
    expect(await store.list()).toEqual([
      expect.objectContaining({ id: 'stories260k', sizeBytes: STORIES_BYTES, verified: true }),
    ]);
  });

  it('marks a model pulled without a published checksum as not verified', async () => {
    const model = await store.pull('stories-unverified');
    expect(model.verified).toBeUndefined();
  });

  it('keeps the partial file when the connection breaks and resumes it with a Range request', async () => {
    server.cutNext('gguf/stories260K.gguf', 400_000);
    const failure = await store.pull('stories260k', { retries: 0 }).catch((error: Error & { code: string }) => error);
    expect(failure).toMatchObject({ code: 'CONNECTION_FAILED' });
    const partial = partialPathOf(join(modelsDir, 'gguf', 'stories260K.gguf'));
    // What the client had read when the connection died (fetch drops bytes still queued in a failed stream).
    const kept = statSync(partial).size;
    expect(kept).toBeLessThanOrEqual(400_000);
    expect((failure as Error).message).toContain(
      `broke after ${kept} of 1185376 bytes; the partial download is kept, run the same pull again to resume`,
    );

    const model = await store.pull('stories260k', { retries: 0 });
    expect(server.requests.at(-1)).toMatchObject(kept > 0 ? { range: `bytes=${kept}-`, status: 206 } : { status: 200 });
    expect(sha256Of(model.path)).toBe(STORIES_260K_SHA256);
    expect(existsSync(partial)).toBe(false);
  });

  it('recovers from a broken connection by itself when retries are allowed', async () => {
    server.cutNext('gguf/stories260K.gguf', 100_000);
    const model = await store.pull('stories260k', { retries: 2 });
    expect(server.requests).toHaveLength(2);
    expect(sha256Of(model.path)).toBe(STORIES_260K_SHA256);
  });

  it('deletes a download whose checksum is wrong and says so', async () => {
    server.corrupt('gguf/stories260K.gguf');
    const failure = await store.pull('stories260k').catch((error: Error & { code: string }) => error);
    expect(failure).toMatchObject({ code: 'BAD_RESPONSE' });
    expect((failure as Error).message).toMatch(
      /checksum mismatch.*expected sha256 270cba1b.*the downloaded file was deleted/,
    );
    expect(existsSync(partialPathOf(join(modelsDir, 'gguf', 'stories260K.gguf')))).toBe(false);
    expect(await store.list()).toEqual([]);
    // Without a checksum to compare, the wrong bytes are still refused: they are not a GGUF.
    expect(await codeOf(store.pull('stories-unverified'))).toBe('INVALID_REQUEST');
  });

  it('answers a missing file with NOT_FOUND naming the URL', async () => {
    await expect(store.pull('gone')).rejects.toThrow(
      /NOT_FOUND: no file at http:\/\/127\.0\.0\.1:\d+\/test\/shared\/resolve\/main\/gguf\/gone-Q4_K_M\.gguf \(HTTP 404\)/,
    );
    // A Whisper folder whose weights the server lacks: the config files come, the ONNX file is reported.
    await expect(store.pull('whisper-tiny.en')).rejects.toThrow(
      /NOT_FOUND: .*onnx\/encoder_model_quantized\.onnx \(HTTP 404\)/,
    );
  });

  it('explains a refused download (a gated repository)', async () => {
    server.failWith('gguf/stories260K.gguf', 401);
    await expect(store.pull('stories260k')).rejects.toThrow(
      /refused the download \(HTTP 401\): the repository may be gated or private; .*`switchboard models import`/,
    );
  });

  it('names unknown models and quantisations', async () => {
    await expect(store.pull('llama-9')).rejects.toThrow(
      /llama-9 is not in the model catalog; `switchboard models catalog`/,
    );
    await expect(store.pull('stories260k:Q2_K')).rejects.toThrow(/stories260k has no Q2_K variant; it has F32/);
  });

  it('stops on the abort signal and keeps the partial file for later', async () => {
    const controller = new AbortController();
    const pulling = store.pull('stories260k', {
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    await expect(pulling).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(await store.list()).toEqual([]);
    const partial = partialPathOf(join(modelsDir, 'gguf', 'stories260K.gguf'));
    expect(statSync(partial).size).toBeGreaterThan(0);
    expect(statSync(partial).size).toBeLessThan(STORIES_BYTES);
  });

  it('reports a server that cannot be reached as CONNECTION_FAILED', async () => {
    const offline = new ModelStore({ modelsDir, catalog: testCatalog(), hfBaseUrl: 'http://127.0.0.1:9', env: {} });
    await expect(offline.pull('stories260k', { retries: 0 })).rejects.toThrow(
      /CONNECTION_FAILED: 127\.0\.0\.1:9 could not be reached/,
    );
  });
});

describe('model store: Whisper folders', () => {
  // The project's random-weight Whisper (test/fixtures) served as a Hugging Face repo.
  const fixture = join(REPO_ROOT, 'test', 'fixtures', 'whisper-tiny-random');
  const whisperCatalog = () =>
    parseCatalog({
      version: 1,
      models: [
        {
          id: 'whisper-tiny-random',
          kind: 'whisper',
          family: 'whisper',
          name: 'Whisper tiny, random weights',
          parameters: 3.9e7,
          licence: 'MIT',
          source: 'https://github.com/openai/whisper',
          englishOnly: true,
          repo: 'hf:test/whisper-tiny-random',
          quantisations: [
            { name: 'q8', bits: 8, sizeBytes: 3e6, ramBytes: 1e8, vramBytes: 1e8 },
            { name: 'fp32', bits: 32, sizeBytes: 4e6, ramBytes: 1e8, vramBytes: 1e8 },
          ],
        },
      ],
    });

  it('pulls every file of the chosen dtype into a transformers.js folder, resuming a broken one', async () => {
    const whisperServer = await startModelFileServer(fixture);
    try {
      const whisperStore = new ModelStore({
        modelsDir,
        catalog: whisperCatalog(),
        hfBaseUrl: whisperServer.baseUrl,
        env: {},
      });
      whisperServer.cutNext('onnx/decoder_model_merged_quantized.onnx', 200_000);
      const progress: PullProgress[] = [];
      const model = await whisperStore.pull('whisper-tiny-random', { retries: 1, onProgress: (p) => progress.push(p) });

      expect(model).toMatchObject({ id: 'whisper-tiny-random', kind: 'whisper', quantisation: 'q8' });
      for (const file of [
        'config.json',
        'tokenizer.json',
        'onnx/encoder_model_quantized.onnx',
        'onnx/decoder_model_merged_quantized.onnx',
      ]) {
        expect(sha256Of(join(model.path, file))).toBe(sha256Of(join(fixture, file)));
      }
      // The broken file alone was asked for again (from where it broke, when bytes had arrived).
      const decoder = whisperServer.requests.filter((r) => r.file === 'onnx/decoder_model_merged_quantized.onnx');
      expect(decoder).toHaveLength(2);
      expect(whisperServer.requests.filter((r) => r.file === 'config.json')).toHaveLength(1);
      expect(new Set(progress.map((p) => p.fileCount))).toEqual(new Set([7]));
      expect(progress.at(-1)?.fileIndex).toBe(6);
    } finally {
      await whisperServer.close();
    }
  });
});

describe('model store: only complete models are installed', () => {
  const fixture = join(REPO_ROOT, 'test', 'fixtures', 'whisper-tiny-random');

  it('a Whisper pull that fails half-way is not listed; the next pull completes it', async () => {
    const whisperServer = await startModelFileServer(fixture);
    try {
      const whisperStore = new ModelStore({
        modelsDir,
        catalog: parseCatalog({
          version: 1,
          models: [
            {
              id: 'whisper-tiny-random',
              kind: 'whisper',
              family: 'whisper',
              name: 'Whisper tiny, random weights',
              parameters: 3.9e7,
              licence: 'MIT',
              source: 'https://github.com/openai/whisper',
              englishOnly: true,
              repo: 'hf:test/whisper-tiny-random',
              quantisations: [{ name: 'q8', bits: 8, sizeBytes: 3e6, ramBytes: 1e8, vramBytes: 1e8 }],
            },
          ],
        }),
        hfBaseUrl: whisperServer.baseUrl,
        env: {},
      });
      whisperServer.failWith('onnx/decoder_model_merged_quantized.onnx', 503);
      await expect(whisperStore.pull('whisper-tiny-random', { retries: 0 })).rejects.toThrow(/HTTP 503/);
      expect(await whisperStore.list()).toEqual([]);
      expect(existsSync(join(whisperStore.whisperDir, 'whisper-tiny-random'))).toBe(false);

      whisperServer.reset();
      const model = await whisperStore.pull('whisper-tiny-random', { retries: 0 });
      expect(await whisperStore.list()).toEqual([
        expect.objectContaining({ id: 'whisper-tiny-random', kind: 'whisper' }),
      ]);
      expect(existsSync(join(model.path, 'onnx', 'decoder_model_merged_quantized.onnx'))).toBe(true);
      // The files that had arrived before were kept, not fetched again.
      expect(whisperServer.requests.filter((r) => r.file === 'config.json')).toEqual([]);
    } finally {
      await whisperServer.close();
    }
  });

  it('does not list a folder or file put in by hand that is not a complete model', async () => {
    mkdirSync(join(store.whisperDir, 'half-copied'), { recursive: true });
    cpSync(sharedFile('models', 'whisper-tiny.en-config'), join(store.whisperDir, 'half-copied'), { recursive: true });
    mkdirSync(join(modelsDir, 'gguf'), { recursive: true });
    cpSync(sharedFile('models', 'whisper-tiny.en-config', 'config.json'), join(modelsDir, 'gguf', 'not-a-model.gguf'));
    expect(await store.list()).toEqual([]);
  });
});

describe('model store: importing, resolving and deleting', () => {
  it('imports a GGUF by copy or by link, and resolves it by id, file name or path', async () => {
    const copied = await store.importPath(storiesGguf());
    expect(copied).toMatchObject({ id: 'stories260K', kind: 'llm', sizeBytes: STORIES_BYTES });
    expect(lstatSync(copied.path).isSymbolicLink()).toBe(false);
    const linked = await store.importPath(storiesGguf(), { id: 'stories-link', mode: 'link' });
    expect(lstatSync(linked.path).isSymbolicLink()).toBe(true);
    expect(linked.sizeBytes).toBe(STORIES_BYTES);

    expect((await store.resolveGguf('stories260K')).path).toBe(copied.path);
    expect((await store.resolveGguf('stories-link.gguf')).path).toBe(linked.path);
    expect((await store.resolveGguf(storiesGguf())).path).toBe(storiesGguf());
    await expect(store.importPath(storiesGguf())).rejects.toThrow(/stories260K is already installed/);

    await store.remove('stories-link');
    expect(existsSync(storiesGguf())).toBe(true);
    expect((await store.list()).map((m) => m.id)).toEqual(['stories260K']);
  });

  it('refuses a file that is not GGUF', async () => {
    await expect(store.importPath(sharedFile('models', 'whisper-tiny.en-config', 'config.json'))).rejects.toThrow(
      /INVALID_REQUEST: .*config\.json is not a GGUF model file/,
    );
  });

  it('imports a Whisper folder only when it has the config files and ONNX weights', async () => {
    const configOnly = sharedFile('models', 'whisper-tiny.en-config');
    await expect(store.importPath(configOnly)).rejects.toThrow(
      /not a Whisper model folder in the transformers\.js layout: missing onnx\/encoder_model\*\.onnx, onnx\/decoder_model_merged\*\.onnx/,
    );
    // The project's random-weight Whisper in the transformers.js layout (test/fixtures).
    const folder = join(REPO_ROOT, 'test', 'fixtures', 'whisper-tiny-random');
    const model = await store.importPath(folder);
    expect(model).toMatchObject({
      id: 'whisper-tiny-random',
      kind: 'whisper',
      path: join(store.whisperDir, 'whisper-tiny-random'),
    });
    expect(existsSync(join(model.path, 'onnx', 'encoder_model_quantized.onnx'))).toBe(true);
    // A Whisper model is not something the llama runtime can load.
    await expect(store.resolveGguf('whisper-tiny-random')).rejects.toMatchObject({ code: 'MODEL_NOT_INSTALLED' });
  });

  it('tells how to install a model that is missing', async () => {
    await expect(store.resolveGguf('stories260k')).rejects.toThrow(
      'MODEL_NOT_INSTALLED: model stories260k is not installed; run `switchboard models pull stories260k`',
    );
    await expect(store.resolveGguf('mystery')).rejects.toThrow(/not in the catalog.*switchboard models import/);
    await expect(store.remove('mystery')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('counts a GGUF dropped into the folder by hand as installed', async () => {
    mkdirSync(join(modelsDir, 'gguf'), { recursive: true });
    cpSync(storiesGguf(), join(modelsDir, 'gguf', 'my-model.gguf'));
    expect(await store.list()).toEqual([
      { id: 'my-model', kind: 'llm', path: join(modelsDir, 'gguf', 'my-model.gguf'), sizeBytes: STORIES_BYTES },
    ]);
    expect((await store.resolveGguf('my-model')).sizeBytes).toBe(STORIES_BYTES);
  });
});
