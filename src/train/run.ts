/**
 * A training run in a folder: everything `ftunet train` does besides parsing flags.
 *
 *   RUN_DIR/config.json    everything needed to repeat the run (written before training)
 *   RUN_DIR/split.json     the split (names per fold and part)
 *   RUN_DIR/log.jsonl      one JSON line per epoch; RUN_DIR/log.csv the same as a table
 *   RUN_DIR/checkpoint/    the last finished epoch (see src/io/checkpoint.ts)
 *   RUN_DIR/best/          the model with the best validation DSC of `final`
 *
 * Node-only (files).
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UserError } from '../errors.js';
import type { DatasetSourceKind, SegmentationDataset } from '../data/dataset.js';
import { defaultCacheDir } from '../data/cache.js';
import { loadDataset } from '../data/load.js';
import { loadSplit, saveSplit } from '../data/split_file.js';
import { holdoutSplit, kFoldSplit, resolveSplit, type Split } from '../data/splits.js';
import { SYNTH_MANIFEST, writeSyntheticDataset } from '../data/synthetic/write.js';
import { writeFileAtomic, pathExists } from '../io/atomic.js';
import { loadCheckpoint, saveCheckpoint } from '../io/checkpoint.js';
import { saveModel } from '../io/model_files.js';
import { buildModel, outputNames } from '../models/build.js';
import type { ModelName } from '../models/options.js';
import type { Interpolation } from '../util/raster.js';
import { checkMicroBatch, trainingMicroBatch } from './memory.js';
import {
  datasetLayout,
  readRunConfig,
  RUN_FORMAT,
  RUN_VERSION,
  type RunConfig,
} from './run_config.js';
import type { LossName, Weighting } from './objective.js';
import { resolveOptimizerConfig, type OptimizerConfig } from './optimizer.js';
import { Trainer, type EpochLog, type StepProgress } from './trainer.js';
import { resolveWorkers, WorkerPool } from '../parallel/pool.js';

/** The paper's settings per data set (REFERENCE.md §3). */
export const TRAINING_PRESETS: Readonly<
  Record<
    DatasetSourceKind,
    { inputSize: [number, number]; channels: 1 | 3; epochs: number; batchSize: number }
  >
> = {
  bus: { inputSize: [128, 128], channels: 1, epochs: 100, batchSize: 16 },
  'synthetic-bus': { inputSize: [128, 128], channels: 1, epochs: 100, batchSize: 16 },
  isic2018: { inputSize: [192, 256], channels: 3, epochs: 50, batchSize: 8 },
  'synthetic-isic': { inputSize: [192, 256], channels: 3, epochs: 50, batchSize: 8 },
  folder: { inputSize: [128, 128], channels: 3, epochs: 100, batchSize: 16 },
};

/** The contents of RUN_DIR/config.json as `train` writes it. */
export interface TrainRunConfig extends RunConfig {
  model: RunConfig['model'] & { bnMomentum: number };
  package: { name: string; version: string };
  createdAt: string;
  backend: string;
  seed: number;
  dataset: RunConfig['dataset'] & {
    cache: string | false;
    /** Synthetic data sets: how many items and the generator seed. */
    synthetic?: { count: number; seed: number };
  };
  loss: {
    name: LossName;
    alpha: number;
    beta: number;
    gamma: number;
    weights: Weighting | number[];
  };
  optimizer: Required<OptimizerConfig>;
  epochs: number;
  batchSize: number;
  microBatch: number;
  /** Data-parallel workers of the run (1: in the main thread); a resumed run may use another number. */
  workers: number;
}

/** What `train` needs beyond the defaults (see `resolveTrainOptions` for each default). */
export interface TrainRunOptions {
  out: string;
  dataset: DatasetSourceKind;
  /** Required except for synthetic data sets (default: `<out>/data`). */
  data?: string;
  model?: ModelName;
  width?: number;
  /** BatchNormalization momentum. Default 0.99 (Keras). */
  bnMomentum?: number;
  inputSize?: [number, number];
  channels?: 1 | 3;
  interpolation?: Interpolation;
  maskSuffix?: string;
  cache?: string | false;
  loss?: LossName;
  alpha?: number;
  beta?: number;
  gamma?: number;
  weights?: Weighting | number[];
  optimizer?: OptimizerConfig;
  epochs?: number;
  batchSize?: number;
  /** Images per forward/backward pass, or 'auto' (default: what fits the backend's memory). */
  microBatch?: number | 'auto';
  /** Data-parallel worker threads. Default: one per core (1 on the tensorflow backend). */
  workers?: number;
  seed?: number;
  /** A split file to use; default: a new split (holdout, or k-fold with `folds`). */
  splitFile?: string;
  /** Number of folds of a new k-fold split; default: a 75/25 holdout. */
  folds?: number;
  fold?: number;
  valFraction?: number;
  testFraction?: number;
  /** Synthetic data sets: number of items. Default 163 (bus) or 200 (isic). */
  syntheticCount?: number;
  /** The backend that runs (recorded in config.json). */
  backend: string;
  packageInfo: { name: string; version: string };
}

export interface TrainRunCallbacks {
  onInfo?: (line: string) => void;
  onWarning?: (line: string) => void;
  onStep?: (progress: StepProgress) => void;
  onEpoch?: (log: EpochLog) => void;
  onDataProgress?: (done: number, total: number, phase: string) => void;
  /** See `TrainCallbacks.shouldStop`: asked before each step; true stops with an `InterruptedError`. */
  shouldStop?: () => boolean;
}

export interface TrainRunResult {
  config: TrainRunConfig;
  logs: EpochLog[];
  bestEpoch: number;
  bestScore: number;
}

const SYNTHETIC: Partial<Record<DatasetSourceKind, 'bus' | 'isic'>> = {
  'synthetic-bus': 'bus',
  'synthetic-isic': 'isic',
};

/** Writes a synthetic data set to `dir` unless the same one (kind, count, seed) is there. */
async function ensureSynthetic(
  kind: 'bus' | 'isic',
  dir: string,
  count: number,
  seed: number,
  callbacks: TrainRunCallbacks,
): Promise<void> {
  try {
    const m = JSON.parse(await readFile(path.join(dir, SYNTH_MANIFEST), 'utf8')) as {
      kind?: string;
      count?: number;
      seed?: number;
    };
    if (m.kind === kind && m.count === count && m.seed === seed) return;
  } catch {
    // Not there yet (or not ours): write it.
  }
  callbacks.onInfo?.(`writing a synthetic ${kind} data set of ${count} items to ${dir}`);
  const result = await writeSyntheticDataset({
    kind,
    out: dir,
    count,
    seed,
    onProgress: (done, total) => callbacks.onDataProgress?.(done, total, 'synth'),
  });
  callbacks.onInfo?.(
    `synthetic lesion area ${(100 * result.lesionArea.mean).toFixed(2)}% ± ` +
      `${(100 * result.lesionArea.std).toFixed(2)}%`,
  );
}

function positiveInt(value: number, what: string): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new UserError(`${what} must be a positive integer, got ${value}`);
  }
  return value;
}

/** Loads the data set a config describes (writing a synthetic one first if needed). */
export async function loadRunDataset(
  config: TrainRunConfig,
  callbacks: TrainRunCallbacks = {},
): Promise<SegmentationDataset> {
  const d = config.dataset;
  const synth = SYNTHETIC[d.kind];
  if (synth !== undefined && d.synthetic !== undefined) {
    await ensureSynthetic(synth, d.data, d.synthetic.count, d.synthetic.seed, callbacks);
  }
  return loadDataset({
    dataset: datasetLayout(d.kind),
    data: d.data,
    inputSize: d.inputSize,
    channels: d.channels,
    interpolation: d.interpolation,
    maskSuffix: d.maskSuffix,
    cache: d.cache,
    onWarning: callbacks.onWarning,
    onProgress: (p) => callbacks.onDataProgress?.(p.done, p.total, p.phase),
  });
}

/** Starts a new run in `options.out` (which must not hold a run already). */
export async function train(
  options: TrainRunOptions,
  callbacks: TrainRunCallbacks = {},
): Promise<TrainRunResult> {
  const out = path.resolve(options.out);
  if (await pathExists(path.join(out, 'config.json'))) {
    throw new UserError(
      `${out} already holds a run: continue it with --resume ${options.out}, or choose another --out`,
    );
  }
  const preset = TRAINING_PRESETS[options.dataset];
  if (preset === undefined) throw new UserError(`unknown data set '${options.dataset}'`);
  const synth = SYNTHETIC[options.dataset];
  if (options.data === undefined && synth === undefined) {
    throw new UserError(`--data is required for --dataset ${options.dataset}`);
  }
  const seed = options.seed ?? 0;
  const inputSize = options.inputSize ?? preset.inputSize;
  const channels = options.channels ?? preset.channels;
  const modelName = options.model ?? 'attn_reg';
  const lossName = options.loss ?? 'ftl';
  const alpha = options.alpha ?? 0.7;
  const config: TrainRunConfig = {
    format: RUN_FORMAT,
    version: RUN_VERSION,
    package: options.packageInfo,
    createdAt: new Date().toISOString(),
    backend: options.backend,
    seed,
    model: {
      name: modelName,
      inputShape: [inputSize[0], inputSize[1], channels],
      width: options.width ?? 1,
      bnMomentum: options.bnMomentum ?? 0.99,
    },
    dataset: {
      kind: options.dataset,
      data: path.resolve(options.data ?? path.join(out, 'data')),
      inputSize: [inputSize[0], inputSize[1]],
      channels,
      interpolation: options.interpolation ?? 'nearest',
      maskSuffix: options.maskSuffix ?? '',
      cache: options.cache === false ? false : path.resolve(options.cache ?? defaultCacheDir()),
      ...(synth !== undefined
        ? { synthetic: { count: options.syntheticCount ?? (synth === 'bus' ? 163 : 200), seed } }
        : {}),
    },
    split: { file: 'split.json', fold: options.fold ?? 0 },
    loss: {
      name: lossName,
      alpha,
      beta: options.beta ?? 1 - alpha,
      gamma: options.gamma ?? 4 / 3,
      weights: options.weights ?? 'equal',
    },
    optimizer: resolveOptimizerConfig(options.optimizer),
    epochs: positiveInt(options.epochs ?? preset.epochs, '--epochs'),
    batchSize: positiveInt(options.batchSize ?? preset.batchSize, '--batch-size'),
    microBatch: 0,
    workers: resolveWorkers(options.workers, options.backend),
  };
  const model = buildModel(modelName, {
    inputShape: config.model.inputShape,
    width: config.model.width,
    bnMomentum: config.model.bnMomentum,
    seed,
  });
  try {
    const mb = options.microBatch ?? 'auto';
    config.microBatch =
      mb === 'auto'
        ? trainingMicroBatch(model, config.batchSize, options.backend, config.workers)
        : positiveInt(mb, '--micro-batch');
    checkMicroBatch(model, config.microBatch, options.backend);

    const dataset = await loadRunDataset(config, callbacks);
    let split: Split;
    if (options.splitFile !== undefined) {
      split = await loadSplit(options.splitFile);
    } else if (options.folds !== undefined) {
      split = kFoldSplit(dataset.names, {
        k: options.folds,
        seed,
        valFraction: options.valFraction,
      });
    } else {
      split = holdoutSplit(dataset.names, {
        seed,
        testFraction: options.testFraction,
        valFraction: options.valFraction,
      });
    }
    const folds = resolveSplit(split, dataset.names, options.splitFile ?? 'split');
    if (!(
      config.split.fold >= 0 &&
      config.split.fold < folds.length &&
      Number.isInteger(config.split.fold)
    )) {
      throw new UserError(
        `--fold ${config.split.fold}: the split has folds 0 to ${folds.length - 1}`,
      );
    }
    await mkdir(out, { recursive: true });
    await saveSplit(path.join(out, config.split.file), split);
    await writeFileAtomic(path.join(out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    return await runTrainer(
      out,
      config,
      model,
      dataset,
      folds[config.split.fold],
      [],
      undefined,
      callbacks,
    );
  } finally {
    model.dispose();
  }
}

/**
 * Continues the run in `runDir` from its last finished epoch, with `options.workers` workers
 * (default: one per core, 1 on the tensorflow backend).
 */
export async function resume(
  runDir: string,
  backend: string,
  callbacks: TrainRunCallbacks = {},
  options: { workers?: number } = {},
): Promise<TrainRunResult> {
  const out = path.resolve(runDir);
  const saved = (await readRunConfig(out)) as TrainRunConfig;
  // Runs from before data-parallel workers record none: they ran in the main thread.
  const savedWorkers = (saved as Partial<TrainRunConfig>).workers ?? 1;
  const config: TrainRunConfig = { ...saved, workers: resolveWorkers(options.workers, backend) };
  if (config.backend !== backend) {
    callbacks.onWarning?.(
      `the run was started on backend '${config.backend}' and continues on '${backend}': ` +
        'numbers will differ slightly from an uninterrupted run',
    );
  }
  if (savedWorkers !== config.workers) {
    callbacks.onWarning?.(
      `the run was started with ${savedWorkers} worker(s) and continues with ` +
        `${config.workers}: batch normalisation sees other micro-batches, numbers will differ ` +
        'slightly from an uninterrupted run',
    );
  }
  config.backend = backend;
  const { model, state } = await loadCheckpoint(path.join(out, 'checkpoint'));
  try {
    const dataset = await loadRunDataset(config, callbacks);
    const split = await loadSplit(path.join(out, config.split.file));
    const folds = resolveSplit(split, dataset.names, path.join(out, config.split.file));
    const logs = (await readLogs(out)).filter((l) => l.epoch <= state.epoch);
    callbacks.onInfo?.(`resuming ${out} after epoch ${state.epoch} of ${config.epochs}`);
    return await runTrainer(
      out,
      config,
      model,
      dataset,
      folds[config.split.fold],
      logs,
      state,
      callbacks,
    );
  } finally {
    model.dispose();
  }
}

async function readLogs(out: string): Promise<EpochLog[]> {
  try {
    const text = await readFile(path.join(out, 'log.jsonl'), 'utf8');
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as EpochLog);
  } catch {
    return [];
  }
}

/** The log as CSV: one row per epoch, a column per output, phase and quantity. */
export function logsToCsv(logs: readonly EpochLog[]): string {
  if (logs.length === 0) return '';
  const outputs = Object.keys(logs[0].train.outputs);
  const phases = ['train', 'val'] as const;
  const header = ['epoch', 'learning_rate', 'seconds'];
  for (const phase of phases) {
    header.push(`${phase}_loss`);
    for (const o of outputs) header.push(`${phase}_${o}_loss`, `${phase}_${o}_dsc`);
  }
  const rows = logs.map((l) => {
    const cells: Array<number | string> = [l.epoch, l.learningRate, l.seconds];
    for (const phase of phases) {
      const m = l[phase];
      cells.push(m?.loss ?? '');
      for (const o of outputs) cells.push(m?.outputs[o]?.loss ?? '', m?.outputs[o]?.dsc ?? '');
    }
    return cells.join(',');
  });
  return `${header.join(',')}\n${rows.join('\n')}\n`;
}

async function runTrainer(
  out: string,
  config: TrainRunConfig,
  model: tfl.LayersModel,
  dataset: SegmentationDataset,
  fold: { train: number[]; val: number[] },
  previousLogs: EpochLog[],
  state: Awaited<ReturnType<typeof loadCheckpoint>>['state'] | undefined,
  callbacks: TrainRunCallbacks,
): Promise<TrainRunResult> {
  const objective = {
    loss: config.loss.name,
    lossOptions: { alpha: config.loss.alpha, beta: config.loss.beta, gamma: config.loss.gamma },
    weights: config.loss.weights,
  };
  callbacks.onInfo?.(
    `batch ${config.batchSize}: ${config.workers === 1 ? 'in this thread' : `${config.workers} workers`}, ` +
      `passes of at most ${Math.min(config.microBatch, config.batchSize)} image(s)`,
  );
  const workers =
    config.workers > 1
      ? await WorkerPool.start({
          model,
          workers: config.workers,
          backend: config.backend,
          dataset,
          objective: { ...objective, model: config.model.name, outputs: outputNames(model) },
        })
      : undefined;
  const trainer = new Trainer(model, dataset, fold, {
    epochs: config.epochs,
    batchSize: config.batchSize,
    microBatch: config.microBatch,
    seed: config.seed,
    modelName: config.model.name,
    objective,
    optimizer: config.optimizer,
    workers,
  });
  if (state !== undefined) trainer.restore(state);
  const logs = [...previousLogs];
  try {
    await trainer.run({
      onStep: callbacks.onStep,
      shouldStop: callbacks.shouldStop,
      onEpochEnd: async (log, trainState) => {
        logs.push(log);
        if (log.best) {
          model.setUserDefinedMetadata({
            ...(model.getUserDefinedMetadata() ?? {}),
            training: { epoch: log.epoch, score: log.score },
          });
          await saveModel(model, path.join(out, 'best'));
        }
        // Logs first, then the checkpoint: a resumed run drops log lines past its checkpoint.
        await writeFileAtomic(
          path.join(out, 'log.jsonl'),
          logs.map((l) => JSON.stringify(l)).join('\n') + '\n',
        );
        await writeFileAtomic(path.join(out, 'log.csv'), logsToCsv(logs));
        await saveCheckpoint(path.join(out, 'checkpoint'), model, trainState);
        callbacks.onEpoch?.(log);
      },
    });
    const final = await trainer.state();
    return { config, logs, bestEpoch: final.bestEpoch, bestScore: final.bestScore };
  } finally {
    trainer.dispose();
    await workers?.close();
  }
}
