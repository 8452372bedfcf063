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
 * Browser-safe: saving checkpoints is the caller's job (`onEpochEnd`).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UserError } from '../errors.js';
import { makeBatch } from '../data/batch.js';
import type { SegmentationDataset } from '../data/dataset.js';
import { Rng } from '../util/rng.js';
import { outputNames } from '../models/build.js';
import { makeObjective, type Objective, type ObjectiveOptions } from './objective.js';
import { Optimizer, type OptimizerConfig, type OptimizerState, type Param } from './optimizer.js';

/** Training diverged: a loss became NaN or infinite. */
export class DivergenceError extends UserError {
  override name = 'DivergenceError';
}

/** The backend ran out of memory during a step. */
export class OutOfMemoryError extends UserError {
  override name = 'OutOfMemoryError';
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
  /** Checked between steps: stop early after the current epoch... or now. */
  shouldStop?: () => boolean;
}

export interface TrainIndices {
  train: readonly number[];
  val: readonly number[];
}

/** Memory errors as TensorFlow.js backends report them. */
const OUT_OF_MEMORY =
  /memory access out of bounds|out of memory|Cannot enlarge memory|Array buffer allocation failed|Invalid typed array length/i;

export class Trainer {
  readonly objective: Objective;
  readonly optimizer: Optimizer;
  private readonly params: Param[];
  private readonly outputs: string[];
  private readonly finalIndex: number;
  private readonly microBatch: number;
  private rng: Rng;
  private epochsDone = 0;
  private bestScore = -Infinity;
  private bestEpoch = 0;

  constructor(
    private readonly model: tfl.LayersModel,
    private readonly dataset: SegmentationDataset,
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
      if (callbacks.shouldStop?.()) break;
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
      const batch = order.slice(step * batchSize, (step + 1) * batchSize);
      const values = await this.trainStep(batch, epoch, step + 1);
      sums.add(values, batch.length);
      callbacks.onStep?.({
        epoch,
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

  /** One optimiser update over `batch`; returns [total, loss per output..., dsc per output...]. */
  private async trainStep(batch: number[], epoch: number, step: number): Promise<number[]> {
    const variables = this.params.map((p) => p.variable);
    let summed: tf.Tensor[] | undefined;
    const totals = new Array<number>(1 + 2 * this.outputs.length).fill(0);
    for (let i = 0; i < batch.length; i += this.microBatch) {
      const micro = batch.slice(i, i + this.microBatch);
      const share = micro.length / batch.length;
      let values: number[];
      let grads: tf.Tensor[];
      try {
        ({ values, grads } = await this.microStep(micro, share, variables));
      } catch (err) {
        summed?.forEach((g) => g.dispose());
        throw this.explain(err, micro.length);
      }
      if (!values.every(Number.isFinite)) {
        grads.forEach((g) => g.dispose());
        summed?.forEach((g) => g.dispose());
        throw new DivergenceError(
          `training diverged at epoch ${epoch}, step ${step}: the loss is ${values[0]}; ` +
            'the best checkpoint is kept. Try a lower --lr',
        );
      }
      values.forEach((v, k) => (totals[k] += v * share));
      if (summed === undefined) {
        summed = grads;
      } else {
        const prev = summed;
        summed = prev.map((g, k) => tf.add(g, grads[k]));
        prev.forEach((g) => g.dispose());
        grads.forEach((g) => g.dispose());
      }
    }
    this.optimizer.applyGradients(this.params, summed as tf.Tensor[]);
    summed?.forEach((g) => g.dispose());
    return totals;
  }

  private async microStep(
    micro: number[],
    share: number,
    variables: tf.Variable[],
  ): Promise<{ values: number[]; grads: tf.Tensor[] }> {
    const { xs, ys } = makeBatch(this.dataset, micro);
    const kept: tf.Scalar[] = [];
    try {
      const { value, grads } = tf.variableGrads(() => {
        const preds = [this.model.apply(xs, { training: true }) as tf.Tensor | tf.Tensor[]].flat();
        const { total, perOutput } = this.objective.compute(ys, preds);
        const dsc = this.objective.dsc(ys, preds);
        kept.push(
          tf.keep(total),
          ...perOutput.map((t) => tf.keep(t)),
          ...dsc.map((t) => tf.keep(t)),
        );
        return tf.mul(total, share) as tf.Scalar;
      }, variables);
      value.dispose();
      const values = await Promise.all(kept.map(async (t) => (await t.data())[0]));
      // Every weight of these networks feeds the loss; zeros keep the update well-defined if not.
      return { values, grads: variables.map((v) => grads[v.name] ?? tf.zerosLike(v)) };
    } finally {
      tf.dispose([xs, ys, ...kept]);
    }
  }

  private explain(err: unknown, images: number): unknown {
    const message = err instanceof Error ? err.message : String(err);
    // A wasm instance that cannot grow its memory fails in odd places (an allocation returns
    // 0 and a later kernel traps with "divide by zero" or "unreachable"): any trap of the
    // WebAssembly machine during a training pass is taken as running out of memory.
    const trap = typeof WebAssembly !== 'undefined' && err instanceof WebAssembly.RuntimeError;
    if (!trap && !OUT_OF_MEMORY.test(message)) return err;
    return new OutOfMemoryError(
      `out of memory on backend '${tf.getBackend()}' in a training pass of ${images} ` +
        `image(s) (${message.split('\n')[0]}): use a smaller --micro-batch (the batch is ` +
        'then split, keeping --batch-size), or a smaller --width or --input-size',
    );
  }

  /**
   * Loss and DSC of each output over `items` in inference mode, as Keras reports validation
   * metrics: per batch of `microBatch` items, then the mean weighted by batch size.
   */
  async evaluate(items: readonly number[]): Promise<PhaseMetrics> {
    const sums = new PhaseSums(this.outputs);
    for (let i = 0; i < items.length; i += this.microBatch) {
      const chunk = items.slice(i, i + this.microBatch);
      const { xs, ys } = makeBatch(this.dataset, chunk);
      const results = tf.tidy(() => {
        const preds = [this.model.predict(xs) as tf.Tensor | tf.Tensor[]].flat();
        const { total, perOutput } = this.objective.compute(ys, preds);
        return [total, ...perOutput, ...this.objective.dsc(ys, preds)];
      });
      const values = await Promise.all(results.map(async (t) => (await t.data())[0]));
      tf.dispose([xs, ys, ...results]);
      sums.add(values, chunk.length);
    }
    return sums.metrics();
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
    values.forEach((v, k) => (this.sums[k] += v * images));
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
