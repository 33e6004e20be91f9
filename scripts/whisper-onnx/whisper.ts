import { type GraphBuilder, ModelBuilder } from './graph.ts';
import { DataType, encodeModel, float, tensor, valueInfo } from './onnx.ts';
import { type Apply, type Dtype, type WeightScheme, weightScheme } from './weights.ts';

/** The config.json fields that shape the graphs. */
export interface WhisperDims {
  d_model: number;
  encoder_layers: number;
  decoder_layers: number;
  encoder_attention_heads: number;
  decoder_attention_heads: number;
  encoder_ffn_dim: number;
  decoder_ffn_dim: number;
  num_mel_bins: number;
  max_source_positions: number;
  max_target_positions: number;
  vocab_size: number;
}

const OPSETS = { '': 17, 'com.microsoft': 1 };
const INIT_STD = 0.02;
const LAYER_NORM_EPS = 1e-5;

/**
 * Names and symbolic dimensions as optimum exports Whisper and transformers.js reads them: the encoder
 * maps `input_features` to `last_hidden_state`; the merged decoder takes `input_ids`, `encoder_hidden_states`,
 * `past_key_values.N.{decoder,encoder}.{key,value}` and `use_cache_branch`, and returns `logits` and
 * `present.N.…`. transformers.js sizes the first (empty) cache from these input shapes, reading the numeric
 * head dimensions and treating the symbolic ones as 0.
 */
const past = (i: number, part: 'decoder' | 'encoder', kind: 'key' | 'value') => `past_key_values.${i}.${part}.${kind}`;
const present = (i: number, part: 'decoder' | 'encoder', kind: 'key' | 'value') => `present.${i}.${part}.${kind}`;

function layerNorm(w: WeightScheme, name: string, d: number): Apply {
  const scale = w.param(`${name}.weight`, [d], new Float32Array(d).fill(1));
  const bias = w.param(`${name}.bias`, [d], new Float32Array(d));
  return (g, x) => g.op1('LayerNormalization', [x, scale, bias], { axis: -1, epsilon: float(LAYER_NORM_EPS) });
}

function linear(m: ModelBuilder, w: WeightScheme, name: string, K: number, N: number, bias: boolean): Apply {
  const product = w.matmul(`${name}.weight`, K, N, m.randomNormal(K * N, INIT_STD));
  if (!bias) return product;
  const b = w.param(`${name}.bias`, [N], m.randomNormal(N, INIT_STD));
  return (g, x) => g.op1('Add', [product(g, x), b]);
}

function gelu(g: GraphBuilder, x: string, half: string, one: string, invSqrt2: string): string {
  // Exact (erf) GELU, the form torch exports and onnxruntime fuses.
  const erf = g.op1('Erf', [g.op1('Mul', [x, invSqrt2])]);
  return g.op1('Mul', [g.op1('Mul', [x, half]), g.op1('Add', [erf, one])]);
}

class Constants {
  readonly half: string;
  readonly one: string;
  readonly invSqrt2: string;
  readonly scale: string;
  readonly headsShape: string;
  readonly modelShape: string;

  constructor(m: ModelBuilder, d: number, heads: number, prefix: string) {
    const scalar = (name: string, v: number) =>
      m.initializer(`${prefix}${name}`, DataType.FLOAT, [], Float32Array.of(v));
    this.half = scalar('half', 0.5);
    this.one = scalar('one', 1);
    this.invSqrt2 = scalar('inv_sqrt2', Math.SQRT1_2);
    this.scale = scalar('attention_scale', 1 / Math.sqrt(d / heads));
    this.headsShape = m.int64(`${prefix}heads_shape`, [0, 0, heads, d / heads]);
    this.modelShape = m.int64(`${prefix}model_shape`, [0, 0, d]);
  }
}

interface Attention {
  q: Apply;
  k: Apply;
  v: Apply;
  out: Apply;
}

function attentionWeights(m: ModelBuilder, w: WeightScheme, name: string, d: number): Attention {
  // Whisper's k_proj has no bias.
  return {
    q: linear(m, w, `${name}.q_proj`, d, d, true),
    k: linear(m, w, `${name}.k_proj`, d, d, false),
    v: linear(m, w, `${name}.v_proj`, d, d, true),
    out: linear(m, w, `${name}.out_proj`, d, d, true),
  };
}

/** [B, S, d] → [B, heads, S, d/heads] */
function splitHeads(g: GraphBuilder, c: Constants, x: string): string {
  return g.op1('Transpose', [g.op1('Reshape', [x, c.headsShape])], { perm: [0, 2, 1, 3] });
}

function attend(g: GraphBuilder, c: Constants, a: Attention, q: string, k: string, v: string, mask?: string): string {
  let scores = g.op1('Mul', [g.op1('MatMul', [q, g.op1('Transpose', [k], { perm: [0, 1, 3, 2] })]), c.scale]);
  if (mask) scores = g.op1('Add', [scores, mask]);
  const context = g.op1('MatMul', [g.op1('Softmax', [scores], { axis: -1 }), v]);
  const merged = g.op1('Reshape', [g.op1('Transpose', [context], { perm: [0, 2, 1, 3] }), c.modelShape]);
  return a.out(g, merged);
}

interface FeedForward {
  fc1: Apply;
  fc2: Apply;
}

function feedForward(g: GraphBuilder, c: Constants, f: FeedForward, x: string): string {
  return f.fc2(g, gelu(g, f.fc1(g, x), c.half, c.one, c.invSqrt2));
}

export function buildEncoder(dims: WhisperDims, dtype: Dtype, seed: number): Uint8Array {
  const m = new ModelBuilder(seed);
  const w = weightScheme(dtype, m);
  const { d_model: d, num_mel_bins: mels } = dims;
  const c = new Constants(m, d, dims.encoder_attention_heads, 'encoder.');
  const g = m.main;

  const conv = (name: string, inChannels: number, stride: number) => {
    const kernel = w.param(`${name}.weight`, [d, inChannels, 3], m.randomNormal(d * inChannels * 3, INIT_STD));
    const bias = w.param(`${name}.bias`, [d], m.randomNormal(d, INIT_STD));
    return (x: string) =>
      gelu(g, g.op1('Conv', [x, kernel, bias], { pads: [1, 1], strides: [stride] }), c.half, c.one, c.invSqrt2);
  };
  let h = conv('encoder.conv2', d, 2)(conv('encoder.conv1', mels, 1)('input_features'));
  h = g.op1('Transpose', [h], { perm: [0, 2, 1] });
  const positions = w.param(
    'encoder.embed_positions.weight',
    [dims.max_source_positions, d],
    m.randomNormal(dims.max_source_positions * d, INIT_STD),
  );
  h = g.op1('Add', [h, positions]);

  for (let i = 0; i < dims.encoder_layers; i++) {
    const name = `encoder.layers.${i}`;
    const selfNorm = layerNorm(w, `${name}.self_attn_layer_norm`, d);
    const attention = attentionWeights(m, w, `${name}.self_attn`, d);
    const finalNorm = layerNorm(w, `${name}.final_layer_norm`, d);
    const ffn = {
      fc1: linear(m, w, `${name}.fc1`, d, dims.encoder_ffn_dim, true),
      fc2: linear(m, w, `${name}.fc2`, dims.encoder_ffn_dim, d, true),
    };
    const x = selfNorm(g, h);
    const heads = (proj: Apply) => splitHeads(g, c, proj(g, x));
    h = g.op1('Add', [h, attend(g, c, attention, heads(attention.q), heads(attention.k), heads(attention.v))]);
    h = g.op1('Add', [h, feedForward(g, c, ffn, finalNorm(g, h))]);
  }
  g.rename(layerNorm(w, 'encoder.layer_norm', d)(g, h), 'last_hidden_state');

  const graph = g.toGraph(
    'whisper_encoder',
    [valueInfo('input_features', DataType.FLOAT, ['batch_size', mels, 'encoder_sequence_length'])],
    [valueInfo('last_hidden_state', DataType.FLOAT, ['batch_size', 'encoder_sequence_length / 2', d])],
    m.initializers,
  );
  return encodeModel(graph, OPSETS);
}

interface DecoderLayer {
  selfNorm: Apply;
  selfAttention: Attention;
  crossNorm: Apply;
  crossAttention: Attention;
  finalNorm: Apply;
  ffn: FeedForward;
}

/**
 * The merged decoder: an If on `use_cache_branch` whose two branches are the decoder without cache (first
 * step: computes the cross-attention keys/values from `encoder_hidden_states`) and with cache (later steps:
 * appends to the self-attention cache, reuses the cross-attention one). As in optimum's merge, the cached
 * branch returns empty `present.N.encoder.*` (transformers.js keeps the cached ones) and all weights sit
 * once in the main graph.
 */
export function buildMergedDecoder(dims: WhisperDims, dtype: Dtype, seed: number): Uint8Array {
  const m = new ModelBuilder(seed);
  const w = weightScheme(dtype, m);
  const { d_model: d, decoder_attention_heads: heads } = dims;
  const headDim = d / heads;
  const c = new Constants(m, d, heads, 'decoder.');

  const embedding = w.tiedEmbedding(
    'decoder.embed_tokens.weight',
    dims.vocab_size,
    d,
    m.randomNormal(dims.vocab_size * d, INIT_STD),
  );
  const positions = w.param(
    'decoder.embed_positions.weight',
    [dims.max_target_positions, d],
    m.randomNormal(dims.max_target_positions * d, INIT_STD),
  );
  const layers: DecoderLayer[] = Array.from({ length: dims.decoder_layers }, (_, i) => {
    const name = `decoder.layers.${i}`;
    return {
      selfNorm: layerNorm(w, `${name}.self_attn_layer_norm`, d),
      selfAttention: attentionWeights(m, w, `${name}.self_attn`, d),
      crossNorm: layerNorm(w, `${name}.encoder_attn_layer_norm`, d),
      crossAttention: attentionWeights(m, w, `${name}.encoder_attn`, d),
      finalNorm: layerNorm(w, `${name}.final_layer_norm`, d),
      ffn: {
        fc1: linear(m, w, `${name}.fc1`, d, dims.decoder_ffn_dim, true),
        fc2: linear(m, w, `${name}.fc2`, dims.decoder_ffn_dim, d, true),
      },
    };
  });
  const finalNorm = layerNorm(w, 'decoder.layer_norm', d);
  const zero = m.int64('decoder.int_zero', [0]);
  const one = m.int64('decoder.int_one', [1]);
  const two = m.int64('decoder.int_two', [2]);
  const emptyCache = m.initializer('decoder.empty_cache', DataType.FLOAT, [1, heads, 0, headDim], new Float32Array(0));
  const maskFill = tensor('value', DataType.FLOAT, [1], Float32Array.of(-1e9));

  const outputNames = ['logits', ...layers.flatMap((_, i) => cacheNames(i, present))];
  const branch = (withCache: boolean) => {
    const g = m.subgraph(withCache ? 'with_past' : 'no_past');
    const ids = 'input_ids';
    const length = g.op1('Gather', [g.op1('Shape', ['input_ids']), one]);
    const pastLength = withCache ? g.op1('Gather', [g.op1('Shape', [past(0, 'decoder', 'key')]), two]) : zero;
    const totalLength = g.op1('Add', [pastLength, length]);
    let h = g.op1('Add', [embedding.lookup(g, ids), g.op1('Slice', [positions, pastLength, totalLength, zero])]);
    // Causal mask [S, past + S]: query i may see keys up to past + i.
    const filled = g.op1('ConstantOfShape', [g.op1('Concat', [length, totalLength], { axis: 0 })], { value: maskFill });
    const mask = g.op1('Trilu', [filled, g.op1('Squeeze', [g.op1('Add', [pastLength, one])])], { upper: 1 });
    const outputs: string[] = [];
    layers.forEach((layer, i) => {
      const x = layer.selfNorm(g, h);
      const a = layer.selfAttention;
      let key = splitHeads(g, c, a.k(g, x));
      let value = splitHeads(g, c, a.v(g, x));
      if (withCache) {
        key = g.op1('Concat', [past(i, 'decoder', 'key'), key], { axis: 2 });
        value = g.op1('Concat', [past(i, 'decoder', 'value'), value], { axis: 2 });
      }
      h = g.op1('Add', [h, attend(g, c, a, splitHeads(g, c, a.q(g, x)), key, value, mask)]);

      const cross = layer.crossAttention;
      const encoderKey = withCache ? past(i, 'encoder', 'key') : splitHeads(g, c, cross.k(g, 'encoder_hidden_states'));
      const encoderValue = withCache
        ? past(i, 'encoder', 'value')
        : splitHeads(g, c, cross.v(g, 'encoder_hidden_states'));
      const q = splitHeads(g, c, cross.q(g, layer.crossNorm(g, h)));
      h = g.op1('Add', [h, attend(g, c, cross, q, encoderKey, encoderValue)]);
      h = g.op1('Add', [h, feedForward(g, c, layer.ffn, layer.finalNorm(g, h))]);
      outputs.push(key, value, withCache ? emptyCache : encoderKey, withCache ? emptyCache : encoderValue);
    });
    const logits = embedding.project(g, finalNorm(g, h));
    const scope = g.scope;
    for (const [i, value] of [logits, ...outputs].entries()) g.rename(value, `${scope}/${outputNames[i]}`);
    return g.toGraph(
      scope,
      [],
      outputNames.map((name) => valueInfo(`${scope}/${name}`, DataType.FLOAT)),
    );
  };

  const main = m.main;
  main.nodes.push({
    input: ['use_cache_branch'],
    output: outputNames,
    name: 'optimum::if',
    op_type: 'If',
    domain: '',
    attribute: [
      { name: 'then_branch', type: 5, g: branch(true) },
      { name: 'else_branch', type: 5, g: branch(false) },
    ],
  });

  const cacheDims = (part: 'decoder' | 'encoder', prefix: 'past' | 'present') =>
    part === 'encoder'
      ? ['batch_size', heads, 'encoder_sequence_length_out', headDim]
      : [
          'batch_size',
          heads,
          prefix === 'past' ? 'past_decoder_sequence_length' : 'past_decoder_sequence_length + 1',
          headDim,
        ];
  const inputs = [
    valueInfo('input_ids', DataType.INT64, ['batch_size', 'decoder_sequence_length']),
    valueInfo('encoder_hidden_states', DataType.FLOAT, ['batch_size', 'encoder_sequence_length / 2', d]),
    ...layers.flatMap((_, i) =>
      cacheNames(i, past).map((name) =>
        valueInfo(name, DataType.FLOAT, cacheDims(name.includes('encoder') ? 'encoder' : 'decoder', 'past')),
      ),
    ),
    valueInfo('use_cache_branch', DataType.BOOL, [1]),
  ];
  const outputs = [
    valueInfo('logits', DataType.FLOAT, ['batch_size', 'decoder_sequence_length', dims.vocab_size]),
    ...layers.flatMap((_, i) =>
      cacheNames(i, present).map((name) =>
        valueInfo(name, DataType.FLOAT, cacheDims(name.includes('encoder') ? 'encoder' : 'decoder', 'present')),
      ),
    ),
  ];
  return encodeModel(main.toGraph('whisper_decoder_merged', inputs, outputs, m.initializers), OPSETS);
}

function cacheNames(i: number, name: typeof past): string[] {
  return [
    name(i, 'decoder', 'key'),
    name(i, 'decoder', 'value'),
    name(i, 'encoder', 'key'),
    name(i, 'encoder', 'value'),
  ];
}
