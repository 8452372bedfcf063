/**
 * The ONNX form of each Keras layer class our networks use: `LAYER_CONVERTERS`, one converter
 * per class with one signature, and `convertLayers`, which runs them over a functional model's
 * layers in topological order. Adding a layer type is one entry in the table (and a case in
 * test/export/onnx.test.ts).
 *
 * Layout: our models are NHWC; ONNX's Conv is NCHW. The InputLayer transposes the graph input
 * to NCHW once, and every converter reads and writes NCHW tensors (kernels HWIO → OIHW;
 * tfjs's Conv2DTranspose kernel [h, w, out, in] → ONNX's [in, out, h, w]); `toOnnx` transposes
 * each exported output back to NHWC. A BatchNormalization becomes an ONNX BatchNormalization
 * node here; folding it into the convolution before it is a separate pass (`onnx_fold.ts`).
 *
 * A layer or setting that ONNX (or this exporter) cannot express throws
 * `UnsupportedLayerError` naming the layer. No Node-only API.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { UnsupportedLayerError } from '../errors.js';
import { float, int, ints, str, type OnnxGraph, type Weights } from './onnx_graph.js';

type Sym = tfl.SymbolicTensor;
type Config = Record<string, unknown>;

/** The NHWC → NCHW permutation, and back. */
const TO_NCHW = [0, 3, 1, 2];
export const TO_NHWC = [0, 2, 3, 1];

/** A layer as its converter sees it. */
export interface LayerToConvert {
  readonly layer: tfl.layers.Layer;
  /** The layer's `getConfig()`. */
  readonly config: Config;
  /** The tensors the layer reads (its one inbound node's inputs); none for the InputLayer. */
  readonly inputs: readonly Sym[];
  /** The ONNX tensors (NCHW) that hold `inputs`, in order; the graph input for the InputLayer. */
  readonly sources: readonly string[];
  /** The graph to add nodes and initializers to. */
  readonly graph: OnnxGraph;
  /** Takes a fresh tensor name for the layer's output (its name, or `name_1`, ...). */
  output(): string;
}

/**
 * Adds a layer's nodes and initializers to the graph and returns the ONNX tensor (NCHW) that
 * holds its output. Throws `UnsupportedLayerError` for a setting it cannot express.
 */
export type LayerConverter = (c: LayerToConvert) => string;

/** An NHWC axis (negative counts from the end) as the NCHW axis of the same dimension. */
function nchwAxis(axis: number): number {
  const a = axis < 0 ? axis + 4 : axis;
  const map = [0, 2, 3, 1];
  if (!(a >= 0 && a < 4)) throw new Error(`axis ${axis} is not an axis of a 4-d tensor`);
  return map[a];
}

/** Copies a [a, b, c, d] row-major array into the order `perm` (numpy's transpose). */
function transpose4(data: ArrayLike<number>, shape: number[], perm: number[]): Weights {
  const out = new Float32Array(data.length);
  const outShape = perm.map((p) => shape[p]);
  const stride = [shape[1] * shape[2] * shape[3], shape[2] * shape[3], shape[3], 1];
  const s = perm.map((p) => stride[p]);
  let k = 0;
  for (let i = 0; i < outShape[0]; i++) {
    for (let j = 0; j < outShape[1]; j++) {
      for (let m = 0; m < outShape[2]; m++) {
        for (let n = 0; n < outShape[3]; n++) {
          out[k++] = data[i * s[0] + j * s[1] + m * s[2] + n * s[3]];
        }
      }
    }
  }
  return { data: out, shape: outShape };
}

/** Explicit begin/end pads of TensorFlow's 'same' for one spatial dimension of a convolution. */
function samePads(inSize: number, kernel: number, stride: number): [number, number] {
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + kernel - inSize, 0);
  const begin = Math.floor(total / 2);
  return [begin, total - begin];
}

/**
 * ONNX ConvTranspose pads and output_padding that give tfjs's Conv2DTranspose output size
 * (in·s for 'same', in·s + max(k − s, 0) for 'valid') and its cropping (TensorFlow crops the
 * full transposed output by floor(total/2) at the start).
 */
export function convTransposePads(
  inSize: number,
  kernel: number,
  stride: number,
  padding: 'same' | 'valid',
): { begin: number; end: number; outputPadding: number; outSize: number } {
  const outSize =
    padding === 'same' ? inSize * stride : inSize * stride + Math.max(kernel - stride, 0);
  const total = (inSize - 1) * stride + kernel - outSize;
  if (total >= 0) {
    const begin = Math.floor(total / 2);
    return { begin, end: total - begin, outputPadding: 0, outSize };
  }
  return { begin: 0, end: 0, outputPadding: -total, outSize };
}

const ACTIVATION_OPS: Record<string, string | undefined> = {
  relu: 'Relu',
  sigmoid: 'Sigmoid',
  linear: 'Identity',
  tanh: 'Tanh',
};

/** The single inbound node's input tensors of a layer (shared layers are not exported). */
function inputsOf(layer: tfl.layers.Layer): Sym[] {
  const nodes = layer.inboundNodes;
  if (nodes.length !== 1) {
    throw new UnsupportedLayerError(
      layer.name,
      `it is applied ${nodes.length} times (shared layers are not supported)`,
    );
  }
  return nodes[0].inputTensors;
}

/** The shape of `t`, an NHWC tensor of `layer` with static height, width and channels. */
export function staticShape(layer: tfl.layers.Layer, t: Sym): number[] {
  const shape = t.shape;
  if (shape.length !== 4 || shape.slice(1).some((d) => d == null)) {
    throw new UnsupportedLayerError(
      layer.name,
      `expected a 4-d NHWC tensor with static height, width and channels, got [${shape.join(', ')}]`,
    );
  }
  return shape.map((d) => d ?? -1);
}

function requireChannelsLast(layer: tfl.layers.Layer, config: Config): void {
  if (config.dataFormat !== undefined && config.dataFormat !== 'channelsLast') {
    throw new UnsupportedLayerError(
      layer.name,
      `data format ${String(config.dataFormat)} (only channelsLast)`,
    );
  }
}

function pair(value: unknown): [number, number] {
  if (typeof value === 'number') return [value, value];
  const v = value as number[];
  return [v[0], v.length > 1 ? v[1] : v[0]];
}

function activationOf(layer: tfl.layers.Layer, config: Config): string {
  const a = typeof config.activation === 'string' ? config.activation : 'linear';
  if (ACTIVATION_OPS[a] === undefined) {
    throw new UnsupportedLayerError(
      layer.name,
      `activation '${a}' (supported: ${Object.keys(ACTIVATION_OPS).join(', ')})`,
    );
  }
  return a;
}

function weightsOf(layer: tfl.layers.Layer): Weights[] {
  return layer.getWeights().map((t) => ({ data: t.dataSync() as Float32Array, shape: t.shape }));
}

/** ONNX pads [h begin, w begin, h end, w end] of TensorFlow's 'same' or 'valid'. */
function spatialPads(
  layer: tfl.layers.Layer,
  padding: string,
  [h, w]: [number, number],
  [kh, kw]: [number, number],
  [sh, sw]: [number, number],
): number[] {
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding !== 'same') {
    throw new UnsupportedLayerError(layer.name, `padding '${padding}' (only same, valid)`);
  }
  const [hb, he] = samePads(h, kh, sh);
  const [wb, we] = samePads(w, kw, sw);
  return [hb, wb, he, we];
}

/** The graph input, transposed to NCHW. */
const inputLayer: LayerConverter = ({ layer, sources, graph, output }) =>
  graph.node('Transpose', [sources[0]], output(), layer.name, [ints('perm', TO_NCHW)]);

/** Conv2D as Conv, Conv2DTranspose as ConvTranspose, each followed by its activation. */
function convolution(op: 'Conv' | 'ConvTranspose'): LayerConverter {
  return ({ layer, config, inputs, sources, graph: g, output }) => {
    requireChannelsLast(layer, config);
    const [, h, w] = staticShape(layer, inputs[0]);
    const [kh, kw] = pair(config.kernelSize);
    const [sh, sw] = pair(config.strides);
    const [dh, dw] = pair(config.dilationRate ?? 1);
    if (dh !== 1 || dw !== 1) {
      throw new UnsupportedLayerError(layer.name, `dilation ${dh}x${dw} (only 1)`);
    }
    const padding = config.padding as string;
    if (padding !== 'same' && padding !== 'valid') {
      throw new UnsupportedLayerError(layer.name, `padding '${padding}' (only same, valid)`);
    }
    const act = activationOf(layer, config);
    const transposed = op === 'ConvTranspose';
    const weights = weightsOf(layer);
    const kernel = weights[0];
    // tfjs: Conv2D [kh, kw, in, out] → [out, in, kh, kw]; Conv2DTranspose [kh, kw, out, in]
    // → [in, out, kh, kw]: the same permutation.
    const k = transpose4(kernel.data, kernel.shape, [3, 2, 0, 1]);
    const outChannels = transposed ? kernel.shape[2] : kernel.shape[3];
    const bias =
      config.useBias !== false ? Float32Array.from(weights[1].data) : new Float32Array(outChannels);
    const wName = g.constant(`${layer.name}/kernel`, k);
    const bName = g.constant(`${layer.name}/bias`, { data: bias, shape: [outChannels] });
    const attrs = [ints('kernel_shape', [kh, kw]), ints('strides', [sh, sw])];
    if (transposed) {
      const ph = convTransposePads(h, kh, sh, padding);
      const pw = convTransposePads(w, kw, sw, padding);
      attrs.push(ints('pads', [ph.begin, pw.begin, ph.end, pw.end]));
      attrs.push(ints('output_padding', [ph.outputPadding, pw.outputPadding]));
    } else {
      attrs.push(ints('pads', spatialPads(layer, padding, [h, w], [kh, kw], [sh, sw])));
    }
    const ins = [sources[0], wName, bName];
    if (act === 'linear') return g.node(op, ins, output(), layer.name, attrs);
    const pre = g.node(op, ins, g.unique(`${layer.name}/pre`), layer.name, attrs);
    return g.node(ACTIVATION_OPS[act]!, [pre], output(), layer.name);
  };
}

/** An ONNX BatchNormalization node (inference form), absent gamma/beta as 1/0. */
const batchNormalization: LayerConverter = ({
  layer,
  config,
  inputs,
  sources,
  graph: g,
  output,
}) => {
  staticShape(layer, inputs[0]);
  const axis = config.axis as number;
  if (axis !== -1 && axis !== 3) {
    throw new UnsupportedLayerError(
      layer.name,
      `BatchNormalization over axis ${axis} (only the channels, -1)`,
    );
  }
  const w = weightsOf(layer);
  let k = 0;
  const c = w[w.length - 1].data.length;
  const gamma = config.scale === false ? new Float32Array(c).fill(1) : w[k++].data;
  const beta = config.center === false ? new Float32Array(c).fill(0) : w[k++].data;
  const mean = w[k++].data;
  const variance = w[k++].data;
  const shape = [c];
  const ins = [
    sources[0],
    g.constant(`${layer.name}/gamma`, { data: Float32Array.from(gamma), shape }),
    g.constant(`${layer.name}/beta`, { data: Float32Array.from(beta), shape }),
    g.constant(`${layer.name}/moving_mean`, { data: Float32Array.from(mean), shape }),
    g.constant(`${layer.name}/moving_variance`, { data: Float32Array.from(variance), shape }),
  ];
  // The epsilon stays a float64 until the model is encoded: the folding pass uses it as given.
  return g.node('BatchNormalization', ins, output(), layer.name, [
    float('epsilon', config.epsilon as number),
  ]);
};

const activation: LayerConverter = ({ layer, config, sources, graph, output }) =>
  graph.node(ACTIVATION_OPS[activationOf(layer, config)]!, [sources[0]], output(), layer.name);

/** MaxPooling2D and AveragePooling2D with TensorFlow's padding. */
function pooling(op: 'MaxPool' | 'AveragePool'): LayerConverter {
  return ({ layer, config, inputs, sources, graph, output }) => {
    requireChannelsLast(layer, config);
    const [, h, w] = staticShape(layer, inputs[0]);
    const kernel = pair(config.poolSize);
    const strides = pair(config.strides ?? config.poolSize);
    const pads = spatialPads(layer, config.padding as string, [h, w], kernel, strides);
    // AveragePool's count_include_pad defaults to 0: TensorFlow also averages real pixels only.
    return graph.node(op, [sources[0]], output(), layer.name, [
      ints('kernel_shape', kernel),
      ints('strides', strides),
      ints('pads', pads),
    ]);
  };
}

/** UpSampling2D (nearest) as Resize. */
const upSampling: LayerConverter = ({ layer, config, sources, graph: g, output }) => {
  requireChannelsLast(layer, config);
  if (config.interpolation !== undefined && config.interpolation !== 'nearest') {
    throw new UnsupportedLayerError(
      layer.name,
      `interpolation '${String(config.interpolation)}' (only nearest)`,
    );
  }
  const [sh, sw] = pair(config.size);
  const scales = g.constant(`${layer.name}/scales`, {
    data: Float32Array.from([1, 1, sh, sw]),
    shape: [4],
  });
  // tfjs resizes with resizeNearestNeighbor (no align corners, no half-pixel centres):
  // source index floor(dst / scale), which is ONNX's asymmetric + floor.
  return g.node('Resize', [sources[0], '', scales], output(), layer.name, [
    str('mode', 'nearest'),
    str('coordinate_transformation_mode', 'asymmetric'),
    str('nearest_mode', 'floor'),
  ]);
};

const concatenate: LayerConverter = ({ layer, config, inputs, sources, graph, output }) => {
  for (const x of inputs) staticShape(layer, x);
  const axis = nchwAxis((config.axis as number | undefined) ?? -1);
  return graph.node('Concat', [...sources], output(), layer.name, [int('axis', axis)]);
};

/** Add and Multiply of two or more inputs, as a chain of binary nodes. */
function elementwise(op: 'Add' | 'Mul'): LayerConverter {
  return ({ layer, inputs, sources, graph: g, output }) => {
    for (const x of inputs) staticShape(layer, x);
    // Binary and multidirectional (numpy) broadcasting: [N,1,H,W] x [N,C,H,W] as in tfjs.
    let acc = sources[0];
    for (let i = 1; i < sources.length; i++) {
      const name = i === sources.length - 1 ? output() : g.unique(`${layer.name}/partial${i}`);
      acc = g.node(op, [acc, sources[i]], name, layer.name);
    }
    return acc;
  };
}

/** The converter of each Keras layer class (`layer.getClassName()`). */
export const LAYER_CONVERTERS: Readonly<Record<string, LayerConverter>> = {
  InputLayer: inputLayer,
  Conv2D: convolution('Conv'),
  Conv2DTranspose: convolution('ConvTranspose'),
  BatchNormalization: batchNormalization,
  Activation: activation,
  MaxPooling2D: pooling('MaxPool'),
  AveragePooling2D: pooling('AveragePool'),
  UpSampling2D: upSampling,
  Concatenate: concatenate,
  Add: elementwise('Add'),
  Multiply: elementwise('Mul'),
};

/**
 * Converts every layer of `model` (one input, read from the graph tensor `inputName`) into
 * `graph` with `LAYER_CONVERTERS`; returns the ONNX tensor (NCHW) of each layer's output, by
 * layer name. Throws `UnsupportedLayerError` naming the first layer it cannot express.
 */
export function convertLayers(
  model: tfl.LayersModel,
  graph: OnnxGraph,
  inputName: string,
): Map<string, string> {
  // Every layer's inputs first: a shared layer is refused before anything is converted.
  const inputs = new Map<tfl.layers.Layer, Sym[]>();
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'InputLayer') inputs.set(layer, inputsOf(layer));
  }
  const tensorOf = new Map<string, string>();
  const source = (layer: tfl.layers.Layer, t: Sym): string => {
    if (t.nodeIndex !== 0 || t.tensorIndex !== 0) {
      throw new UnsupportedLayerError(
        layer.name,
        `it reads a second output of '${t.sourceLayer.name}'`,
      );
    }
    const name = tensorOf.get(t.sourceLayer.name);
    if (name === undefined)
      throw new Error(`toOnnx: '${t.sourceLayer.name}' not built before '${layer.name}'`);
    return name;
  };
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const convert = Object.hasOwn(LAYER_CONVERTERS, cls) ? LAYER_CONVERTERS[cls] : undefined;
    if (convert === undefined) {
      throw new UnsupportedLayerError(layer.name, `layer type ${cls} has no ONNX export`);
    }
    let sources: string[];
    if (cls === 'InputLayer') {
      if (layer !== model.inputs[0].sourceLayer) {
        throw new UnsupportedLayerError(layer.name, 'a second input');
      }
      sources = [inputName];
    } else {
      sources = inputs.get(layer)!.map((t) => source(layer, t));
    }
    const output = convert({
      layer,
      config: layer.getConfig() as Config,
      inputs: inputs.get(layer) ?? [],
      sources,
      graph,
      output: () => graph.unique(layer.name),
    });
    tensorOf.set(layer.name, output);
  }
  return tensorOf;
}
