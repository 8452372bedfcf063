/**
 * Batch normalisation in training whose statistics do not depend on how a batch is split into
 * passes and workers, so that a seeded run is the same run on any machine.
 *
 * - Whole batch (`--bn-group 0`, the default, as the reference's Keras BatchNormalization):
 *   every BatchNorm layer normalises with the mean and variance of the whole batch. A batch
 *   then runs as lanes, one pass each, side by side (one lane in this thread, or one per
 *   worker: src/parallel), and the lanes exchange per-channel sums at each layer
 *   (synchronised batch normalisation): forward, the sums of x per image, then the sums of
 *   (x - mean)^2 per image, added in float64 in image order, so every lane computes the same
 *   statistics bit for bit; backward, each lane's dL/dmean and dL/dvariance (the sums of dy
 *   and dy * (x - mean) that the FusedBatchNorm gradient forms), added over the lanes, from
 *   which dx = dL/dmean / m + dL/dvariance * 2 (x - mean) / m.
 * - Ghost batch normalisation (`--bn-group N`): the batch's images in groups of N from its
 *   start, each normalised with its own statistics; passes and workers hold whole groups, so
 *   the result again does not depend on the split.
 *
 * Moving statistics: once per step, from the whole batch's mean and variance (with groups,
 * combined by the law of total variance), with Keras 2.2's update: the variance is corrected
 * by m / (m - (1 + epsilon)) for the m values it was taken over, then
 * moving -= (moving - value) * (1 - momentum).
 *
 * On a GPU backend (WebGPU, WebGL: a page's), whose values cannot be read back synchronously
 * in the middle of a pass, a step runs in one lane and the whole batch's statistics, their
 * gradient and the moving statistics' update are computed on the device in float32 (the same
 * formulas; the sums in the device's order): `onDevice`.
 *
 * The layers stay tfjs-layers' own `BatchNormalization` (saved, exported and predicted as
 * before); only their training call is replaced, on the model a runner trains.
 * Browser-safe (tfjs-core only).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UserError } from '../errors.js';
import { batchNormFields, type BatchNormFields } from '../kernels/tfjs_internals.js';

/** `--bn-group`: 0 normalises with the whole batch's statistics, as the reference. */
export const DEFAULT_BN_GROUP = 0;

/**
 * How the lanes of a step share rows of numbers: one lane's implementation is `ONE_LANE`;
 * worker threads share a SharedArrayBuffer (parallel/lanes.ts).
 */
export interface LaneExchange {
  /** This lane's index among the step's lanes. */
  readonly lane: number;
  /** The number of lanes of the current step. */
  readonly lanes: number;
  /**
   * Writes `rows` (whole rows of `width` numbers) at row `at` of a table of `total` rows that
   * the lanes share, waits until every lane has written its rows, and returns the table.
   */
  gather(rows: Float64Array, at: number, total: number, width: number): Float64Array;
}

/** A step in one lane: the table is this lane's rows. */
export const ONE_LANE: LaneExchange = {
  lane: 0,
  lanes: 1,
  gather(rows, at, total, width) {
    if (at !== 0 || rows.length !== total * width) {
      throw new Error(
        `one lane holds rows ${at} to ${at + rows.length / width} of ${total}: whole-batch ` +
          'statistics need the whole batch in one pass',
      );
    }
    return rows;
  },
};

/** The statistics of one group of images at one layer. */
export interface GroupMoments {
  /** Values per channel the statistics were taken over (images x height x width). */
  count: number;
  mean: number[];
  variance: number[];
}

/** Per BatchNorm layer (model order): its groups' moments by group index. */
export type BatchMoments = Array<Record<number, GroupMoments>>;

/** The backends whose statistics are computed on the device (see the module comment). */
const DEVICE_BACKENDS = new Set(['webgpu', 'webgl']);

/** A layer's whole-batch moments of a step on the device (kept tensors). */
interface DeviceMoments {
  count: number;
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

/** Where the current pass lies in its batch. */
interface PassPlace {
  offset: number;
  batch: number;
}

/** The BatchNormalization layers of `model`, in model order, with their fields. */
export function batchNormLayers(model: tfl.LayersModel): BatchNormFields[] {
  return model.layers
    .filter((l) => l.getClassName() === 'BatchNormalization')
    .map((l) => batchNormFields(l));
}

/** The statistics each replaced training call reads: the layer's current owner. */
const OWNERS = new WeakMap<object, { owner: BatchStatistics; index: number }>();
const ORIGINAL_CALLS = new WeakMap<object, BatchNormFields['call']>();

/**
 * The batch statistics of a model's training passes: installed on the model's BatchNorm
 * layers when made (the last one made for a model owns it), active between `beginPass` and
 * `endPass`; outside a pass the layers behave as tfjs-layers' own.
 */
export class BatchStatistics {
  private readonly layers: BatchNormFields[];
  private place: PassPlace | undefined;
  private moments: Array<Map<number, GroupMoments>>;
  /** The step's moments on the device, by layer (see `onDevice`). */
  private deviceMoments: Array<DeviceMoments | undefined>;
  /**
   * Whether the whole batch's statistics are computed on the device: on a GPU backend, with
   * one lane (see the module comment). Decided when the statistics are made.
   */
  readonly onDevice: boolean;

  /**
   * @param group images per statistics group; 0: the whole batch.
   * @param exchange how the lanes of a step share sums (whole batch only).
   * @param onDevice see `onDevice`; default: on a GPU backend with the whole batch in one lane.
   */
  constructor(
    model: tfl.LayersModel,
    readonly group: number = DEFAULT_BN_GROUP,
    public exchange: LaneExchange = ONE_LANE,
    onDevice = group === 0 && exchange === ONE_LANE && DEVICE_BACKENDS.has(tf.getBackend()),
  ) {
    checkBnGroup(group);
    if (onDevice && (group !== 0 || exchange !== ONE_LANE)) {
      throw new Error("batch statistics on the device are the whole batch's, in one lane");
    }
    this.layers = batchNormLayers(model);
    this.moments = this.layers.map(() => new Map());
    this.deviceMoments = this.layers.map(() => undefined);
    this.onDevice = onDevice;
    this.layers.forEach((layer, index) => install(layer, index, this));
  }

  /** Forgets the moments of the previous step. */
  beginStep(): void {
    this.moments = this.layers.map(() => new Map());
    this.disposeDeviceMoments();
  }

  private disposeDeviceMoments(): void {
    for (const m of this.deviceMoments) if (m !== undefined) tf.dispose([m.mean, m.variance]);
    this.deviceMoments = this.layers.map(() => undefined);
  }

  /** Training calls until `endPass` are those of a pass at `offset` in a batch of `batch`. */
  beginPass(offset: number, batch: number): void {
    if (this.group > 0 && offset % this.group !== 0) {
      throw new Error(`a pass at image ${offset} splits a BatchNorm group of ${this.group}`);
    }
    this.place = { offset, batch };
  }

  endPass(): void {
    this.place = undefined;
  }

  /** The moments the step recorded so far (for another thread to merge). */
  recorded(): BatchMoments {
    return this.moments.map((groups) => Object.fromEntries(groups));
  }

  /** Updates the moving statistics from the moments of this step and of `others` (workers). */
  updateMoving(others: readonly BatchMoments[] = []): void {
    if (this.onDevice) {
      this.layers.forEach((layer, k) => {
        const m = this.deviceMoments[k];
        if (m !== undefined) moveOnDevice(layer, m);
      });
      this.disposeDeviceMoments();
      return;
    }
    updateMovingStatistics(this.layers, [this.recorded(), ...others]);
  }

  /** The replaced training call of layer `index`. */
  normalize(index: number, layer: BatchNormFields, x: tf.Tensor): tf.Tensor {
    const place = this.place as PassPlace;
    if (x.rank !== 4 || (layer.axis !== -1 && layer.axis !== 3)) {
      throw new Error('batch statistics: BatchNorm layers normalise 4-D inputs over channels');
    }
    return tf.tidy(() =>
      this.onDevice
        ? this.wholeBatchOnDevice(index, layer, x as tf.Tensor4D, place)
        : this.group === 0
          ? this.wholeBatch(index, layer, x as tf.Tensor4D, place)
          : this.ghost(index, layer, x as tf.Tensor4D, place),
    );
  }

  /** `wholeBatch` on the device, in one lane (see `onDevice`). */
  private wholeBatchOnDevice(
    index: number,
    layer: BatchNormFields,
    x: tf.Tensor4D,
    place: PassPlace,
  ): tf.Tensor {
    const [n, h, w] = x.shape;
    if (place.offset !== 0 || place.batch !== n || this.exchange !== ONE_LANE) {
      throw new Error('batch statistics on the device need the whole batch in one pass');
    }
    const count = n * h * w;
    const { gamma, beta } = layer;
    if (!layer.center || !layer.scale || gamma === null || beta === null) {
      throw new Error('batch statistics: BatchNorm layers without scale or offset');
    }
    const epsilon = layer.epsilon;
    const moments = (input: tf.Tensor): { mean: tf.Tensor1D; variance: tf.Tensor1D } => {
      const mean = tf.mean(input, [0, 1, 2]) as tf.Tensor1D;
      const variance = tf.mean(tf.square(tf.sub(input, mean)), [0, 1, 2]) as tf.Tensor1D;
      return { mean, variance };
    };
    let recorded: DeviceMoments | undefined;
    const op = tf.customGrad(((
      input: tf.Tensor,
      scale: tf.Tensor,
      offset: tf.Tensor,
      save: tf.GradSaveFunc,
    ) => {
      const { mean, variance } = moments(input);
      recorded = { count, mean: tf.keep(mean.clone()), variance: tf.keep(variance.clone()) };
      // Only inputs are saved (see `wholeBatch`): the moments are taken again for the gradient.
      save([input, scale]);
      const value = tf.batchNorm(
        input as tf.Tensor4D,
        mean,
        variance,
        offset as tf.Tensor1D,
        scale as tf.Tensor1D,
        epsilon,
      );
      return {
        value,
        gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
          const d = dy as tf.Tensor4D;
          const [xSaved, scaleSaved] = saved;
          const again = moments(xSaved);
          const r = tf.rsqrt(tf.add(again.variance, epsilon));
          const normed = tf.mul(tf.sub(xSaved, again.mean), r);
          const dySums = tf.sum(d, [0, 1, 2]);
          const dyNormedSums = tf.sum(tf.mul(d, normed), [0, 1, 2]);
          const dx = inputGradient(
            d,
            tf.mul(scaleSaved, r),
            normed,
            tf.div(dySums, count),
            tf.div(dyNormedSums, count),
          );
          return [dx, dyNormedSums, dySums];
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    const out = op(x, gamma.read(), beta.read());
    const previous = this.deviceMoments[index];
    if (previous !== undefined) tf.dispose([previous.mean, previous.variance]);
    this.deviceMoments[index] = recorded;
    return out;
  }

  private wholeBatch(
    index: number,
    layer: BatchNormFields,
    x: tf.Tensor4D,
    place: PassPlace,
  ): tf.Tensor {
    const [, h, w, c] = x.shape;
    const count = place.batch * h * w;
    const exchange = this.exchange;
    const { gamma, beta } = layer;
    if (!layer.center || !layer.scale || gamma === null || beta === null) {
      throw new Error('batch statistics: BatchNorm layers without scale or offset');
    }
    let mean64: Float64Array = new Float64Array(c);
    let variance64: Float64Array = new Float64Array(c);
    const epsilon = layer.epsilon;
    const op = tf.customGrad(((
      input: tf.Tensor,
      scale: tf.Tensor,
      offset: tf.Tensor,
      save: tf.GradSaveFunc,
    ) => {
      const xs = input as tf.Tensor4D;
      const sums = exchange.gather(perImageSums(xs), place.offset, place.batch, c);
      mean64 = columnMeans(sums, c, count);
      const squares = tf.tidy(() => tf.square(tf.sub(xs, float32(mean64)))) as tf.Tensor4D;
      const spread = exchange.gather(perImageSums(squares), place.offset, place.batch, c);
      squares.dispose();
      variance64 = columnMeans(spread, c, count);
      // Only inputs are saved: tfjs keeps a saved tensor made here even without a tape.
      save([xs, scale]);
      const value = tf.tidy(() =>
        tf.batchNorm(
          xs,
          float32(mean64),
          float32(variance64),
          offset as tf.Tensor1D,
          scale as tf.Tensor1D,
          epsilon,
        ),
      );
      return {
        value,
        gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
          const d = dy as tf.Tensor4D;
          const [xSaved, scaleSaved] = saved;
          const r = float32(variance64.map((v) => 1 / Math.sqrt(v + epsilon)));
          const normed = tf.mul(tf.sub(xSaved, float32(mean64)), r) as tf.Tensor4D;
          // The sums of dy and dy * xhat over the whole batch: per image, added in float64 in
          // image order, as the forward statistics.
          const dySums = columnMeans(
            exchange.gather(perImageSums(d), place.offset, place.batch, c),
            c,
            1,
          );
          const dyNormed = tf.mul(d, normed) as tf.Tensor4D;
          const dyNormedSums = columnMeans(
            exchange.gather(perImageSums(dyNormed), place.offset, place.batch, c),
            c,
            1,
          );
          dyNormed.dispose();
          const dx = inputGradient(
            d,
            tf.mul(scaleSaved, r),
            normed,
            float32(dySums.map((v) => v / count)),
            float32(dyNormedSums.map((v) => v / count)),
          );
          // The whole batch's scale and offset gradients once: the first lane gives them, the
          // others zeros, so that adding the lanes' gradients adds them exactly once.
          const first = exchange.lane === 0;
          const dScale = first ? float32(dyNormedSums) : tf.zerosLike(scaleSaved);
          const dOffset = first ? float32(dySums) : tf.zerosLike(scaleSaved);
          return [dx, dScale, dOffset];
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    const out = op(x, gamma.read(), beta.read());
    this.record(index, 0, count, mean64, variance64);
    return out;
  }

  private ghost(
    index: number,
    layer: BatchNormFields,
    x: tf.Tensor4D,
    place: PassPlace,
  ): tf.Tensor {
    const [n, h, w, c] = x.shape;
    const outs: tf.Tensor[] = [];
    for (let start = 0; start < n; start += this.group) {
      const size = Math.min(this.group, n - start);
      const part = n === size ? x : tf.slice(x, [start, 0, 0, 0], [size, h, w, c]);
      const { mean, variance } = tf.moments(part, [0, 1, 2]);
      this.record(
        index,
        (place.offset + start) / this.group,
        size * h * w,
        Float64Array.from(mean.dataSync()),
        Float64Array.from(variance.dataSync()),
      );
      outs.push(normalized(layer, part, mean, variance));
    }
    return outs.length === 1 ? outs[0] : tf.concat(outs, 0);
  }

  private record(
    index: number,
    group: number,
    count: number,
    mean: Float64Array,
    variance: Float64Array,
  ): void {
    this.moments[index].set(group, { count, mean: [...mean], variance: [...variance] });
  }

  /** Whether training calls use these statistics now. */
  get active(): boolean {
    return this.place !== undefined;
  }
}

/** Throws one line unless `group` is a whole number of images (0: the whole batch). */
export function checkBnGroup(group: number): void {
  if (!(Number.isInteger(group) && group >= 0)) {
    throw new UserError(
      `--bn-group must be 0 (the whole batch) or a positive integer, got ${group}`,
    );
  }
}

/** Makes `owner` the statistics of `layer`'s training calls (once per layer: its call replaced). */
function install(layer: BatchNormFields, index: number, owner: BatchStatistics): void {
  OWNERS.set(layer, { owner, index });
  if (ORIGINAL_CALLS.has(layer)) return;
  const original = layer.call;
  ORIGINAL_CALLS.set(layer, original);
  layer.call = (inputs, kwargs) => {
    const current = OWNERS.get(layer);
    // A frozen layer (models/freeze.ts) normalises as in inference and records no moments.
    if (kwargs?.training === true && !layer.trainable) {
      return original.call(layer, inputs, { ...kwargs, training: false });
    }
    if (kwargs?.training !== true || current === undefined || !current.owner.active) {
      return original.call(layer, inputs, kwargs);
    }
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return current.owner.normalize(current.index, layer, x);
  };
}

/**
 * The gradient of batch normalisation with respect to its input: gamma / sigma (dy - mean(dy)
 * - xhat mean(dy xhat)), from `gain` = gamma / sigma, `normed` = xhat and the two means.
 */
function inputGradient(
  dy: tf.Tensor,
  gain: tf.Tensor,
  normed: tf.Tensor,
  meanDy: tf.Tensor,
  meanDyNormed: tf.Tensor,
): tf.Tensor {
  return tf.mul(gain, tf.sub(tf.sub(dy, meanDy), tf.mul(normed, meanDyNormed)));
}

/** `layer`'s normalisation of `x` with `mean` and `variance` (FusedBatchNorm). */
function normalized(
  layer: BatchNormFields,
  x: tf.Tensor4D,
  mean: tf.Tensor,
  variance: tf.Tensor,
): tf.Tensor {
  return tf.batchNorm(
    x,
    mean as tf.Tensor1D,
    variance as tf.Tensor1D,
    layer.center && layer.beta !== null ? (layer.beta.read() as tf.Tensor1D) : undefined,
    layer.scale && layer.gamma !== null ? (layer.gamma.read() as tf.Tensor1D) : undefined,
    layer.epsilon,
  );
}

/** `values` as a float32 vector. */
function float32(values: Float64Array): tf.Tensor1D {
  return tf.tensor1d(Float32Array.from(values));
}

/** The per-channel sums of each image of `x` ([n, h, w, c]) as float64 rows [n x c]. */
function perImageSums(x: tf.Tensor4D): Float64Array {
  const sums = tf.sum(x, [1, 2]);
  const rows = Float64Array.from(sums.dataSync());
  sums.dispose();
  return rows;
}

/** The column sums of `rows` (rows of `width`, added in row order) divided by `count`. */
function columnMeans(rows: Float64Array, width: number, count: number): Float64Array {
  const out = new Float64Array(width);
  for (let at = 0; at < rows.length; at += width) {
    for (let k = 0; k < width; k++) out[k] += rows[at + k];
  }
  for (let k = 0; k < width; k++) out[k] /= count;
  return out;
}

/**
 * Updates `layers`' moving statistics once from the moments of a step (several records, e.g.
 * one per worker; a group recorded twice is the same group): the whole batch's mean and
 * variance, with Keras 2.2's correction and momentum (see the module comment).
 */
export function updateMovingStatistics(
  layers: readonly BatchNormFields[],
  records: readonly BatchMoments[],
): void {
  layers.forEach((layer, k) => {
    const groups = new Map<number, GroupMoments>();
    for (const record of records) {
      for (const [g, m] of Object.entries(record[k] ?? {})) groups.set(Number(g), m);
    }
    if (groups.size === 0) return;
    const ordered = [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([, m]) => m);
    const { mean, variance, count } = combineMoments(ordered);
    const unbiased = variance.map((v) => (v * count) / (count - (1 + layer.epsilon)));
    const decay = 1 - layer.momentum;
    const move = (variable: BatchNormFields['movingMean'], value: Float64Array) => {
      const old = variable.read().dataSync();
      const next = tf.tensor(
        Float32Array.from(old, (o, i) => o - (o - value[i]) * decay),
        variable.read().shape,
      );
      variable.write(next);
      next.dispose();
    };
    move(layer.movingMean, mean);
    move(layer.movingVariance, unbiased);
  });
}

/** `updateMovingStatistics` of one layer from its whole-batch moments on the device. */
function moveOnDevice(layer: BatchNormFields, m: DeviceMoments): void {
  const decay = 1 - layer.momentum;
  const unbiased = tf.tidy(() => tf.mul(m.variance, m.count / (m.count - (1 + layer.epsilon))));
  for (const [variable, value] of [
    [layer.movingMean, m.mean],
    [layer.movingVariance, unbiased],
  ] as const) {
    const next = tf.tidy(() => {
      const old = variable.read();
      return tf.sub(old, tf.mul(tf.sub(old, tf.reshape(value, old.shape)), decay));
    });
    variable.write(next);
    next.dispose();
  }
  unbiased.dispose();
}

/** The moments of groups together (law of total variance, in float64, in group order). */
export function combineMoments(groups: readonly GroupMoments[]): {
  mean: Float64Array;
  variance: Float64Array;
  count: number;
} {
  const width = groups[0].mean.length;
  const count = groups.reduce((n, g) => n + g.count, 0);
  const mean = new Float64Array(width);
  for (const g of groups) for (let k = 0; k < width; k++) mean[k] += (g.count * g.mean[k]) / count;
  const variance = new Float64Array(width);
  for (const g of groups) {
    for (let k = 0; k < width; k++) {
      variance[k] += (g.count * (g.variance[k] + (g.mean[k] - mean[k]) ** 2)) / count;
    }
  }
  return { mean, variance, count };
}

/** `model`'s moving statistics updated from workers' records (see `updateMovingStatistics`). */
export function updateModelMoving(model: tfl.LayersModel, records: readonly BatchMoments[]): void {
  updateMovingStatistics(batchNormLayers(model), records);
}
