import { cp, mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import {
  findCatalogEntry,
  loadCatalog,
  type ModelCatalog,
  type ModelKind,
  type ModelVariant,
  parseQuantizationPreference,
  type QuantizationPreference,
  selectVariant,
} from './catalog.ts';
import { type DownloadProgress, downloadFile } from './download.ts';
import { LocalModelError } from './errors.ts';
import { hfBaseUrlFromEnv, resolveModelUri } from './hf-uri.ts';
import { assertGgufFile, assertOnnxFiles, assertWhisperFolder, sizeOnDisk } from './model-files.ts';

const manifestEntrySchema = z.object({
  id: z.string(),
  kind: z.enum(['llm', 'embedding', 'whisper', 'diarization']),
  /** Relative to the models dir. */
  path: z.string(),
  catalogId: z.string().optional(),
  quantisation: z.string().optional(),
  /** The URI it was pulled from or the path it was imported from. */
  origin: z.string(),
  installedAt: z.string(),
  /** Every file matched the sha256 its publisher lists (a pull); absent for imports and older installs. */
  verified: z.boolean().optional(),
});
const manifestSchema = z.object({ version: z.literal(1), models: z.array(manifestEntrySchema) });
type ManifestEntry = z.infer<typeof manifestEntrySchema>;

export interface InstalledModel {
  id: string;
  kind: ModelKind;
  /** Absolute path: a .gguf file, or a Whisper folder. */
  path: string;
  sizeBytes: number;
  catalogId?: string;
  quantisation?: string;
  /** Where it came from; absent for a GGUF dropped into the folder by hand. */
  origin?: string;
  /** Pulled from the catalog and every file matched its published sha256. */
  verified?: boolean;
}

export interface PullProgress extends DownloadProgress {
  model: string;
  fileIndex: number;
  fileCount: number;
}

export interface PullOptions {
  /** A quantisation name of the catalog entry (Q8_0, fp16…); overrides the preference. */
  quantisation?: string;
  signal?: AbortSignal;
  onProgress?: (progress: PullProgress) => void;
  retries?: number;
}

export interface ImportOptions {
  id?: string;
  /** Copy into the models dir (default) or link to the original. */
  mode?: 'copy' | 'link';
  /** For a GGUF: chat model (default) or embedding model. */
  kind?: 'llm' | 'embedding';
}

export interface ModelStoreOptions {
  modelsDir: string;
  catalog?: ModelCatalog;
  /** Base URL hf: URIs resolve against (default HF_ENDPOINT or huggingface.co). */
  hfBaseUrl?: string;
  /** Default LOCAL_QUANTIZATION, else 4bit. */
  quantization?: QuantizationPreference;
  env?: NodeJS.ProcessEnv;
}

const GGUF_DIR = 'gguf';

async function fileSize(path: string): Promise<number | undefined> {
  const info = await stat(path).catch(() => undefined);
  return info?.isFile() ? info.size : undefined;
}
const WHISPER_DIR = 'whisper';
const DIARIZATION_DIR = 'diarization';
const MANIFEST = 'installed.json';
/** A Whisper pull fills this folder and is renamed to the model's own once every file is there and checked. */
const PARTIAL_SUFFIX = '.partial';

/** Whether a folder or file someone put in the models dir is a complete model (half-pulled ones are not). */
async function isComplete(path: string, kind: ModelKind): Promise<boolean> {
  return (kind === 'whisper' ? assertWhisperFolder(path) : assertGgufFile(path)).then(
    () => true,
    () => false,
  );
}

function installedFrom(entry: ManifestEntry, path: string, sizeBytes: number): InstalledModel {
  return {
    id: entry.id,
    kind: entry.kind,
    path,
    sizeBytes,
    origin: entry.origin,
    ...(entry.catalogId ? { catalogId: entry.catalogId } : {}),
    ...(entry.quantisation ? { quantisation: entry.quantisation } : {}),
    ...(entry.verified ? { verified: true } : {}),
  };
}

/**
 * The models on this machine, under one folder: `gguf/` (chat and embedding models), `whisper/<id>/`
 * (transformers.js layout) and `installed.json` (what came from where). A GGUF dropped into `gguf/`
 * by hand counts as installed under its file name.
 */
export class ModelStore {
  readonly modelsDir: string;
  readonly catalog: ModelCatalog;
  private readonly hfBaseUrl: string;
  private readonly quantization: QuantizationPreference;
  private manifestWrite: Promise<unknown> = Promise.resolve();

  constructor(options: ModelStoreOptions) {
    const env = options.env ?? process.env;
    this.modelsDir = resolve(options.modelsDir);
    this.catalog = options.catalog ?? loadCatalog();
    this.hfBaseUrl = options.hfBaseUrl ?? hfBaseUrlFromEnv(env);
    this.quantization = options.quantization ?? parseQuantizationPreference(env.LOCAL_QUANTIZATION);
  }

  /** Where speaker-diarization models live, one folder each (native/diarization's modelsDir). */
  get diarizationDir(): string {
    return join(this.modelsDir, DIARIZATION_DIR);
  }

  /** The folder transformers.js should treat as its local model root for Whisper models. */
  get whisperDir(): string {
    return join(this.modelsDir, WHISPER_DIR);
  }

  /**
   * The complete models on this machine: what pulls and imports recorded, and what was put into the
   * folders by hand. A half-pulled Whisper folder, a partial download or a file that is not a model is
   * not listed (a pull in progress or cut short fills a `.partial` folder or a `.part` file).
   */
  async list(): Promise<InstalledModel[]> {
    const manifest = await this.readManifest();
    const listed = new Set(manifest.map((entry) => resolve(this.modelsDir, entry.path)));
    const models: InstalledModel[] = [];
    for (const entry of manifest) {
      const path = resolve(this.modelsDir, entry.path);
      const sizeBytes = await sizeOnDisk(path).catch(() => undefined);
      if (sizeBytes === undefined) continue; // deleted behind our back
      models.push(installedFrom(entry, path, sizeBytes));
    }
    for (const name of await readdir(join(this.modelsDir, GGUF_DIR)).catch(() => [] as string[])) {
      const path = join(this.modelsDir, GGUF_DIR, name);
      if (!name.endsWith('.gguf') || listed.has(path) || !(await isComplete(path, 'llm'))) continue;
      models.push({ id: name.slice(0, -'.gguf'.length), kind: 'llm', path, sizeBytes: await sizeOnDisk(path) });
    }
    for (const name of await readdir(this.whisperDir).catch(() => [] as string[])) {
      const path = join(this.whisperDir, name);
      if (listed.has(path) || name.startsWith('.') || name.endsWith(PARTIAL_SUFFIX)) continue;
      if (!(await isComplete(path, 'whisper'))) continue;
      models.push({ id: name, kind: 'whisper', path, sizeBytes: await sizeOnDisk(path) });
    }
    return models.sort((a, b) => a.id.localeCompare(b.id));
  }

  async find(id: string): Promise<InstalledModel | undefined> {
    const models = await this.list();
    return models.find((model) => model.id === id) ?? models.find((model) => basename(model.path) === id);
  }

  /**
   * A GGUF to load for a model id: an installed model's id or file name, or an absolute .gguf path.
   * Says how to install it when it is not there.
   */
  async resolveGguf(idOrPath: string): Promise<InstalledModel> {
    // Called for every chat: a few targeted stats instead of a full listing. A file that is not
    // really a GGUF is refused when the pool reads its header.
    if (isAbsolute(idOrPath)) {
      const sizeBytes = await fileSize(idOrPath);
      if (sizeBytes === undefined)
        throw new LocalModelError('MODEL_NOT_INSTALLED', `there is no model file at ${idOrPath}`);
      return { id: idOrPath, kind: 'llm', path: idOrPath, sizeBytes, origin: idOrPath };
    }
    const entry = (await this.readManifest()).find((item) => item.id === idOrPath && item.kind !== 'whisper');
    if (entry) {
      const path = resolve(this.modelsDir, entry.path);
      const sizeBytes = await fileSize(path);
      if (sizeBytes !== undefined) return installedFrom(entry, path, sizeBytes);
    }
    for (const name of [idOrPath, `${idOrPath}.gguf`]) {
      if (!name.endsWith('.gguf') || name.includes('/')) continue;
      const path = join(this.modelsDir, GGUF_DIR, name);
      const sizeBytes = await fileSize(path);
      if (sizeBytes !== undefined) return { id: name.slice(0, -'.gguf'.length), kind: 'llm', path, sizeBytes };
    }
    throw new LocalModelError('MODEL_NOT_INSTALLED', this.installHint(idOrPath));
  }

  /** What to tell a person whose model is missing. */
  installHint(id: string): string {
    const [catalogId] = id.split(':') as [string];
    if (findCatalogEntry(this.catalog, catalogId)) {
      return `model ${id} is not installed; run \`switchboard models pull ${id}\``;
    }
    return `model ${id} is not installed and not in the catalog; \`switchboard models catalog\` lists the models to pull, or run \`switchboard models import /path/to/model.gguf\``;
  }

  /** The catalog variant a pull of `id[:QUANT]` would download. */
  variantFor(spec: string, quantisation?: string): ModelVariant {
    const [id, quantFromSpec] = spec.split(':') as [string, string | undefined];
    const entry = findCatalogEntry(this.catalog, id);
    if (!entry) {
      throw new LocalModelError(
        'NOT_FOUND',
        `${id} is not in the model catalog; \`switchboard models catalog\` lists the models to pull`,
      );
    }
    return selectVariant(entry, { quantisation: quantisation ?? quantFromSpec, preference: this.quantization });
  }

  /**
   * Downloads a catalog model (`id` or `id:QUANT`), resuming earlier partial downloads. Each file with a
   * published sha256 is checked against it (a mismatch deletes the file and says so); the model is listed
   * only once complete.
   */
  async pull(spec: string, options: PullOptions = {}): Promise<InstalledModel> {
    const variant = this.variantFor(spec, options.quantisation);
    const { entry } = variant;
    // Whisper and diarization models are folders of several files, chat and embedding models one GGUF. A
    // folder fills up beside its final place and moves there when complete, so a half-pulled one is never listed.
    const folder =
      entry.kind === 'whisper' ? this.whisperDir : entry.kind === 'diarization' ? this.diarizationDir : undefined;
    const installPath = folder ? join(folder, entry.id) : join(this.modelsDir, GGUF_DIR, variant.files[0]!.path);
    const fillPath = folder ? `${installPath}${PARTIAL_SUFFIX}` : installPath;
    const fileCount = variant.files.length;
    for (const [fileIndex, file] of variant.files.entries()) {
      const destination = folder ? join(fillPath, file.path) : fillPath;
      // Files already complete from an earlier, interrupted pull of the folder stay.
      if (fileCount > 1 && (await sizeOnDisk(destination).catch(() => undefined)) !== undefined) continue;
      await downloadFile({
        url: resolveModelUri(file.uri, this.hfBaseUrl),
        destination,
        sha256: file.sha256,
        signal: options.signal,
        retries: options.retries,
        onProgress:
          options.onProgress && ((p) => options.onProgress?.({ ...p, model: entry.id, fileIndex, fileCount })),
      });
    }
    if (entry.kind === 'whisper') await assertWhisperFolder(fillPath);
    else if (entry.kind === 'diarization')
      await assertOnnxFiles(variant.files.map((file) => join(fillPath, file.path)));
    else await assertGgufFile(installPath);
    if (folder) {
      await rm(installPath, { recursive: true, force: true });
      await rename(fillPath, installPath);
    }
    const previous = (await this.readManifest()).find((item) => item.id === entry.id);
    if (previous && resolve(this.modelsDir, previous.path) !== installPath) {
      await rm(resolve(this.modelsDir, previous.path), { recursive: true, force: true });
    }
    await this.record({
      id: entry.id,
      kind: entry.kind,
      path: relative(this.modelsDir, installPath),
      catalogId: entry.id,
      quantisation: variant.quantisation,
      origin: entry.kind === 'whisper' ? entry.repo : variant.files[0]!.uri,
      installedAt: new Date().toISOString(),
      verified: variant.files.every((file) => file.sha256 !== undefined),
    });
    return (await this.find(entry.id))!;
  }

  /** Adds a GGUF file or a Whisper folder from disk. */
  async importPath(source: string, options: ImportOptions = {}): Promise<InstalledModel> {
    const from = resolve(source);
    const info = await stat(from).catch(() => undefined);
    if (!info) throw new LocalModelError('NOT_FOUND', `${from} does not exist`);
    const isWhisper = info.isDirectory();
    if (isWhisper) await assertWhisperFolder(from);
    else await assertGgufFile(from);
    const name = basename(from);
    const id = options.id ?? (isWhisper ? name : name.replace(/\.gguf$/i, ''));
    if (await this.find(id)) {
      throw new LocalModelError(
        'INVALID_REQUEST',
        `a model named ${id} is already installed; remove it first or pick another id`,
      );
    }
    const destination = isWhisper ? join(this.whisperDir, id) : join(this.modelsDir, GGUF_DIR, `${id}.gguf`);
    await mkdir(resolve(destination, '..'), { recursive: true });
    if (options.mode === 'link') {
      await symlink(from, destination, isWhisper ? 'dir' : 'file');
    } else {
      // Copy beside the destination, then rename, so a half-copied model never looks installed.
      const staging = `${destination}.importing`;
      await rm(staging, { recursive: true, force: true });
      await cp(from, staging, { recursive: true });
      await rename(staging, destination);
    }
    await this.record({
      id,
      kind: isWhisper ? 'whisper' : (options.kind ?? 'llm'),
      path: relative(this.modelsDir, destination),
      origin: from,
      installedAt: new Date().toISOString(),
    });
    return (await this.find(id))!;
  }

  /** Deletes an installed model (a linked import loses only its link). */
  async remove(id: string): Promise<InstalledModel> {
    const model = await this.find(id);
    if (!model)
      throw new LocalModelError(
        'NOT_FOUND',
        `no installed model is called ${id}; \`switchboard models list\` shows them`,
      );
    await rm(model.path, { recursive: true, force: true });
    await this.updateManifest((models) => models.filter((entry) => resolve(this.modelsDir, entry.path) !== model.path));
    return model;
  }

  private async readManifest(): Promise<ManifestEntry[]> {
    let text: string;
    try {
      text = await readFile(join(this.modelsDir, MANIFEST), 'utf8');
    } catch {
      return [];
    }
    const parsed = manifestSchema.safeParse(JSON.parse(text));
    if (!parsed.success) {
      throw new LocalModelError(
        'INTERNAL',
        `${join(this.modelsDir, MANIFEST)} is damaged: ${z.prettifyError(parsed.error)}`,
      );
    }
    return parsed.data.models;
  }

  private record(entry: ManifestEntry): Promise<void> {
    return this.updateManifest((models) => [...models.filter((item) => item.id !== entry.id), entry]);
  }

  /** Serialises manifest updates in this process and writes atomically (temp file + rename). */
  private updateManifest(change: (models: ManifestEntry[]) => ManifestEntry[]): Promise<void> {
    const next = this.manifestWrite.then(async () => {
      const models = change(await this.readManifest());
      await mkdir(this.modelsDir, { recursive: true });
      const file = join(this.modelsDir, MANIFEST);
      await writeFile(`${file}.tmp`, `${JSON.stringify({ version: 1, models }, null, 2)}\n`);
      await rename(`${file}.tmp`, file);
    });
    this.manifestWrite = next.catch(() => undefined);
    return next;
  }
}
