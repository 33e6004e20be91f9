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
import { recommend } from '../../../../native/models/recommend.ts';

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
  it('chooses the largest chat model that fits the free memory, never a test model', () => {
    const roomy = recommend(catalog, { backend: 'cpu', vram: null, ram: { freeBytes: 64 * GB } });
    expect(roomy?.variant.entry.id).toBe('qwen2.5-7b-instruct');
    expect(roomy?.variant.quantisation).toBe('Q4_K_M');
    expect(roomy?.runsOn).toBe('cpu');

    const small = recommend(catalog, { backend: 'cpu', vram: null, ram: { freeBytes: 1.3 * GB } });
    expect(small?.variant.entry.id).toBe('llama-3.2-1b-instruct');
    expect(small!.neededBytes).toBeLessThanOrEqual(1.3 * GB);

    expect(recommend(catalog, { backend: 'cpu', vram: null, ram: { freeBytes: 10e6 } })).toBeUndefined();
  });

  it('measures against free VRAM when a GPU backend runs', () => {
    const gpu = recommend(catalog, { backend: 'cuda', vram: { freeBytes: 3 * GB }, ram: { freeBytes: 0.5 * GB } });
    expect(gpu?.runsOn).toBe('gpu');
    expect(gpu!.neededBytes).toBeLessThanOrEqual(3 * GB);
    expect(gpu?.variant.entry.id).toBe('llama-3.2-3b-instruct');
  });

  it('recommends Whisper models by the same rule', () => {
    const whisper = recommend(
      catalog,
      { backend: 'cpu', vram: null, ram: { freeBytes: 0.5 * GB } },
      { kind: 'whisper' },
    );
    expect(whisper?.variant.entry.kind).toBe('whisper');
    expect(whisper!.neededBytes).toBeLessThanOrEqual(0.5 * GB);
  });
});
