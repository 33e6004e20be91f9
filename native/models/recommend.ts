import {
  type ModelCatalog,
  type ModelKind,
  type ModelVariant,
  type QuantizationPreference,
  selectVariant,
} from './catalog.ts';

/** The memory facts recommend() needs (a HardwareStatus from native/gpu has them). */
export interface MemoryBudget {
  backend: string;
  vram: { freeBytes: number } | null;
  ram: { freeBytes: number };
}

export interface Recommendation {
  variant: ModelVariant;
  runsOn: 'gpu' | 'cpu';
  /** The free memory it was measured against. */
  freeBytes: number;
  neededBytes: number;
}

/**
 * The largest model of a kind whose preferred quantisation fits the free VRAM (when a GPU backend is
 * active) or else the free RAM, by the catalog's estimates: a model not yet downloaded has no GGUF
 * header to ask node-llama-cpp about.
 */
export function recommend(
  catalog: ModelCatalog,
  memory: MemoryBudget,
  options: { kind?: ModelKind; preference?: QuantizationPreference } = {},
): Recommendation | undefined {
  const kind = options.kind ?? 'llm';
  const candidates = catalog.models
    .filter((entry) => entry.kind === kind && !entry.testOnly)
    .map((entry) => selectVariant(entry, { preference: options.preference }))
    .sort((a, b) => b.entry.parameters - a.entry.parameters || b.sizeBytes - a.sizeBytes);
  const onGpu = memory.backend !== 'cpu' && memory.vram !== null;
  for (const variant of candidates) {
    if (onGpu && variant.vramBytes <= memory.vram!.freeBytes) {
      return { variant, runsOn: 'gpu', freeBytes: memory.vram!.freeBytes, neededBytes: variant.vramBytes };
    }
    if (variant.ramBytes <= memory.ram.freeBytes) {
      return { variant, runsOn: 'cpu', freeBytes: memory.ram.freeBytes, neededBytes: variant.ramBytes };
    }
  }
  return undefined;
}
