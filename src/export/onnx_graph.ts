/**
 * The ONNX graph under construction: nodes in the order they run, float32 initializers kept as
 * arrays until the end (so that a pass such as the batch-norm folding of `onnx_fold.ts` can
 * rewrite them), and unique names. The layer converters (`onnx_layers.ts`) add to it;
 * `toOnnx` (`onnx.ts`) serializes it with the generated classes of ONNX's published schema
 * (`onnx-proto`, protobufjs).
 *
 * No Node-only API: it runs in a browser as well.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export type NodeProto = onnxProto.onnx.INodeProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;

/** A float32 tensor in row-major order. */
export interface Weights {
  data: Float32Array;
  shape: number[];
}

/** A named float32 constant of the graph (an ONNX initializer). */
export interface Initializer extends Weights {
  readonly name: string;
}

/** float32 values as ONNX's raw_data: little-endian bytes whatever the machine's order. */
function littleEndian(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return bytes;
}

/** The graph of one export: nodes, initializers and the names taken. */
export class OnnxGraph {
  /** The nodes, each after the nodes whose outputs it reads. */
  readonly nodes: NodeProto[] = [];
  /** The initializers, in the order they were added. */
  readonly initializers: Initializer[] = [];
  private names = new Set<string>();

  /** `base`, or `base_1`, `base_2`, ... the first not taken; takes it. */
  unique(base: string): string {
    let name = base;
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  /** Adds an initializer named after `name` holding `w` (the graph owns `w.data`). */
  constant(name: string, w: Weights): string {
    const n = this.unique(name);
    this.initializers.push({ name: n, data: w.data, shape: w.shape });
    return n;
  }

  /** Adds a node `opType` named `name/opType` that writes `output`; returns `output`. */
  node(
    opType: string,
    inputs: string[],
    output: string,
    name: string,
    attributes: AttributeProto[] = [],
  ): string {
    this.nodes.push({
      opType,
      input: inputs,
      output: [output],
      name: this.unique(`${name}/${opType}`),
      attribute: attributes,
    });
    return output;
  }

  /** The initializers as ONNX TensorProtos (float32, little-endian raw data). */
  initializerProtos(): onnxProto.onnx.ITensorProto[] {
    return this.initializers.map((w) => ({
      name: w.name,
      dims: w.shape,
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: littleEndian(w.data),
    }));
  }
}

export function ints(name: string, values: number[]): AttributeProto {
  return { name, ints: values, type: onnx.AttributeProto.AttributeType.INTS };
}
export function int(name: string, value: number): AttributeProto {
  return { name, i: value, type: onnx.AttributeProto.AttributeType.INT };
}
/** A float attribute; the value stays a JavaScript number until the model is encoded. */
export function float(name: string, value: number): AttributeProto {
  return { name, f: value, type: onnx.AttributeProto.AttributeType.FLOAT };
}
export function str(name: string, value: string): AttributeProto {
  return {
    name,
    s: new TextEncoder().encode(value),
    type: onnx.AttributeProto.AttributeType.STRING,
  };
}
