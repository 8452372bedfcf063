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
 * Rows beyond the paper's: a study may add variants of these rows trained with other settings
 * (the setting `extraVariants`, flag `--extra-variant`). Their id is a paper row's id followed
 * by modifiers, so that the id alone says what it trains: `+aug-<level>` (an augmentation
 * level, data/augment.ts), `+<schedule>` (train/schedule.ts), and `+<flag>=<value>` for any
 * training setting a row may set (`study: 'row'` in src/run/settings_schema.ts, the flag
 * without its dashes), e.g. `attn-mi-ftl+aug-default`, `attn-mi-ftl+poly`,
 * `attn-mi-ftl+aug-light+cosine`, `attn-mi-ftl+grad-clip=1`, `unet-ftl+patience=10+lr=0.02`.
 *
 * Pure.
 */
import { UserError } from '../errors.js';
import type { ModelName } from '../models/options.js';
import type { LossName } from '../train/objective.js';
import { AUGMENT_LEVELS, type AugmentLevel } from '../data/augment.js';
import { DEFAULT_SCHEDULE, SCHEDULE_NAMES, type ScheduleName } from '../train/schedule.js';
import {
  flagName,
  SETTING_NAMES,
  TRAIN_SETTINGS,
  type SettingName,
  type SettingValues,
} from '../run/settings_schema.js';

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
  /**
   * The settings the row sets over the study's (its augmentation and schedule included);
   * empty for the paper's rows.
   */
  settings: Partial<SettingValues>;
}

/** The settings a row may set with `+<flag>=<value>`, by their flag without dashes. */
const ROW_SETTINGS: ReadonlyMap<string, SettingName> = new Map(
  SETTING_NAMES.filter((name) => TRAIN_SETTINGS[name].study === 'row' && flagName(name) !== '').map(
    (name) => [flagName(name).slice(2), name] as const,
  ),
);

/** `+grad-clip=1`'s setting and value; throws a `UserError` naming `flag` and the row. */
function rowSetting(
  modifier: string,
  id: string,
  flag: string,
): [SettingName, SettingValues[SettingName]] {
  const [key, text] = [
    modifier.slice(0, modifier.indexOf('=')),
    modifier.slice(modifier.indexOf('=') + 1),
  ];
  const name = ROW_SETTINGS.get(key);
  if (name === undefined) {
    throw new UserError(
      `${flag}: unknown setting '+${key}=' in '${id}'; a row may set ${[...ROW_SETTINGS.keys()].join(', ')}`,
    );
  }
  try {
    return [name, TRAIN_SETTINGS[name].parse(text) as SettingValues[SettingName]];
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    throw new UserError(`${flag}: '+${modifier}' in '${id}': ${err.message}`);
  }
}

/** The seven rows, in the paper's order. */
export const ABLATION_VARIANTS: readonly AblationVariant[] = [
  { id: 'unet-dl', label: 'U-Net + DL', model: 'unet', loss: 'dl', paper: true, settings: {} },
  { id: 'unet-tl', label: 'U-Net + TL', model: 'unet', loss: 'tl', paper: true, settings: {} },
  { id: 'unet-ftl', label: 'U-Net + FTL', model: 'unet', loss: 'ftl', paper: true, settings: {} },
  {
    id: 'attn-dl',
    label: 'Attn U-Net + DL',
    model: 'attn_reg_ds',
    loss: 'dl',
    paper: true,
    settings: {},
  },
  {
    id: 'attn-mi-dl',
    label: 'Attn U-Net + Multi-Input + DL',
    model: 'attn_reg',
    loss: 'dl',
    paper: true,
    settings: {},
  },
  {
    id: 'attn-mi-tl',
    label: 'Attn U-Net + Multi-Input + TL',
    model: 'attn_reg',
    loss: 'tl',
    paper: true,
    settings: {},
  },
  {
    id: 'attn-mi-ftl',
    label: 'Attn U-Net + Multi-Input + FTL',
    model: 'attn_reg',
    loss: 'ftl',
    paper: true,
    settings: {},
  },
];

/**
 * The row with this id: a paper row, or a paper row with modifiers (`+aug-<level>`,
 * `+<schedule>`, `+<flag>=<value>`, each at most once; without a `+<flag>=<value>`, at least
 * one not the paper's own). Throws a `UserError` naming `flag` and listing what is allowed.
 */
export function ablationVariant(id: string, flag = '--variant'): AblationVariant {
  const [baseId, ...modifiers] = id.split('+');
  const base = ABLATION_VARIANTS.find((x) => x.id === baseId);
  const expected =
    `expected one of ${ABLATION_VARIANT_IDS.join(', ')}, optionally followed by ` +
    `+aug-<${AUGMENT_LEVELS.join('|')}>, +<${SCHEDULE_NAMES.join('|')}> and +<setting>=<value>`;
  if (base === undefined) throw new UserError(`${flag}: unknown variant '${id}'; ${expected}`);
  if (modifiers.length === 0) return base;
  let augment: AugmentLevel | undefined;
  let schedule: ScheduleName | undefined;
  const settings: Partial<Record<SettingName, unknown>> = {};
  const words: string[] = [];
  for (const m of modifiers) {
    if (m.includes('=')) {
      const [name, value] = rowSetting(m, id, flag);
      if (settings[name] !== undefined) {
        throw new UserError(`${flag}: '${id}' sets ${flagName(name)} twice`);
      }
      settings[name] = value;
      words.push(`${flagName(name).slice(2)} ${m.slice(m.indexOf('=') + 1)}`);
      continue;
    }
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
  if (
    words.length === 0 &&
    (augment ?? 'none') === 'none' &&
    (schedule ?? DEFAULT_SCHEDULE) === DEFAULT_SCHEDULE
  ) {
    throw new UserError(
      `${flag}: '${id}' trains as the paper's row '${base.id}': name another augmentation or schedule`,
    );
  }
  if (augment !== undefined) settings.augment ??= augment;
  if (schedule !== undefined) settings.schedule ??= schedule;
  words.unshift(
    ...(augment !== undefined ? [`augment ${augment}`] : []),
    ...(schedule !== undefined ? [`${schedule} schedule`] : []),
  );
  return {
    ...base,
    id,
    label: `${base.label}, ${words.join(', ')}`,
    paper: false,
    ...(augment !== undefined ? { augment } : {}),
    ...(schedule !== undefined ? { schedule } : {}),
    settings: settings as Partial<SettingValues>,
  };
}

/** The rows of a study: the paper's seven, then its extra variants in the order given. */
export function studyVariantIds(extra: readonly AblationVariantId[] = []): AblationVariantId[] {
  return [...ABLATION_VARIANT_IDS, ...extra];
}
