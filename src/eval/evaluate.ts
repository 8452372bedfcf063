/**
 * Evaluating a model on items of a data set: predict in batches with the `final` output,
 * then score each item at its original size (see score.ts). Browser-safe: tensors through
 * tfjs, original masks through the data set's `loadOriginalMask`.
 */
import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { makeBatch } from '../data/batch.js';
import type { SegmentationDataset } from '../data/dataset.js';
import { UserError } from '../errors.js';
import type { ConfusionCounts, SegmentationMetrics } from '../metrics/evaluation.js';
import type { SurfaceScores } from '../metrics/registry.js';
import type { SurfaceOptions } from '../metrics/surface_policy.js';
import type { PostprocessOptions } from '../util/components.js';
import { finalOutputIndex } from '../models/build.js';
import { inputStatisticsOf } from '../data/input_statistics.js';
import { TfjsEngine, type InferenceEngine } from './engine.js';
import { predictWithMirror, type MirroredPrediction } from './ensemble.js';
import { checkQuality, type QualityCheck } from './quality.js';
import { checkThreshold, DEFAULT_THRESHOLD, scorePrediction } from './score.js';

/** The default number of images predicted at once. */
export const DEFAULT_EVAL_BATCH_SIZE = 8;

/** The result of one item. */
export interface ImageEvaluation {
  /** The item's name in the data set (its image file name). */
  name: string;
  /** The item's index in the data set. */
  index: number;
  /** [rows, cols] of the original image. */
  originalSize: [number, number];
  /** The hard metrics at the original size. */
  metrics: SegmentationMetrics;
  /** The confusion counts at the original size (evaluation has them; other rows may not). */
  counts?: ConfusionCounts;
  /**
   * The surface metrics (HD95, ASSD, ...) at the original size; where a mask is empty, what
   * the policy gives (null under `skip`; evaluation always computes them; rows made elsewhere
   * may leave them out).
   */
  surface?: SurfaceScores | null;
  /** Lesion fraction of the ground truth at the original size. */
  truthArea: number;
  /** Lesion fraction of the prediction at the original size. */
  predictedArea: number;
  /** The metrics at the input size, with `inputSizeMetrics`. */
  atInputSize?: SegmentationMetrics;
  /** Quality control of the prediction (quality.ts), unless turned off. */
  qc?: QualityCheck;
}

/** Progress of `evaluateModel`: images predicted and scored so far. */
export interface EvaluateProgress {
  done: number;
  total: number;
}

/** Options of `evaluateModel`. */
export interface EvaluateModelOptions {
  /** Lesion where p > threshold. Default 0.5. */
  threshold?: number;
  /** Also score at the input size, against the resized masks. Default false. */
  inputSizeMetrics?: boolean;
  /** Images predicted at once. Default 8. */
  batchSize?: number;
  /** Post-processing of each original-size prediction before it is scored. Default: none. */
  postprocess?: PostprocessOptions;
  /** The surface metrics' policy for empty masks and pixel spacing. Default: skip, pixels. */
  surface?: SurfaceOptions;
  /**
   * Quality control of each prediction (quality.ts): the model's recorded training statistics
   * and one pass on the mirrored images more (none with a test-time augmentation that mirrors
   * horizontally). Default true.
   */
  quality?: boolean;
  /** Receives progress after each batch. Default: none. */
  onProgress?: (progress: EvaluateProgress) => void;
  /**
   * What predicts the `final` output (the caller disposes of it): TensorFlow.js workers or
   * ONNX Runtime (see engine.ts). Default: `model` with TensorFlow.js in this thread.
   */
  engine?: InferenceEngine;
}

/**
 * The spatial input shape [rows, cols, channels] of a single-input model, or a `UserError`
 * naming `what` when the model has several inputs or unknown sizes.
 */
export function modelInputShape(model: tfl.LayersModel, what: string): [number, number, number] {
  if (model.inputs.length !== 1) {
    throw new UserError(`${what}: expected a model with one input, got ${model.inputs.length}`);
  }
  const shape = model.inputs[0].shape;
  const [, h, w, c] = shape;
  if (shape.length !== 4 || !(h! > 0) || !(w! > 0) || !(c! > 0)) {
    throw new UserError(
      `${what}: the model's input shape [${shape.map(String).join(',')}] is not ` +
        '[batch, rows, cols, channels] with known sizes',
    );
  }
  return [h!, w!, c!];
}

/**
 * A model sharing `model`'s weights with the `final` output alone, so that prediction skips
 * the deep-supervision heads (pred1..pred3). Do not dispose it: `model` owns the weights.
 */
export function finalOutputModel(model: tfl.LayersModel): tfl.LayersModel {
  if (model.outputs.length === 1) return model;
  const final = model.outputs[finalOutputIndex(model)];
  return tfl.model({ inputs: model.inputs, outputs: final });
}

/**
 * Predicts the items at `indices` (in that order) and scores each at its original size.
 * The model's input must match the data set's input size and channels. Creates no tensors
 * that outlive the call.
 */
export async function evaluateModel(
  model: tfl.LayersModel,
  dataset: SegmentationDataset,
  indices: readonly number[],
  options: EvaluateModelOptions = {},
): Promise<ImageEvaluation[]> {
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  const batchSize = options.batchSize ?? DEFAULT_EVAL_BATCH_SIZE;
  const inputSizeMetrics = options.inputSizeMetrics ?? false;
  checkThreshold(threshold);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new UserError(`batchSize must be a positive integer, got ${batchSize}`);
  }
  if (indices.length === 0) throw new UserError(`no items to evaluate`);
  const [h, w, c] = modelInputShape(model, `model '${model.name}'`);
  const [dh, dw] = dataset.inputSize;
  if (h !== dh || w !== dw || c !== dataset.channels) {
    throw new UserError(
      `the model takes ${h}x${w}x${c} inputs but the data set was loaded at ` +
        `${dh}x${dw}x${dataset.channels}`,
    );
  }
  const engine = options.engine ?? new TfjsEngine(finalOutputModel(model));
  const quality = options.quality ?? true;
  const recorded = quality ? inputStatisticsOf(model.getUserDefinedMetadata()) : undefined;
  const stats = recorded?.channels === c ? recorded : undefined;
  const pixels = h * w;
  const results: ImageEvaluation[] = [];
  for (let start = 0; start < indices.length; start += batchSize) {
    const batch = indices.slice(start, start + batchSize);
    const passes = quality ? await predictBatchWithMirror(engine, dataset, batch) : undefined;
    const values = passes?.probabilities ?? (await predictProbabilities(engine, dataset, batch));
    const truths = await Promise.all(batch.map((i) => dataset.loadOriginalMask(i)));
    batch.forEach((index, k) => {
      const truth = truths[k];
      const [oh, ow] = dataset.originalSizes[index];
      if (truth.height !== oh || truth.width !== ow) {
        throw new UserError(
          `the original mask of ${dataset.names[index]} is ${truth.height}x${truth.width}, ` +
            `but the data set recorded ${oh}x${ow}: the file changed since it was loaded`,
        );
      }
      const score = scorePrediction(values.subarray(k * pixels, (k + 1) * pixels), [h, w], truth, {
        threshold,
        ...(inputSizeMetrics ? { inputMask: dataset.masks[index] } : {}),
        ...(options.postprocess ? { postprocess: options.postprocess } : {}),
        ...(options.surface ? { surface: options.surface } : {}),
      });
      const image = (a: Float32Array): Float32Array => a.subarray(k * pixels, (k + 1) * pixels);
      results.push({
        name: dataset.names[index],
        index,
        originalSize: [oh, ow],
        metrics: score.metrics,
        counts: score.counts,
        surface: score.surface,
        truthArea: score.truthArea,
        predictedArea: score.predictedArea,
        ...(score.atInputSize ? { atInputSize: score.atInputSize } : {}),
        ...(passes !== undefined
          ? {
              qc: checkQuality({
                ...(stats !== undefined ? { stats } : {}),
                pixels: dataset.images[index],
                probabilities: image(passes.probabilities),
                passes: { unflipped: image(passes.unflipped), mirrored: image(passes.mirrored) },
                threshold,
                lesionArea: score.predictedArea,
              }),
            }
          : {}),
      });
    });
    options.onProgress?.({ done: results.length, total: indices.length });
  }
  return results;
}

/**
 * `predictWithMirror` (ensemble.ts) on the items `batch` of `dataset`: the prediction and the
 * two passes of the flip check, at input size, one image after another.
 */
function predictBatchWithMirror(
  engine: InferenceEngine,
  dataset: SegmentationDataset,
  batch: readonly number[],
): Promise<MirroredPrediction> {
  return onBatch(dataset, batch, (xs) => predictWithMirror(engine, xs));
}

/**
 * The `final` output's probabilities for the items `batch` of `dataset` at input size, one
 * image after another (`batch.length * rows * cols` values), predicted by `engine`.
 */
export function predictProbabilities(
  engine: InferenceEngine,
  dataset: SegmentationDataset,
  batch: readonly number[],
): Promise<Float32Array> {
  return onBatch(dataset, batch, (xs) => engine.predict(xs));
}

/** `predict` on the images of the items `batch` (their tensor freed after). */
async function onBatch<T>(
  dataset: SegmentationDataset,
  batch: readonly number[],
  predict: (xs: tf.Tensor4D) => Promise<T>,
): Promise<T> {
  const { xs, ys } = makeBatch(dataset, batch);
  ys.dispose();
  try {
    return await predict(xs);
  } finally {
    xs.dispose();
  }
}
