/**
 * Prediction of single images of any size: convert the channels to the model's, resize to
 * its input size, predict with the `final` output (and, when asked, the attention map of
 * each gate), threshold, and resize the mask back to the image's size with nearest neighbour
 * as evaluation does; then, when asked, post-process the mask at the image's size (keep the
 * largest component, drop small ones: util/components.ts). An ensemble or test-time
 * augmentation is an engine (`AveragingEngine`, eval/ensemble.ts) whose mean probabilities
 * are thresholded. Browser-safe (tfjs and typed arrays only).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  checkInterpolation,
  checkThreshold,
  DEFAULT_THRESHOLD,
  postprocess,
  predictionRecipe,
  preprocess,
  toInput,
  type PredictionRecipe,
} from '../data/recipe.js';
import { UserError } from '../errors.js';
import { TfjsEngine, type InferenceEngine } from '../eval/engine.js';
import { predictWithMirror } from '../eval/ensemble.js';
import { finalOutputModel, modelInputShape } from '../eval/evaluate.js';
import { attentionGateNames, withAttentionMaps } from '../models/build.js';
import { describeAttentionGates } from '../models/registry.js';
import type { PostprocessOptions } from '../util/components.js';
import type { BinaryMask, Interpolation, RawImage } from '../util/raster.js';
import type { ValueMap } from './colormap.js';

/** Options of `Predictor`. */
export interface PredictorOptions {
  /** Lesion where p > threshold. Default 0.5. */
  threshold?: number;
  /** How images are resized to the input size. Default 'nearest' (as the reference). */
  interpolation?: Interpolation;
  /** Also return each attention gate's map; the model must have gates. Default false. */
  attention?: boolean;
  /**
   * What predicts the `final` output (the caller disposes of it), e.g. ONNX Runtime, or an
   * ensemble or test-time augmentation (`AveragingEngine`). With `attention`, the maps come
   * from the model's own unflipped pass in TensorFlow.js and the probabilities from the engine.
   * Default: TensorFlow.js in this thread (with `attention`: that same pass).
   */
  engine?: InferenceEngine;
  /** Post-processing of the mask at the image's size. Default: none. */
  postprocess?: PostprocessOptions;
  /**
   * Also predict the horizontal mirror, for quality control's flip check (eval/quality.ts;
   * shared with a test-time augmentation that mirrors). Default false.
   */
  quality?: boolean;
}

/** One gate's attention coefficients, at the gate's resolution. */
export interface AttentionMap extends ValueMap {
  data: Float32Array;
  /** The gate's layer name (`psi_sigmoid_1`, ...). */
  gate: string;
}

/**
 * A network known only through the engine that runs it (an ONNX export): its input
 * [rows, cols, channels]. `Predictor` then needs `engine`, and cannot give attention maps.
 */
export interface EngineNetwork {
  inputShape: [number, number, number];
}

/** Whether `model` is a TensorFlow.js model (not an `EngineNetwork`). */
export function isLayersModel(model: tfl.LayersModel | EngineNetwork): model is tfl.LayersModel {
  return 'getUserDefinedMetadata' in model;
}

/** The prediction of one image. */
export interface ImagePrediction {
  /** The binary mask (0/1) at the image's size, post-processed when asked. */
  mask: BinaryMask;
  /** The `final` output's probabilities at the input size, row-major. */
  probabilities: Float32Array;
  /** With `attention`: one map per gate, deepest first (1/16, 1/8, 1/4 of the input). */
  attention: AttentionMap[];
  /** With `quality`: the passes of the flip check at the input size (`predictWithMirror`). */
  passes?: { unflipped: Float32Array; mirrored: Float32Array };
}

/**
 * Predicts single images with a model. The predictor shares the model's weights: dispose of
 * the model when done, not of the predictor.
 */
export class Predictor {
  /** The model's input [rows, cols, channels]. */
  readonly inputShape: [number, number, number];
  /** The attention gates' layer names (empty without `attention`). */
  readonly gates: string[];
  readonly threshold: number;
  readonly interpolation: Interpolation;
  /** How an image becomes the input and the probabilities a mask (data/recipe.ts). */
  readonly recipe: PredictionRecipe;
  /** The `final` (and with `attention` the gates') model; undefined for an `EngineNetwork`. */
  private readonly net: tfl.LayersModel | undefined;
  private readonly engine: InferenceEngine | undefined;
  private readonly quality: boolean;
  /** With `quality` and attention maps: the `final` output alone, for the mirrored pass. */
  private readonly finalNet: tfl.LayersModel | undefined;

  constructor(model: tfl.LayersModel | EngineNetwork, options: PredictorOptions = {}) {
    this.threshold = options.threshold ?? DEFAULT_THRESHOLD;
    this.interpolation = options.interpolation ?? 'nearest';
    checkThreshold(this.threshold);
    checkInterpolation(this.interpolation);
    const layers = isLayersModel(model) ? model : undefined;
    this.inputShape =
      layers !== undefined
        ? modelInputShape(layers, `model '${layers.name}'`)
        : (model as EngineNetwork).inputShape;
    this.recipe = predictionRecipe({
      inputShape: this.inputShape,
      threshold: this.threshold,
      interpolation: this.interpolation,
      ...(options.postprocess ? { postprocess: options.postprocess } : {}),
    });
    this.engine = options.engine;
    this.quality = options.quality ?? false;
    this.finalNet =
      layers !== undefined && options.attention && this.quality
        ? finalOutputModel(layers)
        : undefined;
    if (layers === undefined) {
      if (options.engine === undefined) {
        throw new UserError('engine: a model known only by its input shape needs an engine');
      }
      if (options.attention) {
        throw new UserError(
          'attention maps need the TensorFlow.js model (its gates); an ONNX model has none',
        );
      }
      this.gates = [];
      this.net = undefined;
    } else if (options.attention) {
      this.gates = attentionGateNames(layers);
      if (this.gates.length === 0) {
        throw new UserError(
          `attention maps were asked for, but model '${layers.name}' has no attention ` +
            `gates (${describeAttentionGates()})`,
        );
      }
      this.net = withAttentionMaps(layers);
    } else {
      this.gates = [];
      this.net = finalOutputModel(layers);
    }
  }

  /** The image as the network sees it: channels converted, resized to the input size. */
  preprocess(image: RawImage): RawImage {
    return preprocess(this.recipe, image);
  }

  /** The preprocessed image scaled (the recipe's `toInput`), as a [1, rows, cols, channels] tensor. */
  private input(x: RawImage): tf.Tensor4D {
    const [h, w, c] = this.inputShape;
    return tf.tensor4d(toInput(this.recipe, [x]), [1, h, w, c], 'float32');
  }

  /** Predicts one image (8-bit, 1 to 4 channels, any size). */
  async predict(image: RawImage): Promise<ImagePrediction> {
    const x = this.preprocess(image);
    const net = this.net;
    if (this.gates.length === 0 || net === undefined) {
      const engine = this.engine ?? new TfjsEngine(net!);
      const xs = this.input(x);
      try {
        if (this.quality) {
          const { probabilities, unflipped, mirrored } = await predictWithMirror(engine, xs);
          return {
            mask: this.maskOf(probabilities, image),
            probabilities,
            attention: [],
            passes: { unflipped, mirrored },
          };
        }
        const probabilities = await engine.predict(xs);
        return { mask: this.maskOf(probabilities, image), probabilities, attention: [] };
      } finally {
        xs.dispose();
      }
    }
    const outputs = tf.tidy(() => {
      const out = net.predict(this.input(x));
      return Array.isArray(out) ? out : [out];
    });
    let values: Float32Array[];
    try {
      values = (await Promise.all(outputs.map((t) => t.data()))) as Float32Array[];
    } finally {
      tf.dispose(outputs);
    }
    const attention = this.gates.map((gate, k) => {
      const [, mh, mw] = outputs[k + 1].shape;
      return { data: values[k + 1], height: mh, width: mw, gate };
    });
    let probabilities = values[0];
    let passes: ImagePrediction['passes'];
    if (this.engine !== undefined || this.quality) {
      const xs = this.input(x);
      try {
        if (this.quality) {
          const engine = this.engine ?? new TfjsEngine(this.finalNet!);
          const got = await predictWithMirror(engine, xs);
          if (this.engine !== undefined) probabilities = got.probabilities;
          passes = { unflipped: got.unflipped, mirrored: got.mirrored };
        } else {
          probabilities = await this.engine!.predict(xs);
        }
      } finally {
        xs.dispose();
      }
    }
    return {
      mask: this.maskOf(probabilities, image),
      probabilities,
      attention,
      ...(passes !== undefined ? { passes } : {}),
    };
  }

  /** Thresholded, resized to the image's size, post-processed when asked (the recipe's steps 4 to 6). */
  private maskOf(probabilities: Float32Array, image: RawImage): BinaryMask {
    return postprocess(this.recipe, probabilities, [image.height, image.width]).mask;
  }
}
