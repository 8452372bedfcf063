/**
 * Messages between the data-parallel pool (pool.ts) and its workers (worker.ts). Large
 * arrays travel through SharedArrayBuffers set up once: the weights (written by the pool after
 * each update, read by every worker before its next command), one slot per worker for its
 * summed gradients, and the lanes' table of BatchNorm sums (lanes.ts).
 *
 * A step of the batch objective is two commands: `forward` (each worker's statistics come
 * back), then, once the pool has added every worker's, `backward` with the batch's
 * coefficients (the gradients go to the slots); `release` drops a worker's pending forward
 * when the step stops between the two. A step of the per-pass objective is one `step`.
 */
import type {
  Coefficients,
  ObjectiveOptions,
  ObjectiveSums,
  ObjectiveValues,
} from '../train/objective.js';
import type { Numerics } from '../kernels/numerics.js';
import type { LanePlace, StepPlace, ValueSums } from '../train/step.js';
import type { BatchMoments } from '../train/batch_norm.js';
import type { AugmentConfig } from '../data/augment.js';

/** Where each weight lives in a flat float32 buffer. */
export interface WeightSlot {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

export interface InitMessage {
  type: 'init';
  index: number;
  backend: string;
  /** The numerics of the pool's thread, for the same results. */
  numerics: Numerics;
  /** `model.toJSON(null, false)`: the topology the replica is built from. */
  topology: unknown;
  /** Absent for a pool that only predicts. */
  objective?: ObjectiveOptions;
  /** Every weight of the model (trainable first, in `model.weights` order). */
  weights: WeightSlot[];
  /** How many of `weights` are trainable (they come first). */
  trainableCount: number;
  weightBuffer: SharedArrayBuffer;
  /** Each worker's gradients: `workers` slots of the trainable weights' total size. */
  gradientBuffer: SharedArrayBuffer;
  /** Images per BatchNorm statistics group (0: the whole batch; see train/batch_norm.ts). */
  bnGroup: number;
  /** The lanes' table and barrier (lanes.ts). */
  laneBuffer: SharedArrayBuffer;
}

/** A worker's part of a training step: its lane among the step's and its items' place. */
export interface Lane extends LanePlace {
  index: number;
  count: number;
}

/** Some items of a data set, as a worker receives them. */
export interface Shard {
  inputSize: [number, number];
  channels: 1 | 3;
  images: Uint8Array[];
  masks: Uint8Array[];
  /** Training steps with augmentation: the worker augments item k with `seeds[k]`. */
  augment?: { config: AugmentConfig; seeds: number[] };
}

export type Command =
  | { type: 'forward'; shard: Shard; microBatch: number; lane: Lane }
  | { type: 'backward'; coefficients: Coefficients }
  | { type: 'release' }
  | {
      type: 'step';
      shard: Shard;
      microBatch: number;
      lane: Lane;
      place: StepPlace;
    }
  | { type: 'evaluate'; shard: Shard; batchSize: number }
  | { type: 'predict'; xs: Float32Array; shape: number[]; batchSize: number };

/** A command with the weights version the worker must hold to run it. */
export type Request = Command & { id: number; weightsVersion: number };

export type Reply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { name: string; message: string; stack?: string } };

/** What `forward` returns: the worker's statistics, summed over its passes. */
export type ForwardResult = ObjectiveSums;

/**
 * What `step` returns: the values of the worker's passes, each weighted by its share of the
 * batch (the gradients are in the worker's gradient slot), and the BatchNorm moments.
 */
export interface StepResult {
  values: ObjectiveValues;
  moments: BatchMoments;
}

/** What `backward` returns: the BatchNorm moments of the step (gradients in the slot). */
export type BackwardResult = BatchMoments;

/** What `evaluate` returns. */
export type EvaluateResult = ValueSums;

/** What `predict` returns: each output's values and shape. */
export interface PredictResult {
  outputs: Array<{ data: Float32Array; shape: number[] }>;
}
