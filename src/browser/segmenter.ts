/**
 * `Segmenter`: lesion segmentation of images in a browser, as `ftunet predict` does it on the
 * command line: the steps of the recorded recipe (data/recipe.ts: channels converted, resized
 * with the recorded interpolation, divided by 255, the `final` output thresholded, the mask
 * resized back with nearest neighbour, post-processed as recorded). The probabilities are kept, so `mask` re-thresholds without
 * running the network again; so is the pass on the image's mirror, for quality control. When the engine fails (a backend that cannot start, a WebGL
 * context lost in the middle of a prediction), the next candidate engine takes over and the
 * image is predicted again; `onFallback` is told. Browser-only.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import {
  checkThreshold,
  postprocess,
  preprocess,
  toInput,
  type PredictionRecipe,
} from '../data/recipe.js';
import type { BinaryMask, RawImage } from '../util/raster.js';
import { flipValues, mirrorColumns, type Flip } from '../eval/ensemble.js';
import { probeGpu, startEngine, type BrowserEngine, type GateMap } from './engine.js';
import {
  engineCandidates,
  specLabel,
  type BrowserBackendChoice,
  type BrowserEngineChoice,
  type EngineSpec,
  type GpuInfo,
} from './engine_choice.js';
import type { LoadedModel } from './model.js';

/** Options of `Segmenter.create`. */
export interface SegmenterOptions {
  /** The URL of the folder of the wasm binaries, ending in '/' (see `EngineEnvironment`). */
  wasmPath: string;
  /** Default 'auto' (see `engineCandidates`). */
  backend?: BrowserBackendChoice;
  /** Default 'auto'. */
  engine?: BrowserEngineChoice;
  /** Wasm threads. Default: one per core when cross-origin isolated, else 1. */
  threads?: number;
  /** Also compute each attention gate's map. Default: true when the model has gates. */
  attention?: boolean;
  /** Told when an engine failed and another takes over. */
  onFallback?: (failed: string, reason: string, next: string) => void;
}

/** The prediction of one image. */
export interface Segmentation {
  /** The `final` probabilities at the input size, row-major. */
  probabilities: Float32Array;
  /** The input size [rows, cols]. */
  inputSize: [number, number];
  /** The image's size [rows, cols]. */
  imageSize: [number, number];
  /** Each gate's map, deepest first. */
  attention: GateMap[];
  /**
   * The prediction of the image's horizontal mirror, mirrored back, at the input size: the
   * second pass of quality control's flip check (eval/quality.ts).
   */
  mirrored?: Float32Array;
  /**
   * The passes of the other flips asked for (`SegmentOptions.flips`: vertical, both), each
   * mapped back, at the input size, in the order asked.
   */
  flipped?: { flip: Flip; values: Float32Array }[];
  /** The image as the network saw it (channels converted, resized to the input size). */
  input?: RawImage;
  /** Milliseconds: preprocessing, the network, in all. */
  timing: { preprocessMs: number; networkMs: number; totalMs: number };
  /** The engine that predicted it ('onnxruntime-wasm', 'tfjs-webgl', ...). */
  engine: string;
}

/** Options of `Segmenter.predict`. */
export interface SegmentOptions {
  /**
   * More passes, on these flips of the image (test-time augmentation's vertical and double
   * mirrors; the image as it is and its horizontal mirror are always run). Default none.
   */
  flips?: readonly Flip[];
}

export class Segmenter {
  private engine: BrowserEngine;
  private candidates: EngineSpec[];
  /**
   * The model's weights on the CPU, taken when the segmenter was made: a GPU backend holds
   * them alone once it has run, and a lost WebGL context loses them with it.
   */
  private readonly weights: { data: Float32Array; shape: number[] }[];

  private constructor(
    readonly loaded: LoadedModel,
    private readonly options: SegmenterOptions & { attention: boolean },
    readonly gpu: GpuInfo,
    engine: BrowserEngine,
    rest: EngineSpec[],
    weightsSnapshot: { data: Float32Array; shape: number[] }[],
  ) {
    this.engine = engine;
    this.candidates = rest;
    this.weights = weightsSnapshot;
  }

  /** Starts the first engine of the candidates that works. */
  static async create(loaded: LoadedModel, options: SegmenterOptions): Promise<Segmenter> {
    const gpu = await probeGpu();
    const candidates = engineCandidates(options.backend ?? 'auto', options.engine ?? 'auto', gpu);
    const opts = { ...options, attention: options.attention ?? loaded.gates.length > 0 };
    const weights = loaded.model
      .getWeights()
      .map((w) => ({ data: Float32Array.from(w.dataSync()), shape: w.shape }));
    const { engine, rest } = await startFirst(loaded, opts, candidates, options.onFallback);
    return new Segmenter(loaded, opts, gpu, engine, rest, weights);
  }

  /** What runs now: 'onnxruntime-wasm', 'tfjs-webgl', ... */
  get engineLabel(): string {
    return specLabel(this.engine.spec);
  }

  /** The threads of the engine that runs now. */
  get threads(): number {
    return this.engine.threads;
  }

  /** The recorded recipe (the defaults for a model folder saved by training). */
  get recipe(): PredictionRecipe {
    return this.loaded.metadata.predict;
  }

  /** The recorded threshold. */
  get threshold(): number {
    return this.recipe.threshold;
  }

  /** The image as the network sees it: channels converted, resized to the input size. */
  preprocess(image: RawImage): RawImage {
    return preprocess(this.recipe, image);
  }

  /** Predicts one image (8-bit, 1 to 4 channels, any size). */
  async predict(image: RawImage, options: SegmentOptions = {}): Promise<Segmentation> {
    const t0 = performance.now();
    const [h, w, c] = this.recipe.inputShape;
    const input = this.preprocess(image);
    const x = toInput(this.recipe, [input]);
    const t1 = performance.now();
    for (;;) {
      try {
        const out = await this.engine.run(x, [1, h, w, c]);
        const mirror = await this.engine.run(mirrorColumns(x, 1, h, w, c), [1, h, w, c]);
        const flipped: { flip: Flip; values: Float32Array }[] = [];
        for (const flip of options.flips ?? []) {
          const pass = await this.engine.run(flipValues(x, 1, h, w, c, flip), [1, h, w, c]);
          flipped.push({ flip, values: flipValues(pass.final, 1, h, w, 1, flip) });
        }
        const t2 = performance.now();
        return {
          probabilities: out.final,
          mirrored: mirrorColumns(mirror.final, 1, h, w, 1),
          ...(flipped.length > 0 ? { flipped } : {}),
          input,
          inputSize: [h, w],
          imageSize: [image.height, image.width],
          attention: out.attention,
          timing: { preprocessMs: t1 - t0, networkMs: t2 - t1, totalMs: t2 - t0 },
          engine: this.engineLabel,
        };
      } catch (err) {
        const failed = this.engineLabel;
        if (this.candidates.length === 0) {
          throw new UserError(`${failed} failed and no other engine is left: ${describe(err)}`);
        }
        await this.engine.dispose().catch(() => undefined);
        await this.restoreWeights();
        const next = await startFirst(
          this.loaded,
          this.options,
          this.candidates,
          this.options.onFallback,
          {
            failed,
            reason: describe(err),
          },
        );
        this.engine = next.engine;
        this.candidates = next.rest;
      }
    }
  }

  /**
   * Puts the weights back from the CPU copy, on the cpu backend: after a GPU backend failed,
   * its copy of them may be gone. The next engine moves them where it needs them.
   */
  private async restoreWeights(): Promise<void> {
    await tf.setBackend('cpu');
    tf.tidy(() => {
      this.loaded.model.setWeights(this.weights.map((w) => tf.tensor(w.data, w.shape, 'float32')));
    });
  }

  /**
   * The mask (0/1) at the image's size: lesion where p > `threshold` (default: recorded),
   * resized back and post-processed as the recipe records.
   */
  mask(result: Segmentation, threshold = this.threshold): BinaryMask {
    checkThreshold(threshold);
    return postprocess({ ...this.recipe, threshold }, result.probabilities, result.imageSize).mask;
  }

  async dispose(): Promise<void> {
    await this.engine.dispose();
  }
}

/** Starts the first candidate that works; reports each that does not. */
async function startFirst(
  loaded: LoadedModel,
  options: SegmenterOptions & { attention: boolean },
  candidates: EngineSpec[],
  onFallback: SegmenterOptions['onFallback'],
  previous?: { failed: string; reason: string },
): Promise<{ engine: BrowserEngine; rest: EngineSpec[] }> {
  let failure = previous;
  const reasons: string[] = previous ? [`${previous.failed}: ${previous.reason}`] : [];
  for (let i = 0; i < candidates.length; i++) {
    const spec = candidates[i];
    if (failure) onFallback?.(failure.failed, failure.reason, specLabel(spec));
    try {
      const engine = await startEngine(spec, loaded.model, {
        wasmPath: options.wasmPath,
        ...(options.threads !== undefined ? { threads: options.threads } : {}),
        attention: options.attention,
      });
      return { engine, rest: candidates.slice(i + 1) };
    } catch (err) {
      failure = { failed: specLabel(spec), reason: describe(err) };
      reasons.push(`${failure.failed}: ${failure.reason}`);
    }
  }
  throw new UserError(`no engine could run the model in this browser (${reasons.join('; ')})`);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
