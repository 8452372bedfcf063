/**
 * The work of one training step and of one evaluation pass over a list of items: what the
 * trainer runs in its own thread and what each data-parallel worker runs on its share of a
 * batch (src/parallel). Browser-safe (tfjs-core only).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UserError } from '../errors.js';
import { makeBatch, type BatchSource } from '../data/batch.js';
import { augmentSeed, augmentSource, type AugmentConfig } from '../data/augment.js';
import { recordForward, type RecordedForward } from './gradients.js';
import { BatchStatistics } from './batch_norm.js';
import {
  addSums,
  addValues,
  OBJECTIVE_SCOPES,
  scaleValues,
  valuesFinite,
  type Coefficients,
  type Objective,
  type ObjectiveScope,
  type ObjectiveSums,
  type ObjectiveValues,
} from './objective.js';

/** Training diverged: a loss became NaN or infinite. */
export class DivergenceError extends UserError {
  override name = 'DivergenceError';
}

/** The backend ran out of memory during a step. */
export class OutOfMemoryError extends UserError {
  override name = 'OutOfMemoryError';
}

/** Where a step is, for error messages. */
export interface StepPlace {
  epoch: number;
  step: number;
}

/** How a step computes its gradients. */
export interface StepOptions {
  /** Images per forward/backward pass (in each worker, with workers). */
  microBatch: number;
  /** Where each loss index is computed over: see `ObjectiveScope`. */
  scope: ObjectiveScope;
  /** Augments the batch's items (training steps only); absent: none, the paper's protocol. */
  augment?: StepAugment;
}

/** The augmentation of training steps: its transforms and the run's seed (see data/augment.ts). */
export interface StepAugment {
  config: AugmentConfig;
  seed: number;
}

/** The seeds of `batch`'s augmentation in `epoch`: one per item, from its index. */
export function stepAugmentSeeds(
  augment: StepAugment,
  batch: readonly number[],
  epoch: number,
): number[] {
  return batch.map((index) => augmentSeed(augment.seed, epoch, index));
}

/** The gradients of a batch (one per trainable weight) and the objective's values on it. */
export interface StepGradients {
  values: ObjectiveValues;
  grads: tf.Tensor[];
}

/** Values summed over images (each batch's values times its images), and the images. */
export interface ValueSums {
  images: number;
  sum: ObjectiveValues;
}

/**
 * What runs the training steps and evaluations of a model: one thread (`StepRunner`) or
 * data-parallel workers (src/parallel), the trainer does not know which.
 */
export interface StepExecutor {
  /**
   * The gradients of `batch` (the objective's, see `StepOptions.scope`) and its values, after
   * which the model's batch normalisation statistics are updated. The caller disposes of the
   * gradients.
   */
  gradients(
    batch: readonly number[],
    options: StepOptions,
    place: StepPlace,
  ): Promise<StepGradients>;
  /** Makes the model's current weights the ones the next step uses (call after each update). */
  pushWeights(): Promise<void>;
  /**
   * Sums over `items` of each batch's values in inference mode, in batches of `batchSize`
   * items, each batch's values weighted by its number of items (as Keras reports validation
   * metrics).
   */
  evaluationSums(items: readonly number[], batchSize: number): Promise<ValueSums>;
}

/** Memory errors as TensorFlow.js backends report them. */
const OUT_OF_MEMORY =
  /memory access out of bounds|out of memory|Cannot enlarge memory|Array buffer allocation failed|Invalid typed array length/i;

/** The divergence error of a step whose loss is `loss`. */
export function divergenceError(place: StepPlace, loss: number): DivergenceError {
  return new DivergenceError(
    `diverged at epoch ${place.epoch}, step ${place.step}: the loss is ${loss}`,
  );
}

/**
 * `err` as an `OutOfMemoryError` when it is one (any trap of the WebAssembly machine during a
 * training pass counts: a wasm instance that cannot grow its memory fails in odd places, an
 * allocation returns 0 and a later kernel traps with "divide by zero" or "unreachable"), else
 * `err` itself.
 */
export function explainTrainingError(err: unknown, images: number): unknown {
  const message = err instanceof Error ? err.message : String(err);
  const trap = typeof WebAssembly !== 'undefined' && err instanceof WebAssembly.RuntimeError;
  if (!trap && !OUT_OF_MEMORY.test(message)) return err;
  return new OutOfMemoryError(
    `out of memory on backend '${tf.getBackend()}' in a training pass of ${images} ` +
      `image(s) (${message.split('\n')[0]}): use a smaller --micro-batch (the batch is ` +
      'then split, keeping --batch-size), or a smaller --width or --input-size',
  );
}

/** One pass: its items and where its first lies in the batch. */
interface Pass {
  items: number[];
  offset: number;
}

/** Phase 1's state, for phase 2: the passes and the last one's recorded forward pass. */
interface PendingBackward {
  passes: Pass[];
  last: RecordedForward;
  /** The size of the batch the passes belong to. */
  batch: number;
}

/** Where a lane's items lie in their batch: its first item's index and the batch's size. */
export interface LanePlace {
  offset: number;
  batch: number;
}

/** `items` (at `place.offset` in the batch) in passes of at most `microBatch`. */
function passesOf(items: readonly number[], microBatch: number, place: LanePlace): Pass[] {
  if (items.length === 0) throw new UserError('a training step needs at least one item');
  const passes: Pass[] = [];
  for (let i = 0; i < items.length; i += microBatch) {
    passes.push({ items: items.slice(i, i + microBatch), offset: place.offset + i });
  }
  return passes;
}

/**
 * Forward and backward passes of one model over items of one data set, in this thread.
 *
 * The batch objective in two phases (scope `'batch'`): each output's loss is a function f of
 * additive statistics S summed over the whole batch (losses/summed.ts), so
 * 1. `forward` runs every pass forward and adds their statistics. The last pass runs on a
 *    gradient tape kept for phase 2; the others run without one (a thread keeps one pass's
 *    activations at a time, the memory a training pass always took).
 * 2. The batch's values and the coefficients c = dTotal/dS follow from the summed statistics
 *    (`Objective.fromSums`); with workers, after adding every worker's statistics.
 * 3. `backward` back-propagates each pass from its statistics with seed c: the kept pass
 *    first, then each other pass run forward again on a tape. Each pass's gradient is its
 *    share of the batch's gradient, and their sum the gradient of the whole batch's loss.
 * The second forward of all passes but the last is the cost of the exact objective; a step of
 * one pass has none. Batch normalisation (train/batch_norm.ts) normalises with the whole
 * batch's statistics (the batch is then one pass here, or one pass per worker) or with fixed
 * groups of images (`--bn-group`), which passes hold whole; its moving averages are updated
 * once per step from the whole batch's statistics.
 *
 * Scope `'pass'` instead computes each pass's index on its own and weights the passes'
 * values and gradients by their share of the batch, one pass forward and backward at a time.
 */
export class StepRunner implements StepExecutor {
  private readonly variables: tf.Variable[];
  private pending: PendingBackward | undefined;
  /** The statistics of the model's BatchNorm layers in training passes. */
  readonly statistics: BatchStatistics;

  constructor(
    private readonly model: tfl.LayersModel,
    private readonly objective: Objective,
    private readonly dataset: BatchSource,
    statistics?: BatchStatistics,
  ) {
    this.variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    this.statistics = statistics ?? new BatchStatistics(model);
  }

  async gradients(
    batch: readonly number[],
    options: StepOptions,
    place: StepPlace,
  ): Promise<StepGradients> {
    if (options.augment !== undefined) {
      // The step runs on augmented copies of its items, built once for both phases.
      const seeds = stepAugmentSeeds(options.augment, batch, place.epoch);
      const source = augmentSource(this.dataset, batch, options.augment.config, seeds);
      const runner = new StepRunner(this.model, this.objective, source, this.statistics);
      const { augment: _, ...plain } = options;
      return runner.gradients([...batch.keys()], plain, place);
    }
    const lane = { offset: 0, batch: batch.length };
    this.statistics.beginStep();
    switch (options.scope) {
      case 'pass': {
        const result = await this.passGradients(batch, options.microBatch, lane, place);
        this.statistics.updateMoving();
        return result;
      }
      case 'batch': {
        const sums = await this.forward(batch, options.microBatch, lane);
        let result: Awaited<ReturnType<Objective['fromSums']>>;
        try {
          result = await this.objective.fromSums(sums);
        } catch (err) {
          this.release();
          throw err;
        }
        if (!valuesFinite(result.values)) {
          this.release();
          throw divergenceError(place, result.values.loss);
        }
        const grads = await this.backward(result.coefficients);
        this.statistics.updateMoving();
        return { values: result.values, grads };
      }
      default:
        throw new UserError(
          `unknown objective scope '${String(options.scope)}'; expected ${OBJECTIVE_SCOPES.join(', ')}`,
        );
    }
  }

  /** Nothing to do: the steps run on the model itself. */
  async pushWeights(): Promise<void> {}

  /**
   * Phase 1 of a batch-objective step (see the class comment): every pass of `items` forward,
   * the last kept for `backward`; returns the statistics summed over the passes. A pending
   * phase 1 is released first. `lane`: where `items` lie in the batch (default: they are it).
   */
  async forward(
    items: readonly number[],
    microBatch: number,
    lane: LanePlace = { offset: 0, batch: items.length },
  ): Promise<ObjectiveSums> {
    this.release();
    const passes = passesOf(items, microBatch, lane);
    let total: ObjectiveSums | undefined;
    for (const pass of passes.slice(0, -1)) {
      const sums = await this.untapedSums(pass, lane.batch);
      total = total === undefined ? sums : addSums(total, sums);
    }
    const lastPass = passes[passes.length - 1];
    const { recorded, sums } = await this.recordedSums(lastPass, lane.batch, true);
    this.pending = { passes, last: recorded, batch: lane.batch };
    return total === undefined ? sums : addSums(total, sums);
  }

  /**
   * Phase 2 of a batch-objective step: the gradients of the passes of the last `forward` with
   * the batch's `coefficients`, summed. The caller disposes of them.
   */
  async backward(coefficients: Coefficients): Promise<tf.Tensor[]> {
    const pending = this.pending;
    if (pending === undefined) throw new Error('StepRunner.backward: no forward pass is pending');
    this.pending = undefined;
    const seed = tf.tensor1d(this.objective.seed(coefficients));
    let summed: tf.Tensor[] | undefined;
    let images = pending.passes[pending.passes.length - 1].items.length;
    const batch = pending.batch;
    try {
      summed = this.gradientsOf(pending.last, seed);
      for (const pass of pending.passes.slice(0, -1)) {
        images = pass.items.length;
        const { recorded } = await this.recordedSums(pass, batch, false);
        try {
          summed = addInto(summed, this.gradientsOf(recorded, seed));
        } finally {
          recorded.dispose();
        }
      }
      return summed;
    } catch (err) {
      tf.dispose(summed);
      throw explainTrainingError(err, images);
    } finally {
      pending.last.dispose();
      seed.dispose();
    }
  }

  /** Drops a pending phase 1 (its kept pass). */
  release(): void {
    const pending = this.pending;
    if (pending === undefined) return;
    this.pending = undefined;
    pending.last.dispose();
  }

  /**
   * The per-pass objective (scope `'pass'`): the gradients of `items` (at `lane.offset` in a
   * batch of `lane.batch` images), passes of `microBatch` items each weighted by its share of
   * the batch, summed; the values are weighted alike. The caller disposes of the gradients.
   */
  async passGradients(
    items: readonly number[],
    microBatch: number,
    lane: LanePlace,
    place: StepPlace,
  ): Promise<StepGradients> {
    this.release();
    let summed: tf.Tensor[] | undefined;
    let values: ObjectiveValues | undefined;
    for (const pass of passesOf(items, microBatch, lane)) {
      const share = pass.items.length / lane.batch;
      let grads: tf.Tensor[];
      let passValues: ObjectiveValues;
      try {
        const { recorded, sums } = await this.recordedSums(pass, lane.batch, true);
        let seed: tf.Tensor | undefined;
        try {
          const result = await this.objective.fromSums(sums);
          passValues = result.values;
          if (!valuesFinite(passValues)) throw divergenceError(place, passValues.loss);
          const coefficients = this.objective.seed(result.coefficients).map((c) => c * share);
          seed = tf.tensor1d(coefficients);
          grads = this.gradientsOf(recorded, seed);
        } finally {
          recorded.dispose();
          seed?.dispose();
        }
      } catch (err) {
        tf.dispose(summed);
        throw explainTrainingError(err, pass.items.length);
      }
      const weighted = scaleValues(passValues, share);
      values = values === undefined ? weighted : addValues(values, weighted);
      summed = summed === undefined ? grads : addInto(summed, grads);
    }
    return { values: values as ObjectiveValues, grads: summed as tf.Tensor[] };
  }

  async evaluationSums(items: readonly number[], batchSize: number): Promise<ValueSums> {
    let sum: ObjectiveValues | undefined;
    for (let i = 0; i < items.length; i += batchSize) {
      const chunk = items.slice(i, i + batchSize);
      const { xs, ys } = makeBatch(this.dataset, chunk);
      const tensors = tf.tidy(() =>
        this.objective.passSums(ys, [this.model.predict(xs) as tf.Tensor | tf.Tensor[]].flat()),
      );
      tf.dispose([xs, ys]);
      let sums: ObjectiveSums;
      try {
        sums = await this.objective.readSums(tensors, chunk.length);
      } finally {
        tf.dispose([...tensors.loss, ...tensors.dsc]);
      }
      const weighted = scaleValues((await this.objective.fromSums(sums)).values, chunk.length);
      sum = sum === undefined ? weighted : addValues(sum, weighted);
    }
    if (sum === undefined) throw new UserError('an evaluation needs at least one item');
    return { images: items.length, sum };
  }

  /** `run` with the BatchNorm layers in training passes of `pass` in a batch of `batch`. */
  private inPass<T>(pass: Pass, batch: number, run: () => T): T {
    this.statistics.beginPass(pass.offset, batch);
    try {
      return run();
    } finally {
      this.statistics.endPass();
    }
  }

  /** One pass forward in training mode without a tape: its statistics. */
  private async untapedSums(pass: Pass, batch: number): Promise<ObjectiveSums> {
    const { xs, ys } = makeBatch(this.dataset, pass.items);
    try {
      const tensors = tf.tidy(() => {
        const preds = this.inPass(pass, batch, () =>
          [this.model.apply(xs, { training: true }) as tf.Tensor | tf.Tensor[]].flat(),
        );
        return this.objective.passSums(ys, preds);
      });
      try {
        return await this.objective.readSums(tensors, pass.items.length);
      } finally {
        tf.dispose([...tensors.loss, ...tensors.dsc]);
      }
    } catch (err) {
      throw explainTrainingError(err, pass.items.length);
    } finally {
      tf.dispose([xs, ys]);
    }
  }

  /**
   * One pass forward in training mode on a tape whose value is its loss statistics (every
   * output's, concatenated in model order); with `read`, also its statistics (per image,
   * added in float64).
   */
  private async recordedSums(
    pass: Pass,
    batch: number,
    read: boolean,
  ): Promise<{ recorded: RecordedForward; sums: ObjectiveSums }> {
    const images = pass.items.length;
    const { xs, ys } = makeBatch(this.dataset, pass.items);
    let kept: tf.Tensor2D[] = [];
    let recorded: RecordedForward | undefined;
    try {
      recorded = recordForward(() => {
        const preds = this.inPass(pass, batch, () =>
          [this.model.apply(xs, { training: true }) as tf.Tensor | tf.Tensor[]].flat(),
        );
        if (read) {
          const sums = this.objective.passSums(ys, preds);
          kept = [...sums.loss, ...sums.dsc].map((t) => tf.keep(t));
        }
        return tf.concat(this.objective.lossSums(ys, preds));
      }, this.variables);
      const n = this.objective.terms.length;
      const result = read
        ? await this.objective.readSums({ loss: kept.slice(0, n), dsc: kept.slice(n) }, images)
        : { images, outputs: {} };
      return { recorded, sums: result };
    } catch (err) {
      recorded?.dispose();
      throw explainTrainingError(err, images);
    } finally {
      tf.dispose([xs, ys, ...kept]);
      if (recorded !== undefined) tf.dispose(recorded.value);
    }
  }

  /** The gradients of a recorded pass with seed `seed`, in variable order. */
  private gradientsOf(recorded: RecordedForward, seed: tf.Tensor): tf.Tensor[] {
    const grads = recorded.backward(seed);
    // Every weight of these networks feeds the loss; zeros keep the update well-defined if not.
    return this.variables.map((v) => grads[v.name] ?? tf.zerosLike(v));
  }
}

/** `a + b` element by element, disposing of both. */
function addInto(a: tf.Tensor[], b: tf.Tensor[]): tf.Tensor[] {
  const sum = a.map((g, k) => tf.add(g, b[k]));
  tf.dispose([...a, ...b]);
  return sum;
}
