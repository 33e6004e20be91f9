import os from 'node:os';
import type {
  GgufInsights,
  Llama,
  LlamaContext,
  LlamaContextSequence,
  LlamaEmbeddingContext,
  LlamaModel,
} from 'node-llama-cpp';
import { getLlamaHost, type LlamaHost, nodeLlamaCpp } from '../gpu/llama-host.ts';
import { cancelledError, LocalModelError } from '../models/errors.ts';

export interface ModelPoolOptions {
  /** The shared llama.cpp host (device, threads, GPU→CPU fallback). Default: getLlamaHost(). */
  host?: LlamaHost;
  /** Unload a model this long after its last use; 0 keeps models until evicted or closed. Default 5 min. */
  idleTtlMs?: number;
  /** Most bytes all loaded models and their contexts may take together, by node-llama-cpp's estimates. */
  memoryCapBytes?: number;
  /** Tokens per chat context, capped at the model's training context. Default 4096. */
  contextSize?: number;
  /** Chats one model serves at once (sequences of its context). Default 1. */
  sequences?: number;
}

/** How one model loads, where it differs from the pool's defaults (a model's own settings in the app). */
export interface LoadSettings {
  /** Tokens per chat context (still capped at the model's training context). */
  contextSize?: number;
  /** Layers offloaded to the GPU; 0 keeps the model on the CPU. Default: as many as fit. */
  gpuLayers?: number;
}

function sameSettings(a: LoadSettings, b: LoadSettings): boolean {
  return a.contextSize === b.contextSize && a.gpuLayers === b.gpuLayers;
}

export interface LoadedModelInfo {
  path: string;
  estimatedBytes: number;
  lastUsedAt: number;
  busy: boolean;
}

/** A chat sequence lent out by the pool; give it back with release(). */
export interface SequenceLease {
  llama: Llama;
  model: LlamaModel;
  sequence: LlamaContextSequence;
  release(): void;
}

export interface EmbeddingLease {
  model: LlamaModel;
  context: LlamaEmbeddingContext;
  release(): void;
}

interface PoolEntry {
  path: string;
  /** What it was loaded with: other settings asked of an idle model load it again. */
  settings: LoadSettings;
  loading?: Promise<LlamaModel>;
  model?: LlamaModel;
  insights?: GgufInsights;
  context?: Promise<LlamaContext>;
  embedding?: Promise<LlamaEmbeddingContext>;
  freeSequences: LlamaContextSequence[];
  sequenceWaiters: ((sequence: LlamaContextSequence) => void)[];
  estimatedBytes: number;
  lastUsedAt: number;
  /** Leases out plus acquisitions under way: a model in use is never evicted or unloaded. */
  users: number;
  idleTimer?: NodeJS.Timeout;
}

const DEFAULT_IDLE_TTL_MS = 5 * 60_000;

/** 75% of RAM: the rest is the OS's and the app's. */
function defaultMemoryCap(): number {
  return Math.floor(os.totalmem() * 0.75);
}

/**
 * Loaded GGUF models, keyed by path: loads on demand, lends out context sequences (reused between
 * requests, so a follow-up chat reuses the evaluated prompt prefix), unloads after an idle TTL, and
 * keeps the estimated memory of everything loaded under a cap by evicting the least recently used
 * idle models first.
 */
export class ModelPool {
  readonly host: LlamaHost;
  private readonly idleTtlMs: number;
  private readonly memoryCapBytes: number;
  private readonly contextSize: number;
  private readonly sequences: number;
  private readonly entries = new Map<string, PoolEntry>();
  private closed = false;

  constructor(options: ModelPoolOptions = {}) {
    this.host = options.host ?? getLlamaHost();
    this.idleTtlMs = options.idleTtlMs ?? DEFAULT_IDLE_TTL_MS;
    this.memoryCapBytes = options.memoryCapBytes ?? defaultMemoryCap();
    this.contextSize = options.contextSize ?? 4096;
    this.sequences = options.sequences ?? 1;
  }

  /** Models in memory now, least recently used first. */
  loaded(): LoadedModelInfo[] {
    return [...this.entries.values()]
      .filter((entry) => entry.model)
      .sort((a, b) => a.lastUsedAt - b.lastUsedAt)
      .map((entry) => ({
        path: entry.path,
        estimatedBytes: entry.estimatedBytes,
        lastUsedAt: entry.lastUsedAt,
        busy: entry.users > 0,
      }));
  }

  /** Estimated bytes of a model plus one chat context, as the pool counts them against the cap. */
  async estimate(path: string): Promise<number> {
    const insights = await this.insightsOf(path);
    return (await this.modelBytes(insights)) + (await this.contextBytes(insights, false));
  }

  async acquireSequence(path: string, signal?: AbortSignal, settings: LoadSettings = {}): Promise<SequenceLease> {
    const entry = await this.use(path, signal, settings);
    try {
      entry.context ??= this.createContext(entry).catch((error: unknown) => {
        entry.context = undefined; // the next request tries again (e.g. after other models were unloaded)
        throw error;
      });
      await entry.context;
      const sequence = entry.freeSequences.pop() ?? (await this.waitForSequence(entry, signal));
      const model = entry.model!;
      return { llama: model.llama, model, sequence, release: once(() => this.giveBack(entry, sequence)) };
    } catch (error) {
      this.done(entry);
      throw error;
    }
  }

  async acquireEmbedding(path: string, signal?: AbortSignal, settings: LoadSettings = {}): Promise<EmbeddingLease> {
    const entry = await this.use(path, signal, settings);
    try {
      entry.embedding ??= this.createEmbeddingContext(entry).catch((error: unknown) => {
        entry.embedding = undefined;
        throw error;
      });
      const context = await entry.embedding;
      return { model: entry.model!, context, release: once(() => this.done(entry)) };
    } catch (error) {
      this.done(entry);
      throw error;
    }
  }

  async unload(path: string): Promise<void> {
    const entry = this.entries.get(path);
    if (!entry) return;
    this.entries.delete(path);
    clearTimeout(entry.idleTimer);
    const model = await entry.loading?.catch(() => undefined);
    await model?.dispose();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.entries.keys()].map((path) => this.unload(path)));
  }

  private async use(path: string, signal: AbortSignal | undefined, settings: LoadSettings): Promise<PoolEntry> {
    if (this.closed) throw new LocalModelError('PROVIDER_UNAVAILABLE', 'the local model pool is closed');
    if (signal?.aborted) throw cancelledError(signal.reason);
    let entry = this.entries.get(path);
    // New settings take effect at once for a model nobody is using; one in use keeps its own until then.
    if (entry && entry.users === 0 && !sameSettings(entry.settings, settings)) {
      await this.unload(path);
      entry = this.entries.get(path);
    }
    if (entry) {
      entry.users++;
      clearTimeout(entry.idleTimer);
      entry.lastUsedAt = performance.now();
    } else {
      const created: PoolEntry = {
        path,
        settings,
        freeSequences: [],
        sequenceWaiters: [],
        estimatedBytes: 0,
        lastUsedAt: performance.now(),
        users: 1,
      };
      created.loading = this.load(created);
      created.loading.catch(() => {
        if (this.entries.get(path) === created) this.entries.delete(path);
      });
      this.entries.set(path, created);
      entry = created;
    }
    try {
      await entry.loading;
    } catch (error) {
      entry.users--;
      throw error;
    }
    return entry;
  }

  private async load(entry: PoolEntry): Promise<LlamaModel> {
    const insights = await this.insightsOf(entry.path);
    entry.insights = insights;
    const bytes = await this.modelBytes(insights);
    await this.reserve(entry, bytes);
    entry.estimatedBytes += bytes;
    try {
      const { gpuLayers } = entry.settings;
      const model = await this.host.loadModel({
        modelPath: entry.path,
        ...(gpuLayers === undefined ? {} : { gpuLayers }),
      });
      entry.model = model;
      return model;
    } catch (error) {
      throw new LocalModelError('INTERNAL', `llama.cpp could not load ${entry.path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  private async createContext(entry: PoolEntry): Promise<LlamaContext> {
    const bytes = await this.contextBytes(entry.insights!, false, entry.settings);
    await this.reserve(entry, bytes);
    entry.estimatedBytes += bytes;
    const context = await entry.model!.createContext({
      contextSize: this.contextSizeFor(entry.insights!, entry.settings),
      sequences: this.sequences,
      threads: this.host.threads,
    });
    for (let i = 0; i < this.sequences; i++) entry.freeSequences.push(context.getSequence());
    return context;
  }

  private async createEmbeddingContext(entry: PoolEntry): Promise<LlamaEmbeddingContext> {
    const bytes = await this.contextBytes(entry.insights!, true, entry.settings);
    await this.reserve(entry, bytes);
    entry.estimatedBytes += bytes;
    return entry.model!.createEmbeddingContext({
      contextSize: this.contextSizeFor(entry.insights!, entry.settings),
      threads: this.host.threads,
    });
  }

  private contextSizeFor(insights: GgufInsights, settings: LoadSettings = {}): number {
    const wanted = settings.contextSize ?? this.contextSize;
    return Math.min(wanted, insights.trainContextSize ?? wanted);
  }

  /** Makes room for `bytes` more by unloading idle models, least recently used first. */
  private async reserve(requester: PoolEntry, bytes: number): Promise<void> {
    const used = () => [...this.entries.values()].reduce((sum, entry) => sum + entry.estimatedBytes, 0);
    if (requester.estimatedBytes + bytes > this.memoryCapBytes) {
      throw new LocalModelError(
        'PROVIDER_UNAVAILABLE',
        `${requester.path} needs about ${mb(requester.estimatedBytes + bytes)} MB, more than the local memory cap of ${mb(this.memoryCapBytes)} MB; use a smaller model or quantisation`,
      );
    }
    while (used() + bytes > this.memoryCapBytes) {
      const victim = [...this.entries.values()]
        .filter((entry) => entry !== requester && entry.users === 0 && entry.model)
        .sort((a, b) => a.lastUsedAt - b.lastUsedAt)[0];
      if (!victim) {
        throw new LocalModelError(
          'PROVIDER_UNAVAILABLE',
          `${requester.path} needs about ${mb(bytes)} MB more, and the models in use already fill the local memory cap of ${mb(this.memoryCapBytes)} MB; try again when they finish`,
        );
      }
      await this.unload(victim.path);
    }
  }

  private waitForSequence(entry: PoolEntry, signal?: AbortSignal): Promise<LlamaContextSequence> {
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        entry.sequenceWaiters = entry.sequenceWaiters.filter((waiter) => waiter !== take);
        reject(cancelledError(signal?.reason));
      };
      const take = (sequence: LlamaContextSequence) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(sequence);
      };
      entry.sequenceWaiters.push(take);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private giveBack(entry: PoolEntry, sequence: LlamaContextSequence): void {
    const waiter = entry.sequenceWaiters.shift();
    if (waiter) waiter(sequence);
    else entry.freeSequences.push(sequence);
    this.done(entry);
  }

  private done(entry: PoolEntry): void {
    entry.users--;
    entry.lastUsedAt = performance.now();
    if (entry.users > 0 || this.idleTtlMs <= 0) return;
    entry.idleTimer = setTimeout(() => {
      if (entry.users === 0 && this.entries.get(entry.path) === entry) void this.unload(entry.path);
    }, this.idleTtlMs);
    entry.idleTimer.unref();
  }

  private async insightsOf(path: string): Promise<GgufInsights> {
    try {
      const { GgufInsights, readGgufFileInfo } = await nodeLlamaCpp();
      return await GgufInsights.from(await readGgufFileInfo(path), await this.host.llama());
    } catch (error) {
      throw new LocalModelError(
        'INVALID_REQUEST',
        `${path} cannot be read as a GGUF model: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  private async modelBytes(insights: GgufInsights): Promise<number> {
    const { cpuRam, gpuVram } = await insights.estimateModelResourceRequirementsV2({ gpuLayers: 0 });
    return cpuRam + gpuVram;
  }

  private async contextBytes(
    insights: GgufInsights,
    isEmbeddingContext: boolean,
    settings: LoadSettings = {},
  ): Promise<number> {
    const { cpuRam, gpuVram } = await insights.estimateContextResourceRequirementsV2({
      contextSize: this.contextSizeFor(insights, settings),
      modelGpuLayers: 0,
      sequences: isEmbeddingContext ? 1 : this.sequences,
      isEmbeddingContext,
    });
    return cpuRam + gpuVram;
  }
}

function mb(bytes: number): number {
  return Math.ceil(bytes / 1e6);
}

function once(fn: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    fn();
  };
}
