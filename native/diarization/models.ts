import { access, readdir } from 'node:fs/promises';
import path from 'node:path';
import { DIARIZATION_FILE_NAMES } from '../models/catalog.ts';
import { DiarizationError } from './errors.ts';

/** A diarization model folder holds the two ONNX files sherpa-onnx runs, under these names. */
const DIARIZATION_FILES = DIARIZATION_FILE_NAMES;

export interface DiarizationModel {
  id: string;
  segmentation: string;
  embedding: string;
}

async function inspect(dir: string): Promise<DiarizationModel | null> {
  const segmentation = path.join(dir, DIARIZATION_FILES.segmentation);
  const embedding = path.join(dir, DIARIZATION_FILES.embedding);
  const present = await Promise.all(
    [segmentation, embedding].map((file) =>
      access(file).then(
        () => true,
        () => false,
      ),
    ),
  );
  return present.every(Boolean) ? { id: path.basename(dir), segmentation, embedding } : null;
}

/** Diarization models under modelsDir: one folder each, named by its id. */
export async function listDiarizationModels(modelsDir: string): Promise<DiarizationModel[]> {
  const entries = await readdir(modelsDir, { withFileTypes: true }).catch(() => []);
  const folders = entries
    .filter((entry) => entry.isDirectory() || entry.isSymbolicLink())
    .map((entry) => path.join(modelsDir, entry.name));
  const models = await Promise.all(folders.map(inspect));
  return models.filter((model): model is DiarizationModel => model !== null).sort((a, b) => a.id.localeCompare(b.id));
}

/** A model by id, or the first installed when none is named. */
export async function resolveDiarizationModel(modelsDir: string, requested?: string): Promise<DiarizationModel> {
  if (!requested) {
    const [first] = await listDiarizationModels(modelsDir);
    if (!first) {
      throw new DiarizationError(
        'MODEL_NOT_INSTALLED',
        'no speaker model is installed; run `switchboard models pull speakers-pyannote-wespeaker` (or download it on the Models page)',
      );
    }
    return first;
  }
  const model = await inspect(path.join(modelsDir, requested));
  if (!model) {
    throw new DiarizationError(
      'MODEL_NOT_INSTALLED',
      `speaker model "${requested}" is not installed (no ${DIARIZATION_FILES.segmentation} and ${DIARIZATION_FILES.embedding} in ${path.join(modelsDir, requested)})`,
    );
  }
  return model;
}
