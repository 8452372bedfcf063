/**
 * ONNX export of our tfjs-layers networks: `toOnnx(model)` walks the functional graph
 * (`model.layers` in topological order, each layer's inbound node) and builds an ONNX
 * `ModelProto` with the generated classes of ONNX's published schema (`onnx-proto`,
 * protobufjs), never hand-written bytes. It reads ONNX models back (`readOnnxExportInfo`).
 *
 * Its parts: the graph under construction (`onnx_graph.ts`); one converter per Keras layer
 * class (`LAYER_CONVERTERS` in `onnx_layers.ts`, which also holds the layout: the graph input
 * NHWC with a dynamic batch `N`, transposed once to NCHW, the whole graph in NCHW); the
 * batch-norm folding pass over the converted graph (`onnx_fold.ts`). Here each exported output
 * is transposed back to NHWC under its layer's name (`final`, ...) and the metadata is written.
 * A layer or setting that ONNX (or this exporter) cannot express throws
 * `UnsupportedLayerError` naming the layer: no file is made.
 *
 * No Node-only API: it runs in a browser as well. File writing is in `export/write.ts`.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import onnxProto from 'onnx-proto';
import { UserError } from '../errors.js';
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
import { foldBatchNorms } from './onnx_fold.js';
import { ints, OnnxGraph } from './onnx_graph.js';
import { convertLayers, staticShape, TO_NHWC } from './onnx_layers.js';
import {
  ONNX_MIRRORS_KEY,
  onnxExportMetadata,
  onnxMetadataProps,
  parseMirrors,
} from './onnx_metadata.js';

export { convTransposePads } from './onnx_layers.js';

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

/** The names of the outputs to export: every output's, or `final` alone. */
function exportedOutputs(model: tfl.LayersModel, outputsMode: ExportOutputs): string[] {
  const allOutputs = model.outputs.map((o) => o.sourceLayer.name);
  switch (outputsMode) {
    case 'all':
      return allOutputs;
    case 'final':
      if (!allOutputs.includes('final')) {
        throw new UserError(
          `model '${model.name}' has no output named 'final' (outputs: ${allOutputs.join(', ')}); ` +
            "export with outputs 'all'",
        );
      }
      return ['final'];
    default:
      throw new UserError(
        `outputs must be one of ${EXPORT_OUTPUTS.join(', ')}, got '${String(outputsMode)}'`,
      );
  }
}

/**
 * Builds the ONNX model of a tfjs-layers functional model with one NHWC input: each layer
 * through its converter (`LAYER_CONVERTERS`, export/onnx_layers.ts), each exported output
 * transposed back to NHWC, then the batch-norm folding pass (export/onnx_fold.ts). Throws
 * `UnsupportedLayerError` naming the first layer it cannot express.
 */
export function toOnnx(model: tfl.LayersModel, options: OnnxExportOptions = {}): OnnxModel {
  if (model.inputs.length !== 1) {
    throw new UserError(`ONNX export: expected a model with one input, got ${model.inputs.length}`);
  }
  const exported = exportedOutputs(model, options.outputs ?? 'final');
  const g = new OnnxGraph();
  g.unique(ONNX_INPUT_NAME);
  for (const name of exported) g.unique(name);
  const input = model.inputs[0];
  const inputShape = staticShape(input.sourceLayer, input);
  const tensorOf = convertLayers(model, g, ONNX_INPUT_NAME);

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
    const shape = staticShape(layer, layer.output as Sym);
    g.node('Transpose', [tensorOf.get(name)!], name, `${name}/to_nhwc`, [ints('perm', TO_NHWC)]);
    graphOutputs.push(valueInfo(name, ['N', shape[1], shape[2], shape[3]]));
  }
  const foldedBatchNorms = foldBatchNorms(g, exported);

  const metadata = onnxMetadata(model, options, inputShape, exported);
  const modelName = modelMetadata(model)?.model ?? model.name;
  const proto = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'focal-tversky-unet',
    producerVersion: options.producerVersion ?? '',
    docString: `${modelName} exported from TensorFlow.js layers`,
    graph: {
      name: modelName,
      node: g.nodes,
      initializer: g.initializerProtos(),
      input: [valueInfo(ONNX_INPUT_NAME, ['N', inputShape[1], inputShape[2], inputShape[3]])],
      output: graphOutputs,
    },
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  });
  return {
    bytes: onnx.ModelProto.encode(proto).finish(),
    outputs: exported,
    foldedBatchNorms,
    metadata,
  };
}

/**
 * The metadata_props of the exported model: the export metadata's JSON (the recipe, the
 * network, its outputs) under one key (export/onnx_metadata.ts); none for a network not built
 * by `buildModel`.
 */
function onnxMetadata(
  model: tfl.LayersModel,
  options: OnnxExportOptions,
  inputShape: number[],
  exported: string[],
): Record<string, string> {
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  const meta = modelMetadata(model);
  const [, rows, cols, channels] = inputShape;
  const training =
    options.training ?? (options.mirrors !== undefined ? { mirrors: options.mirrors } : undefined);
  const ours =
    (MODEL_NAMES as readonly unknown[]).includes(meta?.model) && (channels === 1 || channels === 3);
  return ours
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
