/**
 * The settings of an ablation study: what every unit shares (data, split, training
 * settings). They are fixed when the study is made and recorded in `study.json`; a later
 * invocation may leave any of them out (it then uses the recorded value) but may not change
 * one. What an invocation may change is the selection (variants, folds, shard) and what
 * depends on the machine: backend, micro-batch, cache folder, lock timeout.
 *
 * Pure functions (the presets come from src/data/presets.ts).
 */
import type { DatasetSourceKind } from '../data/dataset.js';
import { DEFAULT_SYNTHETIC_COUNT, MAX_SYNTHETIC_COUNT } from '../data/synthetic/generate.js';
import { DEFAULT_FOLDS, DEFAULT_VAL_FRACTION } from '../data/splits.js';
import { UserError } from '../errors.js';
import { DEFAULT_ALPHA, DEFAULT_GAMMA } from '../losses/utils.js';
import { DEFAULT_BN_MOMENTUM, DEFAULT_WIDTH, validateInputShape } from '../models/options.js';
import {
  DEFAULT_DECAY,
  DEFAULT_LEARNING_RATE,
  DEFAULT_MOMENTUM,
  DEFAULT_OPTIMIZER,
  type OptimizerName,
} from '../train/optimizer.js';
import { DATASET_SOURCE_KINDS, datasetPreset, syntheticKindOf } from '../data/presets.js';
import { DEFAULT_INTERPOLATION, type Interpolation } from '../util/raster.js';
import { checkSeed, DEFAULT_SEED } from '../util/rng.js';
import { ablationVariant, type AblationVariantId } from './variants.js';

/** Everything the units of a study share. */
export interface AblationSettings {
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
  /** Width multiplier of every filter count. */
  width: number;
  /** BatchNormalization momentum of the moving statistics (Keras's default 0.99). */
  bnMomentum: number;
  epochs: number;
  batchSize: number;
  optimizer: OptimizerName;
  learningRate: number;
  /** Keras time decay per update. */
  decay: number;
  /** SGD momentum. */
  momentum: number;
  /** Tversky weight of false negatives (the paper's alpha; MONAI calls it beta). */
  alpha: number;
  /** Focal parameter: FTL = (1 - TI)^(1/gamma). */
  gamma: number;
  interpolation: Interpolation;
  /** 'folder' data sets: the suffix of a mask's stem; '' otherwise. */
  maskSuffix: string;
  /**
   * Rows beyond the paper's seven, e.g. `attn-mi-ftl+aug-default` (see variants.ts); studies
   * made before extra rows record none.
   */
  extraVariants: AblationVariantId[];
}

/** Settings as given: any may be left out (see `resolveAblationSettings` for the defaults). */
export type AblationSettingsInput = Partial<AblationSettings>;

/** The flag that sets each setting, for messages. */
export const SETTING_FLAGS: Readonly<Record<keyof AblationSettings, string>> = {
  dataset: '--dataset',
  data: '--data',
  folds: '--folds',
  seed: '--seed',
  valFraction: '--val-fraction',
  syntheticCount: '--count',
  inputSize: '--input-size',
  channels: '--channels',
  width: '--width',
  bnMomentum: '--bn-momentum',
  epochs: '--epochs',
  batchSize: '--batch-size',
  optimizer: '--optimizer',
  learningRate: '--lr',
  decay: '--decay',
  momentum: '--momentum',
  alpha: 'alpha',
  gamma: 'gamma',
  interpolation: '--interpolation',
  maskSuffix: '--mask-suffix',
  extraVariants: '--extra-variant',
};

function positiveInteger(value: number, key: keyof AblationSettings, min = 1): number {
  if (!(Number.isInteger(value) && value >= min)) {
    throw new UserError(`${SETTING_FLAGS[key]}: expected an integer >= ${min}, got ${value}`);
  }
  return value;
}

function inRange(value: number, key: keyof AblationSettings, lo: number, hi: number): number {
  if (!(value >= lo && value < hi)) {
    throw new UserError(`${SETTING_FLAGS[key]}: expected a number in [${lo}, ${hi}), got ${value}`);
  }
  return value;
}

/**
 * The settings of a new study, each left-out one filled in with its default:
 * folds 5; seed 0; valFraction 0.15; input size, channels, epochs and batch size from the data
 * set's preset (`DATASET_PRESETS`: bus 128x128x1, 100 epochs, batch 16; isic2018 192x256x3,
 * 50, 8); width 1; BatchNormalization momentum 0.99; SGD with learning rate 0.01 (Adam: 0.001), decay 1e-6, momentum 0.9;
 * alpha 0.7; gamma 4/3; nearest-neighbour resizing; mask suffix ''; synthetic data sets:
 * 163 (bus) or 200 (isic) items in `defaultData`; no extra rows (the paper's seven).
 * Extra rows must be variants of the paper's rows (`ablationVariant`), each named once.
 * `dataset` is required, and `data` for real data sets. Throws a `UserError` naming the flag
 * of the first bad value.
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
  const synth = syntheticKindOf(dataset);
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
  const preset = datasetPreset(dataset);
  const optimizer = input.optimizer ?? DEFAULT_OPTIMIZER;
  const seed = input.seed ?? DEFAULT_SEED;
  checkSeed(seed, SETTING_FLAGS.seed);
  const settings: AblationSettings = {
    dataset,
    data,
    folds: positiveInteger(input.folds ?? DEFAULT_FOLDS, 'folds', 2),
    seed,
    valFraction: inRange(input.valFraction ?? DEFAULT_VAL_FRACTION, 'valFraction', 0, 1),
    syntheticCount:
      synth === undefined ? null : (input.syntheticCount ?? DEFAULT_SYNTHETIC_COUNT[synth]),
    inputSize: input.inputSize ?? [...preset.inputSize],
    channels: input.channels ?? preset.channels,
    width: input.width ?? DEFAULT_WIDTH,
    bnMomentum: inRange(input.bnMomentum ?? DEFAULT_BN_MOMENTUM, 'bnMomentum', 0, 1),
    epochs: positiveInteger(input.epochs ?? preset.epochs, 'epochs'),
    batchSize: positiveInteger(input.batchSize ?? preset.batchSize, 'batchSize'),
    optimizer,
    learningRate: input.learningRate ?? DEFAULT_LEARNING_RATE[optimizer],
    decay: input.decay ?? DEFAULT_DECAY,
    momentum: inRange(input.momentum ?? DEFAULT_MOMENTUM, 'momentum', 0, 1),
    alpha: inRange(input.alpha ?? DEFAULT_ALPHA, 'alpha', 0, 1),
    gamma: input.gamma ?? DEFAULT_GAMMA,
    interpolation: input.interpolation ?? DEFAULT_INTERPOLATION,
    maskSuffix: input.maskSuffix ?? '',
    extraVariants: [...(input.extraVariants ?? [])],
  };
  const seen = new Set<string>();
  for (const id of settings.extraVariants) {
    if (ablationVariant(id, SETTING_FLAGS.extraVariants).paper) {
      throw new UserError(`--extra-variant: '${id}' is one of the paper's rows, always in a study`);
    }
    if (seen.has(id)) throw new UserError(`--extra-variant: '${id}' is named twice`);
    seen.add(id);
  }
  if (settings.syntheticCount !== null) {
    const n = settings.syntheticCount;
    if (!(Number.isInteger(n) && n >= 1 && n <= MAX_SYNTHETIC_COUNT)) {
      throw new UserError(
        `--count: expected a whole number from 1 to ${MAX_SYNTHETIC_COUNT}, got ${n}`,
      );
    }
  }
  validateInputShape([...settings.inputSize, settings.channels], SETTING_FLAGS.inputSize);
  for (const key of ['width', 'learningRate', 'gamma'] as const) {
    if (!(Number.isFinite(settings[key]) && settings[key] > 0)) {
      throw new UserError(
        `${SETTING_FLAGS[key]}: expected a positive number, got ${settings[key]}`,
      );
    }
  }
  if (!(Number.isFinite(settings.decay) && settings.decay >= 0)) {
    throw new UserError(`--decay: expected a number >= 0, got ${settings.decay}`);
  }
  return settings;
}

/** A setting's value as a flag would give it: "64,64" for an input size. */
export function formatSetting(value: unknown): string {
  if (Array.isArray(value)) return value.join(',');
  if (value === null) return 'none';
  return String(value);
}

function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }
  return a === b;
}

/** The given settings that differ from the recorded ones: [key, recorded, given]. */
export function settingDifferences(
  recorded: AblationSettings,
  input: AblationSettingsInput,
): Array<[keyof AblationSettings, unknown, unknown]> {
  const out: Array<[keyof AblationSettings, unknown, unknown]> = [];
  for (const key of Object.keys(SETTING_FLAGS) as Array<keyof AblationSettings>) {
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
