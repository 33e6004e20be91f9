import {
  type AttributeValue,
  attribute,
  DataType,
  type DataTypeCode,
  type Graph,
  type Node,
  type Tensor,
  tensor,
  type ValueInfo,
} from './onnx.ts';

export interface OpOptions {
  outputs?: number;
  domain?: string;
}

/**
 * Appends nodes to one graph. Node and value names come from a counter shared by the whole model, so a
 * subgraph of an If never shadows a name of its outer graph (ONNX forbids that).
 */
export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly scope: string;
  private readonly model: ModelBuilder;

  constructor(model: ModelBuilder, scope: string) {
    this.model = model;
    this.scope = scope;
  }

  op(opType: string, inputs: string[], attrs: Record<string, AttributeValue> = {}, options: OpOptions = {}): string[] {
    const name = `${this.scope}/${opType}_${this.model.nextId()}`;
    const output = Array.from({ length: options.outputs ?? 1 }, (_, i) => `${name}:${i}`);
    this.nodes.push({
      input: inputs,
      output,
      name,
      op_type: opType,
      domain: options.domain ?? '',
      attribute: Object.entries(attrs).map(([key, value]) => attribute(key, value)),
    });
    return output;
  }

  /** The common case: one output. */
  op1(opType: string, inputs: string[], attrs: Record<string, AttributeValue> = {}, options: OpOptions = {}): string {
    return this.op(opType, inputs, attrs, options)[0]!;
  }

  /** Gives a computed value a fixed name (a graph output name). */
  rename(value: string, name: string): void {
    this.nodes.push({
      input: [value],
      output: [name],
      name: `${name}/Identity`,
      op_type: 'Identity',
      domain: '',
      attribute: [],
    });
  }

  toGraph(name: string, input: ValueInfo[], output: ValueInfo[], initializer: Tensor[] = []): Graph {
    return { name, node: this.nodes, initializer, input, output };
  }
}

/**
 * Holds what the whole model shares: initializers (always in the main graph, so both branches of the
 * merged decoder use one copy), and nodes that turn stored weights into the tensors the layers use
 * (Cast, Transpose) — placed in the main graph, where onnxruntime folds them once at load.
 */
export class ModelBuilder {
  readonly initializers: Tensor[] = [];
  readonly main: GraphBuilder;
  private id = 0;
  private readonly random: () => number;

  constructor(seed: number) {
    this.main = new GraphBuilder(this, 'main');
    this.random = gaussian(seed);
  }

  nextId(): number {
    return this.id++;
  }

  initializer(name: string, dataType: DataTypeCode, dims: number[], data: ArrayBufferView): string {
    this.initializers.push(tensor(name, dataType, dims, data));
    return name;
  }

  int64(name: string, values: number[], dims: number[] = [values.length]): string {
    return this.initializer(name, DataType.INT64, dims, BigInt64Array.from(values.map(BigInt)));
  }

  /** Normal(0, std) weights, as Whisper's init_std draws them. */
  randomNormal(size: number, std: number): Float32Array {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = this.random() * std;
    return out;
  }

  subgraph(scope: string): GraphBuilder {
    return new GraphBuilder(this, scope);
  }
}

/** Seeded standard-normal generator (mulberry32 + Box–Muller): the same seed writes the same model. */
function gaussian(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => {
    const u = uniform() || Number.MIN_VALUE;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}
