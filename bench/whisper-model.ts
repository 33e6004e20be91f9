import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableDtypes } from '../native/whisper/index.ts';
import { generateWhisperModel } from '../scripts/whisper-onnx/generate.ts';

/** The benchmarks' Whisper: whisper-tiny.en's architecture at its real size, random weights, in bench/.cache. */
export const modelsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '.cache');
export const MODEL = 'whisper-tiny-random';
export const DTYPE = { '8bit': 'q8', '4bit': 'q4', '16bit': 'fp16' } as const;

/** Generates the model on first use (a minute or so), with every quantization the benchmarks load. */
export async function ensureTinyModel(): Promise<void> {
  const dir = path.join(modelsDir, MODEL);
  const present = await availableDtypes(dir);
  if (Object.values(DTYPE).every((dtype) => present.includes(dtype))) return;
  console.log(`generating whisper-tiny-sized random model into ${dir} …`);
  await generateWhisperModel({ size: 'tiny', out: dir, dtypes: Object.values(DTYPE) });
}
