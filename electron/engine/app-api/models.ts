import type { Llama } from 'node-llama-cpp';
import type { z } from 'zod';
import type { HardwareStatus } from '../../../native/gpu/llama-host.ts';
import { AsyncQueue } from '../../../native/llama/async-queue.ts';
import { type QuantizationPreference, selectVariant } from '../../../native/models/catalog.ts';
import { type MeasuredNeeds, measureNeeds } from '../../../native/models/fit.ts';
import type { InstalledModel, ModelStore } from '../../../native/models/model-store.ts';
import { type Fit, fitOf, machineBudgetOf, recommend } from '../../../native/models/recommend.ts';
import type { apiInputs, CatalogModelView, DownloadEvent, HardwareView, InstalledModelView } from '../contract/api.ts';

type Input<M extends keyof typeof apiInputs> = z.output<(typeof apiInputs)[M]>;

export interface ModelsApiDeps {
  models: ModelStore;
  /** LOCAL_QUANTIZATION: which quantisation sizes and fit marks are shown for. */
  quantization: QuantizationPreference;
  hardware: () => Promise<HardwareStatus>;
  /** The llama.cpp instance models load on: its estimator measures what an installed model needs here. */
  llama: () => Promise<Llama>;
  /** Tells the engine the installed models changed (a pull, an import, a delete). */
  changed: () => Promise<void>;
}

/** 1.5e9 → "1.5B". */
function parameterLabel(parameters: number): string {
  if (parameters >= 1e9) return `${Number((parameters / 1e9).toFixed(1))}B`;
  if (parameters >= 1e6) return `${Number((parameters / 1e6).toFixed(1))}M`;
  return `${Math.round(parameters / 1e3)}K`;
}

/** English text runs about four words to three tokens. */
const WORDS_PER_TOKEN = 0.75;

function gigabytes(bytes: number): string {
  return `${(bytes / 1e9).toFixed(bytes < 10e9 ? 1 : 0)} GB`;
}

/** How a model fits, in a sentence for the model table. */
function describeFit(fit: Fit): string {
  const memory = fit.runsOn === 'gpu' ? 'GPU memory' : 'memory';
  const needs = `needs about ${gigabytes(fit.neededBytes)} of ${gigabytes(fit.freeBytes)} free ${memory}`;
  const speed =
    fit.tokensPerSecond === undefined
      ? ''
      : `, writes about ${Math.max(1, Math.round(fit.tokensPerSecond * WORDS_PER_TOKEN))} words a second`;
  const measured = fit.measured ? ' (measured by llama.cpp)' : '';
  if (fit.fits) return `Fits: ${needs}${speed}${measured}.`;
  if (fit.reason === 'too slow on this CPU') return `Too slow on this computer's CPU${speed}.`;
  return `Too large: ${needs}${measured}.`;
}

function installedView(model: InstalledModel): InstalledModelView {
  return {
    id: model.id,
    kind: model.kind,
    sizeBytes: model.sizeBytes,
    path: model.path,
    verified: model.verified === true,
    source: model.catalogId ? 'catalog' : model.origin ? 'imported' : 'found',
  };
}

/** Handlers for hardware.get and models.* (contract/api.ts): the model manager and what this machine can run. */
export function createModelsHandlers({ models, quantization, hardware, llama, changed }: ModelsApiDeps) {
  /**
   * What the installed GGUF models need here, by node-llama-cpp's estimate from their headers (read
   * from disk; models not downloaded are judged by the catalog's figures, without asking the network).
   */
  async function measuredInstalled(installed: InstalledModel[]): Promise<Map<string, MeasuredNeeds>> {
    const measured = new Map<string, MeasuredNeeds>();
    const instance = await llama();
    for (const model of installed) {
      if (model.kind === 'whisper' || !model.catalogId) continue;
      const needs = await measureNeeds(model.path, instance).catch(() => undefined);
      if (needs) measured.set(model.catalogId, needs);
    }
    return measured;
  }

  return {
    'hardware.get': async (_input: Input<'hardware.get'>): Promise<HardwareView> => {
      const status = await hardware();
      return {
        requested: status.requested,
        backend: status.backend,
        explanation: status.summary,
        detail: status.explanation,
        fellBack: status.fallbackReason !== undefined,
        devices: status.gpuDevices,
        vramTotalBytes: status.vram?.totalBytes ?? 0,
        vramFreeBytes: status.vram?.freeBytes ?? 0,
        ramTotalBytes: status.ram.totalBytes,
        ramFreeBytes: status.ram.freeBytes,
        cpuCores: status.cpu.cores,
      };
    },
    'models.catalog': async (_input: Input<'models.catalog'>): Promise<CatalogModelView[]> => {
      const machine = machineBudgetOf(await hardware());
      const list = await models.list();
      const installed = new Set(list.flatMap((m) => [m.id, m.catalogId]));
      const measured = await measuredInstalled(list);
      const recommended = new Set(
        (['llm', 'whisper', 'embedding'] as const).map(
          (kind) => recommend(models.catalog, machine, { kind, preference: quantization, measured })?.variant.entry.id,
        ),
      );
      return models.catalog.models
        .filter((entry) => !entry.testOnly)
        .map((entry) => {
          const variant = selectVariant(entry, { preference: quantization });
          const fit = fitOf(variant, machine, measured.get(entry.id));
          return {
            id: entry.id,
            kind: entry.kind,
            family: entry.family,
            parameters: parameterLabel(entry.parameters),
            quantisation: variant.quantisation,
            sizeBytes: variant.sizeBytes,
            fits: fit.fits,
            fitNote: describeFit(fit),
            recommended: recommended.has(entry.id),
            installed: installed.has(entry.id),
            checksum: variant.files.every((file) => file.sha256 !== undefined),
          };
        });
    },
    'models.installed': async (_input: Input<'models.installed'>) => (await models.list()).map(installedView),
    'models.pull': async function* (
      input: Input<'models.pull'>,
      ctx: { signal: AbortSignal },
    ): AsyncIterable<DownloadEvent> {
      // Progress arrives from callbacks; hand it on as a stream until the pull settles.
      const progress = new AsyncQueue<DownloadEvent>();
      const pulling = models
        .pull(input.id, {
          signal: ctx.signal,
          onProgress: (p) =>
            progress.push({
              type: 'progress',
              receivedBytes: p.receivedBytes,
              totalBytes: p.totalBytes ?? null,
              bytesPerSecond: p.bytesPerSecond,
              etaSeconds: p.etaSeconds ?? null,
            }),
        })
        .finally(() => progress.end());
      yield* progress;
      const model = await pulling;
      await changed();
      yield { type: 'done', model: installedView(model) };
    },
    'models.delete': async (input: Input<'models.delete'>) => {
      await models.remove(input.id);
      await changed();
      return { ok: true as const };
    },
    'models.import': async (input: Input<'models.import'>): Promise<InstalledModelView> => {
      const model = await models.importPath(input.path, { id: input.id, kind: input.kind });
      await changed();
      return installedView(model);
    },
  };
}
