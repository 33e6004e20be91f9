/**
 * Writes a speaker-diarization model pair with the exact interface sherpa-onnx runs: a segmentation
 * model shaped like pyannote segmentation-3.0 (10 s of 16 kHz audio in, 589 frames × 7 powerset
 * classes out, the same metadata) and a speaker-embedding model shaped like WeSpeaker's (80-bin fbank
 * frames in, one vector out). Real weights cannot be downloaded on the build machines, and random ones
 * would find no speakers at all, so these are designed rather than trained:
 *
 * - segmentation: two band-pass filters (BAND_A and BAND_B), frame energies over pyannote's receptive
 *   field (991 samples every 270), and "speaker 0" where band A is loudest, "speaker 1" where band B
 *   is, "nobody" under SILENCE_DB. Audio whose "voices" are tones in those bands is segmented right.
 * - embedding: the mean log-mel spectrum of the speech given, minus its own mean, so two voices with
 *   different spectra point different ways (what clustering needs), whatever their loudness.
 *
 * They exercise everything around the models (download, layout, sherpa-onnx's windows, embeddings,
 * clustering, turns → transcript speakers); they say nothing about how well real models diarize.
 *   npx node scripts/diarization-onnx/generate.ts OUT_DIR
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelBuilder } from '../whisper-onnx/graph.ts';
import { DataType, encodeModel, valueInfo } from '../whisper-onnx/onnx.ts';

const SAMPLE_RATE = 16_000;
/** pyannote segmentation-3.0's geometry, as sherpa-onnx reads it from the model's metadata. */
export const SEGMENTATION_METADATA = {
  sample_rate: SAMPLE_RATE,
  window_size: 160_000,
  receptive_field_size: 991,
  receptive_field_shift: 270,
  num_speakers: 3,
  powerset_max_classes: 2,
  num_classes: 7,
} as const;
export const EMBEDDING_DIM = 80;
/** The two "voices" the segmentation model tells apart, in Hz. */
export const BAND_A = [120, 320] as const;
export const BAND_B = [600, 1000] as const;
const SILENCE_DB = -45;
const TAPS = 255;
const OPSET = 17;

/** A Hamming-windowed sinc band-pass filter, unit gain in the pass band. */
function bandPass([low, high]: readonly [number, number]): Float32Array {
  const taps = new Float32Array(TAPS);
  const middle = (TAPS - 1) / 2;
  const sinc = (x: number) => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x));
  for (let n = 0; n < TAPS; n++) {
    const t = n - middle;
    const ideal =
      ((2 * high) / SAMPLE_RATE) * sinc((2 * high * t) / SAMPLE_RATE) -
      ((2 * low) / SAMPLE_RATE) * sinc((2 * low * t) / SAMPLE_RATE);
    taps[n] = ideal * (0.54 - 0.46 * Math.cos((2 * Math.PI * n) / (TAPS - 1)));
  }
  return taps;
}

export function buildSegmentationModel(): Uint8Array {
  const model = new ModelBuilder(1);
  const g = model.main;
  const { receptive_field_size: field, receptive_field_shift: shift, num_classes: classes } = SEGMENTATION_METADATA;
  const filters = new Float32Array(2 * TAPS);
  filters.set(bandPass(BAND_A), 0);
  filters.set(bandPass(BAND_B), TAPS);
  const weights = model.initializer('bands', DataType.FLOAT, [2, 1, TAPS], filters);
  const half = (TAPS - 1) / 2;
  // (N, 1, T) → (N, 2, T): the two bands, same length as the input.
  const banded = g.op1('Conv', ['x', weights], { pads: [half, half], kernel_shape: [TAPS] });
  const power = g.op1('Mul', [banded, banded]);
  // (N, 2, 589): mean power over each receptive field.
  const framed = g.op1('AveragePool', [power], { kernel_shape: [field], strides: [shift] });
  const decibels = g.op1('Mul', [
    g.op1('Log', [g.op1('Add', [framed, model.initializer('floor', DataType.FLOAT, [], Float32Array.of(1e-10))])]),
    model.initializer('to_db', DataType.FLOAT, [], Float32Array.of(10 / Math.LN10)),
  ]);
  const perFrame = g.op1('Transpose', [decibels], { perm: [0, 2, 1] });
  // Scores: nobody = the silence level, speaker 0 = band A, speaker 1 = band B, the other classes never.
  const toClasses = new Float32Array(2 * classes);
  toClasses[1] = 1; // band A → class 1 ({speaker 0})
  toClasses[classes + 2] = 1; // band B → class 2 ({speaker 1})
  const bias = new Float32Array(classes).fill(-1000);
  bias[0] = SILENCE_DB;
  bias[1] = 0;
  bias[2] = 0;
  const scores = g.op1('Add', [
    g.op1('MatMul', [perFrame, model.initializer('to_classes', DataType.FLOAT, [2, classes], toClasses)]),
    model.initializer('class_bias', DataType.FLOAT, [classes], bias),
  ]);
  g.rename(scores, 'y');
  const graph = g.toGraph(
    'segmentation',
    [valueInfo('x', DataType.FLOAT, ['N', 1, 'T'])],
    [valueInfo('y', DataType.FLOAT, ['N', 'frames', classes])],
    model.initializers,
  );
  return encodeModel(graph, { '': OPSET }, SEGMENTATION_METADATA);
}

export function buildEmbeddingModel(): Uint8Array {
  const model = new ModelBuilder(2);
  const g = model.main;
  // (1, frames, 80) log-mel → (1, 80): the voice's average spectrum, without its overall level.
  const spectrum = g.op1('ReduceMean', ['feats'], { axes: [1], keepdims: 0 });
  const level = g.op1('ReduceMean', [spectrum], { axes: [1], keepdims: 1 });
  g.rename(g.op1('Sub', [spectrum, level]), 'embs');
  const graph = g.toGraph(
    'embedding',
    [valueInfo('feats', DataType.FLOAT, ['N', 'T', EMBEDDING_DIM])],
    [valueInfo('embs', DataType.FLOAT, ['N', EMBEDDING_DIM])],
    model.initializers,
  );
  return encodeModel(
    graph,
    { '': OPSET },
    {
      framework: 'wespeaker',
      output_dim: EMBEDDING_DIM,
      sample_rate: SAMPLE_RATE,
      normalize_samples: 1,
      language: 'English',
    },
  );
}

/** Writes segmentation.onnx and embedding.onnx (the diarization model folder's layout) into `dir`. */
export async function generateDiarizationModels(dir: string): Promise<{ segmentation: string; embedding: string }> {
  await mkdir(dir, { recursive: true });
  const segmentation = join(dir, 'segmentation.onnx');
  const embedding = join(dir, 'embedding.onnx');
  await writeFile(segmentation, buildSegmentationModel());
  await writeFile(embedding, buildEmbeddingModel());
  return { segmentation, embedding };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [out] = process.argv.slice(2);
  if (!out) throw new Error('usage: npx node scripts/diarization-onnx/generate.ts OUT_DIR');
  const files = await generateDiarizationModels(out);
  process.stdout.write(`${files.segmentation}\n${files.embedding}\n`);
}
