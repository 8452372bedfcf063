/**
 * The training objective of the reference scripts (`bus_train.py`, `isic_train.py`,
 * `newmodels.py`), including deep supervision:
 * - targets of the side outputs are the ground truth sub-sampled by taking every k-th pixel
 *   (`gt[::8, ::8]`, `gt[::4, ::4]`, `gt[::2, ::2]` for pred1, pred2, pred3), not pooled;
 * - every output is trained with the chosen loss, except `final` where the network's
 *   definition fixes its loss (`finalLoss`, from `MODEL_SUPERVISION` in models/supervision.ts:
 *   `attn_reg` supervises `final` with the Tversky loss);
 * - the total is the weighted sum over outputs, weights 1 by default (the reference), or the
 *   nnU-Net scheme: 1, 1/2, 1/4, ... from the full-resolution output down, normalised to 1.
 *
 * Each output's loss and soft DSC are one index over the whole batch (the reference's), also
 * when a batch is computed in parts: a part reports additive statistics (`passSums`), the
 * parts' statistics are added (`addSums`), and `fromSums` gives the batch's values and the
 * coefficients dTotal/dSum with which each part's backward pass yields exactly its share of
 * the batch's gradient (the reasoning is in losses/summed.ts). Each output's statistics are
 * its own: the side outputs' are taken against their sub-sampled targets.
 *
 * Browser-safe (tfjs-core only).
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import { LOSSES, LOSS_NAMES, type LossFn, type LossName } from '../losses/registry.js';
import type { SummedValue } from '../losses/summed.js';
import type { LossOptions } from '../losses/utils.js';
import { softDsc, summedSoftDsc } from '../metrics/soft.js';

// The losses are `LOSSES` (losses/registry.ts); their names and type are re-exported here,
// where callers found them before the registry.
export { LOSS_NAMES, type LossFn, type LossName };

export const WEIGHTINGS = ['equal', 'nnunet'] as const;
export type Weighting = (typeof WEIGHTINGS)[number];
/** The paper's loss and deep supervision weights: FTL, every output weighted 1. */
export const DEFAULT_LOSS: LossName = 'ftl';
export const DEFAULT_WEIGHTING: Weighting = 'equal';

/**
 * The objective a model was trained with, as a run's config.json records it (`loss`: its
 * name, alpha, beta, gamma and the deep supervision weights) and an export copies it
 * (`training.objective`), so that fine-tuning trains with the model's own objective.
 */
export interface TrainingObjective {
  loss: LossName;
  alpha: number;
  beta: number;
  gamma: number;
  weights: Weighting | readonly number[];
}

export function parseLossName(value: string, source = 'loss'): LossName {
  if ((LOSS_NAMES as readonly string[]).includes(value)) return value as LossName;
  throw new UserError(
    `${source}: unknown loss '${value}'; expected one of ${LOSS_NAMES.join(', ')}`,
  );
}

/**
 * Where each output's loss (and soft DSC) is computed over:
 * - `'batch'` (default): one index over the whole batch, however it is split into passes and
 *   workers (the reference's objective; see the module comment);
 * - `'pass'`: one index per pass (micro-batch), the passes' losses weighted by their share of
 *   the batch and summed. A different function whenever a batch is split.
 */
export const OBJECTIVE_SCOPES = ['batch', 'pass'] as const;
export type ObjectiveScope = (typeof OBJECTIVE_SCOPES)[number];

/** The reference's objective: one index over the whole batch. */
export const DEFAULT_OBJECTIVE_SCOPE: ObjectiveScope = 'batch';

/** A loss's definition, or a `UserError` listing the losses. */
function lossDefinition(name: LossName): (typeof LOSSES)[LossName] {
  if (!Object.hasOwn(LOSSES, name)) {
    throw new UserError(`unknown loss '${String(name)}'; expected one of ${LOSS_NAMES.join(', ')}`);
  }
  return LOSSES[name];
}

/** The direct form of a loss (`LOSSES[name].direct`). */
export function lossFunction(name: LossName): LossFn {
  return lossDefinition(name).direct;
}

/** The loss of each part of a batch as a function of sums (`LOSSES[name].summed`). */
export function summedLoss(name: LossName, options?: LossOptions): SummedValue {
  return lossDefinition(name).summed(options);
}

export interface ObjectiveOptions {
  /** Output names in model order, e.g. ['pred1', 'pred2', 'pred3', 'final']. */
  outputs: readonly string[];
  /** The chosen loss. */
  loss: LossName;
  /**
   * The loss of the `final` output where the network's definition fixes one
   * (`MODEL_SUPERVISION[name].finalLoss`, e.g. `'tl'` for `attn_reg`). Default: the chosen loss.
   */
  finalLoss?: LossName;
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

/** One output's loss and soft DSC. */
export interface OutputValues {
  loss: number;
  dsc: number;
}

/** The objective's values: the weighted total, and each output's by output name. */
export interface ObjectiveValues {
  loss: number;
  outputs: Record<string, OutputValues>;
}

/** One output's additive statistics: of its loss, and of its soft DSC. */
export interface OutputSums {
  loss: number[];
  dsc: number[];
}

/** Every output's additive statistics (by output name) over `images` images. */
export interface ObjectiveSums {
  images: number;
  outputs: Record<string, OutputSums>;
}

/**
 * dTotal/dS for each output's loss statistics S (by output name), the coefficients of the
 * surrogate sum_k c_k s_k(part) whose gradient is a part's share of the batch's gradient.
 */
export type Coefficients = Record<string, number[]>;

/** The statistics of one pass as tensors, in model order (a type: `tf.tidy` may return it). */
export type PassSumTensors = {
  loss: tf.Tensor2D[];
  dsc: tf.Tensor2D[];
};

export interface Objective {
  terms: readonly ObjectiveTerm[];
  /**
   * Each output's loss and soft-DSC statistics on one pass (targets sub-sampled from `ys`), for
   * ground truth `ys` [n, h, w, 1] at input size and the predictions in output order: one row
   * per image ([n, statistics]), which `readSums` adds in float64, so that a batch's sums do
   * not depend on how it is split into passes. Call inside `tf.tidy` (or a gradient tape).
   */
  passSums(ys: tf.Tensor4D, preds: readonly tf.Tensor[]): PassSumTensors;
  /**
   * Each output's loss statistics over the whole pass (float32), the value a pass's gradient
   * tape records: its gradient is that of the sums, however they are added.
   */
  lossSums(ys: tf.Tensor4D, preds: readonly tf.Tensor[]): tf.Tensor1D[];
  /** The values of `passSums`'s tensors, for a pass of `images` images (rows added in float64). */
  readSums(sums: PassSumTensors, images: number): Promise<ObjectiveSums>;
  /**
   * The values of a batch from its statistics summed over its parts, and the coefficients of
   * each part's backward pass (see {@link Coefficients}).
   */
  fromSums(sums: ObjectiveSums): Promise<{ values: ObjectiveValues; coefficients: Coefficients }>;
  /**
   * The gradient seed of a pass: `coefficients` in the layout of `passSums(...).loss`
   * concatenated in model order (the vector a pass back-propagates from).
   */
  seed(coefficients: Coefficients): number[];
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
    loss: output === 'final' && options.finalLoss !== undefined ? options.finalLoss : options.loss,
    weight: weights[i],
  }));
  const fns = terms.map((t) => lossFunction(t.loss));
  const lossOptions = options.lossOptions ?? {};
  const summed = terms.map((t) => summedLoss(t.loss, lossOptions));
  const summedDsc = summedSoftDsc({ smooth: lossOptions.smooth });

  const targets = (ys: tf.Tensor4D, preds: readonly tf.Tensor[]): tf.Tensor4D[] => {
    if (preds.length !== terms.length) {
      throw new UserError(
        `the objective expects ${terms.length} predictions (one per output), got ${preds.length}`,
      );
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
    passSums(ys, preds) {
      const ts = targets(ys, preds);
      return {
        loss: preds.map((p, i) => perImageRows(summed[i], ts[i], p)),
        dsc: preds.map((p, i) => perImageRows(summedDsc, ts[i], p)),
      };
    },
    lossSums(ys, preds) {
      const ts = targets(ys, preds);
      return preds.map((p, i) => summed[i].sums(ts[i], p));
    },
    async readSums(sums, images) {
      const read = (ts: tf.Tensor2D[]) =>
        Promise.all(ts.map(async (t) => addRows(await t.data(), t.shape[1])));
      const [loss, dsc] = await Promise.all([read(sums.loss), read(sums.dsc)]);
      const outputs: ObjectiveSums['outputs'] = {};
      terms.forEach((t, i) => (outputs[t.output] = { loss: loss[i], dsc: dsc[i] }));
      return { images, outputs };
    },
    async fromSums(sums) {
      const lossSums = terms.map((t) => tf.tensor1d(sums.outputs[t.output].loss));
      const dscSums = terms.map((t) => tf.tensor1d(sums.outputs[t.output].dsc));
      const total = (...s: tf.Tensor[]): tf.Scalar =>
        s
          .map((x, i) => tf.mul(summed[i].fromSums(x as tf.Tensor1D), terms[i].weight))
          .reduce((a, b) => tf.add(a, b)) as tf.Scalar;
      const { value, grads } = tf.valueAndGrads(total)(lossSums);
      const results = tf.tidy(() => [
        ...lossSums.map((x, i) => summed[i].fromSums(x)),
        ...dscSums.map((x) => summedDsc.fromSums(x)),
      ]);
      try {
        const [losses, coefficients] = await Promise.all([
          Promise.all(results.map(async (t) => (await t.data())[0])),
          Promise.all(grads.map(async (g) => Array.from(await g.data()))),
        ]);
        const n = terms.length;
        const values: ObjectiveValues = { loss: (await value.data())[0], outputs: {} };
        const byOutput: Coefficients = {};
        terms.forEach((t, i) => {
          values.outputs[t.output] = { loss: losses[i], dsc: losses[n + i] };
          byOutput[t.output] = coefficients[i];
        });
        return { values, coefficients: byOutput };
      } finally {
        tf.dispose([...lossSums, ...dscSums, value, ...grads, ...results]);
      }
    },
    seed(coefficients) {
      return terms.flatMap((t) => coefficients[t.output]);
    },
  };
}

/** `a + b`, output by output (the statistics of two parts of a batch together). */
/** `value.sums` of each image of a pass, as rows [n, statistics]. Call inside `tf.tidy`. */
function perImageRows(value: SummedValue, yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor2D {
  const n = yTrue.shape[0] as number;
  const image = (t: tf.Tensor, j: number) => (n === 1 ? t : tf.slice(t, j, 1));
  return tf.stack(
    Array.from({ length: n }, (_, j) => value.sums(image(yTrue, j), image(yPred, j))),
  ) as tf.Tensor2D;
}

/** The column sums of rows of `width` numbers, added in float64 in row order. */
function addRows(rows: ArrayLike<number>, width: number): number[] {
  const out = new Array<number>(width).fill(0);
  for (let at = 0; at < rows.length; at += width) {
    for (let k = 0; k < width; k++) out[k] += rows[at + k];
  }
  return out;
}

export function addSums(a: ObjectiveSums, b: ObjectiveSums): ObjectiveSums {
  const outputs: ObjectiveSums['outputs'] = {};
  for (const [name, s] of Object.entries(a.outputs)) {
    const t = b.outputs[name];
    outputs[name] = {
      loss: s.loss.map((v, k) => v + t.loss[k]),
      dsc: s.dsc.map((v, k) => v + t.dsc[k]),
    };
  }
  return { images: a.images + b.images, outputs };
}

/** Every value of `v` times `k`. */
export function scaleValues(v: ObjectiveValues, k: number): ObjectiveValues {
  const outputs: ObjectiveValues['outputs'] = {};
  for (const [name, o] of Object.entries(v.outputs)) {
    outputs[name] = { loss: o.loss * k, dsc: o.dsc * k };
  }
  return { loss: v.loss * k, outputs };
}

/** `a + b`, value by value. */
export function addValues(a: ObjectiveValues, b: ObjectiveValues): ObjectiveValues {
  const outputs: ObjectiveValues['outputs'] = {};
  for (const [name, o] of Object.entries(a.outputs)) {
    const p = b.outputs[name];
    outputs[name] = { loss: o.loss + p.loss, dsc: o.dsc + p.dsc };
  }
  return { loss: a.loss + b.loss, outputs };
}

/** Whether every value of `v` is finite. */
export function valuesFinite(v: ObjectiveValues): boolean {
  return (
    Number.isFinite(v.loss) &&
    Object.values(v.outputs).every((o) => Number.isFinite(o.loss) && Number.isFinite(o.dsc))
  );
}
