/**
 * The settings of a new training run: what `train` takes (`TrainRunOptions`, every field's
 * default in its doc comment) and the one place that fills the defaults in, giving the
 * contents of the run's config.json. Node-only (paths).
 */
import path from 'node:path';
import { UserError } from '../errors.js';
import { defaultCacheDir } from '../data/cache.js';
import type { DatasetSourceKind } from '../data/dataset.js';
import { datasetPreset, syntheticKindOf } from '../data/presets.js';
import { DEFAULT_SYNTHETIC_COUNT } from '../data/synthetic/generate.js';
import { DEFAULT_ALPHA, DEFAULT_GAMMA, defaultBeta } from '../losses/utils.js';
import {
  DEFAULT_BN_MOMENTUM,
  DEFAULT_MODEL,
  DEFAULT_WIDTH,
  type ModelName,
} from '../models/options.js';
import {
  DEFAULT_LOSS,
  DEFAULT_OBJECTIVE_SCOPE,
  DEFAULT_WEIGHTING,
  type LossName,
  type ObjectiveScope,
  type Weighting,
} from '../train/objective.js';
import { resolveOptimizerConfig, type OptimizerConfig } from '../train/optimizer.js';
import { resolveScheduleConfig, type ScheduleConfig } from '../train/schedule.js';
import {
  DEFAULT_AUGMENT_LEVEL,
  resolveAugmentConfig,
  type AugmentLevel,
  type AugmentTransform,
} from '../data/augment.js';
import { DEFAULT_INTERPOLATION, type Interpolation } from '../util/raster.js';
import { DEFAULT_SEED } from '../util/rng.js';
import { DEFAULT_FOLD } from '../data/splits.js';
import { RUN_FORMAT, RUN_SPLIT_FILE, RUN_VERSION, type TrainRunSettings } from './config.js';

/** What `train` takes; every field but `out`, `dataset`, `backend` and `packageInfo` is optional. */
export interface TrainRunOptions {
  /** The run folder to create. */
  out: string;
  dataset: DatasetSourceKind;
  /** The data folder. Required except for synthetic data sets (default: `<out>/data`). */
  data?: string;
  /** Default `DEFAULT_MODEL` (attn_reg, the paper's). */
  model?: ModelName;
  /** Width multiplier of every filter count. Default `DEFAULT_WIDTH` (1, the paper's network). */
  width?: number;
  /** BatchNormalization momentum. Default `DEFAULT_BN_MOMENTUM` (Keras's 0.99). */
  bnMomentum?: number;
  /** [rows, cols]. Default: the data set's preset (`DATASET_PRESETS`). */
  inputSize?: [number, number];
  /** Default: the data set's preset. */
  channels?: 1 | 3;
  /** How images are resized. Default `DEFAULT_INTERPOLATION` (nearest, the reference's BUS script). */
  interpolation?: Interpolation;
  /** 'folder' data sets: the suffix of a mask's stem. Default ''. */
  maskSuffix?: string;
  /** The preprocessing cache folder, or false for none. Default `defaultCacheDir()`. */
  cache?: string | false;
  /** Default `DEFAULT_LOSS` (ftl). */
  loss?: LossName;
  /** Tversky weight of false negatives. Default `DEFAULT_ALPHA` (0.7). */
  alpha?: number;
  /** Tversky weight of false positives. Default 1 - alpha. */
  beta?: number;
  /** Focal parameter. Default `DEFAULT_GAMMA` (4/3). */
  gamma?: number;
  /** Deep supervision weights. Default `DEFAULT_WEIGHTING` (equal: the reference, all 1). */
  weights?: Weighting | number[];
  /** Default: `resolveOptimizerConfig`'s (SGD, 0.01, momentum 0.9, decay 1e-6). */
  optimizer?: OptimizerConfig;
  /**
   * The learning-rate schedule and warm-up. Default: `resolveScheduleConfig`'s (keras-decay,
   * the paper's, without warm-up).
   */
  schedule?: ScheduleConfig;
  /**
   * Augmentation level of the training items. Default `DEFAULT_AUGMENT_LEVEL` ('none', the
   * paper's); the data set's preset leaves out the transforms that do not fit it.
   */
  augment?: AugmentLevel;
  /** Transforms set one by one (probability, and magnitude), over the level's. Default: none. */
  augmentTransforms?: Partial<Record<AugmentTransform, { p: number; magnitude?: number }>>;
  /** Early stopping after this many epochs without improvement. Default: none. */
  patience?: number;
  /**
   * Where each loss index is computed: 'batch' (one index over the whole batch, as the
   * reference) or 'pass' (per forward pass, summed: faster when a batch is split into passes,
   * but another function). Default `DEFAULT_OBJECTIVE_SCOPE` ('batch').
   */
  objectiveScope?: ObjectiveScope;
  /** Default: the data set's preset. */
  epochs?: number;
  /** Images per update. Default: the data set's preset. */
  batchSize?: number;
  /** Images per forward/backward pass, or 'auto', what fits the backend's memory. Default `DEFAULT_MICRO_BATCH` ('auto'). */
  microBatch?: number | 'auto';
  /** Data-parallel worker threads. Default: one per core (1 on the tensorflow backend). */
  workers?: number;
  /** Seed of weights, split, order and synthetic data. Default 0. */
  seed?: number;
  /** A split file to use; default: a new split (holdout, or k-fold with `folds`). */
  splitFile?: string;
  /** Number of folds of a new k-fold split; default: a 75/25 holdout. */
  folds?: number;
  /** The fold to train. Default 0. */
  fold?: number;
  /** Default: the split's (0.15). */
  valFraction?: number;
  /** Default: the split's (0.25). */
  testFraction?: number;
  /** Synthetic data sets: number of items. Default `DEFAULT_SYNTHETIC_COUNT` (bus 163, isic 200). */
  syntheticCount?: number;
  /**
   * Images with more pixels are refused from their header before decoding (a guard on
   * memory, not a training setting: not recorded). Default: `DEFAULT_MAX_PIXELS`.
   */
  maxPixels?: number;
  /**
   * The run folder's lock (`train.lock`, held while training) is stale when not refreshed for
   * this long, in ms (not a training setting: not recorded). Default `DEFAULT_LOCK_TIMEOUT_MS`
   * (3 hours); an ablation study passes its own `--lock-timeout`.
   */
  lockTimeoutMs?: number;
  /** The backend that runs (recorded in config.json). */
  backend: string;
  packageInfo: { name: string; version: string };
}

/** A positive integer, or a `UserError` naming `what`. */
export function positiveInt(value: number, what: string): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new UserError(`${what} must be a positive integer, got ${value}`);
  }
  return value;
}

/**
 * The config.json of a new run in `out` (absolute) with every default filled in, but the
 * micro-batch and the worker count, which depend on the built model and the machine.
 */
export function resolveTrainSettings(options: TrainRunOptions, out: string): TrainRunSettings {
  const preset = datasetPreset(options.dataset);
  const synth = syntheticKindOf(options.dataset);
  if (options.data === undefined && synth === undefined) {
    throw new UserError(`--data is required for --dataset ${options.dataset}`);
  }
  const seed = options.seed ?? DEFAULT_SEED;
  const [rows, cols] = options.inputSize ?? preset.inputSize;
  const channels = options.channels ?? preset.channels;
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  return {
    format: RUN_FORMAT,
    version: RUN_VERSION,
    package: options.packageInfo,
    createdAt: new Date().toISOString(),
    backend: options.backend,
    seed,
    model: {
      name: options.model ?? DEFAULT_MODEL,
      inputShape: [rows, cols, channels],
      width: options.width ?? DEFAULT_WIDTH,
      bnMomentum: options.bnMomentum ?? DEFAULT_BN_MOMENTUM,
    },
    dataset: {
      kind: options.dataset,
      data: path.resolve(options.data ?? path.join(out, 'data')),
      inputSize: [rows, cols],
      channels,
      interpolation: options.interpolation ?? DEFAULT_INTERPOLATION,
      maskSuffix: options.maskSuffix ?? '',
      cache: options.cache === false ? false : path.resolve(options.cache ?? defaultCacheDir()),
      ...(synth !== undefined
        ? { synthetic: { count: options.syntheticCount ?? DEFAULT_SYNTHETIC_COUNT[synth], seed } }
        : {}),
    },
    split: { file: RUN_SPLIT_FILE, fold: options.fold ?? DEFAULT_FOLD },
    loss: {
      name: options.loss ?? DEFAULT_LOSS,
      alpha,
      beta: options.beta ?? defaultBeta(alpha),
      gamma: options.gamma ?? DEFAULT_GAMMA,
      weights: options.weights ?? DEFAULT_WEIGHTING,
    },
    optimizer: resolveOptimizerConfig(options.optimizer),
    schedule: resolveScheduleConfig(options.schedule, '--schedule'),
    augment: {
      level: options.augment ?? DEFAULT_AUGMENT_LEVEL,
      transforms: resolveAugmentConfig(
        options.augment ?? DEFAULT_AUGMENT_LEVEL,
        preset.augmentExclude,
        options.augmentTransforms,
      ),
    },
    patience: options.patience === undefined ? null : positiveInt(options.patience, '--patience'),
    epochs: positiveInt(options.epochs ?? preset.epochs, '--epochs'),
    batchSize: positiveInt(options.batchSize ?? preset.batchSize, '--batch-size'),
    objectiveScope: options.objectiveScope ?? DEFAULT_OBJECTIVE_SCOPE,
  };
}
