/**
 * How many images fit in one training pass: an estimate from the model's activations, used
 * to split a batch into micro-batches on backends with a hard memory ceiling.
 *
 * One wasm instance addresses at most 4 GB (32-bit), and a training pass keeps every layer's
 * output for the backward pass, plus gradients and temporaries. With the backward pass that
 * frees as it goes (gradients.ts) and the wasm `Identity` that shares memory, a pass grows the
 * process by about twice its layer outputs (`TRAINING_MEMORY_FACTOR`; `npm run bench` reports
 * the peak memory of the networks' steps).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { UserError } from '../errors.js';

/** The elements of each layer output for one image. */
function outputElements(model: tfl.LayersModel): number[] {
  return model.layers.flatMap((layer) =>
    (
      (Array.isArray(layer.outputShape[0]) ? layer.outputShape : [layer.outputShape]) as Array<
        Array<number | null>
      >
    ).map((shape) => shape.slice(1).reduce((a: number, b) => a * (b ?? 1), 1)),
  );
}

/** Bytes of all layer outputs for one image (float32). */
export function activationBytesPerImage(model: tfl.LayersModel): number {
  return 4 * outputElements(model).reduce((a, b) => a + b, 0);
}

/** Memory a training pass needs per byte of layer outputs (see above). */
export const TRAINING_MEMORY_FACTOR = 2;

/** Images per training pass unless given: what fits the backend's memory (`trainingMicroBatch`). */
export const DEFAULT_MICRO_BATCH = 'auto';

/** The memory one wasm instance may use for a training pass (of its 4 GB address space). */
export const WASM_TRAINING_BUDGET = 2.5e9;

/**
 * The memory of the passes the automatic choice makes on wasm: larger passes are slower per
 * image (their tensors outgrow the processor's caches), so a batch runs in passes of about
 * this size (`npm run bench -- --micro-batch N` compares pass sizes).
 */
export const WASM_PASS_BUDGET = 0.9e9;

/**
 * Images per training pass: the batch in as few passes as fit `budget` bytes (default
 * `WASM_PASS_BUDGET`), of near-equal size (at most `batchSize`, at least 1). Backends without a hard ceiling ('cpu', 'tensorflow') take the whole batch.
 */
export function autoMicroBatch(
  model: tfl.LayersModel,
  batchSize: number,
  backend: string,
  budget = WASM_PASS_BUDGET,
): number {
  if (backend !== 'wasm') return batchSize;
  const perImage = activationBytesPerImage(model) * TRAINING_MEMORY_FACTOR;
  const most = Math.max(1, Math.min(batchSize, Math.floor(budget / perImage)));
  // As few passes as fit, of near-equal size (16 at most 9 per pass: 8 + 8, not 9 + 7).
  const passes = Math.ceil(batchSize / most);
  return Math.ceil(batchSize / passes);
}

/**
 * The memory that the training passes of several data-parallel workers may use together:
 * each worker has its own wasm instance, and the whole process should stay well inside an
 * ordinary machine's memory.
 */
export const WORKERS_TRAINING_BUDGET = 1.2e9;

/**
 * Images per training pass in each of `workers` data-parallel workers: each worker's share
 * of the batch in as few passes as fit its part of the budget (one worker: `autoMicroBatch`).
 * Fewer passes also cost less with the batch objective, where every pass of a worker but its
 * last runs forward twice (see `StepRunner` in step.ts).
 */
export function trainingMicroBatch(
  model: tfl.LayersModel,
  batchSize: number,
  backend: string,
  workers = 1,
): number {
  const share = Math.ceil(batchSize / workers);
  const budget = Math.min(WASM_PASS_BUDGET, WORKERS_TRAINING_BUDGET / workers);
  return autoMicroBatch(model, share, backend, budget);
}

/** The most one wasm instance can address (32-bit pointers). */
export const WASM_MEMORY_LIMIT = 4 * 1024 ** 3;

/**
 * Throws a `UserError` when a training pass of `microBatch` images cannot fit the backend's
 * memory (only wasm has a hard ceiling), naming the largest micro-batch that fits.
 */
export function checkMicroBatch(model: tfl.LayersModel, microBatch: number, backend: string): void {
  if (backend !== 'wasm') return;
  const perImage = activationBytesPerImage(model) * TRAINING_MEMORY_FACTOR;
  const need = perImage * microBatch;
  // Refuse what surely cannot fit (the estimate leaves out the weights, the optimiser and
  // the allocator's slack) and suggest what the automatic choice would use.
  if (need <= 0.75 * WASM_MEMORY_LIMIT) return;
  const fits = Math.max(1, Math.floor(WASM_TRAINING_BUDGET / perImage));
  throw new UserError(
    `--micro-batch ${microBatch}: a training pass of ${microBatch} images needs about ` +
      `${(need / 1e9).toFixed(1)} GB, more than one wasm instance can address (4 GB): use ` +
      `--micro-batch ${fits} or less (the batch is then split, keeping --batch-size), or 'auto'`,
  );
}

/** How a training batch runs: in how many workers (lanes), and passes of how many images. */
export interface TrainingLanes {
  workers: number;
  microBatch: number;
}

/**
 * The workers and pass size of training steps for `bnGroup` (see train/batch_norm.ts).
 *
 * With the whole batch's BatchNorm statistics (0) every worker runs its part of a batch in one
 * pass, and the parts exchange their sums at each BatchNorm layer, so all the batch's images
 * are in memory at once (as in Keras): the workers are `workers`, or more where a part of
 * `batchSize / workers` images would exceed `microBatch` ('auto': what one wasm instance can
 * hold, `WASM_TRAINING_BUDGET`); more workers than cores take turns at each layer. With groups
 * of `bnGroup` images the batch runs in `workers` workers and passes of whole groups.
 */
export function trainingLanes(
  model: tfl.LayersModel,
  batchSize: number,
  microBatch: number | 'auto',
  workers: number,
  bnGroup: number,
  backend: string,
): TrainingLanes {
  if (bnGroup > 0) {
    const most =
      microBatch === 'auto' ? trainingMicroBatch(model, batchSize, backend, workers) : microBatch;
    const whole = Math.max(bnGroup, Math.floor(most / bnGroup) * bnGroup);
    return { workers, microBatch: Math.min(whole, batchSize) };
  }
  const fits =
    microBatch === 'auto'
      ? backend === 'wasm'
        ? Math.max(
            1,
            Math.floor(
              WASM_TRAINING_BUDGET / (activationBytesPerImage(model) * TRAINING_MEMORY_FACTOR),
            ),
          )
        : batchSize
      : microBatch;
  const lanes = Math.min(batchSize, Math.max(workers, Math.ceil(batchSize / fits)));
  if (lanes > 1 && backend === 'tensorflow') {
    throw new UserError(
      `--micro-batch ${fits}: with the whole batch's BatchNorm statistics (--bn-group 0) a ` +
        "batch runs in one pass on the 'tensorflow' backend; leave --micro-batch out, or use " +
        '--bn-group N to split it',
    );
  }
  return { workers: lanes, microBatch: Math.ceil(batchSize / lanes) };
}

/** Bytes of the largest layer output for one image (float32). */
export function largestActivationBytes(model: tfl.LayersModel): number {
  return 4 * Math.max(0, ...outputElements(model));
}

/** What a training pass of one image needs (`trainingFootprint`). */
export interface TrainingFootprint {
  /** All layer outputs (`activationBytesPerImage`). */
  activationBytes: number;
  /** The largest layer output (`largestActivationBytes`). */
  largestBytes: number;
}

export function trainingFootprint(model: tfl.LayersModel): TrainingFootprint {
  return {
    activationBytes: activationBytesPerImage(model),
    largestBytes: largestActivationBytes(model),
  };
}

/** What a browser tells of a device's memory; a field left out is not known. */
export interface DeviceLimits {
  /** The backend that trains: 'wasm' (4 GB addressable), 'webgpu' or 'cpu'. */
  backend: string;
  /** WebGPU's limits of one buffer and of one storage binding (bytes). */
  maxBufferSize?: number;
  maxStorageBufferBindingSize?: number;
  /** `navigator.deviceMemory`: the device's memory in GiB, rounded down (Chrome: 8 at most). */
  deviceMemoryGiB?: number;
}

/** The batch a device can train, and what set it. */
export interface BatchSizing {
  /** The batch asked for. */
  requested: number;
  /** The batch used: `requested`, or less where the device's memory does not hold it. */
  batchSize: number;
  /** What capped it, in words; absent when `requested` fits. */
  limit?: string;
}

/** The share of the device's memory a page's training may use (the rest: the system, the page). */
export const DEVICE_MEMORY_SHARE = 0.5;

/**
 * A WebGPU convolution may unfold its input (im2col) into a buffer of up to 9 times a 3x3
 * convolution's input: the largest buffer of a pass, per image.
 */
export const WEBGPU_UNFOLD_FACTOR = 9;

/**
 * The batch of a training pass in one thread of a browser, as the CLI sizes passes: at most
 * `requested`, and no more images than fit the backend's memory: wasm's budget of its 4 GB
 * (`WASM_TRAINING_BUDGET`) or, for WebGPU and the cpu backend, a share of the device's memory
 * where the browser tells it (`DEVICE_MEMORY_SHARE` of `deviceMemoryGiB`, also a cap for
 * wasm), each image taking `TRAINING_MEMORY_FACTOR` times its layer outputs; on WebGPU also the
 * largest buffer (`WEBGPU_UNFOLD_FACTOR` times the largest layer output per image) within
 * `maxBufferSize` and `maxStorageBufferBindingSize`. A whole batch runs in one pass (its
 * BatchNorm statistics are the batch's), so the batch itself is what shrinks. Throws a
 * `UserError` when not even one image fits.
 */
export function deviceBatchSize(
  footprint: TrainingFootprint,
  requested: number,
  limits: DeviceLimits,
): BatchSizing {
  const gb = (bytes: number) => `${(bytes / 1e9).toFixed(1)} GB`;
  const caps: { images: number; limit: string }[] = [];
  const perImage = footprint.activationBytes * TRAINING_MEMORY_FACTOR;
  const byMemory = (budget: number, what: string) =>
    caps.push({ images: Math.floor(budget / perImage), limit: `${what} (${gb(budget)})` });
  if (limits.backend === 'wasm') byMemory(WASM_TRAINING_BUDGET, "wasm's memory");
  if (limits.deviceMemoryGiB !== undefined && limits.deviceMemoryGiB > 0) {
    byMemory(limits.deviceMemoryGiB * 1024 ** 3 * DEVICE_MEMORY_SHARE, "the device's memory");
  }
  if (limits.backend === 'webgpu') {
    const buffer = Math.min(
      limits.maxBufferSize ?? Infinity,
      limits.maxStorageBufferBindingSize ?? Infinity,
    );
    if (Number.isFinite(buffer)) {
      caps.push({
        images: Math.floor(buffer / (footprint.largestBytes * WEBGPU_UNFOLD_FACTOR)),
        limit: `the GPU's largest buffer (${gb(buffer)})`,
      });
    }
  }
  let sizing: BatchSizing = { requested, batchSize: requested };
  for (const cap of caps) {
    if (cap.images < sizing.batchSize) {
      sizing = { requested, batchSize: cap.images, limit: cap.limit };
    }
  }
  if (sizing.batchSize < 1) {
    throw new UserError(
      `fine-tuning: one image needs about ${gb(perImage)} for a training pass, more than ` +
        `${sizing.limit} allows here: use a smaller model, or a computer with more memory`,
    );
  }
  return sizing;
}
