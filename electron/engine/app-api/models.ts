import type { z } from 'zod';
import type { HardwareStatus } from '../../../native/gpu/llama-host.ts';
import { AsyncQueue } from '../../../native/llama/async-queue.ts';
import { type QuantizationPreference, selectVariant } from '../../../native/models/catalog.ts';
import type { InstalledModel, ModelStore } from '../../../native/models/model-store.ts';
import { recommend } from '../../../native/models/recommend.ts';
import type { apiInputs, CatalogModelView, DownloadEvent, HardwareView, InstalledModelView } from '../contract/api.ts';

type Input<M extends keyof typeof apiInputs> = z.output<(typeof apiInputs)[M]>;

export interface ModelsApiDeps {
  models: ModelStore;
  /** LOCAL_QUANTIZATION: which quantisation sizes and fit marks are shown for. */
  quantization: QuantizationPreference;
  hardware: () => Promise<HardwareStatus>;
  /** Tells the engine the installed models changed (a pull, an import, a delete). */
  changed: () => Promise<void>;
}

/** 1.5e9 → "1.5B". */
function parameterLabel(parameters: number): string {
  if (parameters >= 1e9) return `${Number((parameters / 1e9).toFixed(1))}B`;
  if (parameters >= 1e6) return `${Number((parameters / 1e6).toFixed(1))}M`;
  return `${Math.round(parameters / 1e3)}K`;
}

function installedView(model: InstalledModel): InstalledModelView {
  return { id: model.id, kind: model.kind, sizeBytes: model.sizeBytes, path: model.path };
}

/** Handlers for hardware.get and models.* (contract/api.ts): the model manager and what this machine can run. */
export function createModelsHandlers({ models, quantization, hardware, changed }: ModelsApiDeps) {
  return {
    'hardware.get': async (_input: Input<'hardware.get'>): Promise<HardwareView> => {
      const status = await hardware();
      return {
        backend: status.backend,
        devices: status.gpuDevices,
        vramTotalBytes: status.vram?.totalBytes ?? 0,
        vramFreeBytes: status.vram?.freeBytes ?? 0,
        ramTotalBytes: status.ram.totalBytes,
        ramFreeBytes: status.ram.freeBytes,
        cpuCores: status.cpu.cores,
        note: status.fallbackReason,
      };
    },
    'models.catalog': async (_input: Input<'models.catalog'>): Promise<CatalogModelView[]> => {
      const status = await hardware();
      const installed = new Set((await models.list()).flatMap((m) => [m.id, m.catalogId]));
      const budget = { backend: status.backend, vram: status.vram, ram: status.ram };
      const recommended = new Set(
        (['llm', 'whisper', 'embedding'] as const).map(
          (kind) => recommend(models.catalog, budget, { kind, preference: quantization })?.variant.entry.id,
        ),
      );
      return models.catalog.models
        .filter((entry) => !entry.testOnly)
        .map((entry) => {
          const variant = selectVariant(entry, { preference: quantization });
          const fitsGpu =
            status.vram !== null && status.backend !== 'cpu' && variant.vramBytes <= status.vram.freeBytes;
          return {
            id: entry.id,
            kind: entry.kind,
            family: entry.family,
            parameters: parameterLabel(entry.parameters),
            sizeBytes: variant.sizeBytes,
            fits: fitsGpu || variant.ramBytes <= status.ram.freeBytes,
            recommended: recommended.has(entry.id),
            installed: installed.has(entry.id),
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
  };
}
