/**
 * `startTfjsEngine`: TensorFlow.js prediction of a model's `final` output, on every core
 * through data-parallel worker threads (src/parallel) when that helps, else in this thread.
 * Node-only (worker_threads).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { resolveWorkers, WorkerPool } from '../parallel/pool.js';
import { TfjsEngine } from './engine.js';
import { finalOutputModel } from './evaluate.js';

/** Options of `startTfjsEngine`. */
export interface TfjsEngineOptions {
  /** Worker threads. Default: one per core (1 on the tensorflow backend). */
  workers?: number;
  /** The images that will be predicted: no more workers than this start. Default: no bound. */
  images?: number;
}

/** A `TfjsEngine` on `model`'s `final` output; dispose of the engine to stop its workers. */
export async function startTfjsEngine(
  model: tfl.LayersModel,
  options: TfjsEngineOptions = {},
): Promise<TfjsEngine> {
  const backend = tf.getBackend();
  const net = finalOutputModel(model);
  // More workers than images to predict would only start idle threads.
  const count = Math.min(resolveWorkers(options.workers, backend), options.images ?? Infinity);
  if (count <= 1) return new TfjsEngine(net);
  return new TfjsEngine(net, await WorkerPool.start({ model: net, workers: count, backend }));
}
