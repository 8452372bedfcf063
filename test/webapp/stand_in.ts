/**
 * Stand-ins for the web app's unit tests (Node, no browser): a prediction of a tiny image and
 * an engine that thresholds it as the `Segmenter` does (the recipe's `thresholdProbabilities`
 * and nearest-neighbour `resizeMask`), without a network.
 */
import type { LoadedModel } from '../../src/browser/model.js';
import type { Segmentation } from '../../src/browser/segmenter.js';
import { thresholdProbabilities } from '../../src/eval/score.js';
import { resizeMask, type RawImage } from '../../src/util/raster.js';
import type { Engine } from '../../src/webapp/state.js';

/** A grey image of `height` x `width` whose pixel i is `i % 256`. */
export function greyImage(height: number, width: number): RawImage {
  const data = Uint8Array.from({ length: height * width }, (_, i) => i % 256);
  return { data, height, width, channels: 1 };
}

/** A prediction at a 2x2 input of an image of `imageSize`: probabilities 0.2, 0.4, 0.6, 0.8. */
export function prediction(imageSize: [number, number], engine = 'stand-in'): Segmentation {
  return {
    probabilities: Float32Array.from([0.2, 0.4, 0.6, 0.8]),
    inputSize: [2, 2],
    imageSize,
    attention: [],
    timing: { preprocessMs: 1.4, networkMs: 12.6, totalMs: 14 },
    engine,
  };
}

/**
 * An engine with the recorded threshold `threshold`, a 2x2x`channels` model whose
 * `userDefinedMetadata` is `userMetadata`, and the `Segmenter`'s mask arithmetic.
 */
export function standInEngine(
  options: { threshold?: number; channels?: number; userMetadata?: unknown } = {},
): Engine {
  const threshold = options.threshold ?? 0.5;
  const channels = options.channels ?? 1;
  const loaded = {
    model: { getUserDefinedMetadata: () => options.userMetadata },
    metadata: {
      model: 'attn_reg',
      predict: { inputShape: [2, 2, channels], interpolation: 'bilinear', threshold },
    },
    exported: true,
    gates: [],
    source: 'model/model.json',
  } as unknown as LoadedModel;
  return {
    loaded,
    threshold,
    engineLabel: 'stand-in',
    threads: 1,
    gpu: {},
    preprocess: (image: RawImage) => image,
    predict: (image: RawImage) => Promise.resolve(prediction([image.height, image.width])),
    mask: (p: Segmentation, t = threshold) =>
      resizeMask(thresholdProbabilities(p.probabilities, p.inputSize, t), p.imageSize),
    dispose: () => Promise.resolve(),
  } as Engine;
}
