/**
 * The training loop of the reference scripts (SGD with momentum, no augmentation, the
 * checkpoint with the best validation DSC of `final` kept), on any TensorFlow.js backend,
 * with the options beyond the paper's protocol off by default: augmentation of the training
 * items (data/augment.ts), a learning-rate schedule (schedule.ts) and early stopping.
 *
 * A batch can be split into passes (micro-batches) that run one after another, so the
 * paper's batch sizes train within one wasm instance's memory, and among data-parallel
 * workers (src/parallel in Node.js, each running its share in passes on its own replica of
 * the model), with one optimiser update per batch. The objective stays the reference's: each
 * output's loss and soft DSC is one index over the whole batch, its gradient computed exactly
 * from the passes' summed statistics in two phases (see `StepRunner` in step.ts). What a split
 * batch changes is batch normalisation: it normalises with each pass's statistics and updates
 * its moving averages once per pass ("ghost batch normalisation"), and with workers the moving
 * averages after a step are the mean of the workers' updated values (each worker starts the
 * step from the same values, so this is the update with the mean of the workers' batch
 * statistics). With one pass of the whole batch in one thread, training is exactly the
 * reference's. `objectiveScope: 'pass'` computes each pass's index on its own instead (a
 * different objective whenever the batch is split).
 *
 * The loop is deterministic for a given seed, backend and split: the weights are initialised
 * from the seed (by `buildModel`) and each epoch's order comes from a seeded generator whose
 * state is part of the training state, so a resumed run continues exactly as an uninterrupted
 * one.
 *
 * The trainer runs its steps through a `StepExecutor`: a `StepRunner` in this thread by
 * default, or the worker pool; it applies each update to the model here, then pushes the new
 * weights to the executor.
 *
 * Browser-safe: saving checkpoints is the caller's job (`onEpochEnd`).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { InterruptedError, UserError } from '../errors.js';
import type { SegmentationDataset } from '../data/dataset.js';
import { Rng } from '../util/rng.js';
import { outputNames } from '../models/build.js';
import { describeUnhealthy, type NamedTensor } from './health.js';
import {
  addValues,
  DEFAULT_OBJECTIVE_SCOPE,
  makeObjective,
  OBJECTIVE_SCOPES,
  scaleValues,
  type LossName,
  type Objective,
  type ObjectiveOptions,
  type ObjectiveScope,
  type ObjectiveValues,
} from './objective.js';
import { Optimizer, type OptimizerConfig, type OptimizerState, type Param } from './optimizer.js';
import {
  INITIAL_SCHEDULE_STATE,
  nextScheduleState,
  resolveScheduleConfig,
  scheduleFactor,
  usesTimeDecay,
  type ResolvedScheduleConfig,
  type ScheduleConfig,
  type ScheduleState,
} from './schedule.js';
import { isAugmenting, type AugmentConfig } from '../data/augment.js';
import { BatchStatistics, checkBnGroup, DEFAULT_BN_GROUP } from './batch_norm.js';
import { DivergenceError, StepRunner, type StepExecutor, type StepOptions } from './step.js';

export { DivergenceError, OutOfMemoryError } from './step.js';

export interface TrainerOptions {
  /** Epochs to train in total (a resumed run trains the remaining ones). Required. */
  epochs: number;
  /** Images per optimiser update. Required. */
  batchSize: number;
  /**
   * Images per forward/backward pass (in each worker, with an executor of workers); at most
   * `batchSize`. Default `batchSize`.
   */
  microBatch?: number;
  /**
   * Images per BatchNorm statistics group: 0 (default) the whole batch, as the reference,
   * however the batch is split (in this thread the batch then runs in one pass; an executor of
   * workers runs one pass per worker); N > 0: groups of N images from the batch's start
   * (ghost batch normalisation), which passes hold whole. See train/batch_norm.ts.
   */
  bnGroup?: number;
  /**
   * Where each loss index is computed over: `'batch'` (default, the reference: one index per
   * batch however it is split) or `'pass'` (one per pass). See `ObjectiveScope`.
   */
  objectiveScope?: ObjectiveScope;
  /** Seed of the epoch order. Default 0. */
  seed?: number;
  /**
   * The objective without the output names (which come from the model). Required. Its
   * `finalLoss` is the network's (`MODEL_SUPERVISION` in models/supervision.ts).
   */
  objective: Omit<ObjectiveOptions, 'outputs'>;
  /** Default: `Optimizer`'s defaults (SGD, 0.01, momentum 0.9, decay 1e-6). */
  optimizer?: OptimizerConfig;
  /**
   * The learning-rate schedule. Default `keras-decay` without warm-up (the paper's); other
   * schedules replace the optimiser's time decay (see schedule.ts).
   */
  schedule?: ScheduleConfig;
  /** Augmentation of the training items, seeded by `seed`. Default: none (the paper's). */
  augment?: AugmentConfig;
  /**
   * Early stopping: training ends after an epoch when the score (validation DSC of `final`)
   * has not improved for this many epochs. Default: none, every epoch is trained.
   */
  patience?: number;
  /**
   * What computes each step and evaluation, on this model's weights (e.g. the worker pool of
   * src/parallel). Default: a `StepRunner` in this thread.
   */
  executor?: StepExecutor;
}

/** Loss and DSC of each output, and the weighted total loss. */
export type PhaseMetrics = ObjectiveValues;

export interface EpochLog {
  /** 1-based. */
  epoch: number;
  /** Epochs of the whole run. */
  epochs: number;
  /** Learning rate at the end of the epoch. */
  learningRate: number;
  train: PhaseMetrics;
  /** Absent without validation items. */
  val?: PhaseMetrics;
  /** The score the best checkpoint is chosen on: validation (else training) DSC of `final`. */
  score: number;
  /** Whether this epoch is the best so far. */
  best: boolean;
  seconds: number;
  /** Present on the epoch after which training stopped early: why. */
  stopped?: string;
  /**
   * The loss that trained each output, by output name (`final: 'tl'` for `attn_reg`): what the
   * objective was, recorded so that a report reads it instead of rebuilding it. Absent in logs
   * written before it was recorded.
   */
  losses?: Record<string, LossName>;
}

/** Why a run stopped before its last epoch (recorded in its checkpoint). */
export interface EarlyStop {
  reason: 'patience';
  /** The epoch after which it stopped. */
  epoch: number;
  bestEpoch: number;
  patience: number;
}

/** The sentence of an early stop, for logs and messages. */
export function describeStop(stop: EarlyStop): string {
  return (
    `stopped early after epoch ${stop.epoch}: the validation DSC of final has not improved ` +
    `for ${stop.patience} epoch(s) (best at epoch ${stop.bestEpoch})`
  );
}

export interface StepProgress {
  epoch: number;
  /** Epochs of the whole run. */
  epochs: number;
  step: number;
  steps: number;
  /** Running means over the epoch so far. */
  loss: number;
  dsc: number;
  images: number;
}

/** Everything besides the weights that a resumed run needs. */
export interface TrainState {
  /** Epochs finished. */
  epoch: number;
  rngState: number;
  bestScore: number;
  bestEpoch: number;
  optimizer: OptimizerState;
  /** The plateau schedule's state; absent: its start (and for other schedules). */
  schedule?: ScheduleState;
  /** Present once training has stopped early: the run is finished. */
  stopped?: EarlyStop;
}

export interface TrainCallbacks {
  onStep?: (progress: StepProgress) => void;
  /** Called after each epoch; awaited (write checkpoints here). */
  onEpochEnd?: (log: EpochLog, state: TrainState) => Promise<void> | void;
  /**
   * Asked before each step, after yielding to the event loop (a step itself yields only to
   * microtasks, so signal handlers run here): when it returns true, `run` throws an
   * `InterruptedError`. Epochs whose `onEpochEnd` has finished are kept; the epoch in progress
   * is abandoned.
   */
  shouldStop?: () => boolean;
}

export interface TrainIndices {
  train: readonly number[];
  val: readonly number[];
}

export class Trainer {
  readonly objective: Objective;
  readonly optimizer: Optimizer;
  private readonly params: Param[];
  private readonly outputs: string[];
  private readonly step: StepOptions;
  private readonly executor: StepExecutor;
  private rng: Rng;
  private epochsDone = 0;
  private bestScore = -Infinity;
  private bestEpoch = 0;
  private readonly schedule: ResolvedScheduleConfig;
  private scheduleState: ScheduleState = INITIAL_SCHEDULE_STATE;
  private stopped: EarlyStop | undefined;

  constructor(
    private readonly model: tfl.LayersModel,
    dataset: SegmentationDataset,
    private readonly indices: TrainIndices,
    private readonly options: TrainerOptions,
  ) {
    if (!(Number.isInteger(options.epochs) && options.epochs > 0)) {
      throw new UserError(`epochs must be a positive integer, got ${options.epochs}`);
    }
    if (!(Number.isInteger(options.batchSize) && options.batchSize > 0)) {
      throw new UserError(`batch size must be a positive integer, got ${options.batchSize}`);
    }
    const microBatch = options.microBatch ?? options.batchSize;
    if (!(Number.isInteger(microBatch) && microBatch > 0)) {
      throw new UserError(`micro-batch must be a positive integer, got ${microBatch}`);
    }
    const bnGroup = options.bnGroup ?? DEFAULT_BN_GROUP;
    checkBnGroup(bnGroup);
    if (options.executor === undefined && microBatch < options.batchSize) {
      if (bnGroup === 0) {
        throw new UserError(
          `micro-batch ${microBatch}: with the whole batch's BatchNorm statistics a batch runs ` +
            'in one pass in this thread; split it among workers, or give a BatchNorm group',
        );
      }
      if (microBatch % bnGroup !== 0) {
        throw new UserError(
          `micro-batch ${microBatch} splits BatchNorm groups of ${bnGroup}: use a multiple of ${bnGroup}`,
        );
      }
    }
    const scope = options.objectiveScope ?? DEFAULT_OBJECTIVE_SCOPE;
    if (!OBJECTIVE_SCOPES.includes(scope)) {
      throw new UserError(
        `unknown objective scope '${String(scope)}'; expected ${OBJECTIVE_SCOPES.join(', ')}`,
      );
    }
    if (
      options.patience !== undefined &&
      !(Number.isInteger(options.patience) && options.patience >= 1)
    ) {
      throw new UserError(`patience must be an integer >= 1, got ${options.patience}`);
    }
    this.schedule = resolveScheduleConfig(options.schedule);
    this.step = {
      microBatch: Math.min(microBatch, options.batchSize),
      scope,
      ...(isAugmenting(options.augment)
        ? { augment: { config: options.augment, seed: options.seed ?? 0 } }
        : {}),
    };
    if (indices.train.length === 0) throw new UserError('no training items');
    this.outputs = outputNames(model);
    this.objective = makeObjective({ ...options.objective, outputs: this.outputs });
    // Schedules other than Keras's replace its time decay.
    this.optimizer = new Optimizer(
      usesTimeDecay(this.schedule) ? options.optimizer : { ...options.optimizer, decay: 0 },
    );
    this.params = model.trainableWeights.map((w) => ({
      name: w.originalName,
      variable: w.read() as tf.Variable,
    }));
    this.rng = new Rng(options.seed ?? 0);
    this.executor =
      options.executor ??
      new StepRunner(model, this.objective, dataset, new BatchStatistics(model, bnGroup));
  }

  /** Restores the state of a checkpoint (the weights are restored by loading the model). */
  restore(state: TrainState): void {
    this.epochsDone = state.epoch;
    this.rng = Rng.fromState(state.rngState);
    this.bestScore = state.bestScore;
    this.bestEpoch = state.bestEpoch;
    this.optimizer.setState(state.optimizer);
    this.scheduleState = state.schedule ?? INITIAL_SCHEDULE_STATE;
    this.stopped = state.stopped;
  }

  async state(): Promise<TrainState> {
    return {
      epoch: this.epochsDone,
      rngState: this.rng.state,
      bestScore: this.bestScore,
      bestEpoch: this.bestEpoch,
      optimizer: await this.optimizer.getState(),
      ...(this.schedule.name === 'plateau' ? { schedule: { ...this.scheduleState } } : {}),
      ...(this.stopped !== undefined ? { stopped: { ...this.stopped } } : {}),
    };
  }

  /** Why training stopped early; undefined while it has not. */
  get earlyStop(): EarlyStop | undefined {
    return this.stopped;
  }

  get epochsFinished(): number {
    return this.epochsDone;
  }

  /** Trains the remaining epochs; returns the logs of the epochs it ran. */
  async run(callbacks: TrainCallbacks = {}): Promise<EpochLog[]> {
    const logs: EpochLog[] = [];
    while (this.epochsDone < this.options.epochs && this.stopped === undefined) {
      const log = await this.runEpoch(callbacks);
      logs.push(log);
      await callbacks.onEpochEnd?.(log, await this.state());
    }
    return logs;
  }

  private async runEpoch(callbacks: TrainCallbacks): Promise<EpochLog> {
    const epoch = this.epochsDone + 1;
    const start = Date.now();
    this.optimizer.setScheduleFactor(
      scheduleFactor(this.schedule, epoch, this.options.epochs, this.scheduleState),
    );
    const order = this.rng.shuffle([...this.indices.train]);
    const { batchSize } = this.options;
    const steps = Math.ceil(order.length / batchSize);
    const sums = new PhaseSums();
    for (let step = 0; step < steps; step++) {
      await this.stopIfAsked(callbacks, epoch);
      const batch = order.slice(step * batchSize, (step + 1) * batchSize);
      const values = await this.trainStep(batch, epoch, step + 1);
      sums.add(scaleValues(values, batch.length), batch.length);
      const means = sums.means();
      callbacks.onStep?.({
        epoch,
        epochs: this.options.epochs,
        step: step + 1,
        steps,
        loss: means.loss,
        dsc: means.outputs.final.dsc,
        images: sums.images,
      });
    }
    const train = sums.means();
    const val = this.indices.val.length > 0 ? await this.evaluate(this.indices.val) : undefined;
    const score = (val ?? train).outputs.final.dsc;
    this.epochsDone = epoch;
    const best = score > this.bestScore;
    if (best) {
      this.bestScore = score;
      this.bestEpoch = epoch;
    }
    const learningRate = this.optimizer.currentLearningRate();
    this.scheduleState = nextScheduleState(this.schedule, this.scheduleState, best);
    const { patience } = this.options;
    if (
      patience !== undefined &&
      epoch < this.options.epochs &&
      epoch - this.bestEpoch >= patience
    ) {
      this.stopped = { reason: 'patience', epoch, bestEpoch: this.bestEpoch, patience };
    }
    return {
      epoch,
      epochs: this.options.epochs,
      learningRate,
      train,
      val,
      score,
      best,
      seconds: (Date.now() - start) / 1000,
      ...(this.stopped !== undefined ? { stopped: describeStop(this.stopped) } : {}),
      losses: Object.fromEntries(this.objective.terms.map((t) => [t.output, t.loss])),
    };
  }

  private async stopIfAsked(callbacks: TrainCallbacks, epoch: number): Promise<void> {
    if (callbacks.shouldStop === undefined) return;
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    if (callbacks.shouldStop()) throw new InterruptedError(epoch, this.epochsDone);
  }

  /** One optimiser update over `batch`; returns the objective's values on it. */
  private async trainStep(batch: number[], epoch: number, step: number): Promise<ObjectiveValues> {
    const { values, grads } = await this.executor.gradients(batch, this.step, { epoch, step });
    this.optimizer.applyGradients(this.params, grads);
    tf.dispose(grads);
    const problem = await describeUnhealthy(this.watchedTensors());
    if (problem !== undefined) {
      throw new DivergenceError(`diverged at epoch ${epoch}, step ${step}: ${problem}`);
    }
    await this.executor.pushWeights();
    return values;
  }

  /**
   * What must stay finite after every update: every weight of the model (trainable ones and
   * BatchNorm moving statistics, which the step has already updated) and every
   * optimiser slot.
   */
  private watchedTensors(): NamedTensor[] {
    return [
      ...this.model.weights.map((w) => ({ name: w.originalName, tensor: w.read(), bounded: true })),
      ...this.optimizer
        .slotVariables()
        .map(({ name, variable }) => ({ name, tensor: variable, bounded: false })),
    ];
  }

  /**
   * Loss and DSC of each output over `items` in inference mode, as Keras reports validation
   * metrics: per batch of `batchSize` items (the configured batch size, whatever the split
   * of the training batches), then the mean weighted by batch size.
   */
  async evaluate(items: readonly number[]): Promise<PhaseMetrics> {
    const { images, sum } = await this.executor.evaluationSums(items, this.options.batchSize);
    const phase = new PhaseSums();
    phase.add(sum, images);
    return phase.means();
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

/** Running sums of the objective's values, each weighted by its images. */
class PhaseSums {
  private sum: ObjectiveValues | undefined;
  images = 0;

  /** Adds values summed over `images` images (each already weighted by its images). */
  add(sum: ObjectiveValues, images: number): void {
    this.sum = this.sum === undefined ? sum : addValues(this.sum, sum);
    this.images += images;
  }

  /** The means per image. */
  means(): ObjectiveValues {
    if (this.sum === undefined) throw new Error('PhaseSums: nothing added');
    const outputs: ObjectiveValues['outputs'] = {};
    for (const [name, o] of Object.entries(this.sum.outputs)) {
      outputs[name] = { loss: o.loss / this.images, dsc: o.dsc / this.images };
    }
    return { loss: this.sum.loss / this.images, outputs };
  }
}
