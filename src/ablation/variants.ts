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
 * Rows beyond the paper's: a study may add variants of these rows trained with augmentation
 * or another learning-rate schedule (the setting `extraVariants`, flag `--extra-variant`).
 * Their id is a paper row's id followed by modifiers, so that the id alone says what it trains:
 * `+aug-<level>` (an augmentation level, data/augment.ts) and `+<schedule>` (train/schedule.ts),
 * e.g. `attn-mi-ftl+aug-default`, `attn-mi-ftl+poly`, `attn-mi-ftl+aug-light+cosine`.
 *
 * Pure.
 */
import { UserError } from '../errors.js';
import type { ModelName } from '../models/options.js';
import type { LossName } from '../train/objective.js';
import { AUGMENT_LEVELS, type AugmentLevel } from '../data/augment.js';
import { DEFAULT_SCHEDULE, SCHEDULE_NAMES, type ScheduleName } from '../train/schedule.js';

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

/** The id of one of the paper's seven rows. */
export type PaperVariantId = (typeof ABLATION_VARIANT_IDS)[number];

/** A row's id: a paper row's, or one with modifiers (see the file's doc comment). */
export type AblationVariantId = string;

/** One row of a study: the paper's, or a variant of one beyond it. */
export interface AblationVariant {
  id: AblationVariantId;
  /** The row's label, e.g. "Attn U-Net + Multi-Input + FTL" (the paper's words for its rows). */
  label: string;
  model: ModelName;
  loss: LossName;
  /** Whether the row is one of the paper's seven. */
  paper: boolean;
  /** Augmentation level; absent: none (the paper's). */
  augment?: AugmentLevel;
  /** Learning-rate schedule; absent: keras-decay (the paper's). */
  schedule?: ScheduleName;
}

/** The seven rows, in the paper's order. */
export const ABLATION_VARIANTS: readonly AblationVariant[] = [
  { id: 'unet-dl', label: 'U-Net + DL', model: 'unet', loss: 'dl', paper: true },
  { id: 'unet-tl', label: 'U-Net + TL', model: 'unet', loss: 'tl', paper: true },
  { id: 'unet-ftl', label: 'U-Net + FTL', model: 'unet', loss: 'ftl', paper: true },
  { id: 'attn-dl', label: 'Attn U-Net + DL', model: 'attn_reg_ds', loss: 'dl', paper: true },
  {
    id: 'attn-mi-dl',
    label: 'Attn U-Net + Multi-Input + DL',
    model: 'attn_reg',
    loss: 'dl',
    paper: true,
  },
  {
    id: 'attn-mi-tl',
    label: 'Attn U-Net + Multi-Input + TL',
    model: 'attn_reg',
    loss: 'tl',
    paper: true,
  },
  {
    id: 'attn-mi-ftl',
    label: 'Attn U-Net + Multi-Input + FTL',
    model: 'attn_reg',
    loss: 'ftl',
    paper: true,
  },
];

/**
 * The row with this id: a paper row, or a paper row with modifiers (`+aug-<level>`,
 * `+<schedule>`, each at most once, at least one not the paper's own). Throws a `UserError`
 * naming `flag` and listing what is allowed.
 */
export function ablationVariant(id: string, flag = '--variant'): AblationVariant {
  const [baseId, ...modifiers] = id.split('+');
  const base = ABLATION_VARIANTS.find((x) => x.id === baseId);
  const expected =
    `expected one of ${ABLATION_VARIANT_IDS.join(', ')}, optionally followed by ` +
    `+aug-<${AUGMENT_LEVELS.join('|')}> and +<${SCHEDULE_NAMES.join('|')}>`;
  if (base === undefined) throw new UserError(`${flag}: unknown variant '${id}'; ${expected}`);
  if (modifiers.length === 0) return base;
  let augment: AugmentLevel | undefined;
  let schedule: ScheduleName | undefined;
  for (const m of modifiers) {
    const level = m.startsWith('aug-') ? m.slice(4) : undefined;
    if (level !== undefined && (AUGMENT_LEVELS as readonly string[]).includes(level)) {
      if (augment !== undefined) throw new UserError(`${flag}: '${id}' names two augmentations`);
      augment = level as AugmentLevel;
    } else if ((SCHEDULE_NAMES as readonly string[]).includes(m)) {
      if (schedule !== undefined) throw new UserError(`${flag}: '${id}' names two schedules`);
      schedule = m as ScheduleName;
    } else {
      throw new UserError(`${flag}: unknown modifier '+${m}' in '${id}'; ${expected}`);
    }
  }
  if ((augment ?? 'none') === 'none' && (schedule ?? DEFAULT_SCHEDULE) === DEFAULT_SCHEDULE) {
    throw new UserError(
      `${flag}: '${id}' trains as the paper's row '${base.id}': name another augmentation or schedule`,
    );
  }
  const words = [
    ...(augment !== undefined ? [`augment ${augment}`] : []),
    ...(schedule !== undefined ? [`${schedule} schedule`] : []),
  ];
  return {
    ...base,
    id,
    label: `${base.label}, ${words.join(', ')}`,
    paper: false,
    ...(augment !== undefined ? { augment } : {}),
    ...(schedule !== undefined ? { schedule } : {}),
  };
}

/** The rows of a study: the paper's seven, then its extra variants in the order given. */
export function studyVariantIds(extra: readonly AblationVariantId[] = []): AblationVariantId[] {
  return [...ABLATION_VARIANT_IDS, ...extra];
}
