import type { Llama } from 'node-llama-cpp';
import { nodeLlamaCpp } from '../gpu/llama-host.ts';

/** What a model needs to run here, by node-llama-cpp's estimate from its GGUF header. */
export interface MeasuredNeeds {
  /** The weights (what decoding reads for every token). */
  weightsBytes: number;
  /** Weights and a context of `contextSize` tokens, all on the CPU. */
  ramBytes: number;
  /** Weights and context fully offloaded to the GPU (0 where llama.cpp has no GPU). */
  vramBytes: number;
}

/** The context the estimate allows for: what a chat needs, not the model's whole trained window. */
export const FIT_CONTEXT_TOKENS = 4096;

/**
 * Reads a model's GGUF header (a local file, or only the header's bytes of a remote one) and asks
 * node-llama-cpp what weights plus a 4K context take on the CPU and, where llama.cpp found a GPU, on it.
 */
export async function measureNeeds(source: string, llama: Llama, signal?: AbortSignal): Promise<MeasuredNeeds> {
  const { GgufInsights, readGgufFileInfo } = await nodeLlamaCpp();
  const info = await readGgufFileInfo(source, { logWarnings: false, signal, fetchRetryOptions: { retries: 0 } });
  const insights = await GgufInsights.from(info, llama);
  const onCpu = await insights.configurationResolver.resolveAndScoreConfig({
    targetContextSize: FIT_CONTEXT_TOKENS,
    targetGpuLayers: 0,
  });
  const onGpu =
    llama.gpu === false
      ? undefined
      : await insights.configurationResolver.resolveAndScoreConfig({
          targetContextSize: FIT_CONTEXT_TOKENS,
          targetGpuLayers: 'max',
        });
  return {
    weightsBytes: onCpu.resolvedValues.modelRamUsage,
    ramBytes: onCpu.resolvedValues.totalRamUsage,
    vramBytes: onGpu?.resolvedValues.totalVramUsage ?? 0,
  };
}
