/**
 * Data-parallel training and inference on every core: worker threads, each with its own
 * TensorFlow.js backend (the wasm backend runs one thread per instance in Node.js) and its
 * own replica of the model.
 *
 * A training step shares its batch among the workers in contiguous, near-equal parts. For
 * the batch objective (see `StepRunner` in train/step.ts) each worker first runs its part
 * forward in passes and returns its loss statistics; the pool adds every worker's, computes
 * the batch's values and the coefficients dTotal/dSum, and sends the coefficients back; each
 * worker then back-propagates its passes with them. Each worker writes the sum of its
 * gradients into its slot of a SharedArrayBuffer; the pool adds the slots in worker order (so
 * a seeded run is reproducible for a given number of workers), the trainer applies the update
 * to the model in this thread, and the pool writes the new weights into a shared buffer that
 * every worker loads before its next command.
 *
 * Batch normalisation (train/batch_norm.ts): with the whole batch's statistics (`bnGroup` 0)
 * each worker is a lane that runs its part in one pass, and the lanes exchange per-channel
 * sums at every BatchNorm layer through a shared table (lanes.ts), so every worker normalises
 * with the whole batch's statistics; with groups (`bnGroup` N) the parts hold whole groups
 * and run in passes of whole groups. Either way the workers return the step's moments and the
 * pool updates the model's moving statistics once from the whole batch's.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { UserError } from '../errors.js';
import { backendNumerics, type Numerics } from '../kernels/numerics.js';
import {
  checkBnGroup,
  DEFAULT_BN_GROUP,
  updateModelMoving,
  type BatchMoments,
} from '../train/batch_norm.js';
import { abortLanes, laneBuffer, LaneAbortError, resetLanes } from './lanes.js';
import type { BatchSource } from '../data/batch.js';
import {
  addSums,
  addValues,
  makeObjective,
  OBJECTIVE_SCOPES,
  valuesFinite,
  type Objective,
  type ObjectiveOptions,
  type ObjectiveValues,
} from '../train/objective.js';
import {
  divergenceError,
  DivergenceError,
  OutOfMemoryError,
  stepAugmentSeeds,
  type StepAugment,
  type StepExecutor,
  type StepGradients,
  type StepOptions,
  type StepPlace,
  type ValueSums,
} from '../train/step.js';
import type {
  BackwardResult,
  Command,
  Lane,
  EvaluateResult,
  ForwardResult,
  InitMessage,
  PredictResult,
  Reply,
  Shard,
  StepResult,
  WeightSlot,
} from './protocol.js';

export interface WorkerPoolOptions {
  /** The model to replicate; its weights are sent to the workers. */
  model: tfl.LayersModel;
  /** Number of workers (at least 1). */
  workers: number;
  /** The backend each worker starts ('wasm' or 'cpu'). */
  backend: string;
  /** The data set that steps and evaluations take items from. Not needed to predict. */
  dataset?: BatchSource;
  /** The training objective. Not needed to predict. */
  objective?: ObjectiveOptions;
  /** The numerics each worker's backend starts with. Default: those of this thread's backend. */
  numerics?: Numerics;
  /** Images per BatchNorm statistics group; default 0, the whole batch (see batch_norm.ts). */
  bnGroup?: number;
  /** The most images of a training step (sizes the lanes' table). Default 64. */
  maxBatch?: number;
}

/** The default number of workers: one per core for the backends that use one thread. */
export function defaultWorkers(backend: string): number {
  return backend === 'tensorflow' ? 1 : os.availableParallelism();
}

/**
 * The workers of a training run unless given: the same number on every machine, because how a
 * batch is shared among workers sets the order in which float32 gradients are added, and a
 * seeded run must be the same run on any machine (`--workers` is a recorded setting: more
 * workers than this use more cores and change the last bits, which training may carry along).
 * Two: the cores of the machines the figures were measured on; on one core the two take turns.
 */
export const DEFAULT_TRAINING_WORKERS = 2;

/** The number of training workers: `requested` (checked) or `DEFAULT_TRAINING_WORKERS`. */
export function resolveTrainingWorkers(requested: number | undefined, backend: string): number {
  const workers = requested ?? (backend === 'tensorflow' ? 1 : DEFAULT_TRAINING_WORKERS);
  checkWorkers(workers, backend);
  return workers;
}

/** The most data-parallel workers accepted (a sanity bound against typos). */
export const MAX_WORKERS = 256;

/** Checks a `--workers` value for the backend. */
export function checkWorkers(workers: number, backend: string): void {
  if (!(Number.isInteger(workers) && workers >= 1 && workers <= MAX_WORKERS)) {
    throw new UserError(`--workers must be an integer from 1 to ${MAX_WORKERS}, got ${workers}`);
  }
  if (workers > 1 && backend === 'tensorflow') {
    throw new UserError(
      "--workers: the 'tensorflow' backend uses every core itself; use --workers 1 " +
        '(or --backend wasm for workers)',
    );
  }
}

/** The number of workers: `requested` (checked) or the backend's default. */
export function resolveWorkers(requested: number | undefined, backend: string): number {
  const workers = requested ?? defaultWorkers(backend);
  checkWorkers(workers, backend);
  return workers;
}

/**
 * A batch's `items` among `parts` workers: contiguous, near-equal parts (`shareItems`) of
 * whole groups of `group` items from the batch's start (0: of single items).
 */
export function shareBatch<T>(items: readonly T[], parts: number, group: number): T[][] {
  if (group <= 1) return shareItems(items, parts);
  const groups: T[][] = [];
  for (let i = 0; i < items.length; i += group) groups.push(items.slice(i, i + group));
  return shareItems(groups, parts).map((part) => part.flat());
}

/** `items` in at most `parts` contiguous, non-empty parts of near-equal size. */
export function shareItems<T>(items: readonly T[], parts: number): T[][] {
  const n = Math.min(parts, items.length);
  const out: T[][] = [];
  let start = 0;
  for (let k = 0; k < n; k++) {
    const end = start + Math.floor(items.length / n) + (k < items.length % n ? 1 : 0);
    out.push(items.slice(start, end));
    start = end;
  }
  return out;
}

interface Pending {
  resolve: (result: unknown) => void;
  reject: (err: Error) => void;
}

interface Slots {
  all: WeightSlot[];
  trainable: WeightSlot[];
  stats: WeightSlot[];
  trainableSize: number;
  statsSize: number;
}

function layoutWeights(model: tfl.LayersModel): Slots {
  const weights = [...model.trainableWeights, ...model.nonTrainableWeights];
  let offset = 0;
  const all = weights.map((w) => {
    const size = w.shape.reduce((a: number, b) => a * (b ?? 1), 1);
    const slot = { name: w.originalName, shape: w.shape as number[], offset, size };
    offset += size;
    return slot;
  });
  const trainable = all.slice(0, model.trainableWeights.length);
  const stats = all.slice(model.trainableWeights.length);
  const total = (slots: WeightSlot[]) => slots.reduce((n, s) => n + s.size, 0);
  return { all, trainable, stats, trainableSize: total(trainable), statsSize: total(stats) };
}

/**
 * The values of `promises` once all have settled, or the first failure that is not a lane
 * stopped by another's failure (that one's own error explains the step).
 */
async function settleAll(promises: Promise<unknown>[]): Promise<unknown[]> {
  const settled = await Promise.allSettled(promises);
  const failures = settled
    .filter((s): s is PromiseRejectedResult => s.status === 'rejected')
    .map((s) => s.reason as unknown);
  if (failures.length > 0) {
    throw failures.find((e) => !(e instanceof LaneAbortError)) ?? failures[0];
  }
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value);
}

/** The error a worker reported, as the class this thread would have thrown. */
function reviveError(index: number, error: { name: string; message: string; stack?: string }) {
  switch (error.name) {
    case 'DivergenceError':
      return new DivergenceError(error.message);
    case 'OutOfMemoryError':
      return new OutOfMemoryError(error.message);
    case 'UserError':
      return new UserError(error.message);
    case 'LaneAbortError':
      return new LaneAbortError();
    default: {
      const err = new Error(`worker ${index}: ${error.message}`);
      err.stack = `${err.message}\n(in the worker) ${error.stack ?? ''}`;
      return err;
    }
  }
}

export class WorkerPool implements StepExecutor {
  private readonly pending: Array<Map<number, Pending>>;
  private nextId = 0;
  private weightsVersion = 0;
  private closed = false;
  /** The objective in this thread: adds the workers' statistics between the two phases. */
  private readonly objective: Objective | undefined;

  private constructor(
    private readonly options: WorkerPoolOptions,
    private readonly workers: Worker[],
    private readonly slots: Slots,
    private readonly buffers: {
      weights: Float32Array;
      gradients: Float32Array;
      lanes: SharedArrayBuffer;
    },
  ) {
    this.pending = workers.map(() => new Map());
    this.objective = options.objective !== undefined ? makeObjective(options.objective) : undefined;
    workers.forEach((worker, index) => {
      worker.on('message', (reply: Reply) => this.settle(index, reply));
      const fail = (err: Error) => {
        for (const p of this.pending[index].values()) p.reject(err);
        this.pending[index].clear();
      };
      worker.on('error', (err) => {
        abortLanes(buffers.lanes);
        fail(new Error(`worker ${index} failed: ${err.message}`));
      });
      worker.on('exit', (code) => {
        if (this.closed) return;
        abortLanes(buffers.lanes);
        fail(new Error(`worker ${index} stopped (exit code ${code})`));
      });
    });
  }

  /** Starts `options.workers` workers with replicas of the model holding its weights. */
  static async start(options: WorkerPoolOptions): Promise<WorkerPool> {
    checkWorkers(options.workers, options.backend);
    checkBnGroup(options.bnGroup ?? DEFAULT_BN_GROUP);
    const slots = layoutWeights(options.model);
    const n = options.workers;
    const weightBuffer = new SharedArrayBuffer(4 * (slots.trainableSize + slots.statsSize));
    const gradientBuffer = new SharedArrayBuffer(4 * n * slots.trainableSize);
    // The largest table: a row of sums per image, or two rows per lane, of the most channels.
    const channels = Math.max(1, ...slots.stats.map((s) => s.size));
    const lanes = laneBuffer(channels * Math.max(options.maxBatch ?? 64, 2 * n));
    const url = new URL('./worker.js', import.meta.url);
    const workers = Array.from({ length: n }, () => new Worker(url));
    const pool = new WorkerPool(options, workers, slots, {
      weights: new Float32Array(weightBuffer),
      gradients: new Float32Array(gradientBuffer),
      lanes,
    });
    try {
      await pool.pushWeights();
      const topology = options.model.toJSON(null, false);
      await Promise.all(
        workers.map((worker, index) => {
          const init: InitMessage = {
            type: 'init',
            index,
            backend: options.backend,
            numerics: options.numerics ?? backendNumerics(tf.backend()),
            topology,
            objective: options.objective,
            weights: slots.all,
            trainableCount: slots.trainable.length,
            weightBuffer,
            gradientBuffer,
            bnGroup: options.bnGroup ?? DEFAULT_BN_GROUP,
            laneBuffer: lanes,
          };
          return pool.expect(index, -1, () => worker.postMessage(init));
        }),
      );
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  async gradients(
    batch: readonly number[],
    options: StepOptions,
    place: StepPlace,
  ): Promise<StepGradients> {
    const group = this.options.bnGroup ?? DEFAULT_BN_GROUP;
    const parts = shareBatch(batch, this.size, group);
    let offset = 0;
    const lanes: Lane[] = parts.map((part, index) => {
      const lane = { index, count: parts.length, offset, batch: batch.length };
      offset += part.length;
      return lane;
    });
    // The whole batch's statistics: each worker is a lane of one pass.
    const passOf = (part: number[]) => (group === 0 ? part.length : options.microBatch);
    resetLanes(this.buffers.lanes);
    let values: ObjectiveValues;
    let moments: BatchMoments[];
    switch (options.scope) {
      case 'batch':
        ({ values, moments } = await this.batchStep(parts, lanes, passOf, place, options.augment));
        break;
      case 'pass': {
        const results = (await settleAll(
          parts.map((part, w) =>
            this.send(w, {
              type: 'step',
              shard: this.shard(part, options.augment, place.epoch),
              microBatch: passOf(part),
              lane: lanes[w],
              place,
            }),
          ),
        )) as StepResult[];
        values = results.map((r) => r.values).reduce((a, b) => addValues(a, b));
        moments = results.map((r) => r.moments);
        break;
      }
      default:
        throw new UserError(
          `unknown objective scope '${String(options.scope)}'; expected ${OBJECTIVE_SCOPES.join(', ')}`,
        );
    }
    const grads = this.gatherGradients(parts.length);
    updateModelMoving(this.options.model, moments);
    return { values, grads };
  }

  /**
   * Both phases of a batch-objective step over the workers' `parts`: forward, the statistics
   * added here, then backward with the batch's coefficients. Returns the batch's values and
   * each worker's BatchNorm moments.
   */
  private async batchStep(
    parts: number[][],
    lanes: Lane[],
    passOf: (part: number[]) => number,
    place: StepPlace,
    augment: StepAugment | undefined,
  ): Promise<{ values: ObjectiveValues; moments: BatchMoments[] }> {
    const objective = this.objective;
    if (objective === undefined) throw new Error('this pool has no objective');
    const release = () =>
      Promise.allSettled(parts.map((_, w) => this.send(w, { type: 'release' })));
    let sums: ForwardResult[];
    try {
      sums = (await settleAll(
        parts.map((part, w) =>
          this.send(w, {
            type: 'forward',
            shard: this.shard(part, augment, place.epoch),
            microBatch: passOf(part),
            lane: lanes[w],
          }),
        ),
      )) as ForwardResult[];
    } catch (err) {
      await release();
      throw err;
    }
    const { values, coefficients } = await objective.fromSums(sums.reduce((a, b) => addSums(a, b)));
    if (!valuesFinite(values)) {
      await release();
      throw divergenceError(place, values.loss);
    }
    const moments = (await settleAll(
      parts.map((_, w) => this.send(w, { type: 'backward', coefficients })),
    )) as BackwardResult[];
    return { values, moments };
  }

  /** The sum of the first `workers` gradient slots, in worker order. */
  private gatherGradients(workers: number): tf.Tensor[] {
    const { gradients } = this.buffers;
    const { trainable, trainableSize } = this.slots;
    return trainable.map((slot) => {
      const sum = new Float32Array(slot.size);
      for (let w = 0; w < workers; w++) {
        const at = w * trainableSize + slot.offset;
        const g = gradients.subarray(at, at + slot.size);
        for (let i = 0; i < slot.size; i++) sum[i] += g[i];
      }
      return tf.tensor(sum, slot.shape);
    });
  }

  async pushWeights(): Promise<void> {
    const { model } = this.options;
    const weights = [...model.trainableWeights, ...model.nonTrainableWeights];
    for (let k = 0; k < weights.length; k++) {
      this.buffers.weights.set(await weights[k].read().data(), this.slots.all[k].offset);
    }
    this.weightsVersion++;
  }

  async evaluationSums(items: readonly number[], batchSize: number): Promise<ValueSums> {
    // Whole batches to each worker, so that every batch is the same for any number of them.
    const parts = shareBatch(items, this.size, batchSize);
    const sums = (await Promise.all(
      parts.map((part, w) =>
        this.send(w, { type: 'evaluate', shard: this.shard(part), batchSize }),
      ),
    )) as EvaluateResult[];
    return {
      images: sums.reduce((n, s) => n + s.images, 0),
      sum: sums.map((s) => s.sum).reduce((a, b) => addValues(a, b)),
    };
  }

  /**
   * `model.predict(xs)` with the images shared among the workers, each predicting its part
   * in batches of `batchSize`: one tensor per model output. The caller disposes of them.
   */
  async predict(xs: tf.Tensor4D, batchSize: number): Promise<tf.Tensor[]> {
    const [n, ...rest] = xs.shape;
    const per = rest.reduce((a, b) => a * b, 1);
    const data = await xs.data();
    const parts = shareItems([...Array(n).keys()], this.size);
    const results = (await Promise.all(
      parts.map((part, w) => {
        const slice = data.slice(part[0] * per, (part[part.length - 1] + 1) * per);
        return this.send(
          w,
          { type: 'predict', xs: slice as Float32Array, shape: [part.length, ...rest], batchSize },
          [slice.buffer as ArrayBuffer],
        );
      }),
    )) as PredictResult[];
    return results[0].outputs.map((first, k) => {
      const size = results.reduce((s, r) => s + r.outputs[k].data.length, 0);
      const all = new Float32Array(size);
      let at = 0;
      for (const r of results) {
        all.set(r.outputs[k].data, at);
        at += r.outputs[k].data.length;
      }
      return tf.tensor(all, [n, ...first.shape.slice(1)]);
    });
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /** The items of a command; a training step's with its augmentation, done in the worker. */
  private shard(items: readonly number[], augment?: StepAugment, epoch = 0): Shard {
    const dataset = this.options.dataset;
    if (dataset === undefined) throw new Error('this pool has no data set');
    return {
      inputSize: [dataset.inputSize[0], dataset.inputSize[1]],
      channels: dataset.channels,
      images: items.map((i) => dataset.images[i]),
      masks: items.map((i) => dataset.masks[i]),
      ...(augment !== undefined
        ? { augment: { config: augment.config, seeds: stepAugmentSeeds(augment, items, epoch) } }
        : {}),
    };
  }

  private send(index: number, command: Command, transfer: ArrayBuffer[] = []): Promise<unknown> {
    const id = this.nextId++;
    const request = { ...command, id, weightsVersion: this.weightsVersion };
    return this.expect(index, id, () => this.workers[index].postMessage(request, transfer));
  }

  private expect(index: number, id: number, post: () => void): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('the worker pool is closed'));
    return new Promise((resolve, reject) => {
      this.pending[index].set(id, { resolve, reject });
      post();
    });
  }

  private settle(index: number, reply: Reply): void {
    const p = this.pending[index].get(reply.id);
    if (p === undefined) return;
    this.pending[index].delete(reply.id);
    if (reply.ok) p.resolve(reply.result);
    else p.reject(reviveError(index, reply.error));
  }
}
