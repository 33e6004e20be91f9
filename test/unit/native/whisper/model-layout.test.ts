import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { env, WhisperForConditionalGeneration } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_DIR, generateWhisperModel } from '../../../../scripts/whisper-onnx/generate.ts';

const repoRoot = path.resolve(import.meta.dirname, '..', '..', '..', '..');
const fixture = path.join(repoRoot, 'test', 'fixtures', 'whisper-tiny-random');

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'switchboard-whisper-onnx-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('the random-weights Whisper generator', () => {
  it('wrote the committed fixture: regenerating it gives the same bytes', async () => {
    const out = path.join(scratch, 'regenerated');
    await generateWhisperModel({ size: 'micro', out, dtypes: ['fp32', 'q8'] });
    const files = (dir: string) => readdir(dir, { recursive: true });
    expect((await files(out)).sort()).toEqual((await files(fixture)).sort());
    for (const file of await files(path.join(out, 'onnx'))) {
      const [fresh, committed] = await Promise.all([
        readFile(path.join(out, 'onnx', file)),
        readFile(path.join(fixture, 'onnx', file)),
      ]);
      expect(fresh.equals(committed), `${file} differs from the generator's output`).toBe(true);
    }
  });

  it('keeps the real whisper-tiny.en tokenizer and, at --size tiny, its real dimensions', async () => {
    const out = path.join(scratch, 'tiny-config');
    await generateWhisperModel({ size: 'tiny', out, dtypes: [] });
    const config = JSON.parse(await readFile(path.join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      model_type: 'whisper',
      d_model: 384,
      encoder_layers: 4,
      decoder_layers: 4,
      encoder_attention_heads: 6,
      decoder_attention_heads: 6,
      num_mel_bins: 80,
      max_source_positions: 1500,
      max_target_positions: 448,
      vocab_size: 51864,
    });
    const [ours, real] = await Promise.all([
      readFile(path.join(out, 'tokenizer.json')),
      readFile(path.join(DEFAULT_CONFIG_DIR, 'tokenizer.json')),
    ]);
    expect(ours.equals(real)).toBe(true);
  });

  it('loads in transformers.js with the input and output names optimum exports', async () => {
    env.allowRemoteModels = false;
    env.localModelPath = path.dirname(fixture);
    const model = await WhisperForConditionalGeneration.from_pretrained(path.basename(fixture), { dtype: 'fp32' });
    try {
      const { model: encoder, decoder_model_merged: decoder } = model.sessions as Record<
        string,
        {
          inputNames: string[];
          outputNames: string[];
          inputMetadata: { name: string; shape: (number | string)[] }[];
        }
      >;
      expect(encoder!.inputNames).toEqual(['input_features']);
      expect(encoder!.outputNames).toEqual(['last_hidden_state']);
      const cache = (prefix: string) =>
        [0, 1].flatMap((i) =>
          ['decoder.key', 'decoder.value', 'encoder.key', 'encoder.value'].map((part) => `${prefix}.${i}.${part}`),
        );
      expect(decoder!.inputNames).toEqual([
        'input_ids',
        'encoder_hidden_states',
        ...cache('past_key_values'),
        'use_cache_branch',
      ]);
      expect(decoder!.outputNames).toEqual(['logits', ...cache('present')]);
      // transformers.js sizes the empty first-step cache from these: numeric heads and head size.
      const past = decoder!.inputMetadata.find((m) => m.name === 'past_key_values.0.decoder.key');
      expect(past?.shape).toEqual(['batch_size', 2, 'past_decoder_sequence_length', 4]);
    } finally {
      await model.dispose();
    }
  });
});
