/**
 * ONNX Runtime as an inference engine: the model is exported in memory with `toOnnx` (the
 * `final` output alone) and run by `onnxruntime-node` on the CPU, batch by batch, NHWC in and
 * out. `openInferenceEngine` chooses between it and TensorFlow.js for `--engine
 * tfjs|onnx|auto`. `onnxruntime-node` is an optional dependency, loaded on first use.
 * Node-only.
 */
import { readFile, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { InferenceSession } from 'onnxruntime-node';
import { UnsupportedLayerError, UserError } from '../errors.js';
import { ENGINE_CHOICES, type EngineChoice, type InferenceEngine } from '../eval/engine.js';
import { startTfjsEngine } from '../eval/worker_engine.js';
import { MODEL_JSON } from '../io/model_files.js';
import { RUN_CONFIG_FILE } from '../run/config.js';
import { ONNX_FILE } from './write.js';
import { ONNX_INPUT_NAME, readOnnxExportInfo, toOnnx, type OnnxExportInfo } from './onnx.js';

type OrtModule = typeof import('onnxruntime-node');

let ortModule: Promise<OrtModule | undefined> | undefined;

/** `onnxruntime-node`, or undefined when it is not installed (or its binary cannot load). */
export function loadOnnxRuntime(): Promise<OrtModule | undefined> {
  ortModule ??= import('onnxruntime-node').then(
    // A CommonJS package: its module.exports is the namespace's default.
    (m) => m.default,
    () => undefined,
  );
  return ortModule;
}

/** The default number of ONNX Runtime threads: one per core. */
export function defaultOnnxThreads(): number {
  return availableParallelism();
}

/** ONNX Runtime running an exported model's `final` output. */
export class OnnxRuntimeEngine implements InferenceEngine {
  readonly name = 'onnxruntime';
  readonly description: string;

  private constructor(
    private readonly ort: OrtModule,
    private readonly session: InferenceSession,
    private readonly output: string,
    readonly threads: number,
  ) {
    this.description = `onnxruntime (${threads} thread${threads === 1 ? '' : 's'})`;
  }

  /**
   * Exports `model` (its `final` output) and opens a CPU session with `threads` intra-op
   * threads. Throws `UnsupportedLayerError` for a layer the exporter cannot express.
   */
  static async create(
    ort: OrtModule,
    model: tfl.LayersModel,
    threads: number,
  ): Promise<OnnxRuntimeEngine> {
    const onnx = toOnnx(model, { outputs: 'final' });
    return OnnxRuntimeEngine.fromBytes(ort, onnx.bytes, onnx.outputs[0], threads);
  }

  /** Opens a CPU session of serialized ONNX `bytes` that predicts with its output `output`. */
  static async fromBytes(
    ort: OrtModule,
    bytes: Uint8Array,
    output: string,
    threads: number,
  ): Promise<OnnxRuntimeEngine> {
    const session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionProviders: ['cpu'],
    });
    return new OnnxRuntimeEngine(ort, session, output, threads);
  }

  async predict(xs: tf.Tensor4D): Promise<Float32Array> {
    const input = new this.ort.Tensor('float32', (await xs.data()) as Float32Array, xs.shape);
    const result = await this.session.run({ [ONNX_INPUT_NAME]: input });
    const out = result[this.output];
    // The output's data view is the session's own buffer: copy before releasing the tensor.
    const values = new Float32Array(out.data as Float32Array);
    out.dispose();
    return values;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** Options of `openInferenceEngine`. */
export interface InferenceEngineOptions {
  /** 'tfjs', 'onnx' or 'auto' (ONNX Runtime when installed and the model exports). Default 'auto'. */
  engine?: EngineChoice;
  /** ONNX Runtime's intra-op threads. Default: one per core. */
  threads?: number;
  /** TensorFlow.js worker threads (see `startTfjsEngine`). Default: one per core. */
  workers?: number;
  /** The images that will be predicted (bounds the TensorFlow.js workers). Default: no bound. */
  images?: number;
  /** The flag named in errors. Default '--engine'. */
  flag?: string;
}

/**
 * The engine for `model`'s `final` output. 'onnx' fails (a `UserError`) when onnxruntime-node
 * is missing or the model does not export; 'auto' then falls back to TensorFlow.js.
 */
export async function openInferenceEngine(
  model: tfl.LayersModel,
  options: InferenceEngineOptions = {},
): Promise<InferenceEngine> {
  const choice = options.engine ?? 'auto';
  const flag = options.flag ?? '--engine';
  const tfjs = (): Promise<InferenceEngine> =>
    startTfjsEngine(model, {
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
      ...(options.images !== undefined ? { images: options.images } : {}),
    });
  const threads = options.threads ?? defaultOnnxThreads();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new UserError(`threads must be a positive integer, got ${threads}`);
  }
  switch (choice) {
    case 'tfjs':
      return tfjs();
    case 'onnx': {
      const ort = await loadOnnxRuntime();
      if (ort === undefined) {
        throw new UserError(
          `${flag} onnx: onnxruntime-node is not installed (npm install onnxruntime-node), ` +
            'or its binary cannot load on this platform; use --engine tfjs',
        );
      }
      try {
        return await OnnxRuntimeEngine.create(ort, model, threads);
      } catch (err) {
        if (err instanceof UnsupportedLayerError) {
          throw new UserError(`${flag} onnx: ${err.message}; use --engine tfjs`);
        }
        throw err;
      }
    }
    case 'auto': {
      const ort = await loadOnnxRuntime();
      if (ort === undefined) return tfjs();
      try {
        return await OnnxRuntimeEngine.create(ort, model, threads);
      } catch (err) {
        if (err instanceof UnsupportedLayerError) return tfjs();
        throw err;
      }
    }
    default:
      throw new UserError(
        `${flag}: unknown engine '${String(choice)}'; expected one of ${ENGINE_CHOICES.join(', ')}`,
      );
  }
}

/**
 * `openInferenceEngine` with `options` as the engine factory that `evaluateRun` takes (the
 * number of images to predict bounds the TensorFlow.js workers).
 */
export function inferenceEngineFactory(
  options: InferenceEngineOptions = {},
): (model: tfl.LayersModel, images: number) => Promise<InferenceEngine> {
  return (model, images) => openInferenceEngine(model, { ...options, images });
}

/** An exported model.onnx opened in ONNX Runtime, and what it records. */
export interface OpenedOnnxExport extends OnnxExportInfo {
  /** The file (absolute). */
  file: string;
  /** ONNX Runtime predicting its `final` output; the caller disposes of it. */
  engine: OnnxRuntimeEngine;
}

/**
 * `dir/model.onnx` when `dir` is an ONNX export's folder (`ftunet export --format onnx`): it
 * holds model.onnx and neither model.json nor config.json. Undefined otherwise.
 */
export async function onnxExportFile(dir: string): Promise<string | undefined> {
  const has = async (name: string): Promise<boolean> =>
    stat(path.join(dir, name)).then(
      (s) => s.isFile(),
      () => false,
    );
  if (!(await has(ONNX_FILE)) || (await has(MODEL_JSON)) || (await has(RUN_CONFIG_FILE))) {
    return undefined;
  }
  return path.resolve(dir, ONNX_FILE);
}

/**
 * Opens an exported model.onnx in ONNX Runtime with `threads` intra-op threads (default one per
 * core). Throws a `UserError` when onnxruntime-node is missing, the file cannot be read or is
 * not an ONNX model as `ftunet export` writes it.
 */
export async function openOnnxExport(
  file: string,
  options: { threads?: number } = {},
): Promise<OpenedOnnxExport> {
  const threads = options.threads ?? defaultOnnxThreads();
  const ort = await loadOnnxRuntime();
  if (ort === undefined) {
    throw new UserError(
      `${file} is an ONNX model, which needs onnxruntime-node (npm install onnxruntime-node); ` +
        'it is not installed or its binary cannot load on this platform',
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new UserError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const info = readOnnxExportInfo(bytes, file);
  let engine: OnnxRuntimeEngine;
  try {
    engine = await OnnxRuntimeEngine.fromBytes(ort, bytes, 'final', threads);
  } catch (err) {
    throw new UserError(`${file}: ONNX Runtime cannot load it: ${(err as Error).message}`);
  }
  return { ...info, file, engine };
}
