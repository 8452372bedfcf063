/**
 * The settings of a new training run: what `train` takes (`TrainRunOptions`) and the contents
 * of its config.json with every default filled in (the defaults are the settings schema's,
 * settings_schema.ts). Node-only (paths).
 */
import path from 'node:path';
import { UserError } from '../errors.js';
import { defaultCacheDir } from '../data/cache.js';
import type { DatasetSourceKind } from '../data/dataset.js';
import { resolveAugmentConfig, type AugmentLevel } from '../data/augment.js';
import { RUN_FORMAT, RUN_SPLIT_FILE, RUN_VERSION, type TrainRunSettings } from './config.js';
import {
  optionsOfSettings,
  placeSettings,
  resolveSettingValues,
  settingContext,
  settingsOfOptions,
  type TrainSettingOptions,
} from './settings_schema.js';

/**
 * What `train` takes: the training settings (`TrainSettingOptions`, derived from
 * `TRAIN_SETTINGS` in settings_schema.ts, where each one's default is written), and what is not
 * a setting of the run. Every field but `out`, `dataset`, `backend` and `packageInfo` is
 * optional.
 */
export type TrainRunOptions = TrainSettingOptions & {
  /** The run folder to create. */
  out: string;
  dataset: DatasetSourceKind;
  /** A split file to use; default: a new split (holdout, or k-fold with `folds`). */
  splitFile?: string;
  /** Number of folds of a new k-fold split; default: a 75/25 holdout. */
  folds?: number;
  /**
   * The run folder's lock (`train.lock`, held while training) is stale when not refreshed for
   * this long, in ms (not a training setting: not recorded). Default `DEFAULT_LOCK_TIMEOUT_MS`
   * (3 hours); an ablation study passes its own `--lock-timeout`.
   */
  lockTimeoutMs?: number;
  /** The backend that runs (recorded in config.json). */
  backend: string;
  packageInfo: { name: string; version: string };
};

/** A positive integer, or a `UserError` naming `what`. */
export function positiveInt(value: number, what: string): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new UserError(`${what} must be a positive integer, got ${value}`);
  }
  return value;
}

/**
 * The config.json of a new run in `out` (absolute) with every default filled in, but the
 * micro-batch and the worker count, which depend on the built model and the machine. Throws a
 * `UserError` naming the flag of the first bad setting.
 */
export function resolveTrainSettings(options: TrainRunOptions, out: string): TrainRunSettings {
  const context = settingContext(options.dataset);
  if (options.data === undefined && context.synthetic === undefined) {
    throw new UserError(`--data is required for --dataset ${options.dataset}`);
  }
  const values = resolveSettingValues(settingsOfOptions(options), context);
  const [rows, cols] = values.inputSize as [number, number];
  const channels = values.channels as 1 | 3;
  const level = values.augment as AugmentLevel;
  // The fields in the order config.json has always listed them; the settings fill them in.
  const config: Record<string, unknown> = {
    format: RUN_FORMAT,
    version: RUN_VERSION,
    package: options.packageInfo,
    createdAt: new Date().toISOString(),
    backend: options.backend,
    seed: values.seed,
    model: { name: values.model, inputShape: [rows, cols, channels] },
    dataset: {
      kind: options.dataset,
      data: path.resolve(options.data ?? path.join(out, 'data')),
      inputSize: [rows, cols],
      channels,
      interpolation: values.interpolation,
      maskSuffix: values.maskSuffix,
      cache: options.cache === false ? false : path.resolve(options.cache ?? defaultCacheDir()),
      ...(values.syntheticCount !== undefined
        ? { synthetic: { count: values.syntheticCount, seed: values.seed } }
        : {}),
    },
    split: { file: RUN_SPLIT_FILE },
    loss: {},
    optimizer: {},
    schedule: {},
    augment: {
      level,
      transforms: resolveAugmentConfig(
        level,
        context.preset.augmentExclude,
        optionsOfSettings(values).augmentTransforms,
      ),
    },
    patience: null,
    epochs: 0,
    batchSize: 0,
    objectiveScope: '',
  };
  placeSettings(config, values);
  const model = config.model as { initFrom?: string | null };
  // As the data folder: the run records where the weights came from, from any directory.
  if (typeof model.initFrom === 'string') model.initFrom = path.resolve(model.initFrom);
  return config as unknown as TrainRunSettings;
}
