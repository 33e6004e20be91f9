import os from 'node:os';
import type { Llama, LlamaGpuType, LlamaModel, LlamaModelOptions } from 'node-llama-cpp';
import { LocalModelError } from '../models/errors.ts';

let loadedBinding: Promise<typeof import('node-llama-cpp')> | undefined;

/**
 * node-llama-cpp, imported on first use: loading it costs about 0.6 s on two cores, which every CLI
 * command and every start of the app would otherwise pay before its first local model is needed.
 */
export function nodeLlamaCpp(): Promise<typeof import('node-llama-cpp')> {
  loadedBinding ??= import('node-llama-cpp');
  return loadedBinding;
}

export const LOCAL_DEVICES = ['auto', 'cpu', 'cuda', 'vulkan', 'metal'] as const;
export type LocalDevice = (typeof LOCAL_DEVICES)[number];
export type ComputeBackend = 'cpu' | 'cuda' | 'vulkan' | 'metal';

export interface HardwareStatus {
  /** What was asked for (LOCAL_DEVICE or the `device` option). */
  requested: LocalDevice;
  /** What inference actually runs on. */
  backend: ComputeBackend;
  gpuDevices: string[];
  /** Null when running on the CPU. */
  vram: { totalBytes: number; freeBytes: number } | null;
  ram: { totalBytes: number; freeBytes: number };
  cpu: { model: string; cores: number; threads: number };
  /** Threads llama.cpp uses on the CPU. */
  inferenceThreads: number;
  /** Why inference runs on the CPU although a GPU was asked for or detected. */
  fallbackReason?: string;
  /** Which backend runs and why, for an operator: names the setting (LOCAL_DEVICE) and the driver's error. */
  explanation: string;
  /** The same in plain words, for the app's hardware section: no setting names, no driver errors. */
  summary: string;
}

export function parseLocalDevice(value: string | undefined): LocalDevice {
  const device = (value ?? 'auto').trim().toLowerCase() || 'auto';
  if ((LOCAL_DEVICES as readonly string[]).includes(device)) return device as LocalDevice;
  throw new LocalModelError('INVALID_REQUEST', `LOCAL_DEVICE=${value} is not one of ${LOCAL_DEVICES.join('|')}`);
}

/**
 * One thread fewer than the machine has, so the app's own threads (UI, audio, HTTP) stay responsive:
 * llama.cpp's thread pool spins on barriers, and oversubscribed cores slow it down by orders of magnitude.
 */
export function defaultInferenceThreads(): number {
  return Math.max(1, os.availableParallelism() - 1);
}

function gpuOption(device: LocalDevice): 'auto' | LlamaGpuType {
  if (device === 'auto') return 'auto';
  if (device === 'cpu') return false;
  return device;
}

function backendOf(llama: Llama): ComputeBackend {
  return llama.gpu === false ? 'cpu' : llama.gpu;
}

const BACKEND_NAMES: Record<ComputeBackend, string> = {
  cuda: 'NVIDIA CUDA',
  vulkan: 'Vulkan',
  metal: 'Apple Metal',
  cpu: 'the CPU',
};

/** Why a GPU backend that was asked for does not run, in words. */
function unavailableReason(device: Exclude<LocalDevice, 'auto' | 'cpu'>, error?: unknown): string {
  if (device === 'metal' && process.platform !== 'darwin') {
    return `LOCAL_DEVICE=metal asks for Apple Metal, which exists only on macOS; llama.cpp runs on the CPU instead`;
  }
  const detail =
    error === undefined || messageOf(error) === 'NoBinaryFoundError'
      ? `no ${BACKEND_NAMES[device]} GPU or driver was found`
      : messageOf(error);
  return `LOCAL_DEVICE=${device} asks for ${BACKEND_NAMES[device]}, but it cannot start here (${detail}); llama.cpp runs on the CPU instead`;
}

/** Which backend runs and why: the sentence the hardware section shows. */
function explain(
  requested: LocalDevice,
  backend: ComputeBackend,
  devices: string[],
  threads: number,
  fallback?: string,
) {
  const on = devices.length > 0 ? ` on ${devices.join(', ')}` : '';
  if (fallback) return `${fallback}.`;
  if (backend !== 'cpu') {
    return requested === 'auto'
      ? `${BACKEND_NAMES[backend]} found: models run on the GPU${on}.`
      : `Models run on ${BACKEND_NAMES[backend]}${on}, as LOCAL_DEVICE asks.`;
  }
  const cpu = `models run on the CPU with ${threads} thread${threads === 1 ? '' : 's'}`;
  return requested === 'cpu' ? `LOCAL_DEVICE=cpu: ${cpu}, as asked.` : `No GPU found: ${cpu}.`;
}

/** Which backend runs and why, in words for someone who opened the hardware section. */
function summarize(requested: LocalDevice, backend: ComputeBackend, devices: string[], threads: number): string {
  const cpu = `models run on the CPU with ${threads} thread${threads === 1 ? '' : 's'}`;
  if (backend !== 'cpu') {
    return `Models run on the GPU (${BACKEND_NAMES[backend]}${devices.length > 0 ? `: ${devices.join(', ')}` : ''}).`;
  }
  if (requested === 'auto') return `No GPU found: ${cpu}.`;
  if (requested === 'cpu') return `This computer is set to use the CPU only: ${cpu}.`;
  if (requested === 'metal' && process.platform !== 'darwin') {
    return `This computer is set to use Apple Metal, which exists only on Macs, so ${cpu}.`;
  }
  return `This computer is set to use ${BACKEND_NAMES[requested]}, but it cannot start here, so ${cpu}.`;
}

async function createLlama(device: LocalDevice, threads: number): Promise<Llama> {
  const { getLlama, LlamaLogLevel } = await nodeLlamaCpp();
  return getLlama({
    gpu: gpuOption(device),
    maxThreads: threads,
    // An app never compiles llama.cpp at run time: prebuilt binaries or a clear error.
    build: 'never',
    logLevel: LlamaLogLevel.error,
  });
}

/**
 * The process-wide llama.cpp instance for one device setting (getLlama loads native binaries and
 * probes GPUs: expensive, so it happens once). Owns the fallback to the CPU when a GPU backend
 * cannot start or cannot load a model.
 */
export class LlamaHost {
  readonly device: LocalDevice;
  readonly threads: number;
  private primary?: Promise<Llama>;
  private cpu?: Promise<Llama>;
  private fallback?: string;

  constructor(device: LocalDevice, threads: number) {
    this.device = device;
    this.threads = threads;
  }

  get fallbackReason(): string | undefined {
    return this.fallback;
  }

  /** The llama instance new models load on: the GPU one unless a fallback happened. */
  async llama(): Promise<Llama> {
    if (this.fallback !== undefined) return this.cpuLlama();
    const device = this.device;
    this.primary ??= createLlama(device, this.threads).then(
      (llama) => {
        // node-llama-cpp answers a backend this platform cannot have (Metal on Linux) with the CPU, silently.
        if (device !== 'auto' && device !== 'cpu' && backendOf(llama) !== device) {
          this.fallback = unavailableReason(device);
        }
        return llama;
      },
      async (error: unknown) => {
        if (device === 'cpu') {
          throw new LocalModelError('INTERNAL', `llama.cpp could not start on this machine: ${messageOf(error)}`, {
            cause: error,
          });
        }
        this.fallback =
          device === 'auto'
            ? `the GPU llama.cpp found could not start (${messageOf(error)}); llama.cpp runs on the CPU instead`
            : unavailableReason(device, error);
        return this.cpuLlama();
      },
    );
    return this.primary;
  }

  private cpuLlama(): Promise<Llama> {
    this.cpu ??= createLlama('cpu', this.threads);
    return this.cpu;
  }

  /** Loads a model on the GPU backend and, when that fails, once more on the CPU. */
  async loadModel(options: LlamaModelOptions): Promise<LlamaModel> {
    const llama = await this.llama();
    try {
      return await llama.loadModel(options);
    } catch (error) {
      if (llama.gpu === false) throw error;
      this.fallback = `the ${llama.gpu} backend failed to load ${options.modelPath} (${messageOf(error)}); using the CPU`;
      const cpu = await this.cpuLlama();
      return cpu.loadModel({ ...options, gpuLayers: 0 });
    }
  }

  async status(): Promise<HardwareStatus> {
    const llama = await this.llama();
    const onGpu = llama.gpu !== false;
    const vram = onGpu ? await llama.getVramState() : undefined;
    const cpus = os.cpus();
    const backend = backendOf(llama);
    const gpuDevices = onGpu ? await llama.getGpuDeviceNames() : [];
    return {
      requested: this.device,
      backend,
      gpuDevices,
      vram: vram ? { totalBytes: vram.total, freeBytes: vram.free } : null,
      ram: { totalBytes: os.totalmem(), freeBytes: os.freemem() },
      cpu: { model: cpus[0]?.model ?? 'unknown', cores: llama.cpuMathCores, threads: os.availableParallelism() },
      inferenceThreads: this.threads,
      ...(this.fallback === undefined ? {} : { fallbackReason: this.fallback }),
      explanation: explain(this.device, backend, gpuDevices, this.threads, this.fallback),
      summary: summarize(this.device, backend, gpuDevices, this.threads),
    };
  }
}

const hosts = new Map<string, LlamaHost>();

export interface LlamaHostOptions {
  /** Defaults to LOCAL_DEVICE, else auto. */
  device?: LocalDevice;
  /** Defaults to LOCAL_THREADS, else one fewer than the machine's threads. */
  threads?: number;
}

/** The shared host for a device/threads setting. */
export function getLlamaHost(options: LlamaHostOptions = {}, env: NodeJS.ProcessEnv = process.env): LlamaHost {
  const device = options.device ?? parseLocalDevice(env.LOCAL_DEVICE);
  const threads = options.threads ?? (Number(env.LOCAL_THREADS) || defaultInferenceThreads());
  const key = `${device}/${threads}`;
  let host = hosts.get(key);
  if (!host) {
    host = new LlamaHost(device, threads);
    hosts.set(key, host);
  }
  return host;
}

/** What this machine offers for local inference (backend, GPUs, memory, CPU). */
export function detectHardware(options: LlamaHostOptions = {}): Promise<HardwareStatus> {
  return getLlamaHost(options).status();
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
