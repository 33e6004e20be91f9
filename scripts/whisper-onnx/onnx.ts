import protobuf from 'protobufjs';

/**
 * The part of onnx.proto (IR v8) this generator writes, with the field numbers of the real schema,
 * so protobufjs encodes byte-for-byte what the ONNX tooling would.
 */
const ONNX_PROTO = `
syntax = "proto3";
package onnx;
message AttributeProto {
  string name = 1; float f = 2; int64 i = 3; bytes s = 4; TensorProto t = 5; GraphProto g = 6;
  repeated float floats = 7; repeated int64 ints = 8; int32 type = 20;
}
message ValueInfoProto { string name = 1; TypeProto type = 2; }
message NodeProto {
  repeated string input = 1; repeated string output = 2; string name = 3; string op_type = 4;
  repeated AttributeProto attribute = 5; string domain = 7;
}
message ModelProto {
  int64 ir_version = 1; string producer_name = 2; string producer_version = 3; GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8; repeated StringStringEntryProto metadata_props = 14;
}
message StringStringEntryProto { string key = 1; string value = 2; }
message GraphProto {
  repeated NodeProto node = 1; string name = 2; repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12;
}
message TensorProto { repeated int64 dims = 1; int32 data_type = 2; string name = 8; bytes raw_data = 9; }
message TensorShapeProto {
  message Dimension { oneof value { int64 dim_value = 1; string dim_param = 2; } }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor { int32 elem_type = 1; TensorShapeProto shape = 2; }
  Tensor tensor_type = 1;
}
message OperatorSetIdProto { string domain = 1; int64 version = 2; }
`;

const modelType = protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');

/** TensorProto.DataType values. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT64: 7, BOOL: 9, FLOAT16: 10 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

const AttributeType = { FLOAT: 1, INT: 2, TENSOR: 4, GRAPH: 5, INTS: 7 } as const;

export interface Tensor {
  name: string;
  dims: number[];
  data_type: DataTypeCode;
  raw_data: Uint8Array;
}
export interface Node {
  input: string[];
  output: string[];
  name: string;
  op_type: string;
  domain: string;
  attribute: Attribute[];
}
export interface Attribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  t?: Tensor;
  g?: Graph;
  ints?: number[];
}
export interface ValueInfo {
  name: string;
  type: {
    tensor_type: { elem_type: DataTypeCode; shape?: { dim: ({ dim_value: number } | { dim_param: string })[] } };
  };
}
export interface Graph {
  name: string;
  node: Node[];
  initializer: Tensor[];
  input: ValueInfo[];
  output: ValueInfo[];
}

/** An attribute value as a node builder accepts it: numbers are INT unless wrapped with `float()`. */
export type AttributeValue = number | number[] | { float: number } | Tensor | Graph;

export function float(value: number): { float: number } {
  return { float: value };
}

export function attribute(name: string, value: AttributeValue): Attribute {
  if (typeof value === 'number') return { name, type: AttributeType.INT, i: value };
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  if ('float' in value) return { name, type: AttributeType.FLOAT, f: value.float };
  if ('raw_data' in value) return { name, type: AttributeType.TENSOR, t: value };
  return { name, type: AttributeType.GRAPH, g: value };
}

export function tensor(name: string, dataType: DataTypeCode, dims: number[], data: ArrayBufferView): Tensor {
  return { name, dims, data_type: dataType, raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/**
 * A dimension is a fixed size or a symbolic name (onnxruntime reports names as strings in input metadata);
 * `null` leaves the shape unknown, which is not the same as `[]` (a scalar).
 */
export function valueInfo(name: string, elemType: DataTypeCode, dims: (number | string)[] | null = null): ValueInfo {
  if (dims === null) return { name, type: { tensor_type: { elem_type: elemType } } };
  const dim = dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d }));
  return { name, type: { tensor_type: { elem_type: elemType, shape: { dim } } } };
}

/** `metadata` becomes the model's metadata_props (runtimes such as sherpa-onnx read settings from it). */
export function encodeModel(
  graph: Graph,
  opsets: Record<string, number>,
  metadata: Record<string, string | number> = {},
): Uint8Array {
  const model = {
    ir_version: 8,
    producer_name: 'switchboard-whisper-onnx',
    producer_version: '1',
    graph,
    opset_import: Object.entries(opsets).map(([domain, version]) => ({ domain, version })),
    metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value: String(value) })),
  };
  return modelType.encode(modelType.fromObject(model)).finish();
}
