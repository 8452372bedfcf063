/**
 * The settings of an ablation study: what every unit shares (data, split, training
 * settings). They are fixed when the study is made and recorded in `study.json`; a later
 * invocation may leave any of them out (it then uses the recorded value) but may not change
 * one. What an invocation may change is the selection (variants, folds, shard) and what
 * depends on the machine: backend, micro-batch, cache folder, lock timeout.
 *
 * The training settings a study may set are the settings schema's (`study` in
 * src/run/settings_schema.ts): every one but the network and the loss (each row's), the split
 * of a single run and the machine's. Their defaults are the same as `train`'s.
 *
 * Pure functions (the presets come from src/data/presets.ts).
 */
import type { DatasetSourceKind } from '../data/dataset.js';
import { DEFAULT_FOLDS, DEFAULT_VAL_FRACTION } from '../data/splits.js';
import { UserError } from '../errors.js';
import { validateInputShape } from '../models/options.js';
import { DATASET_SOURCE_KINDS } from '../data/presets.js';
import {
  resolveSettingValues,
  SETTING_NAMES,
  settingContext,
  settingLabel,
  TRAIN_SETTINGS,
  type SettingName,
  type SettingValues,
} from '../run/settings_schema.js';
import { ablationVariant, type AblationVariantId } from './variants.js';

/** The training settings a study records (see the file's comment), in the schema's order. */
export const STUDY_SETTING_NAMES: readonly SettingName[] = SETTING_NAMES.filter(
  (name) => TRAIN_SETTINGS[name].study !== false,
);

/** Everything the units of a study share. */
export type AblationSettings = Partial<SettingValues> & {
  dataset: DatasetSourceKind;
  /** Absolute path of the data folder (synthetic data sets are written there). */
  data: string;
  /** Number of folds of the k-fold split. */
  folds: number;
  /** Seed of the split, the weights, the epoch order and synthetic data. */
  seed: number;
  /** Fraction of each fold's training items held out for validation. */
  valFraction: number;
  /** Synthetic data sets: number of items; null for real data. */
  syntheticCount: number | null;
  /** [rows, cols]. */
  inputSize: [number, number];
  channels: 1 | 3;
  epochs: number;
  /**
   * Rows beyond the paper's seven, e.g. `attn-mi-ftl+aug-default` (see variants.ts); studies
   * made before extra rows record none.
   */
  extraVariants: AblationVariantId[];
};

/** Settings as given: any may be left out (see `resolveAblationSettings` for the defaults). */
export type AblationSettingsInput = Partial<Omit<AblationSettings, 'syntheticCount'>> & {
  syntheticCount?: number | null;
};

/** The names of a study's settings: its own, then the training settings it records. */
export const STUDY_SETTINGS: ReadonlyArray<keyof AblationSettings> = [
  'dataset',
  'data',
  'folds',
  ...STUDY_SETTING_NAMES.filter((n) => n !== 'dataset' && n !== 'data'),
  'extraVariants',
];

/** The flag that sets each setting, for messages. */
export const SETTING_FLAGS: Readonly<Record<string, string>> = {
  ...Object.fromEntries(STUDY_SETTING_NAMES.map((name) => [name, settingLabel(name)])),
  folds: '--folds',
  extraVariants: '--extra-variant',
};

/**
 * The settings of a new study, each left-out one filled in with its default: folds 5, every
 * training setting as `train` fills it (settings_schema.ts: seed 0, the data set's preset for
 * input size, channels, epochs and batch size, SGD with learning rate 0.01, ...); validation
 * fraction 0.15; synthetic data sets: 163 (bus) or 200 (isic) items in `defaultData`; no extra
 * rows (the paper's seven). Extra rows must be variants of the paper's rows (`ablationVariant`),
 * each named once. `dataset` is required, and `data` for real data sets. Throws a `UserError`
 * naming the flag of the first bad value.
 */
export function resolveAblationSettings(
  input: AblationSettingsInput,
  defaultData?: string,
): AblationSettings {
  const dataset = input.dataset;
  if (dataset === undefined) throw new UserError('--dataset is required to make a new study');
  if (!DATASET_SOURCE_KINDS.includes(dataset)) {
    throw new UserError(
      `--dataset: unknown data set '${String(dataset)}'; expected one of ${DATASET_SOURCE_KINDS.join(', ')}`,
    );
  }
  const context = settingContext(dataset);
  const synth = context.synthetic;
  const data = input.data ?? (synth !== undefined ? defaultData : undefined);
  if (data === undefined) throw new UserError(`--data is required for --dataset ${dataset}`);
  if (synth === undefined && input.syntheticCount != null) {
    throw new UserError(
      `--count: applies to synthetic-bus and synthetic-isic only, not ${dataset}`,
    );
  }
  if (dataset !== 'folder' && input.maskSuffix !== undefined && input.maskSuffix !== '') {
    throw new UserError(`--mask-suffix: applies to --dataset folder only, not ${dataset}`);
  }
  const folds = input.folds ?? DEFAULT_FOLDS;
  if (!(Number.isInteger(folds) && folds >= 2)) {
    throw new UserError(`--folds: expected an integer >= 2, got ${folds}`);
  }
  const given: Partial<Record<SettingName, unknown>> = {};
  for (const name of STUDY_SETTING_NAMES) {
    const value = (input as Record<string, unknown>)[name];
    if (value !== undefined && value !== null) given[name] = value;
  }
  const values = resolveSettingValues(
    {
      valFraction: input.valFraction ?? DEFAULT_VAL_FRACTION,
      ...(given as Partial<SettingValues>),
    },
    context,
    STUDY_SETTING_NAMES,
  );
  const settings = {
    dataset,
    data,
    folds,
    ...values,
    syntheticCount: values.syntheticCount ?? null,
    extraVariants: [...(input.extraVariants ?? [])],
  } as AblationSettings;
  const seen = new Set<string>();
  for (const id of settings.extraVariants) {
    if (ablationVariant(id, SETTING_FLAGS.extraVariants).paper) {
      throw new UserError(`--extra-variant: '${id}' is one of the paper's rows, always in a study`);
    }
    if (seen.has(id)) throw new UserError(`--extra-variant: '${id}' is named twice`);
    seen.add(id);
  }
  validateInputShape([...settings.inputSize, settings.channels], SETTING_FLAGS.inputSize);
  return settings;
}

/** A setting's value as a flag would give it: "64,64" for an input size. */
export function formatSetting(value: unknown): string {
  if (Array.isArray(value)) return value.join(',');
  if (value === null) return 'none';
  if (typeof value === 'object') {
    const t = value as { p?: number; magnitude?: number };
    // A single transform's setting, as its flag gives it: P[:MAGNITUDE].
    if (typeof t.p === 'number')
      return t.magnitude === undefined ? `${t.p}` : `${t.p}:${t.magnitude}`;
  }
  return String(value);
}

function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    return JSON.stringify(a) === JSON.stringify(b);
  }
  return a === b;
}

/** The given settings that differ from the recorded ones: [key, recorded, given]. */
export function settingDifferences(
  recorded: AblationSettings,
  input: AblationSettingsInput,
): Array<[keyof AblationSettings, unknown, unknown]> {
  const out: Array<[keyof AblationSettings, unknown, unknown]> = [];
  for (const key of STUDY_SETTINGS) {
    const given = input[key];
    if (given !== undefined && !same(given, recorded[key])) out.push([key, recorded[key], given]);
  }
  return out;
}

/**
 * The settings of an existing study, checked against what an invocation gives: left-out
 * settings take the recorded values; a given one that differs is refused with a `UserError`
 * listing every difference. `where` names the study in the message.
 */
export function checkAblationSettings(
  recorded: AblationSettings,
  input: AblationSettingsInput,
  where: string,
): AblationSettings {
  const diffs = settingDifferences(recorded, input);
  if (diffs.length > 0) {
    const list = diffs
      .map(
        ([k, r, g]) =>
          `${SETTING_FLAGS[k]} ${formatSetting(g)} (the study has ${formatSetting(r)})`,
      )
      .join(', ');
    throw new UserError(
      `${where} was made with other settings: ${list}. A study's settings are fixed when it is ` +
        'made; leave these flags out to use the recorded ones, or choose another --out. ' +
        'Only --variant, --fold, --shard, --backend, --micro-batch, --cache and --lock-timeout ' +
        'may change between invocations.',
    );
  }
  return recorded;
}
