/**
 * `buildModel(name, options)`: the networks of `MODELS` (registry.ts), the four reference
 * networks of the paper's ablation.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { attentionLayerName } from './blocks.js';
import {
  parseModelName,
  resolveModelOptions,
  validateInputShape,
  type ModelName,
  type ModelOptions,
} from './options.js';
import { MODELS } from './registry.js';

/**
 * Builds one of `'unet'`, `'attn_unet'`, `'attn_reg_ds'`, `'attn_reg'` as a tfjs-layers
 * functional model (channels last). Deep-supervision models have the outputs
 * [pred1, pred2, pred3, final]; the others [final].
 */
export function buildModel(name: ModelName | string, options: ModelOptions = {}): tfl.LayersModel {
  const model = parseModelName(name);
  const opts = resolveModelOptions(options);
  const definition = MODELS[model];
  validateInputShape(opts.inputShape, 'input shape', definition.downsampling);
  const net = definition.build(opts);
  const metadata: ModelMetadata = { model, inputShape: opts.inputShape, width: opts.width };
  net.setUserDefinedMetadata({ ftunet: metadata });
  return net;
}

/** What a saved model records about how it was built (in model.json's userDefinedMetadata). */
export interface ModelMetadata {
  model: ModelName;
  inputShape: [number, number, number];
  width: number;
}

/** The build metadata of a model made by `buildModel` (also after a save/load round trip). */
export function modelMetadata(model: tfl.LayersModel): ModelMetadata | undefined {
  const meta = model.getUserDefinedMetadata() as { ftunet?: ModelMetadata } | undefined;
  return meta?.ftunet;
}

/** The output names of a model, in order (e.g. ['pred1', 'pred2', 'pred3', 'final']). */
export function outputNames(model: tfl.LayersModel): string[] {
  return model.outputs.map((o) => o.sourceLayer.name);
}

/** The index of the `final` output, the one predictions and metrics use. */
export function finalOutputIndex(model: tfl.LayersModel): number {
  const i = outputNames(model).indexOf('final');
  if (i < 0) throw new Error(`model '${model.name}' has no output named 'final'`);
  return i;
}

/**
 * The attention gates' layer names of a model (`psi_sigmoid_1`, ...), empty for `unet`.
 */
export function attentionGateNames(model: tfl.LayersModel): string[] {
  const prefix = attentionLayerName('');
  return model.layers.map((l) => l.name).filter((n) => n.startsWith(prefix));
}

/**
 * A model sharing `model`'s weights whose outputs are [final, attention map of each gate].
 * Each attention map is the gate's sigmoid coefficients at half the resolution of the
 * features it gates (1/16, 1/8 and 1/4 of the input for gates 1, 2, 3).
 * Throws for models without attention gates.
 */
export function withAttentionMaps(model: tfl.LayersModel): tfl.LayersModel {
  const gates = attentionGateNames(model);
  if (gates.length === 0) {
    throw new Error(`model '${model.name}' has no attention gates`);
  }
  const final = model.outputs[finalOutputIndex(model)];
  const maps = gates.map((n) => model.getLayer(n).output as tfl.SymbolicTensor);
  return tfl.model({ inputs: model.inputs, outputs: [final, ...maps] });
}
