import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** Where Whisper may run: onnxruntime's execution providers that onnxruntime-node ships per platform. */
export type WhisperDevice = 'auto' | 'cpu' | 'cuda' | 'dml' | 'coreml';
export type ExecutionDevice = Exclude<WhisperDevice, 'auto'>;

/** The GPU provider onnxruntime-node has on this platform, if any (CUDA: Linux x64; DirectML: Windows; CoreML: macOS). */
export function platformGpu(): ExecutionDevice | undefined {
  if (process.platform === 'win32') return 'dml';
  if (process.platform === 'darwin') return 'coreml';
  if (process.platform === 'linux' && process.arch === 'x64') return 'cuda';
  return undefined;
}

/**
 * Why a device cannot run here, before trying it; undefined when it may. CUDA's provider library is not
 * inside the npm package: onnxruntime-node's install step fetches it (skipped with ONNXRUNTIME_NODE_INSTALL=skip),
 * and without it every attempt would fail the same way.
 */
export function unavailableReason(device: ExecutionDevice): string | undefined {
  if (device === 'cpu') return undefined;
  if (device !== platformGpu())
    return `onnxruntime-node has no ${device} provider on ${process.platform}-${process.arch}`;
  if (device !== 'cuda') return undefined;
  const binding = path.dirname(
    createRequire(import.meta.url).resolve(`onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node`),
  );
  if (existsSync(path.join(binding, 'libonnxruntime_providers_cuda.so'))) return undefined;
  return (
    "onnxruntime's CUDA provider is not installed (libonnxruntime_providers_cuda.so; npm installs it unless " +
    'ONNXRUNTIME_NODE_INSTALL=skip is set, and it needs CUDA 12 and cuDNN 9)'
  );
}

/** The devices to try, in order: the one asked for (a GPU for `auto`), then the CPU. */
export function devicesToTry(device: WhisperDevice): ExecutionDevice[] {
  const first = device === 'auto' ? platformGpu() : device;
  return first && first !== 'cpu' ? [first, 'cpu'] : ['cpu'];
}

/**
 * The Whisper device for the local-models device setting (LOCAL_DEVICE), which names llama.cpp's
 * backends: Metal's counterpart in onnxruntime is CoreML; it has no Vulkan provider, so that means `auto`.
 */
export function whisperDeviceFor(setting: 'auto' | 'cpu' | 'cuda' | 'vulkan' | 'metal'): WhisperDevice {
  return setting === 'metal' ? 'coreml' : setting === 'vulkan' ? 'auto' : setting;
}
