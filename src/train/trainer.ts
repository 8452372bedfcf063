/**
 * The training loop of the reference scripts (SGD with momentum, no augmentation, the
 * checkpoint with the best validation DSC of `final` kept), on any TensorFlow.js backend.
 *
 * A batch can be split into micro-batches that run forward and backward one after another,
 * their gradients summed (each weighted by its share of the batch) before one optimiser
 * update, so the paper's batch sizes train within one wasm instance's memory. Batch
 * normalisation then normalises with each micro-batch's statistics and updates its moving
 * averages once per micro-batch (as "ghost batch normalisation"); with `microBatch` equal to
 * the batch size, training is exactly the reference's.
 *
 * The loop is deterministic for a given seed and backend: the weights are initialised from
 * the seed (by `buildModel`) and each epoch's order comes from a seeded generator whose state
 * is part of the training state, so a resumed run continues exactly as an uninterrupted one.
 *
 * With `workers` (data-parallel workers, src/parallel in Node.js), each step's batch is
 * shared among the workers, each running its share in micro-batches on its own replica of the
 * model; their gradients are summed here before the one update, and the new weights go back
 * to every worker. See `StepWorkers` for batch normalisation.
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
import { makeObjective, type Objective, type ObjectiveOptions } from './objective.js';
import { Optimizer, type OptimizerConfig, type OptimizerState, type Param } from './optimizer.js';
import { DivergenceError, StepRunner, type StepGradients, type StepPlace } from './step.js';

export { DivergenceError, OutOfMemoryError } from './step.js';

/**
 * Workers that share each step: one replica of the model each, started with the model's
 * weights. Batch normalisation normalises with the statistics of each worker's micro-batches
 * (as with micro-batches in one thread, "ghost batch normalisation"), and after each step the
 * moving mean and variance become the mean over the workers of their updated values (each
 * worker starts the step from the same values, so this is the update with the mean of the
 * workers' batch statistics).
 */
export interface StepWorkers {
  /** Number of workers. */
  readonly size: number;
  /**
   * The gradients of `batch` (summed as one thread would: each micro-batch of at most
   * `microBatch` items weighted by its share of the batch), after which the model's batch
   * normalisation statistics are the workers' mean. The caller disposes of the gradients.
   */
  gradients(batch: readonly number[], microBatch: number, place: StepPlace): Promise<StepGradients>;
  /** Sends the model's weights to every worker (call after each update). */
  pushWeights(): Promise<void>;
  /** As `StepRunner.evaluationSums`, the items shared among the workers. */
  evaluationSums(items: readonly number[], batchSize: number): Promise<number[]>;
}

export interface TrainerOptions {
  /** Epochs to train in total (a resumed run trains the remaining ones). Required. */
  epochs: number;
  /** Images per optimiser update. Required. */
  batchSize: number;
  /** Images per forward/backward pass; at most `batchSize`. Default `batchSize`. */
  microBatch?: number;
  /** Seed of the epoch order. Default 0. */
  seed?: number;
  /** The objective without the model-dependent fields. Required. */
  objective: Omit<ObjectiveOptions, 'model' | 'outputs'>;
  /** Default: `Optimizer`'s defaults (SGD, 0.01, momentum 0.9, decay 1e-6). */
  optimizer?: OptimizerConfig;
  /** The model's name (`attn_reg` supervises `final` with the Tversky loss). Required. */
  modelName: string;
  /**
   * Workers that compute each step (their replicas hold this model's weights). Default: none,
   * the steps run in this thread. `microBatch` is then per pass in each worker.
   */
  workers?: StepWorkers;
}

/** Loss and DSC of each output, and the weighted total loss. */
export interface PhaseMetrics {
  loss: number;
  outputs: Record<string, { loss: number; dsc: number }>;
}

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
  private readonly finalIndex: number;
  private readonly microBatch: number;
  private readonly runner: StepRunner;
  private rng: Rng;
  private epochsDone = 0;
  private bestScore = -Infinity;
  private bestEpoch = 0;

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
    this.microBatch = options.microBatch ?? options.batchSize;
    if (!(Number.isInteger(this.microBatch) && this.microBatch > 0)) {
      throw new UserError(`micro-batch must be a positive integer, got ${this.microBatch}`);
    }
    this.microBatch = Math.min(this.microBatch, options.batchSize);
    if (indices.train.length === 0) throw new UserError('no training items');
    this.outputs = outputNames(model);
    this.finalIndex = this.outputs.indexOf('final');
    this.objective = makeObjective({
      ...options.objective,
      model: options.modelName,
      outputs: this.outputs,
    });
    this.optimizer = new Optimizer(options.optimizer);
    this.params = model.trainableWeights.map((w) => ({
      name: w.originalName,
      variable: w.read() as tf.Variable,
    }));
    this.rng = new Rng(options.seed ?? 0);
    this.runner = new StepRunner(model, this.objective, dataset);
  }

  /** Restores the state of a checkpoint (the weights are restored by loading the model). */
  restore(state: TrainState): void {
    this.epochsDone = state.epoch;
    this.rng = Rng.fromState(state.rngState);
    this.bestScore = state.bestScore;
    this.bestEpoch = state.bestEpoch;
    this.optimizer.setState(state.optimizer);
  }

  async state(): Promise<TrainState> {
    return {
      epoch: this.epochsDone,
      rngState: this.rng.state,
      bestScore: this.bestScore,
      bestEpoch: this.bestEpoch,
      optimizer: await this.optimizer.getState(),
    };
  }

  get epochsFinished(): number {
    return this.epochsDone;
  }

  /** Trains the remaining epochs; returns the logs of the epochs it ran. */
  async run(callbacks: TrainCallbacks = {}): Promise<EpochLog[]> {
    const logs: EpochLog[] = [];
    while (this.epochsDone < this.options.epochs) {
      const log = await this.runEpoch(callbacks);
      logs.push(log);
      await callbacks.onEpochEnd?.(log, await this.state());
    }
    return logs;
  }

  private async runEpoch(callbacks: TrainCallbacks): Promise<EpochLog> {
    const epoch = this.epochsDone + 1;
    const start = Date.now();
    const order = this.rng.shuffle([...this.indices.train]);
    const { batchSize } = this.options;
    const steps = Math.ceil(order.length / batchSize);
    const sums = new PhaseSums(this.outputs);
    for (let step = 0; step < steps; step++) {
      await this.stopIfAsked(callbacks, epoch);
      const batch = order.slice(step * batchSize, (step + 1) * batchSize);
      const values = await this.trainStep(batch, epoch, step + 1);
      sums.add(values, batch.length);
      callbacks.onStep?.({
        epoch,
        epochs: this.options.epochs,
        step: step + 1,
        steps,
        loss: sums.meanLoss(),
        dsc: sums.meanDsc(this.finalIndex),
        images: sums.count,
      });
    }
    const train = sums.metrics();
    const val = this.indices.val.length > 0 ? await this.evaluate(this.indices.val) : undefined;
    const score = (val ?? train).outputs.final.dsc;
    this.epochsDone = epoch;
    const best = score > this.bestScore;
    if (best) {
      this.bestScore = score;
      this.bestEpoch = epoch;
    }
    return {
      epoch,
      epochs: this.options.epochs,
      learningRate: this.optimizer.currentLearningRate(),
      train,
      val,
      score,
      best,
      seconds: (Date.now() - start) / 1000,
    };
  }

  private async stopIfAsked(callbacks: TrainCallbacks, epoch: number): Promise<void> {
    if (callbacks.shouldStop === undefined) return;
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    if (callbacks.shouldStop()) throw new InterruptedError(epoch, this.epochsDone);
  }

  /** One optimiser update over `batch`; returns [total, loss per output..., dsc per output...]. */
  private async trainStep(batch: number[], epoch: number, step: number): Promise<number[]> {
    const { workers } = this.options;
    const place = { epoch, step };
    const { values, grads } =
      workers !== undefined
        ? await workers.gradients(batch, this.microBatch, place)
        : await this.runner.gradients(batch, this.microBatch, batch.length, place);
    this.optimizer.applyGradients(this.params, grads);
    tf.dispose(grads);
    const problem = await describeUnhealthy(this.watchedTensors());
    if (problem !== undefined) {
      throw new DivergenceError(`diverged at epoch ${epoch}, step ${step}: ${problem}`);
    }
    await workers?.pushWeights();
    return values;
  }

  /**
   * What must stay finite after every update: every weight of the model (trainable ones and
   * BatchNorm moving statistics, which the workers' mean has already replaced) and every
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
   * metrics: per batch of `microBatch` items, then the mean weighted by batch size.
   */
  async evaluate(items: readonly number[]): Promise<PhaseMetrics> {
    const { workers } = this.options;
    const sums =
      workers !== undefined
        ? await workers.evaluationSums(items, this.microBatch)
        : await this.runner.evaluationSums(items, this.microBatch);
    const phase = new PhaseSums(this.outputs);
    phase.addSums(sums, items.length);
    return phase.metrics();
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

/** Running sums of [total, loss per output..., dsc per output...] weighted by images. */
class PhaseSums {
  private readonly sums: number[];
  count = 0;

  constructor(private readonly outputs: readonly string[]) {
    this.sums = new Array<number>(1 + 2 * outputs.length).fill(0);
  }

  add(values: readonly number[], images: number): void {
    this.addSums(
      values.map((v) => v * images),
      images,
    );
  }

  /** Adds sums over `images` images (each value already weighted by its images). */
  addSums(sums: readonly number[], images: number): void {
    sums.forEach((v, k) => (this.sums[k] += v));
    this.count += images;
  }

  meanLoss(): number {
    return this.sums[0] / this.count;
  }

  meanDsc(outputIndex: number): number {
    return this.sums[1 + this.outputs.length + outputIndex] / this.count;
  }

  metrics(): PhaseMetrics {
    const n = this.outputs.length;
    const outputs: PhaseMetrics['outputs'] = {};
    this.outputs.forEach((name, i) => {
      outputs[name] = {
        loss: this.sums[1 + i] / this.count,
        dsc: this.sums[1 + n + i] / this.count,
      };
    });
    return { loss: this.meanLoss(), outputs };
  }
}
