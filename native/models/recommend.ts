import {
  type ModelCatalog,
  type ModelKind,
  type ModelVariant,
  type QuantizationPreference,
  selectVariant,
} from './catalog.ts';
import type { MeasuredNeeds } from './fit.ts';

/** The facts of this machine recommend() needs. */
export interface MachineBudget {
  backend: string;
  vram: { freeBytes: number } | null;
  ram: { freeBytes: number };
  /** CPU cores llama.cpp computes on: decoding on the CPU is as fast as they can read the weights. */
  cpuCores: number;
}

/** The budget of a HardwareStatus (native/gpu). */
export function machineBudgetOf(status: {
  backend: string;
  vram: { freeBytes: number } | null;
  ram: { freeBytes: number };
  cpu: { cores: number };
}): MachineBudget {
  return { backend: status.backend, vram: status.vram, ram: status.ram, cpuCores: status.cpu.cores };
}

/**
 * Decoding on the CPU reads every weight once per token, so its speed is about the memory bandwidth the
 * cores reach divided by the size of the weights. 4 GB/s per core is what llama.cpp sustains on ordinary
 * desktop and laptop CPUs; the estimate is shown as "about", never promised.
 */
const CPU_BYTES_PER_SECOND_PER_CORE = 4e9;
/** Below this an answer is written slower than it is read: too slow to recommend. */
export const MIN_TOKENS_PER_SECOND = 4;
/** Whisper on the CPU: parameters per core that still transcribe faster than real time. */
const WHISPER_PARAMETERS_PER_CORE = 40e6;

export interface Fit {
  fits: boolean;
  runsOn: 'gpu' | 'cpu';
  /** Memory it takes (VRAM on the GPU, else RAM), and the free memory it was measured against. */
  neededBytes: number;
  freeBytes: number;
  /** node-llama-cpp's estimate from the GGUF header; false: the catalog's figures. */
  measured: boolean;
  /** About how many tokens per second the CPU writes (chat models on the CPU only). */
  tokensPerSecond?: number;
  /** Why it does not fit, in words. */
  reason?: string;
}

export interface Recommendation extends Fit {
  variant: ModelVariant;
}

/** Whether one model variant fits this machine: memory (measured where known), then speed on the CPU. */
export function fitOf(variant: ModelVariant, machine: MachineBudget, measured?: MeasuredNeeds): Fit {
  const needs = {
    weightsBytes: measured?.weightsBytes ?? variant.sizeBytes,
    ramBytes: measured?.ramBytes ?? variant.ramBytes,
    vramBytes: measured?.vramBytes || variant.vramBytes,
  };
  const base = { measured: measured !== undefined };
  if (machine.backend !== 'cpu' && machine.vram !== null && needs.vramBytes <= machine.vram.freeBytes) {
    return { ...base, fits: true, runsOn: 'gpu', neededBytes: needs.vramBytes, freeBytes: machine.vram.freeBytes };
  }
  const onCpu = { ...base, runsOn: 'cpu' as const, neededBytes: needs.ramBytes, freeBytes: machine.ram.freeBytes };
  if (needs.ramBytes > machine.ram.freeBytes) return { ...onCpu, fits: false, reason: 'not enough free memory' };
  const cores = Math.max(1, machine.cpuCores);
  if (variant.entry.kind === 'whisper') {
    const fast = variant.entry.parameters <= WHISPER_PARAMETERS_PER_CORE * cores;
    return fast ? { ...onCpu, fits: true } : { ...onCpu, fits: false, reason: 'too slow on this CPU' };
  }
  // Embedding and speaker models answer in one pass, not token by token: their speed is no concern.
  if (variant.entry.kind !== 'llm') return { ...onCpu, fits: true };
  const tokensPerSecond = (CPU_BYTES_PER_SECOND_PER_CORE * cores) / needs.weightsBytes;
  return tokensPerSecond >= MIN_TOKENS_PER_SECOND
    ? { ...onCpu, fits: true, tokensPerSecond }
    : { ...onCpu, fits: false, tokensPerSecond, reason: 'too slow on this CPU' };
}

/**
 * The largest model of a kind that fits this machine: in the free VRAM when a GPU backend runs, else in
 * the free RAM and fast enough on its CPU cores (a 2-core machine without a GPU gets a 1–3B chat model).
 * Memory is node-llama-cpp's estimate from the model's GGUF header where `measured` has it, else the
 * catalog's figures.
 */
export function recommend(
  catalog: ModelCatalog,
  machine: MachineBudget,
  options: {
    kind?: ModelKind;
    preference?: QuantizationPreference;
    measured?: ReadonlyMap<string, MeasuredNeeds>;
  } = {},
): Recommendation | undefined {
  const kind = options.kind ?? 'llm';
  const candidates = catalog.models
    .filter((entry) => entry.kind === kind && !entry.testOnly)
    .map((entry) => selectVariant(entry, { preference: options.preference }))
    .sort((a, b) => b.entry.parameters - a.entry.parameters || b.sizeBytes - a.sizeBytes);
  for (const variant of candidates) {
    const fit = fitOf(variant, machine, options.measured?.get(variant.entry.id));
    if (fit.fits) return { ...fit, variant };
  }
  return undefined;
}
