/**
 * How each network's outputs are supervised, as data beside the builders: the loss of the
 * `final` output where the network's definition fixes one. The training objective
 * (train/objective.ts) and the run report read it; nothing matches on a model's name.
 *
 * `attn_reg` (the paper's proposed network) trains pred1..pred3 with the chosen loss and
 * `final` with the Tversky loss (paper: "supervise the last layer with the Tversky loss";
 * reference `newmodels.py`); every other network trains all of its outputs with the chosen
 * loss, `attn_reg_ds` included.
 *
 * Pure.
 */
import { MODEL_NAMES, MODELS, type ModelName } from './registry.js';

/** The supervision of a network's outputs. */
export interface ModelSupervision {
  /**
   * The loss of the `final` output whatever loss was chosen: `'tl'` the Tversky loss. Absent:
   * the chosen loss on every output.
   */
  finalLoss?: 'tl';
}

/** Each network's supervision (`supervision` in `MODELS`, models/registry.ts). */
export const MODEL_SUPERVISION: Readonly<Record<ModelName, Readonly<ModelSupervision>>> =
  Object.fromEntries(MODEL_NAMES.map((n) => [n, MODELS[n].supervision])) as Record<
    ModelName,
    ModelSupervision
  >;
