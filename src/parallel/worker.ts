/**
 * One data-parallel worker (a worker thread with its own TensorFlow.js backend and replica of
 * the model): runs the pool's commands one at a time. See pool.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { parentPort } from 'node:worker_threads';
import { initBackend } from '../backend/select.js';
import { makeObjective } from '../train/objective.js';
import { StepRunner } from '../train/step.js';
import { BatchStatistics } from '../train/batch_norm.js';
import { SharedLanes } from './lanes.js';
import { augmentSource } from '../data/augment.js';
import type { BatchSource } from '../data/batch.js';
import type {
  BackwardResult,
  EvaluateResult,
  ForwardResult,
  InitMessage,
  PredictResult,
  Reply,
  Request,
  Shard,
  StepResult,
} from './protocol.js';

interface Replica {
  init: InitMessage;
  model: tfl.LayersModel;
  /** The model's weights in `init.weights` order. */
  variables: tfl.LayerVariable[];
  weightsVersion: number;
  /** The BatchNorm statistics of the replica's training passes, shared with the other lanes. */
  statistics: BatchStatistics;
  lanes: SharedLanes;
  /** The runner of a `forward` whose `backward` has not come yet. */
  pending?: StepRunner;
}

/** A shard's items as a data set; a training shard with augmentation augmented here. */
function shardSource(shard: Shard): BatchSource {
  const source = { ...shard, count: shard.images.length };
  if (shard.augment === undefined) return source;
  return augmentSource(
    source,
    [...source.images.keys()],
    shard.augment.config,
    shard.augment.seeds,
  );
}

async function start(init: InitMessage): Promise<Replica> {
  await initBackend({ backend: init.backend, numerics: init.numerics });
  const model = await tfl.models.modelFromJSON({
    modelTopology: init.topology as tf.io.ModelJSON['modelTopology'],
  });
  const byName = new Map(model.weights.map((w) => [w.originalName, w]));
  const variables = init.weights.map((slot) => {
    const v = byName.get(slot.name);
    if (v === undefined) throw new Error(`worker replica has no weight '${slot.name}'`);
    return v;
  });
  const lanes = new SharedLanes(init.laneBuffer);
  const statistics = new BatchStatistics(model, init.bnGroup, lanes);
  return { init, model, variables, weightsVersion: -1, statistics, lanes };
}

/** Loads the pool's current weights into the replica. */
function loadWeights(replica: Replica, version: number): void {
  if (replica.weightsVersion === version) return;
  const all = new Float32Array(replica.init.weightBuffer);
  replica.init.weights.forEach((slot, k) => {
    const t = tf.tensor(all.subarray(slot.offset, slot.offset + slot.size), slot.shape);
    replica.variables[k].write(t);
    t.dispose();
  });
  replica.weightsVersion = version;
}

async function run(replica: Replica, request: Request): Promise<unknown> {
  loadWeights(replica, request.weightsVersion);
  const { init, model } = replica;
  const runnerOf = (shard: Shard): StepRunner => {
    if (init.objective === undefined) throw new Error('this pool has no objective');
    return new StepRunner(
      model,
      makeObjective(init.objective),
      shardSource(shard),
      replica.statistics,
    );
  };
  switch (request.type) {
    case 'forward': {
      replica.pending?.release();
      replica.pending = undefined;
      replica.lanes.beginStep(request.lane.index, request.lane.count);
      replica.statistics.beginStep();
      const runner = runnerOf(request.shard);
      const items = [...request.shard.images.keys()];
      const sums = await runner.forward(items, request.microBatch, request.lane);
      replica.pending = runner;
      return sums satisfies ForwardResult;
    }
    case 'backward': {
      const runner = replica.pending;
      if (runner === undefined) throw new Error('backward without a pending forward');
      replica.pending = undefined;
      await writeGradients(replica, await runner.backward(request.coefficients));
      return replica.statistics.recorded() satisfies BackwardResult;
    }
    case 'release': {
      replica.pending?.release();
      replica.pending = undefined;
      return null;
    }
    case 'step': {
      replica.pending?.release();
      replica.pending = undefined;
      replica.lanes.beginStep(request.lane.index, request.lane.count);
      replica.statistics.beginStep();
      const items = [...request.shard.images.keys()];
      const { values, grads } = await runnerOf(request.shard).passGradients(
        items,
        request.microBatch,
        request.lane,
        request.place,
      );
      await writeGradients(replica, grads);
      return { values, moments: replica.statistics.recorded() } satisfies StepResult;
    }
    case 'evaluate': {
      const items = [...request.shard.images.keys()];
      return (await runnerOf(request.shard).evaluationSums(
        items,
        request.batchSize,
      )) satisfies EvaluateResult;
    }
    case 'predict': {
      const xs = tf.tensor(request.xs, request.shape);
      try {
        const outs = [model.predict(xs, { batchSize: request.batchSize })].flat() as tf.Tensor[];
        const outputs = await Promise.all(
          // A copy the reply can transfer (a backend's own array may be a view of its memory).
          outs.map(async (t) => ({ data: new Float32Array(await t.data()), shape: t.shape })),
        );
        tf.dispose(outs);
        return { outputs } satisfies PredictResult;
      } finally {
        xs.dispose();
      }
    }
  }
}

/** Writes a step's gradients (disposing of them) into this worker's slot. */
async function writeGradients(replica: Replica, grads: tf.Tensor[]): Promise<void> {
  try {
    await writeSlot(
      replica.init,
      replica.init.gradientBuffer,
      0,
      replica.init.trainableCount,
      grads,
    );
  } finally {
    tf.dispose(grads);
  }
}

/**
 * Writes `tensors` (the values of weights `from` to `to` of `init.weights`) into this
 * worker's slot of `buffer` (slots are laid out as the weights from `from`, one per worker).
 */
async function writeSlot(
  init: InitMessage,
  buffer: SharedArrayBuffer,
  from: number,
  to: number,
  tensors: readonly tf.Tensor[],
): Promise<void> {
  const slots = init.weights.slice(from, to);
  const base = slots[0]?.offset ?? 0;
  const slotSize = slots.reduce((n, s) => n + s.size, 0);
  const view = new Float32Array(buffer, 4 * init.index * slotSize, slotSize);
  for (let k = 0; k < slots.length; k++) {
    view.set(await tensors[k].data(), slots[k].offset - base);
  }
}

function main(): void {
  const port = parentPort;
  if (port === null) throw new Error('src/parallel/worker.js runs as a worker thread');
  let replica: Promise<Replica> | undefined;
  // Commands run one after another, in order of arrival.
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (message: InitMessage | Request) => {
    if ('type' in message && message.type === 'init') {
      replica = start(message);
      replica.then(
        () => port.postMessage({ id: -1, ok: true, result: null } satisfies Reply),
        (err: unknown) => port.postMessage(failure(-1, err)),
      );
      return;
    }
    const request = message as Request;
    queue = queue.then(async () => {
      try {
        if (replica === undefined) throw new Error('worker not initialised');
        const result = await run(await replica, request);
        const transfer =
          request.type === 'predict'
            ? (result as PredictResult).outputs.map((o) => o.data.buffer as ArrayBuffer)
            : [];
        port.postMessage({ id: request.id, ok: true, result } satisfies Reply, transfer);
      } catch (err) {
        // The other lanes of the step may wait for this one's sums: let them stop.
        await replica?.then(
          (r) => r.lanes.abort(),
          () => undefined,
        );
        port.postMessage(failure(request.id, err));
      }
    });
  });
}

function failure(id: number, err: unknown): Reply {
  const e = err instanceof Error ? err : new Error(String(err));
  return { id, ok: false, error: { name: e.name, message: e.message, stack: e.stack } };
}

main();
