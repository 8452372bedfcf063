/**
 * The work of one training step and of one evaluation pass over a list of items: what the
 * trainer runs in its own thread and what each data-parallel worker runs on its share of a
 * batch (src/parallel). Browser-safe (tfjs-core only).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UserError } from '../errors.js';
import { makeBatch, type BatchSource } from '../data/batch.js';
import { variableGradsLowMemory } from './gradients.js';
import type { Objective } from './objective.js';

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

/** Summed gradients (one per trainable weight) and [total, loss per output..., dsc per output...]. */
export interface StepGradients {
  values: number[];
  grads: tf.Tensor[];
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

/** Forward and backward passes of one model over items of one data set. */
export class StepRunner {
  private readonly variables: tf.Variable[];

  constructor(
    private readonly model: tfl.LayersModel,
    private readonly objective: Objective,
    private readonly dataset: BatchSource,
  ) {
    this.variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  }

  /** Number of values a step or an evaluation reports: total, then per output loss and DSC. */
  get valueCount(): number {
    return 1 + 2 * this.objective.terms.length;
  }

  /**
   * The gradients of `items` as part of a batch of `batchSize` images: passes of `microBatch`
   * items, each weighted by its share of the batch, summed; the values are weighted alike.
   * The caller disposes of the gradients.
   */
  async gradients(
    items: readonly number[],
    microBatch: number,
    batchSize: number,
    place: StepPlace,
  ): Promise<StepGradients> {
    let summed: tf.Tensor[] | undefined;
    const totals = new Array<number>(this.valueCount).fill(0);
    for (let i = 0; i < items.length; i += microBatch) {
      const micro = items.slice(i, i + microBatch);
      const share = micro.length / batchSize;
      let values: number[];
      let grads: tf.Tensor[];
      try {
        ({ values, grads } = await this.pass(micro, share));
      } catch (err) {
        summed?.forEach((g) => g.dispose());
        throw explainTrainingError(err, micro.length);
      }
      if (!values.every(Number.isFinite)) {
        tf.dispose([...grads, ...(summed ?? [])]);
        throw divergenceError(place, values[0]);
      }
      values.forEach((v, k) => (totals[k] += v * share));
      if (summed === undefined) {
        summed = grads;
      } else {
        const prev = summed;
        summed = prev.map((g, k) => tf.add(g, grads[k]));
        tf.dispose([...prev, ...grads]);
      }
    }
    if (summed === undefined) throw new UserError('a training step needs at least one item');
    return { values: totals, grads: summed };
  }

  private async pass(micro: number[], share: number): Promise<StepGradients> {
    const { xs, ys } = makeBatch(this.dataset, micro);
    const kept: tf.Scalar[] = [];
    try {
      const { value, grads } = variableGradsLowMemory(() => {
        const preds = [this.model.apply(xs, { training: true }) as tf.Tensor | tf.Tensor[]].flat();
        const { total, perOutput } = this.objective.compute(ys, preds);
        const dsc = this.objective.dsc(ys, preds);
        kept.push(
          tf.keep(total),
          ...perOutput.map((t) => tf.keep(t)),
          ...dsc.map((t) => tf.keep(t)),
        );
        return tf.mul(total, share) as tf.Scalar;
      }, this.variables);
      value.dispose();
      const values = await Promise.all(kept.map(async (t) => (await t.data())[0]));
      // Every weight of these networks feeds the loss; zeros keep the update well-defined if not.
      return { values, grads: this.variables.map((v) => grads[v.name] ?? tf.zerosLike(v)) };
    } finally {
      tf.dispose([xs, ys, ...kept]);
    }
  }

  /**
   * Sums over `items` of [total, loss per output..., dsc per output...] in inference mode,
   * each batch's means weighted by its number of items (as Keras reports validation metrics).
   */
  async evaluationSums(items: readonly number[], batchSize: number): Promise<number[]> {
    const sums = new Array<number>(this.valueCount).fill(0);
    for (let i = 0; i < items.length; i += batchSize) {
      const chunk = items.slice(i, i + batchSize);
      const { xs, ys } = makeBatch(this.dataset, chunk);
      const results = tf.tidy(() => {
        const preds = [this.model.predict(xs) as tf.Tensor | tf.Tensor[]].flat();
        const { total, perOutput } = this.objective.compute(ys, preds);
        return [total, ...perOutput, ...this.objective.dsc(ys, preds)];
      });
      const values = await Promise.all(results.map(async (t) => (await t.data())[0]));
      tf.dispose([xs, ys, ...results]);
      values.forEach((v, k) => (sums[k] += v * chunk.length));
    }
    return sums;
  }
}
