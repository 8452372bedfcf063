/**
 * Whether a checkpoint holds the network that its run's config.json describes, checked before
 * `resume` trains it: a final-only export put in a checkpoint folder, or a config.json whose
 * width, input size or network was edited, would otherwise be trained silently or end in a
 * stack trace of tfjs. Pure (no I/O).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { modelMetadata, outputNames } from '../models/build.js';

const shapeText = (shape: readonly (number | null)[]): string => `[${shape.join(',')}]`;

/** The shapes of a model's inputs, without the batch dimension. */
const inputShapes = (model: tfl.LayersModel): Array<Array<number | null>> =>
  model.inputs.map((i) => i.shape.slice(1));

/**
 * The first difference between `found` (a checkpoint's network) and `expected` (the network
 * built from config.json), as "WHAT A in the checkpoint, B in config.json"; undefined when they
 * take the same inputs, give the same outputs and hold the same weights (names and shapes).
 * Checked in this order: the inputs (channels alone when only they differ), the outputs, the
 * network and width that both models record (`modelMetadata`), then each weight.
 */
export function describeModelMismatch(
  found: tfl.LayersModel,
  expected: tfl.LayersModel,
): string | undefined {
  const [a, b] = [inputShapes(found), inputShapes(expected)];
  if (a.length !== b.length) {
    return `${a.length} input(s) in the checkpoint, ${b.length} in config.json`;
  }
  for (const [i, shape] of a.entries()) {
    if (shapeText(shape) === shapeText(b[i])) continue;
    const sameExceptChannels = shapeText(shape.slice(0, -1)) === shapeText(b[i].slice(0, -1));
    return sameExceptChannels
      ? `${shape.at(-1)} channel(s) in the checkpoint, ${b[i].at(-1)} in config.json`
      : `input shape ${shapeText(shape)} in the checkpoint, ${shapeText(b[i])} in config.json`;
  }
  const [outA, outB] = [outputNames(found), outputNames(expected)];
  const recorded = modelMetadata(found);
  const wanted = modelMetadata(expected);
  if (outA.join() !== outB.join()) {
    const name = wanted === undefined ? '' : ` (${wanted.model})`;
    return `outputs [${outA.join(', ')}] in the checkpoint, [${outB.join(', ')}] in config.json${name}`;
  }
  if (recorded !== undefined && wanted !== undefined) {
    if (recorded.model !== wanted.model) {
      return `network ${recorded.model} in the checkpoint, ${wanted.model} in config.json`;
    }
    if (recorded.width !== wanted.width) {
      return `width ${recorded.width} in the checkpoint, ${wanted.width} in config.json`;
    }
  }
  const [wA, wB] = [found.weights, expected.weights];
  if (wA.length !== wB.length) {
    return `${wA.length} weights in the checkpoint, ${wB.length} in config.json's network`;
  }
  for (const [i, w] of wA.entries()) {
    const v = wB[i];
    if (w.originalName !== v.originalName || shapeText(w.shape) !== shapeText(v.shape)) {
      return (
        `weight ${w.originalName} ${shapeText(w.shape)} in the checkpoint, ` +
        `${v.originalName} ${shapeText(v.shape)} in config.json's network`
      );
    }
  }
  return undefined;
}
