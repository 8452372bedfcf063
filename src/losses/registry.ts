/**
 * `LOSSES`: every training loss, as one record from its name (the `--loss` value, config.json's
 * `loss.name`) to what training and the reports need: its label, its direct form (a function
 * of the predictions, for validation and API callers) and its summed form (a function of sums
 * over a batch's parts, so that a batch split over passes and workers has the loss and the
 * gradient of the whole batch; see summed.ts). The objective (train/objective.ts), the flags
 * and the run report read it; nothing else lists the losses.
 *
 * To add a loss: its file in this folder (formula, layout, reduction and empty-mask case in
 * the doc comment, built on `computeTpFpFn`), its entry here with both forms, a test against
 * test/losses/reference.ts.
 *
 * Browser-safe (tfjs-core only).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { bceDiceLoss } from './bce.js';
import { diceLoss } from './dice.js';
import {
  summedBceDiceLoss,
  summedDiceLoss,
  summedFocalTverskyLoss,
  summedTverskyLoss,
  type SummedValue,
} from './summed.js';
import { focalTverskyLoss, tverskyLoss } from './tversky.js';
import type { LossOptions } from './utils.js';

/** A loss of ground truth and predictions (NHWC), as the functions of this folder. */
export type LossFn = (yTrue: tf.Tensor, yPred: tf.Tensor, options?: LossOptions) => tf.Scalar;

/** What every loss records. */
export interface LossDefinition {
  /** Its name in reports ('focal Tversky loss (FTL)'). */
  label: string;
  /** The loss of a batch computed at once. */
  direct: LossFn;
  /** The same loss as a function of additive sums over a batch's parts (summed.ts). */
  summed: (options?: LossOptions) => SummedValue;
}

const DEFINITIONS = {
  dl: { label: 'Dice loss (DL)', direct: diceLoss, summed: summedDiceLoss },
  tl: { label: 'Tversky loss (TL)', direct: tverskyLoss, summed: summedTverskyLoss },
  ftl: {
    label: 'focal Tversky loss (FTL)',
    direct: focalTverskyLoss,
    summed: summedFocalTverskyLoss,
  },
  'bce-dice': { label: 'BCE + Dice', direct: bceDiceLoss, summed: summedBceDiceLoss },
} as const satisfies Record<string, LossDefinition>;

/** `dl` Dice loss, `tl` Tversky loss, `ftl` focal Tversky loss, `bce-dice` BCE + Dice. */
export type LossName = keyof typeof DEFINITIONS;

/** Every loss, in the order help texts list them. */
export const LOSSES: Readonly<Record<LossName, LossDefinition>> = DEFINITIONS;

/** The losses' names, in order. */
export const LOSS_NAMES = Object.keys(LOSSES) as readonly LossName[];
