/**
 * Training a run in a folder: everything `ftunet train` does besides parsing flags. The run
 * folder's parts each have their own module: config.json (`config.ts`, with `settings.ts` for
 * a new run's defaults), the epoch log (`log.ts`), checkpoints (`checkpoint.ts`), the data set
 * and split (`data.ts`). This module orders them: the config and split are written before the
 * first epoch, and after each epoch the best model, then the logs, then the checkpoint, so a
 * process killed at any moment leaves a run that resumes bit-identically. While it trains, a
 * process holds the run's lock (`train.lock`, see src/io/lock.ts), so that two processes never
 * train one run at once. Node-only.
 */
import { computeInputStatistics, INPUT_STATISTICS_KEY } from '../data/input_statistics.js';
import { mkdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { DiskFullError, UserError } from '../errors.js';
import type { SegmentationDataset } from '../data/dataset.js';
import { loadSplit, saveSplit } from '../data/split_file.js';
import { holdoutSplit, kFoldSplit, resolveSplit, type Split } from '../data/splits.js';
import { pathExists, sweepStaleTemporaries, writeFileAtomic } from '../io/atomic.js';
import { faultPoint } from '../io/faults.js';
import { claimLock, DEFAULT_LOCK_TIMEOUT_MS, describeLock } from '../io/lock.js';
import { saveModel } from '../io/model_files.js';
import { buildModel, outputNames } from '../models/build.js';
import { freezeLayers } from '../models/freeze.js';
import { initWeightsFrom, type InitRecord } from './init_from.js';
import { activeNumerics, sameNumerics } from '../kernels/numerics.js';
import { resolveTrainingWorkers, WorkerPool } from '../parallel/pool.js';
import { checkMicroBatch, DEFAULT_MICRO_BATCH, trainingLanes } from '../train/memory.js';
import { isAugmenting } from '../data/augment.js';
import {
  describeStop,
  DivergenceError,
  Trainer,
  type EarlyStop,
  type EpochLog,
  type StepProgress,
  type TrainState,
} from '../train/trainer.js';
import { findCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { readTrainRunConfig, runPaths, type TrainRunConfig } from './config.js';
import { loadRunDataset, loadRunFold, type RunDataOptions } from './data.js';
import { readResumeLogs, writeEpochLogs } from './log.js';
import { describeModelMismatch } from './model_match.js';
import { positiveInt, resolveTrainSettings, type TrainRunOptions } from './settings.js';
import { MODEL_SUPERVISION } from '../models/supervision.js';

export type { TrainRunOptions } from './settings.js';

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
  /** Present when training stopped early (`--patience`): why. */
  stopped?: EarlyStop;
}

/** Loading options of a run's data from the callbacks and the memory guard. */
function dataOptions(
  callbacks: TrainRunCallbacks,
  options: { maxPixels?: number },
): RunDataOptions {
  return {
    ...(options.maxPixels !== undefined ? { maxPixels: options.maxPixels } : {}),
    ...(callbacks.onInfo ? { onInfo: callbacks.onInfo } : {}),
    ...(callbacks.onWarning ? { onWarning: callbacks.onWarning } : {}),
    onProgress: (p) => callbacks.onDataProgress?.(p.done, p.total, p.phase),
    onSynthProgress: (done, total) => callbacks.onDataProgress?.(done, total, 'synth'),
  };
}

/** Writes a run's config.json (atomically). */
async function writeRunConfig(out: string, config: TrainRunConfig): Promise<void> {
  await writeFileAtomic(runPaths(out).config, `${JSON.stringify(config, null, 2)}\n`);
}

/** Removes temporary files that killed processes left in a run folder and its model folders. */
async function sweepRunFolder(out: string): Promise<void> {
  const paths = runPaths(out);
  for (const dir of [out, paths.best, paths.eval]) await sweepStaleTemporaries(dir);
}

/** A run's lock, held while the run is trained; `release` also stops its refreshes. */
interface RunLock {
  release(): Promise<void>;
}

/**
 * Claims the lock of the run folder `out` (which must exist) for this process, taking over a
 * stale one (with a warning), and refreshes it while held. A `UserError` naming the holder
 * (host, pid, since when) when another process holds it.
 */
async function lockRun(
  out: string,
  callbacks: TrainRunCallbacks,
  timeoutMs = DEFAULT_LOCK_TIMEOUT_MS,
): Promise<RunLock> {
  const file = runPaths(out).lock;
  const claim = await claimLock(file, { timeoutMs });
  if (!claim.claimed) {
    throw new UserError(
      `${out} is being trained by another process: ${describeLock(claim.heldBy)}; wait for ` +
        'it to finish or stop it',
    );
  }
  if (claim.tookOver !== undefined) {
    callbacks.onWarning?.(`took over the stale lock ${file}: ${claim.tookOver.reason}`);
  }
  const lock = claim.lock;
  // Refreshed by a timer, not per step: a long step or data load must not let it go stale.
  const timer = setInterval(
    () => void lock.touch().catch(() => undefined),
    Math.min(60_000, timeoutMs / 4),
  );
  timer.unref();
  return {
    release: async () => {
      clearInterval(timer);
      // A lock that cannot be removed goes stale: its process is gone.
      await lock.release().catch(() => undefined);
    },
  };
}

/**
 * The network of a run as config.json describes it (weights from the seed), its `--freeze`
 * part frozen: the order of its weights (trainable first) is the checkpoints'.
 */
function buildRunModel(config: Pick<TrainRunConfig, 'model' | 'seed'>): tfl.LayersModel {
  const model = buildModel(config.model.name, {
    inputShape: config.model.inputShape,
    width: config.model.width,
    bnMomentum: config.model.bnMomentum,
    seed: config.seed,
  });
  freezeLayers(model, config.model.freeze);
  return model;
}

/**
 * The network of a run before its first epoch: `buildRunModel`'s, with the weights of
 * `--init-from` when the run has one (`expected`: the digest the run recorded, when it starts
 * again). Returns the model and the record of its weights' origin.
 */
async function startingModel(
  config: Pick<TrainRunConfig, 'model' | 'seed'>,
  expected?: string,
): Promise<{ model: tfl.LayersModel; init?: InitRecord }> {
  const model = buildRunModel(config);
  if (config.model.initFrom === null) return { model };
  try {
    return { model, init: await initWeightsFrom(model, config.model.initFrom, expected) };
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/** Starts a new run in `options.out` (which must not hold a run already). */
export async function train(
  options: TrainRunOptions,
  callbacks: TrainRunCallbacks = {},
): Promise<TrainRunResult> {
  const out = path.resolve(options.out);
  const holdsRun = async () => {
    if (await pathExists(runPaths(out).config)) {
      throw new UserError(
        `${out} already holds a run: continue it with --resume ${options.out}, or choose another --out`,
      );
    }
  };
  await holdsRun();
  const settings = resolveTrainSettings(options, out);
  const workers = resolveTrainingWorkers(options.workers, options.backend);
  const created = !(await pathExists(out));
  await mkdir(out, { recursive: true });
  let lock: RunLock;
  try {
    lock = await lockRun(out, callbacks, options.lockTimeoutMs);
  } catch (err) {
    if (created) await rmdir(out).catch(() => undefined);
    throw err;
  }
  let model: tfl.LayersModel | undefined;
  try {
    await holdsRun(); // Another process may have started it before we held the lock.
    const start = await startingModel(settings);
    model = start.model;
    if (start.init?.seeded !== undefined) {
      callbacks.onInfo?.(
        `--init-from: ${start.init.seeded} weights of the side outputs are not in the model ` +
          '(it holds its final output alone): they start from the seed',
      );
    }
    const mb = options.microBatch ?? DEFAULT_MICRO_BATCH;
    const lanes = trainingLanes(
      model,
      settings.batchSize,
      mb === 'auto' ? mb : positiveInt(mb, '--micro-batch'),
      workers,
      settings.model.bnGroup,
      options.backend,
    );
    checkMicroBatch(model, lanes.microBatch, options.backend);
    const config: TrainRunConfig = {
      ...settings,
      ...lanes,
      numerics: activeNumerics(),
      ...(start.init !== undefined ? { init: start.init } : {}),
    };

    const dataset = await loadRunDataset(config.dataset, dataOptions(callbacks, options));
    let split: Split;
    if (options.splitFile !== undefined) {
      split = await loadSplit(options.splitFile);
    } else if (options.folds !== undefined) {
      split = kFoldSplit(dataset.names, {
        k: options.folds,
        seed: config.seed,
        valFraction: options.valFraction,
      });
    } else {
      split = holdoutSplit(dataset.names, {
        seed: config.seed,
        testFraction: options.testFraction,
        valFraction: options.valFraction,
      });
    }
    const folds = resolveSplit(split, dataset.names, options.splitFile ?? 'split');
    const fold = folds[config.split.fold];
    if (!Number.isInteger(config.split.fold) || fold === undefined) {
      throw new UserError(
        `--fold ${config.split.fold}: the split has folds 0 to ${folds.length - 1}`,
      );
    }
    await mkdir(out, { recursive: true });
    await sweepRunFolder(out);
    await saveSplit(runPaths(out, config).split, split);
    await writeRunConfig(out, config);
    faultPoint('run:config-written');
    return await runTrainer({ out, config, model, dataset, fold, logs: [], callbacks });
  } finally {
    model?.dispose();
    await lock.release();
    // A run that failed before writing anything leaves no folder behind.
    if (created) await rmdir(out).catch(() => undefined);
  }
}

/** What `resume` may change; every other setting is the run's own (its config.json). */
export interface ResumeOptions {
  /**
   * Data-parallel workers. Default: the number the run recorded, so that the resumed run is
   * bit-identical to an uninterrupted one (another number changes batch normalisation's
   * micro-batches).
   */
  workers?: number;
  /**
   * Train to this many epochs in total, extending a finished or running run (at least the
   * epochs already finished). The learning rate's time decay counts updates, not epochs, so
   * an extended run is the same as one started with `epochs` epochs.
   */
  epochs?: number;
  /** See `TrainRunOptions.maxPixels`. */
  maxPixels?: number;
  /** See `TrainRunOptions.lockTimeoutMs`. */
  lockTimeoutMs?: number;
}

/**
 * Continues the run in `runDir` from its last finished epoch, or, when no epoch had finished
 * (a run killed, stopped by a full disk or diverged during its first epoch), starts it again
 * from the beginning with its recorded config. The checkpoint must hold the network that
 * config.json describes. A run that stopped early is finished: nothing is trained, whatever
 * `options.epochs` says.
 */
export async function resume(
  runDir: string,
  backend: string,
  callbacks: TrainRunCallbacks = {},
  options: ResumeOptions = {},
): Promise<TrainRunResult> {
  const out = path.resolve(runDir);
  // A folder that holds no run is refused before a lock file is made in it.
  await readTrainRunConfig(out);
  const lock = await lockRun(out, callbacks, options.lockTimeoutMs);
  try {
    return await resumeLocked(out, backend, callbacks, options);
  } finally {
    await lock.release();
  }
}

/** `resume` under the run's lock. */
async function resumeLocked(
  out: string,
  backend: string,
  callbacks: TrainRunCallbacks,
  options: ResumeOptions,
): Promise<TrainRunResult> {
  const paths = runPaths(out);
  const saved = await readTrainRunConfig(out);
  const config: TrainRunConfig = {
    ...saved,
    workers: resolveTrainingWorkers(options.workers ?? saved.workers, backend),
  };
  if (config.backend !== backend) {
    callbacks.onWarning?.(
      `the run was started on backend '${config.backend}' and continues on '${backend}': ` +
        'numbers will differ slightly from an uninterrupted run',
    );
  }
  config.backend = backend;
  const numerics = activeNumerics();
  if (!sameNumerics(saved.numerics, numerics)) {
    callbacks.onWarning?.(
      `the run was started with numerics ${JSON.stringify(saved.numerics)} and continues with ` +
        `${JSON.stringify(numerics)}: numbers will differ slightly from an uninterrupted run`,
    );
  }
  config.numerics = numerics;
  await sweepRunFolder(out);
  const checkpointDir = paths.checkpoint;
  let folder = await findCheckpoint(checkpointDir);
  let model: tfl.LayersModel;
  let state: TrainState | undefined;
  if (folder === undefined) {
    callbacks.onInfo?.(
      `${out} has no checkpoint (no epoch had finished): starting the run again from the ` +
        'beginning with its recorded config',
    );
    model = (await startingModel(config, config.init?.weightsSha256)).model;
  } else {
    // A damaged checkpoint is skipped for the newest intact one, with a warning.
    ({ model, state, folder } = await loadCheckpoint(checkpointDir, {
      onWarning: callbacks.onWarning,
    }));
  }
  try {
    if (folder !== undefined) {
      const expected = buildRunModel(config);
      const difference = describeModelMismatch(model, expected);
      expected.dispose();
      if (difference !== undefined) {
        throw new UserError(
          `${folder} does not hold the network that ${paths.config} describes: ${difference} ` +
            '(the checkpoint is from another run, or config.json was edited)',
        );
      }
    }
    const done = state?.epoch ?? 0;
    // A run that stopped early is finished: --epochs does not reopen it (said below).
    if (options.epochs !== undefined && state?.stopped === undefined) {
      const epochs = positiveInt(options.epochs, '--epochs');
      if (epochs < done) {
        throw new UserError(
          `--epochs ${epochs}: the run has finished ${done} epochs already; give at least ${done}`,
        );
      }
      if (epochs !== config.epochs) {
        callbacks.onInfo?.(`training to ${epochs} epochs (the run was set to ${config.epochs})`);
        config.epochs = epochs;
      }
    } else if (done > config.epochs) {
      throw new UserError(
        `${path.join(folder ?? checkpointDir, 'state.json')}: "epoch" ${done} is beyond the ` +
          `run's ${config.epochs} epochs ("epochs" in config.json): the checkpoint does not ` +
          'belong to this run',
      );
    }
    const dataset = await loadRunDataset(config.dataset, dataOptions(callbacks, options));
    const splitFile = path.resolve(out, config.split.file);
    const fold = await loadRunFold(
      splitFile,
      dataset.names,
      config.split.fold,
      `'${paths.config}'`,
    );
    const logs = await readResumeLogs(out, done, callbacks.onWarning);
    if (config.epochs !== saved.epochs) await writeRunConfig(out, config);
    if (state?.stopped !== undefined) {
      const note =
        options.epochs !== undefined ? ' (--epochs cannot extend a run that stopped early)' : '';
      callbacks.onInfo?.(
        `${out} is finished: ${describeStop(state.stopped)}; nothing to train${note}`,
      );
    } else if (done >= config.epochs) {
      callbacks.onInfo?.(
        `${out} has finished all ${config.epochs} epochs: nothing to train (give --epochs N ` +
          'to train it further)',
      );
    } else if (done > 0) {
      callbacks.onInfo?.(`resuming ${out} after epoch ${done} of ${config.epochs}`);
    }
    return await runTrainer({ out, config, model, dataset, fold, logs, state, callbacks });
  } finally {
    model.dispose();
  }
}

/**
 * `err` with what the run keeps: the checkpoint of `saved` (its last saved epoch). Divergence
 * and a full disk are the faults that a user can mend and then resume.
 */
function explainStop(err: unknown, saved: number): unknown {
  const kept =
    saved > 0
      ? `the checkpoint of epoch ${saved} is kept`
      : 'no epoch had finished, so nothing was saved';
  if (err instanceof DivergenceError) {
    return new DivergenceError(
      `${err.message}; ${kept}. Start a new run (another --out) with a lower --lr`,
    );
  }
  if (err instanceof DiskFullError) {
    return new DiskFullError(err.path, {
      cause: err,
      message: `${err.message}; ${kept}. Free some space, then continue with --resume`,
    });
  }
  return err;
}

/** What `runTrainer` trains: a run's model on its fold, from a checkpoint's state or anew. */
interface RunTrainerArgs {
  /** The run folder (absolute). */
  out: string;
  config: TrainRunConfig;
  /** The model, weights set (from the seed or the checkpoint); the caller disposes of it. */
  model: tfl.LayersModel;
  dataset: SegmentationDataset;
  fold: { train: number[]; val: number[] };
  /** The log lines of the epochs already finished. */
  logs: readonly EpochLog[];
  /** The checkpoint's state; undefined for a run from its first epoch. */
  state?: TrainState;
  callbacks: TrainRunCallbacks;
}

/**
 * Trains the remaining epochs of a run: starts the worker pool (and closes it), and after each
 * epoch saves the best model, the logs and then the checkpoint (the checkpoint policy).
 */
async function runTrainer(args: RunTrainerArgs): Promise<TrainRunResult> {
  const { out, model, dataset, fold, state, callbacks } = args;
  // A resumed run may have other workers: the batch's lanes follow (results do not).
  const config = {
    ...args.config,
    ...trainingLanes(
      model,
      args.config.batchSize,
      args.config.microBatch,
      args.config.workers,
      args.config.model.bnGroup,
      args.config.backend,
    ),
  };
  const paths = runPaths(out, config);
  if (fold.train.every((i) => dataset.lesionArea[i] === 0)) {
    callbacks.onWarning?.(
      `every mask of the ${fold.train.length} training images is empty: the network can only ` +
        'learn to predict no lesion (check the masks, or --mask-suffix for folder data sets)',
    );
  }
  // What the training images look like travels with every saved copy of the model, so that
  // predict and evaluate can warn about images unlike them (data/input_statistics.ts).
  model.setUserDefinedMetadata({
    ...(model.getUserDefinedMetadata() ?? {}),
    [INPUT_STATISTICS_KEY]: computeInputStatistics(
      fold.train.map((i) => dataset.images[i]),
      dataset.channels,
      { lesionAreas: fold.train.map((i) => dataset.lesionArea[i]) },
    ),
  });
  const objective = {
    loss: config.loss.name,
    finalLoss: MODEL_SUPERVISION[config.model.name].finalLoss,
    lossOptions: { alpha: config.loss.alpha, beta: config.loss.beta, gamma: config.loss.gamma },
    weights: config.loss.weights,
  };
  callbacks.onInfo?.(
    `batch ${config.batchSize}: ${config.workers === 1 ? 'in this thread' : `${config.workers} workers`}, ` +
      `passes of at most ${Math.min(config.microBatch, config.batchSize)} image(s); BatchNorm ` +
      (config.model.bnGroup === 0
        ? "with the whole batch's statistics"
        : `in groups of ${config.model.bnGroup} image(s)`),
  );
  if (isAugmenting(config.augment.transforms)) {
    callbacks.onInfo?.(
      `augmentation '${config.augment.level}' of the training images: ` +
        Object.entries(config.augment.transforms)
          .filter(([, t]) => t.p > 0)
          .map(([name, t]) =>
            t.magnitude > 0 ? `${name} ${t.p}:${t.magnitude}` : `${name} ${t.p}`,
          )
          .join(', '),
    );
  }
  const workers =
    config.workers > 1
      ? await WorkerPool.start({
          model,
          workers: config.workers,
          backend: config.backend,
          dataset,
          bnGroup: config.model.bnGroup,
          maxBatch: config.batchSize,
          objective: { ...objective, outputs: outputNames(model) },
        })
      : undefined;
  const trainer = new Trainer(model, dataset, fold, {
    epochs: config.epochs,
    batchSize: config.batchSize,
    microBatch: config.microBatch,
    bnGroup: config.model.bnGroup,
    seed: config.seed,
    objective,
    objectiveScope: config.objectiveScope,
    optimizer: config.optimizer,
    schedule: config.schedule,
    augment: config.augment.transforms,
    ...(config.patience !== null ? { patience: config.patience } : {}),
    ...(workers !== undefined ? { executor: workers } : {}),
  });
  if (state !== undefined) trainer.restore(state);
  const logs = [...args.logs];
  let saved = state?.epoch ?? 0;
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
          await saveModel(model, paths.best);
          faultPoint('run:best-saved');
        }
        // Logs first, then the checkpoint: a resumed run drops log lines past its checkpoint.
        await writeEpochLogs(out, logs);
        faultPoint('run:logs-written');
        await saveCheckpoint(paths.checkpoint, model, trainState);
        saved = trainState.epoch;
        callbacks.onEpoch?.(log);
      },
    });
    const final = await trainer.state();
    return {
      config,
      logs,
      bestEpoch: final.bestEpoch,
      bestScore: final.bestScore,
      ...(final.stopped !== undefined ? { stopped: final.stopped } : {}),
    };
  } catch (err) {
    throw explainStop(err, saved);
  } finally {
    trainer.dispose();
    await workers?.close();
  }
}
