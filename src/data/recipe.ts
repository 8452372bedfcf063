/**
 * The prediction recipe: how an 8-bit image of any size becomes the network's input, and how
 * the network's probabilities become a mask at the image's size. The one executable
 * definition: `ftunet predict` (predict/predictor.ts), the web app (browser/segmenter.ts),
 * evaluation (eval/score.ts), data loading (data/load.ts, data/synthetic) and training batches
 * (data/batch.ts) call these steps, and an export records the recipe as JSON
 * (export/metadata.ts: model.json's `userDefinedMetadata.ftunetExport.predict`, and the same
 * JSON in model.onnx's metadata_props) so that any program can reproduce `ftunet predict`.
 *
 * The steps, as `preprocess`, `toInput` and `postprocess` run them:
 *   1. channels converted to the input's (`convertChannels`: alpha dropped, BT.601 luma with
 *      Pillow's integer weights for grey, grey copied for RGB);
 *   2. resized to `inputShape` with `interpolation` (`resizeImage`);
 *   3. scaled to [0, 1] by dividing by 255 (`scaling: 'divide-by-255'`);
 *   4. the `output`'s probabilities thresholded: lesion where p > `threshold`;
 *   5. the mask resized back to the image's size with nearest neighbour (`maskResize`);
 *   6. the mask post-processed at the image's size (`postprocess`: drop components under
 *      `minSize` pixels, then with `keepLargest` keep the largest; none by default).
 *
 * Pure (typed arrays, no tensors, no Node-only API): the web app bundles it.
 */
import * as v from 'valibot';
import { UserError } from '../errors.js';
import { postprocessMask, type PostprocessOptions } from '../util/components.js';
import {
  convertChannels,
  DEFAULT_INTERPOLATION,
  INTERPOLATIONS,
  resizeImage,
  resizeMask,
  type BinaryMask,
  type Interpolation,
  type RawImage,
} from '../util/raster.js';

/** The default probability threshold: lesion where p > 0.5 (the reference's rounding). */
export const DEFAULT_THRESHOLD = 0.5;

/** Step 3's only rule: input = uint8 / 255. */
export type Scaling = 'divide-by-255';
export const SCALINGS: readonly Scaling[] = ['divide-by-255'];

/** Step 6: what is done to the mask at the image's size. */
export interface MaskPostprocess {
  /** Keep only the largest 8-connected component. */
  keepLargest: boolean;
  /** Drop 8-connected components of fewer pixels than this (0: keep all). */
  minSize: number;
}

/** No post-processing: the mask as thresholded and resized. */
export const NO_POSTPROCESS: Readonly<MaskPostprocess> = { keepLargest: false, minSize: 0 };

/** Steps 1 to 6 above. */
export interface PredictionRecipe {
  /** The network's input [rows, cols, channels] (channels 1 or 3). */
  inputShape: [number, number, number];
  /** Step 3: input = uint8 / 255. */
  scaling: Scaling;
  /** Step 2. */
  interpolation: Interpolation;
  /** Step 4: lesion where p > threshold. */
  threshold: number;
  /** Step 5. */
  maskResize: 'nearest';
  /** The output name that holds the prediction. */
  output: 'final';
  /** Step 6. */
  postprocess: MaskPostprocess;
}

/** Options of `predictionRecipe`: the input shape and any step that differs from the default. */
export interface PredictionRecipeOptions {
  /** The network's input [rows, cols, 1 or 3]. Required. */
  inputShape: readonly [number, number, number];
  /** Default 'nearest' (as the reference). */
  interpolation?: Interpolation;
  /** Default `DEFAULT_THRESHOLD` (0.5). */
  threshold?: number;
  /** Default: none. */
  postprocess?: PostprocessOptions;
}

/** Throws unless `threshold` is a number from 0 to 1; `name` names the option or flag. */
export function checkThreshold(threshold: number, name = 'threshold'): void {
  if (!(typeof threshold === 'number' && threshold >= 0 && threshold <= 1)) {
    throw new UserError(`${name} must be a number from 0 to 1, got ${threshold}`);
  }
}

/** Throws unless `channels` is 1 (grey) or 3 (RGB), the inputs the recipe converts to. */
export function checkInputChannels(channels: number): asserts channels is 1 | 3 {
  if (channels !== 1 && channels !== 3) {
    throw new UserError(
      `the model takes ${channels}-channel images; only 1 (grey) and 3 (RGB) are supported`,
    );
  }
}

/** Throws unless `interpolation` is one of `INTERPOLATIONS`. */
export function checkInterpolation(interpolation: Interpolation, name = 'interpolation'): void {
  if (!INTERPOLATIONS.includes(interpolation)) {
    throw new UserError(
      `${name}: unknown interpolation '${String(interpolation)}'; expected one of ` +
        INTERPOLATIONS.join(', '),
    );
  }
}

/** A checked recipe with every default filled in (see `PredictionRecipeOptions`). */
export function predictionRecipe(options: PredictionRecipeOptions): PredictionRecipe {
  const [h, w, c] = options.inputShape;
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  const interpolation = options.interpolation ?? DEFAULT_INTERPOLATION;
  checkThreshold(threshold);
  checkInterpolation(interpolation);
  checkInputChannels(c);
  return {
    inputShape: [h, w, c],
    scaling: 'divide-by-255',
    interpolation,
    threshold,
    maskResize: 'nearest',
    output: 'final',
    postprocess: {
      keepLargest: options.postprocess?.keepLargest ?? false,
      minSize: options.postprocess?.minSize ?? 0,
    },
  };
}

/** What steps 1 and 2 read of a recipe (a data set's loading knows no threshold). */
export interface ImageRecipe {
  readonly inputShape: readonly [number, number, number];
  readonly interpolation: Interpolation;
}

/**
 * Steps 1 and 2: the image (8-bit, 1 to 4 channels, any size) as the network sees it, its
 * channels converted and resized to the input's rows and cols.
 */
export function preprocess(recipe: ImageRecipe, image: RawImage): RawImage {
  const [h, w, c] = recipe.inputShape;
  checkInputChannels(c);
  return resizeImage(convertChannels(image, c), [h, w], recipe.interpolation);
}

/**
 * A mask (0/1) as the network's target: resized to the input's rows and cols with nearest
 * neighbour (step 5's rule, the only one that keeps it binary).
 */
export function preprocessMask(
  recipe: Pick<ImageRecipe, 'inputShape'>,
  mask: BinaryMask,
): BinaryMask {
  return resizeMask(mask, [recipe.inputShape[0], recipe.inputShape[1]]);
}

/**
 * Step 3 on one image's 8-bit values: written into `out` from `offset`. The loop that
 * `toInput` and training batches (data/batch.ts) share.
 */
export function scaleInto(
  scaling: Scaling,
  values: ArrayLike<number>,
  out: Float32Array,
  offset = 0,
): void {
  switch (scaling) {
    case 'divide-by-255':
      for (let i = 0; i < values.length; i++) out[offset + i] = values[i] / 255;
      return;
    default:
      throw new UserError(
        `unknown scaling '${String(scaling)}'; expected one of ${SCALINGS.join(', ')}`,
      );
  }
}

/**
 * Step 3: preprocessed images (one size and channel count) as the network's input, NHWC
 * float32, one image after another.
 */
export function toInput(
  recipe: Pick<PredictionRecipe, 'scaling'>,
  images: readonly RawImage[],
): Float32Array {
  if (images.length === 0) throw new UserError('no images to predict');
  const { height: h, width: w, channels: c } = images[0];
  const size = h * w * c;
  const x = new Float32Array(images.length * size);
  images.forEach((img, k) => {
    if (img.height !== h || img.width !== w || img.channels !== c || img.data.length !== size) {
      throw new UserError(
        `the images of a batch differ in size: image ${k} is ${img.height}x${img.width}x${img.channels}, ` +
          `image 0 is ${h}x${w}x${c}`,
      );
    }
    scaleInto(recipe.scaling, img.data, x, k * size);
  });
  return x;
}

/**
 * Step 4: a binary mask (0/1) of the pixels of a probability map whose value is above
 * `threshold`. `probabilities` holds `size[0] * size[1]` values, row-major.
 */
export function thresholdProbabilities(
  probabilities: ArrayLike<number>,
  size: readonly [number, number],
  threshold = DEFAULT_THRESHOLD,
): BinaryMask {
  const [height, width] = size;
  checkThreshold(threshold);
  if (probabilities.length !== height * width) {
    throw new UserError(
      `a ${height}x${width} probability map needs ${height * width} values, got ` +
        `${probabilities.length}`,
    );
  }
  const data = new Uint8Array(height * width);
  for (let i = 0; i < data.length; i++) data[i] = probabilities[i] > threshold ? 1 : 0;
  return { data, height, width };
}

/**
 * What steps 4 to 6 read of a recipe: a `PredictionRecipe`, or the input's rows and cols, the
 * threshold and the post-processing of a caller that knows no more (scoring a probability map).
 */
export interface MaskRecipe {
  readonly inputShape: readonly [number, number, ...number[]];
  readonly threshold: number;
  /** Step 6; none when absent. */
  readonly postprocess?: PostprocessOptions;
}

/** Step 6 alone, on a mask at the image's size (a new mask when `postprocess` is given). */
export function postprocessAtImageSize(
  recipe: Pick<MaskRecipe, 'postprocess'>,
  mask: BinaryMask,
): BinaryMask {
  return recipe.postprocess ? postprocessMask(mask, recipe.postprocess) : mask;
}

/** What `postprocess` makes of a probability map. */
export interface RecipeMasks {
  /** The mask at the image's size (0/1): thresholded, resized, post-processed. */
  mask: BinaryMask;
  /** The thresholded mask at the input size (step 4, before it is resized). */
  inputMask: BinaryMask;
}

/**
 * Steps 4 to 6: the network's probabilities at the input size (rows x cols values,
 * row-major) to the mask at `imageSize` [rows, cols].
 */
export function postprocess(
  recipe: MaskRecipe,
  probabilities: ArrayLike<number>,
  imageSize: readonly [number, number],
): RecipeMasks {
  const [h, w] = recipe.inputShape;
  const inputMask = thresholdProbabilities(probabilities, [h, w], recipe.threshold);
  const mask = postprocessAtImageSize(recipe, resizeMask(inputMask, imageSize));
  return { mask, inputMask };
}

const isInputShape = (x: unknown): x is [number, number, number] =>
  Array.isArray(x) &&
  x.length === 3 &&
  x.every((n) => Number.isInteger(n) && (n as number) > 0) &&
  (x[2] === 1 || x[2] === 3);

const THRESHOLD_MESSAGE = 'must be a number from 0 to 1';
const MIN_SIZE_MESSAGE = 'must be an integer >= 0';

/** The JSON of a `PredictionRecipe`, as exports record it (messages name the field). */
export const PREDICTION_RECIPE_SCHEMA = v.object(
  {
    inputShape: v.custom<[number, number, number]>(isInputShape, 'must be [rows, cols, 1 or 3]'),
    scaling: v.picklist(SCALINGS, 'must be "divide-by-255"'),
    interpolation: v.picklist(INTERPOLATIONS, `must be one of ${INTERPOLATIONS.join(', ')}`),
    threshold: v.pipe(
      v.number(THRESHOLD_MESSAGE),
      v.minValue(0, THRESHOLD_MESSAGE),
      v.maxValue(1, THRESHOLD_MESSAGE),
    ),
    maskResize: v.literal('nearest', 'must be "nearest"'),
    output: v.literal('final', 'must be "final"'),
    postprocess: v.object(
      {
        keepLargest: v.boolean('must be true or false'),
        minSize: v.pipe(
          v.number(MIN_SIZE_MESSAGE),
          v.integer(MIN_SIZE_MESSAGE),
          v.minValue(0, MIN_SIZE_MESSAGE),
        ),
      },
      'must be {"keepLargest": true|false, "minSize": <integer >= 0>}',
    ),
  },
  'must be an object',
);
