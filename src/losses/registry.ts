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
import { DICE_LOSS } from './dice.js';
import { summedBceDiceLoss, type SummedValue } from './summed.js';
import { FOCAL_TVERSKY_LOSS, TVERSKY_LOSS } from './tversky.js';
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

// The overlap losses are each one definition (their per-class terms) producing both forms
// (`overlapLoss`, overlap.ts); BCE + Dice adds the BCE's sums to the Dice loss's (summed.ts).
const DEFINITIONS = {
  dl: { label: 'Dice loss (DL)', ...DICE_LOSS },
  tl: { label: 'Tversky loss (TL)', ...TVERSKY_LOSS },
  ftl: { label: 'focal Tversky loss (FTL)', ...FOCAL_TVERSKY_LOSS },
  'bce-dice': { label: 'BCE + Dice', direct: bceDiceLoss, summed: summedBceDiceLoss },
} as const satisfies Record<string, LossDefinition>;

/** `dl` Dice loss, `tl` Tversky loss, `ftl` focal Tversky loss, `bce-dice` BCE + Dice. */
export type LossName = keyof typeof DEFINITIONS;

/** Every loss, in the order help texts list them. */
export const LOSSES: Readonly<Record<LossName, LossDefinition>> = DEFINITIONS;

/** The losses' names, in order. */
export const LOSS_NAMES = Object.keys(LOSSES) as readonly LossName[];
