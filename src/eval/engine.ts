/**
 * Inference engines: what turns a batch of images into the `final` output's probabilities.
 * Evaluation and prediction call an `InferenceEngine` and do not care which one runs it:
 * TensorFlow.js in this thread (`TfjsEngine`, here), TensorFlow.js replicas in worker threads
 * (eval/worker_engine.ts) or ONNX Runtime on the exported model (export/onnx_engine.ts).
 * Browser-safe (tfjs only).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/** The engines a user chooses from; 'auto' is ONNX Runtime when it can run the model. */
export type EngineChoice = 'tfjs' | 'onnx' | 'auto';
export const ENGINE_CHOICES: readonly EngineChoice[] = ['tfjs', 'onnx', 'auto'];
/** The default choice. */
export const DEFAULT_ENGINE: EngineChoice = 'auto';

/** Predicts the `final` output of one network on batches of images. */
export interface InferenceEngine {
  /** What runs the network, as `summary.json` records it: 'tfjs-wasm', 'onnxruntime', ... */
  readonly name: string;
  /** One line for the user: 'onnxruntime (2 threads)', 'tfjs-wasm (2 workers)'. */
  readonly description: string;
  /**
   * The `final` probabilities of `xs` (NHWC float32 in [0, 1], [n, rows, cols, channels]),
   * one image after another (`n * rows * cols` values). The caller keeps `xs`.
   */
  predict(xs: tf.Tensor4D): Promise<Float32Array>;
  /** Frees what the engine holds (threads, sessions); not the model it was made from. */
  dispose(): Promise<void>;
}

/** Replicas of a model in other threads that predict a batch together. */
export interface InferenceWorkers {
  /** `model.predict(xs)`, the images shared among the workers: one tensor per output. */
  predict(xs: tf.Tensor4D, batchSize: number): Promise<tf.Tensor[]>;
}

/**
 * TensorFlow.js on this thread's backend, or on `workers` holding replicas of `net`.
 * `net` must have the `final` output alone (`finalOutputModel`); the engine does not own it.
 */
export class TfjsEngine implements InferenceEngine {
  readonly name: string;
  readonly description: string;

  constructor(
    private readonly net: tfl.LayersModel,
    private readonly workers?: InferenceWorkers & { size?: number; close?: () => Promise<void> },
  ) {
    this.name = `tfjs-${tf.getBackend()}`;
    const n = workers?.size;
    this.description = n !== undefined && n > 1 ? `${this.name} (${n} workers)` : this.name;
  }

  async predict(xs: tf.Tensor4D): Promise<Float32Array> {
    const probs =
      this.workers !== undefined
        ? (await this.workers.predict(xs, xs.shape[0]))[0]
        : tf.tidy(() => this.net.predict(xs) as tf.Tensor);
    try {
      return (await probs.data()) as Float32Array;
    } finally {
      probs.dispose();
    }
  }

  async dispose(): Promise<void> {
    await this.workers?.close?.();
  }
}
