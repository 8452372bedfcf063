/**
 * ONNX export of our tfjs-layers networks: `toOnnx(model)` walks the functional graph
 * (`model.layers` in topological order, each layer's inbound node) and builds an ONNX
 * `ModelProto` with the generated classes of ONNX's published schema (`onnx-proto`,
 * protobufjs), never hand-written bytes.
 *
 * Layout: our models are NHWC; ONNX's Conv is NCHW. The graph input `input` (NHWC, batch
 * dimension `N` dynamic) is transposed once to NCHW, the whole graph runs in NCHW (kernels
 * HWIO → OIHW; tfjs's Conv2DTranspose kernel [h, w, out, in] → ONNX's [in, out, h, w]), and each
 * exported output is transposed back to NHWC under its layer's name (`final`, ...).
 *
 * A BatchNormalization whose input is a linear convolution feeding only it is folded into that
 * convolution (W' = W·γ/√(σ²+ε), b' = (b−μ)·γ/√(σ²+ε) + β, computed in float64); any other
 * becomes an ONNX BatchNormalization node. A layer or setting that ONNX (or this exporter)
 * cannot express throws `UnsupportedLayerError` naming the layer: no file is made.
 *
 * No Node-only API: it runs in a browser as well. File writing is in `export/write.ts`.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import onnxProto from 'onnx-proto';
import { UnsupportedLayerError, UserError } from '../errors.js';
import { DEFAULT_THRESHOLD } from '../data/recipe.js';
import type { Mirrors } from '../eval/ensemble.js';
import { modelMetadata } from '../models/build.js';
import { MODEL_NAMES, type ModelName } from '../models/options.js';
import { DEFAULT_INTERPOLATION, INTERPOLATIONS, type Interpolation } from '../util/raster.js';
import {
  describeExport,
  EXPORT_OUTPUTS,
  producerOf,
  type ExportMetadata,
  type ExportOutputs,
  type TrainingSummary,
} from './metadata.js';
import {
  ONNX_MIRRORS_KEY,
  onnxExportMetadata,
  onnxMetadataProps,
  parseMirrors,
} from './onnx_metadata.js';

const { onnx } = onnxProto;

/** The ONNX operator set the exported graph uses (every operator is at its opset-13 form). */
export const ONNX_OPSET = 13;
/** The ONNX IR version that goes with opset 13. */
export const ONNX_IR_VERSION = 7;
/** The graph input's name (NHWC, float32, values in [0, 1]). */
export const ONNX_INPUT_NAME = 'input';

export interface OnnxExportOptions {
  /**
   * `'final'` (default): only the `final` output; `'all'`: every output of the model (the
   * deep-supervision outputs pred1..pred3 too), in the model's order.
   */
  outputs?: ExportOutputs;
  /** The mask threshold recorded in the recipe. Default `DEFAULT_THRESHOLD` (0.5). */
  threshold?: number;
  /** The image resizing recorded in the recipe. Default `DEFAULT_INTERPOLATION` (nearest). */
  interpolation?: Interpolation;
  /** The producer version recorded in the model. Default '' (none). */
  producerVersion?: string;
  /**
   * The mirrors that suit the model, recorded as the metadata's `training.mirrors` (see
   * `TrainingSummary.mirrors`) when `training` is not given. Default: not recorded.
   */
  mirrors?: Mirrors;
  /** Where the model came from, recorded as the metadata's `training`. Default: not recorded. */
  training?: TrainingSummary;
}

/** What `toOnnx` made: the serialized model and what it holds. */
export interface OnnxModel {
  /** The serialized ModelProto (write it as `model.onnx`). */
  bytes: Uint8Array;
  /** The graph's output names, in order. */
  outputs: string[];
  /** Convolutions that absorbed a BatchNormalization. */
  foldedBatchNorms: number;
  /**
   * The metadata_props written into the model: the export metadata's JSON under
   * `ftunetExport` (export/onnx_metadata.ts); none for a network not built by `buildModel`.
   */
  metadata: Record<string, string>;
}

type Sym = tfl.SymbolicTensor;
type Config = Record<string, unknown>;

/** The NHWC → NCHW permutation, and back. */
const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];

/** An NHWC axis (negative counts from the end) as the NCHW axis of the same dimension. */
function nchwAxis(axis: number): number {
  const a = axis < 0 ? axis + 4 : axis;
  const map = [0, 2, 3, 1];
  if (!(a >= 0 && a < 4)) throw new Error(`axis ${axis} is not an axis of a 4-d tensor`);
  return map[a];
}

/** Copies a [a, b, c, d] row-major array into the order `perm` (numpy's transpose). */
function transpose4(
  data: ArrayLike<number>,
  shape: number[],
  perm: number[],
): { data: Float32Array; shape: number[] } {
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

/** float32 values as ONNX's raw_data: little-endian bytes whatever the machine's order. */
function littleEndian(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return bytes;
}

interface Weights {
  data: Float32Array;
  shape: number[];
}

/** Builds the graph. One instance per export. */
class GraphBuilder {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private names = new Set<string>();
  /** The ONNX tensor (NCHW) that holds each layer's output. */
  readonly tensorOf = new Map<string, string>();

  unique(base: string): string {
    let name = base;
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  constant(name: string, w: Weights): string {
    const n = this.unique(name);
    this.initializers.push({
      name: n,
      dims: w.shape,
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: littleEndian(w.data),
    });
    return n;
  }

  node(
    opType: string,
    inputs: string[],
    output: string,
    name: string,
    attributes: onnxProto.onnx.IAttributeProto[] = [],
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
}

function ints(name: string, values: number[]): onnxProto.onnx.IAttributeProto {
  return { name, ints: values, type: onnx.AttributeProto.AttributeType.INTS };
}
function int(name: string, value: number): onnxProto.onnx.IAttributeProto {
  return { name, i: value, type: onnx.AttributeProto.AttributeType.INT };
}
function float(name: string, value: number): onnxProto.onnx.IAttributeProto {
  return { name, f: value, type: onnx.AttributeProto.AttributeType.FLOAT };
}
function str(name: string, value: string): onnxProto.onnx.IAttributeProto {
  return {
    name,
    s: new TextEncoder().encode(value),
    type: onnx.AttributeProto.AttributeType.STRING,
  };
}

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

function staticShape(layer: tfl.layers.Layer, t: Sym): number[] {
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

/** The BatchNormalization statistics of a layer, with absent gamma/beta as 1/0. */
function batchNormParams(layer: tfl.layers.Layer, config: Config) {
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
  return { gamma, beta, mean, variance, epsilon: config.epsilon as number, channels: c };
}

/**
 * Builds the ONNX model of a tfjs-layers functional model with one NHWC input. Throws
 * `UnsupportedLayerError` naming the first layer it cannot express.
 */
export function toOnnx(model: tfl.LayersModel, options: OnnxExportOptions = {}): OnnxModel {
  const outputsMode = options.outputs ?? 'final';
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  if (model.inputs.length !== 1) {
    throw new UserError(`ONNX export: expected a model with one input, got ${model.inputs.length}`);
  }
  const allOutputs = model.outputs.map((o) => o.sourceLayer.name);
  let exported: string[];
  switch (outputsMode) {
    case 'all':
      exported = allOutputs;
      break;
    case 'final':
      if (!allOutputs.includes('final')) {
        throw new UserError(
          `model '${model.name}' has no output named 'final' (outputs: ${allOutputs.join(', ')}); ` +
            "export with outputs 'all'",
        );
      }
      exported = ['final'];
      break;
    default:
      throw new UserError(
        `outputs must be one of ${EXPORT_OUTPUTS.join(', ')}, got '${String(outputsMode)}'`,
      );
  }

  // How many layers (and model outputs) read each layer's output: a BatchNormalization is
  // folded only into a convolution whose output nothing else reads.
  const readers = new Map<string, number>();
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    for (const t of inputsOf(layer)) {
      readers.set(t.sourceLayer.name, (readers.get(t.sourceLayer.name) ?? 0) + 1);
    }
  }
  for (const name of allOutputs) readers.set(name, (readers.get(name) ?? 0) + 1);
  const consumerOf = new Map<string, tfl.layers.Layer>();
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    for (const t of inputsOf(layer)) consumerOf.set(t.sourceLayer.name, layer);
  }

  const g = new GraphBuilder();
  g.unique(ONNX_INPUT_NAME);
  for (const name of exported) g.unique(name);
  const folded = new Set<string>();
  const input = model.inputs[0];
  const inputShape = staticShape(input.sourceLayer, input);

  const src = (layer: tfl.layers.Layer, t: Sym): string => {
    if (t.nodeIndex !== 0 || t.tensorIndex !== 0) {
      throw new UnsupportedLayerError(
        layer.name,
        `it reads a second output of '${t.sourceLayer.name}'`,
      );
    }
    const name = g.tensorOf.get(t.sourceLayer.name);
    if (name === undefined)
      throw new Error(`toOnnx: '${t.sourceLayer.name}' not built before '${layer.name}'`);
    return name;
  };

  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const config = layer.getConfig() as Config;
    const out = (): string => g.unique(layer.name);
    if (folded.has(layer.name)) continue;

    switch (cls) {
      case 'InputLayer': {
        if (layer !== input.sourceLayer) {
          throw new UnsupportedLayerError(layer.name, 'a second input');
        }
        const t = g.node('Transpose', [ONNX_INPUT_NAME], out(), layer.name, [
          ints('perm', TO_NCHW),
        ]);
        g.tensorOf.set(layer.name, t);
        break;
      }

      case 'Conv2D':
      case 'Conv2DTranspose': {
        requireChannelsLast(layer, config);
        const transposed = cls === 'Conv2DTranspose';
        const [x] = inputsOf(layer);
        const [, h, w] = staticShape(layer, x);
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
        const weights = weightsOf(layer);
        const kernel = weights[0];
        // tfjs: Conv2D [kh, kw, in, out] → [out, in, kh, kw]; Conv2DTranspose [kh, kw, out, in]
        // → [in, out, kh, kw]: the same permutation.
        const k = transpose4(kernel.data, kernel.shape, [3, 2, 0, 1]);
        const outChannels = transposed ? kernel.shape[2] : kernel.shape[3];
        let bias: Float64Array = new Float64Array(outChannels);
        if (config.useBias !== false) bias = Float64Array.from(weights[1].data);

        // Fold a BatchNormalization that alone reads this linear convolution.
        let resultName = layer.name;
        const bn = consumerOf.get(layer.name);
        if (
          act === 'linear' &&
          bn !== undefined &&
          bn.getClassName() === 'BatchNormalization' &&
          readers.get(layer.name) === 1 &&
          inputsOf(bn).length === 1
        ) {
          const p = batchNormParams(bn, bn.getConfig() as Config);
          const perOut = k.data.length / outChannels;
          for (let o = 0; o < outChannels; o++) {
            const scale = p.gamma[o] / Math.sqrt(p.variance[o] + p.epsilon);
            bias[o] = (bias[o] - p.mean[o]) * scale + p.beta[o];
            if (transposed) {
              // [in, out, kh, kw]: channel o is every (in, o) block.
              const inC = k.shape[0];
              const block = kh * kw;
              for (let i = 0; i < inC; i++) {
                const base = (i * outChannels + o) * block;
                for (let j = 0; j < block; j++) k.data[base + j] = k.data[base + j] * scale;
              }
            } else {
              for (let j = 0; j < perOut; j++)
                k.data[o * perOut + j] = k.data[o * perOut + j] * scale;
            }
          }
          folded.add(bn.name);
          resultName = bn.name;
        }

        const wName = g.constant(`${layer.name}/kernel`, k);
        const bName = g.constant(`${layer.name}/bias`, {
          data: Float32Array.from(bias),
          shape: [outChannels],
        });
        const attrs = [ints('kernel_shape', [kh, kw]), ints('strides', [sh, sw])];
        if (transposed) {
          const ph = convTransposePads(h, kh, sh, padding);
          const pw = convTransposePads(w, kw, sw, padding);
          attrs.push(ints('pads', [ph.begin, pw.begin, ph.end, pw.end]));
          attrs.push(ints('output_padding', [ph.outputPadding, pw.outputPadding]));
        } else if (padding === 'same') {
          const [hb, he] = samePads(h, kh, sh);
          const [wb, we] = samePads(w, kw, sw);
          attrs.push(ints('pads', [hb, wb, he, we]));
        } else {
          attrs.push(ints('pads', [0, 0, 0, 0]));
        }
        const op = transposed ? 'ConvTranspose' : 'Conv';
        const convOut = act === 'linear' ? g.unique(resultName) : g.unique(`${layer.name}/pre`);
        g.node(op, [src(layer, x), wName, bName], convOut, layer.name, attrs);
        let t = convOut;
        if (act !== 'linear')
          t = g.node(ACTIVATION_OPS[act]!, [convOut], g.unique(resultName), layer.name);
        g.tensorOf.set(resultName, t);
        break;
      }

      case 'BatchNormalization': {
        const [x] = inputsOf(layer);
        staticShape(layer, x);
        const p = batchNormParams(layer, config);
        const c = [p.channels];
        const ins = [
          src(layer, x),
          g.constant(`${layer.name}/gamma`, { data: Float32Array.from(p.gamma), shape: c }),
          g.constant(`${layer.name}/beta`, { data: Float32Array.from(p.beta), shape: c }),
          g.constant(`${layer.name}/moving_mean`, { data: Float32Array.from(p.mean), shape: c }),
          g.constant(`${layer.name}/moving_variance`, {
            data: Float32Array.from(p.variance),
            shape: c,
          }),
        ];
        g.tensorOf.set(
          layer.name,
          g.node('BatchNormalization', ins, out(), layer.name, [float('epsilon', p.epsilon)]),
        );
        break;
      }

      case 'Activation': {
        const [x] = inputsOf(layer);
        const act = activationOf(layer, config);
        g.tensorOf.set(
          layer.name,
          g.node(ACTIVATION_OPS[act]!, [src(layer, x)], out(), layer.name),
        );
        break;
      }

      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        requireChannelsLast(layer, config);
        const [x] = inputsOf(layer);
        const [, h, w] = staticShape(layer, x);
        const [kh, kw] = pair(config.poolSize);
        const [sh, sw] = pair(config.strides ?? config.poolSize);
        const padding = config.padding as string;
        let pads = [0, 0, 0, 0];
        if (padding === 'same') {
          const [hb, he] = samePads(h, kh, sh);
          const [wb, we] = samePads(w, kw, sw);
          pads = [hb, wb, he, we];
        } else if (padding !== 'valid') {
          throw new UnsupportedLayerError(layer.name, `padding '${padding}' (only same, valid)`);
        }
        // AveragePool's count_include_pad defaults to 0: TensorFlow also averages real pixels only.
        const op = cls === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool';
        g.tensorOf.set(
          layer.name,
          g.node(op, [src(layer, x)], out(), layer.name, [
            ints('kernel_shape', [kh, kw]),
            ints('strides', [sh, sw]),
            ints('pads', pads),
          ]),
        );
        break;
      }

      case 'UpSampling2D': {
        requireChannelsLast(layer, config);
        if (config.interpolation !== undefined && config.interpolation !== 'nearest') {
          throw new UnsupportedLayerError(
            layer.name,
            `interpolation '${String(config.interpolation)}' (only nearest)`,
          );
        }
        const [x] = inputsOf(layer);
        const [sh, sw] = pair(config.size);
        const scales = g.constant(`${layer.name}/scales`, {
          data: Float32Array.from([1, 1, sh, sw]),
          shape: [4],
        });
        // tfjs resizes with resizeNearestNeighbor (no align corners, no half-pixel centres):
        // source index floor(dst / scale), which is ONNX's asymmetric + floor.
        g.tensorOf.set(
          layer.name,
          g.node('Resize', [src(layer, x), '', scales], out(), layer.name, [
            str('mode', 'nearest'),
            str('coordinate_transformation_mode', 'asymmetric'),
            str('nearest_mode', 'floor'),
          ]),
        );
        break;
      }

      case 'Concatenate': {
        const xs = inputsOf(layer);
        for (const x of xs) staticShape(layer, x);
        const axis = nchwAxis((config.axis as number | undefined) ?? -1);
        g.tensorOf.set(
          layer.name,
          g.node(
            'Concat',
            xs.map((x) => src(layer, x)),
            out(),
            layer.name,
            [int('axis', axis)],
          ),
        );
        break;
      }

      case 'Add':
      case 'Multiply': {
        const xs = inputsOf(layer);
        for (const x of xs) staticShape(layer, x);
        const op = cls === 'Add' ? 'Add' : 'Mul';
        // Binary and multidirectional (numpy) broadcasting: [N,1,H,W] x [N,C,H,W] as in tfjs.
        let acc = src(layer, xs[0]);
        for (let i = 1; i < xs.length; i++) {
          const name = i === xs.length - 1 ? out() : g.unique(`${layer.name}/partial${i}`);
          acc = g.node(op, [acc, src(layer, xs[i])], name, layer.name);
        }
        g.tensorOf.set(layer.name, acc);
        break;
      }

      default:
        throw new UnsupportedLayerError(layer.name, `layer type ${cls} has no ONNX export`);
    }
  }

  const valueInfo = (
    name: string,
    dims: Array<number | string>,
  ): onnxProto.onnx.IValueInfoProto => ({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: {
          dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })),
        },
      },
    },
  });
  const graphOutputs: onnxProto.onnx.IValueInfoProto[] = [];
  for (const name of exported) {
    const layer = model.getLayer(name);
    const t = layer.output as Sym;
    const shape = staticShape(layer, t);
    g.node('Transpose', [g.tensorOf.get(name)!], name, `${name}/to_nhwc`, [ints('perm', TO_NHWC)]);
    graphOutputs.push(valueInfo(name, ['N', shape[1], shape[2], shape[3]]));
  }

  const meta = modelMetadata(model);
  const modelName = meta?.model ?? model.name;
  const [, rows, cols, channels] = inputShape;
  const training =
    options.training ?? (options.mirrors !== undefined ? { mirrors: options.mirrors } : undefined);
  const ours =
    (MODEL_NAMES as readonly unknown[]).includes(meta?.model) && (channels === 1 || channels === 3);
  const metadata = ours
    ? onnxMetadataProps(
        describeExport({
          model: meta!.model as ModelName,
          inputShape: [rows, cols, channels],
          interpolation: options.interpolation ?? DEFAULT_INTERPOLATION,
          threshold,
          outputs: exported,
          quantization: 'none',
          ...(training !== undefined ? { training } : {}),
          producer: producerOf(options.producerVersion),
        }),
      )
    : {};

  const proto = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'focal-tversky-unet',
    producerVersion: options.producerVersion ?? '',
    docString: `${modelName} exported from TensorFlow.js layers`,
    graph: {
      name: modelName,
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(ONNX_INPUT_NAME, ['N', inputShape[1], inputShape[2], inputShape[3]])],
      output: graphOutputs,
    },
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  });
  return {
    bytes: onnx.ModelProto.encode(proto).finish(),
    outputs: exported,
    foldedBatchNorms: folded.size,
    metadata,
  };
}

/** What an exported model.onnx says about itself: its graph's input and outputs, its metadata. */
export interface OnnxExportInfo {
  /** The network's name (the metadata's, else the graph's name). */
  model: string;
  /** The input [rows, cols, channels] (channels 1 or 3), NHWC as `toOnnx` writes it. */
  inputShape: [number, number, number];
  /** The graph's output names, in order. */
  outputs: string[];
  /** The recorded threshold, when there is a valid one. */
  threshold?: number;
  /** The recorded resizing, when there is a valid one. */
  interpolation?: Interpolation;
  /** The recorded mirrors that suit the model, when there are. */
  mirrors?: Mirrors;
  /**
   * The export metadata (today's version, migrated from the flat keys of version 1), when the
   * model has it: the recipe under `predict`.
   */
  metadata?: ExportMetadata;
}

/**
 * Reads an ONNX model as `toOnnx` writes it; `source` names the file in messages. Throws a
 * `UserError` for bytes that are not an ONNX model, an input that is not [N, rows, cols, 1 or 3]
 * and a graph without the output `final`.
 */
export function readOnnxExportInfo(bytes: Uint8Array, source: string): OnnxExportInfo {
  let proto: onnxProto.onnx.ModelProto;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new UserError(`${source} is not an ONNX model: ${(err as Error).message}`);
  }
  const graph = proto.graph;
  if (graph === null || graph === undefined || graph.input?.length !== 1) {
    throw new UserError(`${source}: expected an ONNX graph with one input`);
  }
  const dims = graph.input[0].type?.tensorType?.shape?.dim ?? [];
  const shape = dims.map((d) =>
    d.dimValue === null || d.dimValue === undefined ? 0 : Number(d.dimValue),
  );
  if (
    shape.length !== 4 ||
    !shape.slice(1).every((v) => v > 0) ||
    (shape[3] !== 1 && shape[3] !== 3)
  ) {
    throw new UserError(
      `${source}: expected the input [N, rows, cols, 1 or 3] (NHWC, as ftunet export writes it), ` +
        `got [${dims.map((d) => d.dimParam || String(d.dimValue ?? '?')).join(', ')}]`,
    );
  }
  const outputs = (graph.output ?? []).map((o) => o.name ?? '');
  if (!outputs.includes('final')) {
    throw new UserError(
      `${source}: no output 'final' (outputs: ${outputs.join(', ') || 'none'}); ` +
        'expected a model written by ftunet export --format onnx',
    );
  }
  const props = new Map((proto.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  const inputShape: [number, number, number] = [shape[1], shape[2], shape[3]];
  const metadata = onnxExportMetadata(
    props,
    { inputShape, outputs, producerVersion: proto.producerVersion ?? '' },
    source,
  );
  if (metadata !== undefined) {
    const mirrors = metadata.training?.mirrors;
    return {
      model: metadata.model,
      inputShape,
      outputs,
      threshold: metadata.predict.threshold,
      interpolation: metadata.predict.interpolation,
      ...(mirrors !== undefined ? { mirrors } : {}),
      metadata,
    };
  }
  // Version 1's flat keys that do not make a whole recipe (a network not built by buildModel):
  // what they hold that is valid.
  const threshold = Number(props.get('ftunet.threshold') ?? Number.NaN);
  const interpolation = props.get('ftunet.interpolation');
  const mirrors = parseMirrors(props.get(ONNX_MIRRORS_KEY) ?? '');
  return {
    model: props.get('ftunet.model') || graph.name || 'onnx',
    inputShape,
    outputs,
    ...(threshold >= 0 && threshold <= 1 ? { threshold } : {}),
    ...((INTERPOLATIONS as readonly unknown[]).includes(interpolation)
      ? { interpolation: interpolation as Interpolation }
      : {}),
    ...(mirrors !== undefined ? { mirrors } : {}),
  };
}
