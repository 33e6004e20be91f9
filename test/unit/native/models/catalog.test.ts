import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  allVariants,
  findCatalogEntry,
  loadCatalog,
  parseQuantizationPreference,
  selectVariant,
} from '../../../../native/models/catalog.ts';
import { resolveModelUri } from '../../../../native/models/hf-uri.ts';
import { fitOf, recommend } from '../../../../native/models/recommend.ts';

const GB = 1e9;
const catalog = loadCatalog();

describe('model catalog', () => {
  it('holds chat, Whisper and embedding models, each with licence, source and sized quantisations', () => {
    const ids = catalog.models.map((model) => model.id);
    for (const id of [
      'llama-3.2-1b-instruct',
      'llama-3.2-3b-instruct',
      'qwen2.5-0.5b-instruct',
      'qwen2.5-7b-instruct',
      'gemma-2-2b-it',
      'phi-3.5-mini-instruct',
      'whisper-tiny.en',
      'whisper-large-v3-turbo',
      'nomic-embed-text-v1.5',
    ]) {
      expect(ids).toContain(id);
    }
    for (const variant of allVariants(catalog)) {
      expect(variant.sizeBytes).toBeGreaterThan(0);
      expect(variant.ramBytes).toBeGreaterThanOrEqual(variant.sizeBytes);
    }
  });

  it('picks 4-bit by default and the preferred width from LOCAL_QUANTIZATION', () => {
    const qwen = findCatalogEntry(catalog, 'qwen2.5-1.5b-instruct')!;
    expect(selectVariant(qwen).quantisation).toBe('Q4_K_M');
    expect(selectVariant(qwen, { preference: parseQuantizationPreference('8bit') }).quantisation).toBe('Q8_0');
    expect(selectVariant(qwen, { preference: '16bit' }).quantisation).toBe('F16');
    // Gemma has no 16-bit file in the catalog: the widest one below is taken.
    expect(selectVariant(findCatalogEntry(catalog, 'gemma-2-2b-it')!, { preference: '16bit' }).quantisation).toBe(
      'Q8_0',
    );
    expect(() => parseQuantizationPreference('3bit')).toThrow(
      /LOCAL_QUANTIZATION=3bit is not one of 4bit\|8bit\|16bit/,
    );
  });

  it('lists a Whisper model as the transformers.js folder layout for its dtype', () => {
    const variant = selectVariant(findCatalogEntry(catalog, 'whisper-base.en')!, { preference: '8bit' });
    expect(variant.quantisation).toBe('q8');
    expect(variant.files.map((file) => file.path)).toEqual([
      'config.json',
      'generation_config.json',
      'preprocessor_config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'onnx/encoder_model_quantized.onnx',
      'onnx/decoder_model_merged_quantized.onnx',
    ]);
  });

  it('pins every file with a published sha256 to the revision it was published for', () => {
    const checked = allVariants(catalog).filter((variant) => variant.files.every((file) => file.sha256));
    // The default (4-bit) files of the chat models people are recommended carry one.
    for (const id of ['llama-3.2-1b-instruct', 'qwen2.5-1.5b-instruct', 'qwen2.5-3b-instruct', 'gemma-2-2b-it']) {
      expect(checked.map((variant) => `${variant.entry.id}:${variant.quantisation}`)).toContain(`${id}:Q4_K_M`);
    }
    for (const variant of checked) {
      for (const file of variant.files) expect(file.uri).toMatch(/^hf:[^/]+\/[^/@]+@[0-9a-f]{40}\//);
    }
  });

  it('resolves a pinned hf: URI to that revision', () => {
    expect(resolveModelUri('hf:bartowski/Qwen2.5-3B-Instruct-GGUF@e118764d/Qwen2.5-3B-Instruct-Q4_K_M.gguf')).toBe(
      'https://huggingface.co/bartowski/Qwen2.5-3B-Instruct-GGUF/resolve/e118764d/Qwen2.5-3B-Instruct-Q4_K_M.gguf',
    );
  });

  it('resolves hf: URIs against a configurable base URL', () => {
    expect(resolveModelUri('hf:bartowski/Qwen2.5-0.5B-Instruct-GGUF/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf')).toBe(
      'https://huggingface.co/bartowski/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf',
    );
    expect(resolveModelUri('hf:Xenova/whisper-tiny.en/onnx/encoder_model.onnx', 'http://127.0.0.1:9/')).toBe(
      'http://127.0.0.1:9/Xenova/whisper-tiny.en/resolve/main/onnx/encoder_model.onnx',
    );
    expect(() => resolveModelUri('hf:bartowski/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M')).toThrow(/expected hf:<owner>/);
  });

  it('rejects a catalog that does not match the schema, naming the problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'catalog-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ version: 1, models: [{ id: 'x', kind: 'llm' }] }));
    expect(() => loadCatalog(file)).toThrow(/bad\.json is invalid: .*family/s);
  });
});

describe('recommend', () => {
  const cpu = (freeGb: number, cores: number) => ({
    backend: 'cpu',
    vram: null,
    ram: { freeBytes: freeGb * GB },
    cpuCores: cores,
  });

  it('gives a 2-core machine without a GPU a 1–3B chat model, however much memory is free', () => {
    const pick = recommend(catalog, cpu(22, 2));
    expect(pick?.variant.entry.parameters).toBeGreaterThanOrEqual(1e9);
    expect(pick?.variant.entry.parameters).toBeLessThanOrEqual(3.3e9);
    expect(pick?.runsOn).toBe('cpu');
    expect(pick!.tokensPerSecond).toBeGreaterThanOrEqual(4);
    // The 7B model fits the memory but would write about 2 tokens a second on two cores.
    const seven = selectVariant(findCatalogEntry(catalog, 'qwen2.5-7b-instruct')!);
    expect(fitOf(seven, cpu(22, 2))).toMatchObject({ fits: false, reason: 'too slow on this CPU' });
  });

  it('chooses the largest chat model that fits the free memory and the cores, never a test model', () => {
    const roomy = recommend(catalog, cpu(64, 16));
    expect(roomy?.variant.entry.id).toBe('qwen2.5-7b-instruct');
    expect(roomy?.variant.quantisation).toBe('Q4_K_M');
    expect(roomy?.runsOn).toBe('cpu');

    const small = recommend(catalog, cpu(1.3, 16));
    expect(small?.variant.entry.id).toBe('llama-3.2-1b-instruct');
    expect(small!.neededBytes).toBeLessThanOrEqual(1.3 * GB);

    expect(recommend(catalog, cpu(0.01, 16))).toBeUndefined();
  });

  it("prefers node-llama-cpp's measured needs over the catalog's figures", () => {
    const catalogPick = recommend(catalog, cpu(22, 2))!;
    const measured = new Map([
      [catalogPick.variant.entry.id, { weightsBytes: catalogPick.variant.sizeBytes, ramBytes: 40 * GB, vramBytes: 0 }],
    ]);
    const pick = recommend(catalog, cpu(22, 2), { measured })!;
    expect(pick.variant.entry.id).not.toBe(catalogPick.variant.entry.id);
    expect(fitOf(catalogPick.variant, cpu(22, 2), measured.get(catalogPick.variant.entry.id))).toMatchObject({
      fits: false,
      measured: true,
      reason: 'not enough free memory',
    });
  });

  it('measures against free VRAM when a GPU backend runs, with no speed limit', () => {
    const gpu = recommend(catalog, {
      backend: 'cuda',
      vram: { freeBytes: 3 * GB },
      ram: { freeBytes: 0.5 * GB },
      cpuCores: 2,
    });
    expect(gpu?.runsOn).toBe('gpu');
    expect(gpu!.neededBytes).toBeLessThanOrEqual(3 * GB);
    expect(gpu?.variant.entry.id).toBe('llama-3.2-3b-instruct');
  });

  it('recommends a Whisper model this CPU transcribes in real time', () => {
    const whisper = recommend(catalog, cpu(16, 2), { kind: 'whisper' });
    expect(whisper?.variant.entry.kind).toBe('whisper');
    expect(whisper!.variant.entry.parameters).toBeLessThanOrEqual(80e6);
    const bigger = recommend(catalog, cpu(16, 16), { kind: 'whisper' });
    expect(bigger!.variant.entry.parameters).toBeGreaterThan(whisper!.variant.entry.parameters);
  });
});
