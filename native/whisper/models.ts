import { access, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { TranscriptionError } from './errors.ts';
import type { Quantization } from './types.ts';

/** transformers.js dtypes and the file suffix it loads for each (its DEFAULT_DTYPE_SUFFIX_MAPPING). */
export const DTYPE_SUFFIX = { fp32: '', fp16: '_fp16', q8: '_quantized', q4: '_q4' } as const;
export type Dtype = keyof typeof DTYPE_SUFFIX;

const DTYPE_FOR: Record<Quantization, Dtype> = { '4bit': 'q4', '8bit': 'q8', '16bit': 'fp16' };
/** When the asked-for weights are missing: the usual size/speed trade-off on CPU, best first. */
const FALLBACK_ORDER: Dtype[] = ['q8', 'fp32', 'fp16', 'q4'];
const SESSIONS = ['encoder_model', 'decoder_model_merged'] as const;

export interface InstalledModel {
  id: string;
  dir: string;
  dtypes: Dtype[];
}

/** The dtypes whose encoder and merged decoder are both present in `dir/onnx`. */
export async function availableDtypes(dir: string): Promise<Dtype[]> {
  const present = async (dtype: Dtype) => {
    const files = SESSIONS.map((name) => path.join(dir, 'onnx', `${name}${DTYPE_SUFFIX[dtype]}.onnx`));
    return (
      await Promise.all(
        files.map((file) =>
          access(file).then(
            () => true,
            () => false,
          ),
        ),
      )
    ).every(Boolean);
  };
  const dtypes = Object.keys(DTYPE_SUFFIX) as Dtype[];
  const flags = await Promise.all(dtypes.map(present));
  return dtypes.filter((_, i) => flags[i]);
}

async function inspect(dir: string): Promise<InstalledModel | null> {
  const config = await readFile(path.join(dir, 'config.json'), 'utf8').then(
    (text) => JSON.parse(text) as { model_type?: string },
    () => null,
  );
  if (config?.model_type !== 'whisper') return null;
  const dtypes = await availableDtypes(dir);
  return dtypes.length > 0 ? { id: path.basename(dir), dir, dtypes } : null;
}

/** Whisper models under modelsDir: one folder each, named by its id. */
export async function listInstalledModels(modelsDir: string): Promise<InstalledModel[]> {
  const entries = await readdir(modelsDir, { withFileTypes: true }).catch(() => []);
  // Linked folders count too: `switchboard models import --link` installs a model as a symlink.
  const folders = entries
    .filter((entry) => entry.isDirectory() || entry.isSymbolicLink())
    .map((entry) => path.join(modelsDir, entry.name));
  const models = await Promise.all(folders.map(inspect));
  return models.filter((model): model is InstalledModel => model !== null).sort((a, b) => a.id.localeCompare(b.id));
}

/** A model id (folder under modelsDir), an absolute model folder, or — when none is named — the first installed. */
export async function resolveModel(modelsDir: string, requested?: string): Promise<InstalledModel> {
  if (!requested) {
    const [first] = await listInstalledModels(modelsDir);
    if (!first) {
      throw new TranscriptionError(
        'MODEL_NOT_INSTALLED',
        `no Whisper model is installed in ${modelsDir}; download one from the Models page`,
      );
    }
    return first;
  }
  const dir = path.isAbsolute(requested) ? requested : path.join(modelsDir, requested);
  const model = await inspect(dir);
  if (!model) {
    throw new TranscriptionError(
      'MODEL_NOT_INSTALLED',
      `Whisper model "${requested}" is not installed (no Whisper config.json with onnx/encoder_model*.onnx and ` +
        `onnx/decoder_model_merged*.onnx in ${dir}); download it from the Models page or choose another model`,
    );
  }
  return model;
}

/** The dtype for a quantization setting, falling back to what the folder holds. */
export function chooseDtype(model: InstalledModel, quantization: Quantization = '8bit'): Dtype {
  const wanted = DTYPE_FOR[quantization];
  if (model.dtypes.includes(wanted)) return wanted;
  return FALLBACK_ORDER.find((dtype) => model.dtypes.includes(dtype))!;
}
