/**
 * The seven rows of the paper's Tables 1 and 2 (Abraham & Khan, ISBI 2019), in the paper's
 * order: which network and which loss each row trains.
 *
 * - "U-Net" is `unet`; "Attn U-Net" is `attn_reg_ds` (attention gates and deep supervision);
 *   "Attn U-Net + Multi-Input" is `attn_reg` (the same plus the input image pyramid), the
 *   paper's proposed network.
 * - "DL" is the Dice loss, "TL" the Tversky loss, "FTL" the focal Tversky loss. `attn_reg_ds`
 *   trains every output with the row's loss; `attn_reg` trains pred1..pred3 with it and `final`
 *   with the Tversky loss (the reference code's `attn_reg` training), whatever the row's loss.
 * - The tables list alpha = beta = 0.5 for the DL rows: the Dice loss has no alpha, so a
 *   study keeps one alpha (0.7, the weight of false negatives in the Tversky index) for every
 *   row, which is what `attn_reg`'s Tversky loss on `final` uses in the reference code.
 *
 * Pure.
 */
import { UserError } from '../errors.js';
import type { ModelName } from '../models/options.js';
import type { LossName } from '../train/objective.js';

/** The stable ids of the seven rows, in the paper's order. */
export const ABLATION_VARIANT_IDS = [
  'unet-dl',
  'unet-tl',
  'unet-ftl',
  'attn-dl',
  'attn-mi-dl',
  'attn-mi-tl',
  'attn-mi-ftl',
] as const;

export type AblationVariantId = (typeof ABLATION_VARIANT_IDS)[number];

/** One row of the paper's tables. */
export interface AblationVariant {
  id: AblationVariantId;
  /** The row's label in the paper, e.g. "Attn U-Net + Multi-Input + FTL". */
  label: string;
  model: ModelName;
  loss: LossName;
}

/** The seven rows, in the paper's order. */
export const ABLATION_VARIANTS: readonly AblationVariant[] = [
  { id: 'unet-dl', label: 'U-Net + DL', model: 'unet', loss: 'dl' },
  { id: 'unet-tl', label: 'U-Net + TL', model: 'unet', loss: 'tl' },
  { id: 'unet-ftl', label: 'U-Net + FTL', model: 'unet', loss: 'ftl' },
  { id: 'attn-dl', label: 'Attn U-Net + DL', model: 'attn_reg_ds', loss: 'dl' },
  { id: 'attn-mi-dl', label: 'Attn U-Net + Multi-Input + DL', model: 'attn_reg', loss: 'dl' },
  { id: 'attn-mi-tl', label: 'Attn U-Net + Multi-Input + TL', model: 'attn_reg', loss: 'tl' },
  { id: 'attn-mi-ftl', label: 'Attn U-Net + Multi-Input + FTL', model: 'attn_reg', loss: 'ftl' },
];

/** The row with this id; throws a `UserError` listing the ids for an unknown one. */
export function ablationVariant(id: string, flag = '--variant'): AblationVariant {
  const v = ABLATION_VARIANTS.find((x) => x.id === id);
  if (v === undefined) {
    throw new UserError(
      `${flag}: unknown variant '${id}'; expected one of ${ABLATION_VARIANT_IDS.join(', ')}`,
    );
  }
  return v;
}
