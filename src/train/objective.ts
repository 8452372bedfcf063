/**
 * The training objective of the reference scripts (`bus_train.py`, `isic_train.py`,
 * `newmodels.py`), including deep supervision:
 * - targets of the side outputs are the ground truth sub-sampled by taking every k-th pixel
 *   (`gt[::8, ::8]`, `gt[::4, ::4]`, `gt[::2, ::2]` for pred1, pred2, pred3), not pooled;
 * - `attn_reg` puts the chosen loss on pred1..pred3 and the Tversky loss on `final` (the
 *   paper: "supervise the last layer with the Tversky loss"); every other model puts the
 *   chosen loss on all of its outputs;
 * - the total is the weighted sum over outputs, weights 1 by default (the reference), or the
 *   nnU-Net scheme: 1, 1/2, 1/4, ... from the full-resolution output down, normalised to 1.
 *
 * Browser-safe (tfjs-core only).
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import { bceDiceLoss } from '../losses/bce.js';
import { diceLoss } from '../losses/dice.js';
import { focalTverskyLoss, tverskyLoss } from '../losses/tversky.js';
import type { LossOptions } from '../losses/utils.js';
import { softDsc } from '../metrics/soft.js';

export const LOSS_NAMES = ['dl', 'tl', 'ftl', 'bce-dice'] as const;
/** `dl` Dice loss, `tl` Tversky loss, `ftl` focal Tversky loss, `bce-dice` BCE + Dice. */
export type LossName = (typeof LOSS_NAMES)[number];

export const WEIGHTINGS = ['equal', 'nnunet'] as const;
export type Weighting = (typeof WEIGHTINGS)[number];
/** The paper's loss and deep supervision weights: FTL, every output weighted 1. */
export const DEFAULT_LOSS: LossName = 'ftl';
export const DEFAULT_WEIGHTING: Weighting = 'equal';

export type LossFn = (yTrue: tf.Tensor, yPred: tf.Tensor, options?: LossOptions) => tf.Scalar;

export function parseLossName(value: string, source = 'loss'): LossName {
  if ((LOSS_NAMES as readonly string[]).includes(value)) return value as LossName;
  throw new UserError(
    `${source}: unknown loss '${value}'; expected one of ${LOSS_NAMES.join(', ')}`,
  );
}

export function lossFunction(name: LossName): LossFn {
  switch (name) {
    case 'dl':
      return diceLoss;
    case 'tl':
      return tverskyLoss;
    case 'ftl':
      return focalTverskyLoss;
    case 'bce-dice':
      return bceDiceLoss;
    default:
      throw new UserError(
        `unknown loss '${String(name)}'; expected one of ${LOSS_NAMES.join(', ')}`,
      );
  }
}

export interface ObjectiveOptions {
  /** The model's name: `attn_reg` supervises `final` with the Tversky loss. */
  model: string;
  /** Output names in model order, e.g. ['pred1', 'pred2', 'pred3', 'final']. */
  outputs: readonly string[];
  /** The chosen loss. */
  loss: LossName;
  /** Options of every loss (alpha, gamma, smooth, reduction). Default: the losses' defaults. */
  lossOptions?: LossOptions;
  /**
   * Output weights: `'equal'` (default, the reference: all 1), `'nnunet'`, or one number per
   * output in model order.
   */
  weights?: Weighting | readonly number[];
}

/** One output's term of the objective. */
export interface ObjectiveTerm {
  output: string;
  loss: LossName;
  weight: number;
}

export interface Objective {
  terms: readonly ObjectiveTerm[];
  /**
   * The weighted total and each output's loss, for ground truth `ys` [n, h, w, 1] at input
   * size and the model's predictions in output order. Targets of smaller outputs are
   * sub-sampled from `ys`.
   */
  compute(
    ys: tf.Tensor4D,
    preds: readonly tf.Tensor[],
  ): { total: tf.Scalar; perOutput: tf.Scalar[] };
  /** Soft DSC of each output against its target (training metric). */
  dsc(ys: tf.Tensor4D, preds: readonly tf.Tensor[]): tf.Scalar[];
}

/** The output weights in model order (outputs ordered from coarsest to finest). */
export function outputWeights(
  count: number,
  weights: Weighting | readonly number[] = 'equal',
): number[] {
  if (typeof weights !== 'string') {
    if (weights.length !== count || weights.some((w) => !Number.isFinite(w) || w < 0)) {
      throw new UserError(
        `loss weights: expected ${count} non-negative numbers (one per output), got [${weights.join(', ')}]`,
      );
    }
    return [...weights];
  }
  switch (weights) {
    case 'equal':
      return new Array<number>(count).fill(1);
    case 'nnunet': {
      // Full resolution (last output) weighs 1, each coarser output half the next.
      const raw = Array.from({ length: count }, (_, i) => 2 ** -(count - 1 - i));
      const sum = raw.reduce((a, b) => a + b, 0);
      return raw.map((w) => w / sum);
    }
    default:
      throw new UserError(
        `unknown loss weighting '${String(weights)}'; expected ${WEIGHTINGS.join(', ')}`,
      );
  }
}

/**
 * The target of an output of size [h, w] from ground truth of size [H, W]: every
 * (H/h)-th pixel, starting at 0 (`gt[::k, ::k]`). Returns `ys` itself when sizes match
 * (the caller must then not dispose it twice).
 */
export function subsampleTarget(ys: tf.Tensor4D, size: readonly [number, number]): tf.Tensor4D {
  const [n, H, W, c] = ys.shape;
  const [h, w] = size;
  if (h === H && w === W) return ys;
  const sy = H / h;
  const sx = W / w;
  if (!Number.isInteger(sy) || !Number.isInteger(sx) || sy !== sx) {
    throw new UserError(`deep supervision: output size ${h}x${w} does not divide ${H}x${W}`);
  }
  return tf.stridedSlice(ys, [0, 0, 0, 0], [n, H, W, c], [1, sy, sx, 1]) as tf.Tensor4D;
}

export function makeObjective(options: ObjectiveOptions): Objective {
  const weights = outputWeights(options.outputs.length, options.weights);
  const terms: ObjectiveTerm[] = options.outputs.map((output, i) => ({
    output,
    loss: options.model === 'attn_reg' && output === 'final' ? 'tl' : options.loss,
    weight: weights[i],
  }));
  const fns = terms.map((t) => lossFunction(t.loss));
  const lossOptions = options.lossOptions ?? {};

  const targets = (ys: tf.Tensor4D, preds: readonly tf.Tensor[]): tf.Tensor4D[] => {
    if (preds.length !== terms.length) {
      throw new UserError(`objective: expected ${terms.length} predictions, got ${preds.length}`);
    }
    return preds.map((p) => subsampleTarget(ys, [p.shape[1] as number, p.shape[2] as number]));
  };

  return {
    terms,
    compute(ys, preds) {
      return tf.tidy(() => {
        const ts = targets(ys, preds);
        const perOutput = preds.map((p, i) => fns[i](ts[i], p, lossOptions));
        const weighted = perOutput.map((l, i) => tf.mul(l, terms[i].weight));
        const total = (weighted.length === 1 ? weighted[0] : tf.addN(weighted)) as tf.Scalar;
        return { total, perOutput };
      });
    },
    dsc(ys, preds) {
      return tf.tidy(() => {
        const ts = targets(ys, preds);
        return preds.map((p, i) => softDsc(ts[i], p, { smooth: lossOptions.smooth }));
      });
    },
  };
}
