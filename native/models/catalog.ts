import { readFileSync } from 'node:fs';
import { z } from 'zod';
import shippedCatalogJson from '../../resources/model-catalog.json' with { type: 'json' };
import { LocalModelError } from './errors.ts';

const positiveBytes = z.number().int().positive();
const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lowercase hex digits');
/** hf:<owner>/<repo>, optionally pinned to a revision (@<commit>), then the file path where a file is named. */
const hfUriSchema = z
  .string()
  .regex(/^hf:[^/\s@]+\/[^/\s@]+(@[0-9a-zA-Z._-]+)?/, 'expected hf:<owner>/<repo>[@<revision>]…');

const commonFields = {
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'ids are lowercase letters, digits, dot, dash, underscore'),
  family: z.string().min(1),
  name: z.string().min(1),
  /** Parameter count. */
  parameters: z.number().positive(),
  licence: z.string().min(1),
  /** Where the model comes from (the upstream model page). */
  source: z.url(),
  /** A tiny model for smoke tests: listed and pullable, never recommended. */
  testOnly: z.boolean().optional(),
};

const ggufQuantisationSchema = z.object({
  name: z.string().min(1),
  bits: z.number().int().positive(),
  /** hf:<owner>/<repo>/<path in repo> */
  uri: hfUriSchema,
  sizeBytes: positiveBytes,
  sha256: sha256Schema.optional(),
  ramBytes: positiveBytes,
  vramBytes: positiveBytes,
});

const whisperQuantisationSchema = z.object({
  /** transformers.js dtype. */
  name: z.enum(['q4', 'q8', 'fp16', 'fp32']),
  bits: z.number().int().positive(),
  sizeBytes: positiveBytes,
  ramBytes: positiveBytes,
  vramBytes: positiveBytes,
});

const modelFileSchema = z.object({ uri: hfUriSchema, sizeBytes: positiveBytes, sha256: sha256Schema.optional() });

const diarizationQuantisationSchema = z.object({
  name: z.string().min(1),
  bits: z.number().int().positive(),
  /** A pyannote segmentation model (sherpa-onnx export), installed as segmentation.onnx. */
  segmentation: modelFileSchema,
  /** A speaker-embedding model (WeSpeaker, 3D-Speaker; sherpa-onnx export), installed as embedding.onnx. */
  embedding: modelFileSchema,
  ramBytes: positiveBytes,
  vramBytes: positiveBytes,
});

const catalogEntrySchema = z.discriminatedUnion('kind', [
  z.object({
    ...commonFields,
    kind: z.literal('llm'),
    contextWindow: z.number().int().positive(),
    quantisations: z.array(ggufQuantisationSchema).min(1),
  }),
  z.object({
    ...commonFields,
    kind: z.literal('embedding'),
    contextWindow: z.number().int().positive(),
    dimensions: z.number().int().positive(),
    quantisations: z.array(ggufQuantisationSchema).min(1),
  }),
  z.object({
    ...commonFields,
    kind: z.literal('whisper'),
    englishOnly: z.boolean(),
    /** hf:<owner>/<repo> holding the transformers.js layout (config files at the root, onnx/ weights). */
    repo: hfUriSchema,
    quantisations: z.array(whisperQuantisationSchema).min(1),
  }),
  z.object({
    ...commonFields,
    kind: z.literal('diarization'),
    quantisations: z.array(diarizationQuantisationSchema).min(1),
  }),
]);

export const modelCatalogSchema = z.object({
  version: z.literal(1),
  note: z.string().optional(),
  models: z.array(catalogEntrySchema).min(1),
});

export type ModelCatalog = z.infer<typeof modelCatalogSchema>;
export type CatalogEntry = z.infer<typeof catalogEntrySchema>;
export type ModelKind = CatalogEntry['kind'];

/** One file of a model variant: where to fetch it and where it lands inside the model's install. */
export interface ModelFile {
  uri: string;
  /** Path relative to the install location (the file name for GGUFs; a path inside the folder for Whisper). */
  path: string;
  sizeBytes?: number;
  sha256?: string;
}

/** One downloadable variant of a catalog model, with everything a download needs. */
export interface ModelVariant {
  entry: CatalogEntry;
  quantisation: string;
  bits: number;
  files: ModelFile[];
  sizeBytes: number;
  ramBytes: number;
  vramBytes: number;
}

export const QUANTIZATION_PREFERENCES = ['4bit', '8bit', '16bit'] as const;
export type QuantizationPreference = (typeof QUANTIZATION_PREFERENCES)[number];

export function parseQuantizationPreference(value: string | undefined): QuantizationPreference {
  const wanted = (value ?? '4bit').trim().toLowerCase() || '4bit';
  if ((QUANTIZATION_PREFERENCES as readonly string[]).includes(wanted)) return wanted as QuantizationPreference;
  throw new LocalModelError(
    'INVALID_REQUEST',
    `LOCAL_QUANTIZATION=${value} is not one of ${QUANTIZATION_PREFERENCES.join('|')}`,
  );
}

/**
 * The catalog the app ships, a JSON module: bundled into the desktop app's code (a file path next to
 * the sources would not exist in the packed app).
 */
export function shippedCatalog(): ModelCatalog {
  return parseCatalog(shippedCatalogJson, 'the shipped model catalog (resources/model-catalog.json)');
}

/** Reads and validates a catalog file (the shipped one unless named). */
export function loadCatalog(path?: string): ModelCatalog {
  if (path === undefined) return shippedCatalog();
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new LocalModelError('INTERNAL', `the model catalog ${path} could not be read: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseCatalog(raw, path);
}

export function parseCatalog(raw: unknown, origin = 'the model catalog'): ModelCatalog {
  const parsed = modelCatalogSchema.safeParse(raw);
  if (!parsed.success) {
    throw new LocalModelError('INTERNAL', `${origin} is invalid: ${z.prettifyError(parsed.error)}`);
  }
  const seen = new Set<string>();
  for (const model of parsed.data.models) {
    if (seen.has(model.id)) throw new LocalModelError('INTERNAL', `${origin} lists ${model.id} twice`);
    seen.add(model.id);
  }
  return parsed.data;
}

export function findCatalogEntry(catalog: ModelCatalog, id: string): CatalogEntry | undefined {
  const wanted = id.toLowerCase();
  return catalog.models.find((model) => model.id === wanted);
}

/** The files transformers.js reads for Whisper, besides the ONNX weights. */
export const WHISPER_CONFIG_FILES = [
  'config.json',
  'generation_config.json',
  'preprocessor_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
] as const;

/** The names a diarization model's two files get in its folder (what native/diarization looks for). */
export const DIARIZATION_FILE_NAMES = { segmentation: 'segmentation.onnx', embedding: 'embedding.onnx' } as const;

/** transformers.js names weight files by dtype with these suffixes. */
const WHISPER_DTYPE_SUFFIX: Record<string, string> = { fp32: '', fp16: '_fp16', q8: '_quantized', q4: '_q4' };

export function whisperWeightFiles(dtype: string): string[] {
  const suffix = WHISPER_DTYPE_SUFFIX[dtype];
  if (suffix === undefined) throw new LocalModelError('INVALID_REQUEST', `unknown Whisper dtype ${dtype}`);
  return [`onnx/encoder_model${suffix}.onnx`, `onnx/decoder_model_merged${suffix}.onnx`];
}

/**
 * Picks a variant: the named quantisation, else the preferred bit width, else the widest one below
 * it (smaller files, still fits), else the narrowest one above.
 */
export function selectVariant(
  entry: CatalogEntry,
  options: { quantisation?: string; preference?: QuantizationPreference } = {},
): ModelVariant {
  const quants: { name: string; bits: number }[] = entry.quantisations;
  let chosen: { name: string; bits: number } | undefined;
  if (options.quantisation) {
    chosen = quants.find((q) => q.name.toLowerCase() === options.quantisation?.toLowerCase());
    if (!chosen) {
      throw new LocalModelError(
        'NOT_FOUND',
        `${entry.id} has no ${options.quantisation} variant; it has ${quants.map((q) => q.name).join(', ')}`,
      );
    }
  } else {
    const bits = Number.parseInt(options.preference ?? '4bit', 10);
    const below = quants.filter((q) => q.bits <= bits).sort((a, b) => b.bits - a.bits);
    const above = quants.filter((q) => q.bits > bits).sort((a, b) => a.bits - b.bits);
    chosen = below[0] ?? above[0];
  }
  if (!chosen) throw new LocalModelError('INTERNAL', `${entry.id} lists no quantisations`);
  return variantOf(entry, chosen.name);
}

function variantOf(entry: CatalogEntry, quantisation: string): ModelVariant {
  if (entry.kind === 'whisper') {
    const q = entry.quantisations.find((item) => item.name === quantisation)!;
    const files: ModelFile[] = [...WHISPER_CONFIG_FILES, ...whisperWeightFiles(q.name)].map((path) => ({
      uri: `${entry.repo}/${path}`,
      path,
    }));
    return { entry, quantisation: q.name, bits: q.bits, files, ...sizes(q) };
  }
  if (entry.kind === 'diarization') {
    const q = entry.quantisations.find((item) => item.name === quantisation)!;
    const files: ModelFile[] = (['segmentation', 'embedding'] as const).map((role) => ({
      uri: q[role].uri,
      path: DIARIZATION_FILE_NAMES[role],
      sizeBytes: q[role].sizeBytes,
      ...(q[role].sha256 ? { sha256: q[role].sha256 } : {}),
    }));
    const sizeBytes = q.segmentation.sizeBytes + q.embedding.sizeBytes;
    return {
      entry,
      quantisation: q.name,
      bits: q.bits,
      files,
      sizeBytes,
      ramBytes: q.ramBytes,
      vramBytes: q.vramBytes,
    };
  }
  const q = entry.quantisations.find((item) => item.name === quantisation)!;
  const fileName = q.uri.split('/').pop()!;
  const file: ModelFile = {
    uri: q.uri,
    path: fileName,
    sizeBytes: q.sizeBytes,
    ...(q.sha256 ? { sha256: q.sha256 } : {}),
  };
  return { entry, quantisation: q.name, bits: q.bits, files: [file], ...sizes(q) };
}

function sizes(q: { sizeBytes: number; ramBytes: number; vramBytes: number }) {
  return { sizeBytes: q.sizeBytes, ramBytes: q.ramBytes, vramBytes: q.vramBytes };
}

/** Every variant of every model of a kind, e.g. for recommend(). */
export function allVariants(catalog: ModelCatalog, kind?: ModelKind): ModelVariant[] {
  return catalog.models
    .filter((entry) => kind === undefined || entry.kind === kind)
    .flatMap((entry) => entry.quantisations.map((q: { name: string }) => variantOf(entry, q.name)));
}
