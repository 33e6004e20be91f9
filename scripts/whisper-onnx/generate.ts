/**
 * Writes a Whisper model with random weights in the transformers.js layout:
 *
 *   OUT/config.json, generation_config.json, preprocessor_config.json, tokenizer.json, tokenizer_config.json
 *   OUT/onnx/encoder_model{,_fp16,_quantized,_q4}.onnx
 *   OUT/onnx/decoder_model_merged{,_fp16,_quantized,_q4}.onnx
 *
 * Real weights cannot be downloaded on the project's machines; the graphs, names and shapes are Whisper's,
 * so the transcription pipeline runs the real computation (and, at `--size tiny`, whisper-tiny's cost per
 * second of audio) — it just writes nonsense text. The tokenizer and configs are the real whisper-tiny.en
 * ones from ../shared.
 *
 *   npx node scripts/whisper-onnx/generate.ts --size tiny --out DIR [--dtypes fp32,q8] [--seed 1]
 */
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DTYPE_SUFFIX } from '../../native/whisper/models.ts';
import { DTYPES, type Dtype } from './weights.ts';
import { buildEncoder, buildMergedDecoder, type WhisperDims } from './whisper.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_CONFIG_DIR = path.resolve(repoRoot, '..', 'shared', 'models', 'whisper-tiny.en-config');
const CONFIG_FILES = [
  'generation_config.json',
  'preprocessor_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
] as const;

/**
 * `tiny`: whisper-tiny.en's own dimensions (from its config.json). `micro`: the same architecture, audio
 * front end, context sizes and vocabulary, shrunk in width and depth so the model is a few MB for tests.
 */
export const SIZES = {
  tiny: {},
  micro: {
    d_model: 8,
    encoder_layers: 2,
    decoder_layers: 2,
    num_hidden_layers: 2,
    encoder_attention_heads: 2,
    decoder_attention_heads: 2,
    encoder_ffn_dim: 32,
    decoder_ffn_dim: 32,
  },
} as const satisfies Record<string, Partial<WhisperDims> & { num_hidden_layers?: number }>;
export type Size = keyof typeof SIZES;

export interface GenerateOptions {
  size: Size;
  out: string;
  dtypes?: Dtype[];
  seed?: number;
  /** Folder with the real whisper-tiny.en config and tokenizer files. */
  configDir?: string;
}

export async function generateWhisperModel(options: GenerateOptions): Promise<{ files: string[] }> {
  const configDir = options.configDir ?? DEFAULT_CONFIG_DIR;
  const baseConfig = await readFile(path.join(configDir, 'config.json'), 'utf8').catch((error: unknown) => {
    throw new Error(
      `whisper-tiny.en config not found in ${configDir} (it ships in ../shared/models/whisper-tiny.en-config): ${String(error)}`,
    );
  });
  const config = {
    ...JSON.parse(baseConfig),
    ...SIZES[options.size],
    _name_or_path: `switchboard/whisper-${options.size}.en-random`,
  };
  const dims = config as WhisperDims;
  const onnxDir = path.join(options.out, 'onnx');
  await mkdir(onnxDir, { recursive: true });
  await writeFile(path.join(options.out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  for (const file of CONFIG_FILES) {
    // ../shared is read-only; the copies must stay writable so the next run can replace them.
    await copyFile(path.join(configDir, file), path.join(options.out, file));
    await chmod(path.join(options.out, file), 0o644);
  }

  const files: string[] = [];
  const seed = options.seed ?? 1;
  for (const dtype of options.dtypes ?? DTYPES) {
    const suffix = DTYPE_SUFFIX[dtype];
    // One seed per graph, shared across dtypes: every dtype is a quantization of the same weights.
    const encoder = path.join(onnxDir, `encoder_model${suffix}.onnx`);
    await writeFile(encoder, buildEncoder(dims, dtype, seed));
    const decoder = path.join(onnxDir, `decoder_model_merged${suffix}.onnx`);
    await writeFile(decoder, buildMergedDecoder(dims, dtype, seed + 1));
    files.push(encoder, decoder);
  }
  return { files };
}

function parseDtypes(value: string): Dtype[] {
  return value.split(',').map((dtype) => {
    if (!(DTYPES as string[]).includes(dtype)) throw new Error(`unknown dtype "${dtype}" (use ${DTYPES.join(', ')})`);
    return dtype as Dtype;
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: 'tiny' },
      out: { type: 'string' },
      dtypes: { type: 'string', default: DTYPES.join(',') },
      seed: { type: 'string', default: '1' },
      'config-dir': { type: 'string' },
    },
  });
  if (!values.out || !(values.size in SIZES)) {
    console.error(`usage: generate.ts --size ${Object.keys(SIZES).join('|')} --out DIR [--dtypes ${DTYPES.join(',')}]`);
    process.exit(2);
  }
  const { files } = await generateWhisperModel({
    size: values.size as Size,
    out: values.out,
    dtypes: parseDtypes(values.dtypes),
    seed: Number(values.seed),
    configDir: values['config-dir'],
  });
  for (const file of files) console.log(file);
}
