/** Zero crossings of the sinc kernel on each side: enough stop-band attenuation for speech recognition. */
const ZERO_CROSSINGS = 12;

/**
 * Band-limited resampling (windowed sinc, polyphase). The ratio is reduced to L/M, so each of the L output
 * phases gets one precomputed kernel; downsampling lowers the cutoff below the new Nyquist frequency so
 * nothing folds back into the speech band.
 */
export function resample(input: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate) return input;
  const divisor = gcd(fromRate, toRate);
  const up = toRate / divisor;
  const down = fromRate / divisor;
  const cutoff = Math.min(1, up / down) * 0.95;
  const half = Math.ceil(ZERO_CROSSINGS / cutoff);
  const taps = 2 * half + 1;
  const kernels = new Float32Array(up * taps);
  for (let phase = 0; phase < up; phase++) {
    let sum = 0;
    for (let k = 0; k < taps; k++) {
      const x = k - half - phase / up;
      const w = cutoff * sinc(cutoff * x) * blackman(x / (half + 1));
      kernels[phase * taps + k] = w;
      sum += w;
    }
    for (let k = 0; k < taps; k++) kernels[phase * taps + k]! /= sum;
  }

  const out = new Float32Array(Math.floor((input.length * up) / down));
  for (let i = 0; i < out.length; i++) {
    const position = i * down;
    const base = Math.floor(position / up);
    const phase = position - base * up;
    const offset = phase * taps;
    const start = base - half;
    let acc = 0;
    for (let k = Math.max(0, -start); k < taps && start + k < input.length; k++) {
      acc += input[start + k]! * kernels[offset + k]!;
    }
    out[i] = acc;
  }
  return out;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

/** Blackman window over t ∈ [-1, 1]. */
function blackman(t: number): number {
  if (t <= -1 || t >= 1) return 0;
  const a = Math.PI * (t + 1);
  return 0.42 - 0.5 * Math.cos(a) + 0.08 * Math.cos(2 * a);
}

function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y) [x, y] = [y, x % y];
  return x;
}
