import { DTYPE_SUFFIX, type Dtype } from '../../native/whisper/models.ts';
import type { GraphBuilder, ModelBuilder } from './graph.ts';
import { DataType } from './onnx.ts';

/**
 * Every dtype transformers.js loads for Whisper (encoder_model{,_fp16,_quantized,_q4}.onnx and the same for
 * decoder_model_merged), each stored the way the Hugging Face tooling stores it: fp16 weights, uint8 dynamic
 * quantization (the MatMulInteger family, fused as DynamicQuantizeMatMul) for q8, 4-bit blocks
 * (MatMulNBits) for q4.
 */
export const DTYPES = Object.keys(DTYPE_SUFFIX) as Dtype[];
export type { Dtype };

/** Emits an operation on `x` into a graph (the weights it reads live in the main graph). */
export type Apply = (g: GraphBuilder, x: string) => string;

export interface WeightScheme {
  /** A float parameter used as a plain tensor: bias, norm scale, position table, convolution kernel. */
  param(name: string, dims: number[], data: Float32Array): string;
  /** `x · W` for W of shape [K, N] (row-major). */
  matmul(name: string, K: number, N: number, data: Float32Array): Apply;
  /** Token embedding [V, d], tied to the output projection as in Whisper (proj_out = embed_tokensᵀ). */
  tiedEmbedding(name: string, V: number, d: number, data: Float32Array): { lookup: Apply; project: Apply };
}

const MS = { domain: 'com.microsoft' };

export function weightScheme(dtype: Dtype, model: ModelBuilder): WeightScheme {
  const fp32Param = (name: string, dims: number[], data: Float32Array) =>
    model.initializer(name, DataType.FLOAT, dims, data);
  const plainMatmul =
    (param: WeightScheme['param']) =>
    (name: string, K: number, N: number, data: Float32Array): Apply => {
      const w = param(name, [K, N], data);
      return (g, x) => g.op1('MatMul', [x, w]);
    };
  const plainTied = (param: WeightScheme['param']) => (name: string, V: number, d: number, data: Float32Array) => {
    const table = param(name, [V, d], data);
    const transposed = model.main.op1('Transpose', [table], { perm: [1, 0] });
    return {
      lookup: (g: GraphBuilder, ids: string) => g.op1('Gather', [table, ids]),
      project: (g: GraphBuilder, x: string) => g.op1('MatMul', [x, transposed]),
    };
  };

  switch (dtype) {
    case 'fp32':
      return { param: fp32Param, matmul: plainMatmul(fp32Param), tiedEmbedding: plainTied(fp32Param) };
    case 'fp16': {
      const param = (name: string, dims: number[], data: Float32Array) =>
        model.main.op1('Cast', [model.initializer(name, DataType.FLOAT16, dims, toFloat16(data))], {
          to: DataType.FLOAT,
        });
      return { param, matmul: plainMatmul(param), tiedEmbedding: plainTied(param) };
    }
    case 'q8': {
      const quantized = (name: string, dims: number[], data: Float32Array) => {
        const q = quantizeUint8(data);
        return {
          values: model.initializer(name, DataType.UINT8, dims, q.values),
          scale: model.initializer(`${name}_scale`, DataType.FLOAT, [], Float32Array.of(q.scale)),
          zeroPoint: model.initializer(`${name}_zero_point`, DataType.UINT8, [], Uint8Array.of(q.zeroPoint)),
        };
      };
      return {
        param: fp32Param,
        matmul(name, K, N, data) {
          const w = quantized(name, [K, N], data);
          return (g, x) => g.op1('DynamicQuantizeMatMul', [x, w.values, w.scale, w.zeroPoint], {}, MS);
        },
        tiedEmbedding(name, V, d, data) {
          const w = quantized(name, [V, d], data);
          const transposed = model.main.op1('Transpose', [w.values], { perm: [1, 0] });
          return {
            lookup: (g, ids) => g.op1('DequantizeLinear', [g.op1('Gather', [w.values, ids]), w.scale, w.zeroPoint]),
            project: (g, x) => g.op1('DynamicQuantizeMatMul', [x, transposed, w.scale, w.zeroPoint], {}, MS),
          };
        },
      };
    }
    case 'q4': {
      // MatMulNBits wants the weight as Wᵀ rows ([N, K]), which for the tied projection is the table itself.
      const nbits = (name: string, rowsN: number, K: number, rows: Float32Array): Apply => {
        const q = quantize4BitBlocks(rows, rowsN, K);
        const b = model.initializer(name, DataType.UINT8, [rowsN, q.blocksPerRow, Q4_BLOCK / 2], q.packed);
        const scales = model.initializer(`${name}_scales`, DataType.FLOAT, [q.scales.length], q.scales);
        return (g, x) =>
          g.op1('MatMulNBits', [x, b, scales], { K, N: rowsN, bits: 4, block_size: Q4_BLOCK, accuracy_level: 4 }, MS);
      };
      return {
        param: fp32Param,
        matmul: (name, K, N, data) => nbits(name, N, K, transpose(data, K, N)),
        tiedEmbedding(name, V, d, data) {
          const table = fp32Param(name, [V, d], data);
          return { lookup: (g, ids) => g.op1('Gather', [table, ids]), project: nbits(`${name}_q4`, V, d, data) };
        },
      };
    }
  }
}

const Q4_BLOCK = 32;

function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  return out;
}

/** Asymmetric per-tensor uint8, as onnxruntime's quantize_dynamic writes it. */
function quantizeUint8(data: Float32Array): { values: Uint8Array; scale: number; zeroPoint: number } {
  let min = 0;
  let max = 0;
  for (const v of data) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const scale = (max - min) / 255 || 1;
  const zeroPoint = Math.round(-min / scale);
  const values = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++)
    values[i] = Math.min(255, Math.max(0, Math.round(data[i]! / scale) + zeroPoint));
  return { values, scale, zeroPoint };
}

/**
 * Symmetric 4-bit blocks along K for MatMulNBits: each row of `rows` ([N, K]) is cut into blocks of 32,
 * each block gets a scale, values are stored as q + 8 (the default zero point), two per byte, low nibble first.
 */
function quantize4BitBlocks(
  rows: Float32Array,
  N: number,
  K: number,
): { packed: Uint8Array; scales: Float32Array; blocksPerRow: number } {
  const blocksPerRow = Math.ceil(K / Q4_BLOCK);
  const packed = new Uint8Array(N * blocksPerRow * (Q4_BLOCK / 2));
  const scales = new Float32Array(N * blocksPerRow);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < blocksPerRow; b++) {
      const start = b * Q4_BLOCK;
      const end = Math.min(start + Q4_BLOCK, K);
      let maxAbs = 0;
      for (let k = start; k < end; k++) maxAbs = Math.max(maxAbs, Math.abs(rows[n * K + k]!));
      const scale = maxAbs / 7 || 1;
      scales[n * blocksPerRow + b] = scale;
      for (let k = start; k < start + Q4_BLOCK; k++) {
        const q = k < end ? Math.min(15, Math.max(0, Math.round(rows[n * K + k]! / scale) + 8)) : 8;
        const byte = (n * blocksPerRow + b) * (Q4_BLOCK / 2) + ((k - start) >> 1);
        packed[byte] = packed[byte]! | (((k - start) & 1) === 0 ? q : q << 4);
      }
    }
  }
  return { packed, scales, blocksPerRow };
}

/** IEEE 754 binary16 bit patterns (round to nearest even), since Node 22 has no Float16Array by default. */
function toFloat16(data: Float32Array): Uint16Array {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) {
    f32[0] = data[i]!;
    const x = u32[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exponent = ((x >>> 23) & 0xff) - 127 + 15;
    let mantissa = x & 0x7fffff;
    if (exponent >= 31) {
      out[i] = sign | 0x7c00;
    } else if (exponent <= 0) {
      if (exponent < -10) {
        out[i] = sign;
      } else {
        mantissa |= 0x800000;
        const shift = 14 - exponent;
        const half = mantissa >>> shift;
        const rest = mantissa & ((1 << shift) - 1);
        const midpoint = 1 << (shift - 1);
        out[i] = sign | (half + (rest > midpoint || (rest === midpoint && half & 1) ? 1 : 0));
      }
    } else {
      const half = (exponent << 10) | (mantissa >>> 13);
      const rest = mantissa & 0x1fff;
      out[i] = sign | (half + (rest > 0x1000 || (rest === 0x1000 && half & 1) ? 1 : 0));
    }
  }
  return out;
}
