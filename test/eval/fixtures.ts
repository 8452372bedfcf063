/**
 * Fixtures of the evaluation and prediction tests: a "model" whose output is known, a tiny
 * BUS-layout data set with odd original sizes, and a run folder as `ftunet train` writes it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { saveModel } from '../../src/io/model_files.js';
import { rectMask, scale, writeRaw } from '../data/fixtures.js';

/**
 * A network with one 1x1 convolution named 'final' and a sigmoid: for a pixel x in [0, 1]
 * (the 8-bit value / 255; the mean of the channels for RGB) it outputs
 * p = sigmoid(weight * x + bias). With the defaults (4, -2): black gives sigmoid(-2) = 0.119,
 * white sigmoid(2) = 0.881, so at threshold 0.5 the prediction is exactly the white pixels;
 * at 0.9 it is empty and at 0.1 everything.
 * `extraOutput` adds a first output 'pred1' that calls everything lesion (bias +10), to show
 * that evaluation reads the output named 'final'.
 */
export function thresholdModel(
  inputShape: [number, number, number] = [32, 32, 1],
  options: { weight?: number; bias?: number; extraOutput?: boolean } = {},
): tfl.LayersModel {
  const { weight = 4, bias = -2, extraOutput = false } = options;
  const c = inputShape[2];
  const input = tfl.input({ shape: inputShape });
  const conv = tfl.layers.conv2d({
    filters: 1,
    kernelSize: 1,
    activation: 'sigmoid',
    name: 'final',
  });
  const final = conv.apply(input) as tfl.SymbolicTensor;
  const outputs = [final];
  let side: tfl.layers.Layer | undefined;
  if (extraOutput) {
    side = tfl.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid', name: 'pred1' });
    outputs.unshift(side.apply(input) as tfl.SymbolicTensor);
  }
  const model = tfl.model({ inputs: input, outputs, name: 'threshold_net' });
  tf.tidy(() => {
    conv.setWeights([tf.fill([1, 1, c, 1], weight / c), tf.tensor1d([bias])]);
    side?.setWeights([tf.zeros([1, 1, c, 1]), tf.tensor1d([10])]);
  });
  return model;
}

/** One item of the evaluation data set. */
export interface EvalItem {
  name: string;
  height: number;
  width: number;
  /** Rows [y0, y1) x cols [x0, x1) white in the image (or null: all black). */
  white: [number, number, number, number] | null;
  /** Rows [y0, y1) x cols [x0, x1) lesion in the mask (or null: empty). */
  lesion: [number, number, number, number] | null;
}

/**
 * The items of the hand-worked evaluation, originals of odd sizes, network input 32x32.
 * The white region of the image is what the threshold model predicts.
 */
export const EVAL_ITEMS: readonly EvalItem[] = [
  // Image and mask: rows 0-7, cols 0-19 of 30x45.
  { name: '000001.png', height: 30, width: 45, white: [0, 8, 0, 20], lesion: [0, 8, 0, 20] },
  // Black image, lesion rows 10-14, cols 10-19 (50 pixels): the prediction misses it.
  { name: '000002.png', height: 30, width: 45, white: null, lesion: [10, 15, 10, 20] },
  // Black image, empty mask: a perfect empty prediction.
  { name: '000003.png', height: 17, width: 23, white: null, lesion: null },
  // A training item (not scored when the split is used).
  { name: '000004.png', height: 30, width: 45, white: [5, 25, 5, 40], lesion: [5, 25, 5, 40] },
];

/** The rectangle as a 0/1 array (all zero for null). */
export function region(
  h: number,
  w: number,
  rect: [number, number, number, number] | null,
): Uint8Array {
  return rect === null ? new Uint8Array(h * w) : rectMask(h, w, rect);
}

/** Writes the items in the BUS layout: original/NAME (grey) and gt/NAME (0/255). */
export async function writeBusItems(
  root: string,
  items: readonly EvalItem[] = EVAL_ITEMS,
): Promise<void> {
  for (const it of items) {
    const { height: h, width: w } = it;
    await writeRaw(
      path.join(root, 'original', it.name),
      scale(region(h, w, it.white), 255),
      h,
      w,
      1,
    );
    await writeRaw(path.join(root, 'gt', it.name), scale(region(h, w, it.lesion), 255), h, w, 1);
  }
}

/** The split file of the fixture: items 1-3 to test, item 4 to train. */
export const EVAL_SPLIT = {
  format: 'ftunet-split',
  version: 1,
  method: 'holdout',
  seed: 0,
  testFraction: 0.75,
  valFraction: 0,
  count: 4,
  folds: [{ train: ['000004.png'], val: [], test: ['000001.png', '000002.png', '000003.png'] }],
};

/** A run's config.json as `ftunet train` writes it, for the fixture data set at `data`. */
export function runConfig(data: string): Record<string, unknown> {
  return {
    format: 'ftunet-run',
    version: 1,
    package: { name: 'focal-tversky-unet', version: '0.1.0' },
    model: { name: 'attn_reg', inputShape: [32, 32, 1], width: 0.125 },
    dataset: {
      kind: 'synthetic-bus',
      data,
      inputSize: [32, 32],
      channels: 1,
      interpolation: 'nearest',
      maskSuffix: '',
      cache: false,
    },
    split: { file: 'split.json', fold: 0 },
    loss: { name: 'ftl', alpha: 0.7, gamma: 4 / 3 },
    seed: 1,
    backend: 'cpu',
  };
}

/**
 * Writes a run folder: config.json, split.json and best/ holding `model` (default: the
 * threshold model at 32x32x1).
 */
export async function writeRunFolder(
  runDir: string,
  data: string,
  model: tfl.LayersModel = thresholdModel(),
): Promise<void> {
  await mkdir(runDir, { recursive: true });
  await writeFile(path.join(runDir, 'config.json'), JSON.stringify(runConfig(data), null, 2));
  await writeFile(path.join(runDir, 'split.json'), JSON.stringify(EVAL_SPLIT, null, 2));
  await saveModel(model, path.join(runDir, 'best'));
}
