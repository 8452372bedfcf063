/**
 * A plain description of a model: its layers with output shapes and parameter counts, and
 * the totals, for `ftunet summary` and for reports.
 */
import * as tfl from '@tensorflow/tfjs-layers';

export interface LayerSummary {
  name: string;
  className: string;
  /** Output shape(s) without the batch dimension. */
  outputShape: number[][];
  params: number;
  /** Names of the layers feeding this one. */
  inbound: string[];
}

export interface ModelSummary {
  model: string;
  inputShape: number[];
  params: number;
  trainableParams: number;
  outputs: Array<{ name: string; shape: number[] }>;
  layers: LayerSummary[];
}

function dropBatch(shape: ReadonlyArray<number | null>): number[] {
  return shape.slice(1).map((d) => d ?? -1);
}

function shapesOf(shape: tfl.Shape | tfl.Shape[]): number[][] {
  return Array.isArray(shape[0])
    ? (shape as tfl.Shape[]).map(dropBatch)
    : [dropBatch(shape as tfl.Shape)];
}

function countWeights(weights: tfl.LayerVariable[]): number {
  return weights.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}

export function summarizeModel(model: tfl.LayersModel, name = model.name): ModelSummary {
  const layers = model.layers.map((layer) => ({
    name: layer.name,
    className: layer.getClassName(),
    outputShape: shapesOf(layer.outputShape),
    params: layer.countParams(),
    inbound: layer.inboundNodes.flatMap((node) => node.inboundLayers.map((l) => l.name)),
  }));
  return {
    model: name,
    inputShape: dropBatch(model.inputs[0].shape),
    params: model.countParams(),
    trainableParams: countWeights(model.trainableWeights),
    outputs: model.outputs.map((o) => ({ name: o.sourceLayer.name, shape: dropBatch(o.shape) })),
    layers,
  };
}
