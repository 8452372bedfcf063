/**
 * Prediction of image files, as `ftunet predict` runs it: the inputs are files or folders of
 * images; for each image `<stem>_mask.png` (0/255, the image's size), `<stem>_overlay.png`
 * (the mask's outline or tint over the image), with `saveProbabilities` `<stem>_prob.png` (16-bit
 * grey, round(p x 65535), see probability_map.ts) and, with attention maps,
 * `<stem>_attention_<k>.png` (gate k's coefficients as a viridis heat map at the image's
 * size; k = 1 is the deepest gate) are written atomically into the output folder. Unreadable
 * inputs are reported through a callback and skipped. When the model records its training
 * images' statistics, the images unlike them are counted and reported in one warning.
 * Node-only (fs, sharp).
 */
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { listFew, plural } from '../util/messages.js';
import { listImageFolder } from '../data/listing.js';
import { UserError } from '../errors.js';
import { checkMaxPixels, decodeImage, DEFAULT_MAX_PIXELS, ImageReadError } from '../io/image.js';
import { writeGrey16Png, writeImage, writeMask } from '../io/write.js';
import { DriftCheck, inputStatisticsOf } from '../data/input_statistics.js';
import {
  checkQuality,
  summarizeQuality,
  type QualityCheck,
  type QualitySummary,
} from '../eval/quality.js';
import type { PostprocessOptions } from '../util/components.js';
import { probabilityMap16 } from './probability_map.js';
import { lesionFraction, type Interpolation } from '../util/raster.js';
import { heatmapImage } from './colormap.js';
import { overlayMask, type OverlayOptions } from './overlay.js';
import type { InferenceEngine } from '../eval/engine.js';
import { isLayersModel, Predictor, type EngineNetwork } from './predictor.js';

/** An input that could not be used, and why. */
export interface InputFailure {
  /** The path as given (or inside a given folder). */
  input: string;
  reason: string;
}

/** The image files found in the inputs. */
export interface CollectedInputs {
  /** Image files to predict, in the order given (a folder's files sorted by name). */
  files: string[];
  /** Inputs that are missing, or folders without images. */
  failed: InputFailure[];
  /** Entries of input folders that are not images (`folder/name`). */
  skipped: string[];
}

/** The output file names of an image stem. */
export function outputFileNames(
  stem: string,
  gates: number,
): { mask: string; overlay: string; probabilities: string; attention: string[] } {
  return {
    mask: `${stem}_mask.png`,
    overlay: `${stem}_overlay.png`,
    probabilities: `${stem}_prob.png`,
    attention: Array.from({ length: gates }, (_, k) => `${stem}_attention_${k + 1}.png`),
  };
}

/**
 * Expands the inputs: a file is taken as it is (whatever its extension: the decoder decides),
 * a folder gives its image files (not its sub-folders). A path given twice counts once. Two
 * images with the same stem would write the same output files: that is a `UserError` naming
 * them, raised before anything is predicted.
 */
export async function collectInputs(inputs: readonly string[]): Promise<CollectedInputs> {
  if (inputs.length === 0) throw new UserError('no inputs given: name image files or folders');
  const files: string[] = [];
  const failed: InputFailure[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  const add = (file: string): void => {
    const key = path.resolve(file);
    if (!seen.has(key)) {
      seen.add(key);
      files.push(file);
    }
  };
  for (const input of inputs) {
    let isDir: boolean;
    try {
      isDir = (await stat(input)).isDirectory();
    } catch {
      failed.push({ input, reason: 'no such file or folder' });
      continue;
    }
    if (!isDir) {
      add(input);
      continue;
    }
    const listing = await listImageFolder(input, input.replace(/[/\\]+$/, ''));
    skipped.push(...listing.skipped);
    if (listing.files.length === 0) failed.push({ input, reason: 'no images in this folder' });
    for (const f of listing.files) add(path.join(input, f.name));
  }
  const byStem = new Map<string, string[]>();
  for (const f of files) {
    const stem = path.parse(f).name;
    byStem.set(stem, [...(byStem.get(stem) ?? []), f]);
  }
  const clashes = [...byStem.entries()].filter(([, list]) => list.length > 1);
  if (clashes.length > 0) {
    throw new UserError(
      `${plural(clashes.length, 'name')} would be written twice (inputs with the same stem): ` +
        listFew(
          clashes.map(([stem, list]) => `${stem} (${list.join(', ')})`),
          3,
        ),
    );
  }
  return { files, failed, skipped };
}

/** The files written for one image. */
export interface PredictedImage {
  input: string;
  /** [rows, cols] of the image and of every file written for it. */
  size: [number, number];
  /** Fraction of the image predicted as lesion. */
  lesionArea: number;
  mask: string;
  overlay: string;
  /** The 16-bit probability map, with `saveProbabilities`. */
  probabilities?: string;
  /** One heat map per gate, with attention maps. */
  attention: string[];
  /** Quality control of the mask (eval/quality.ts), unless turned off. */
  qc?: QualityCheck;
}

/** Progress of `predictFiles`: images done (written or failed) of the readable inputs found. */
export interface PredictProgress {
  done: number;
  total: number;
  input: string;
}

/** Options of `predictFiles`. */
export interface PredictFilesOptions {
  /**
   * The model (the caller disposes of it), or a network known only by its input shape, which
   * `engine` runs (an ONNX export). Required.
   */
  model: tfl.LayersModel | EngineNetwork;
  /** Image files and folders of images. Required, at least one. */
  inputs: readonly string[];
  /** The output folder (created). Required. */
  out: string;
  /** Write each attention gate's heat map; the model must have gates. Default false. */
  attention?: boolean;
  /** Lesion where p > threshold. Default 0.5. */
  threshold?: number;
  /** How images are resized to the input size. Default 'nearest'. */
  interpolation?: Interpolation;
  /**
   * What predicts the `final` output, e.g. ONNX Runtime (the caller disposes of it); not with
   * `attention`. Default: TensorFlow.js in this thread.
   */
  engine?: InferenceEngine;
  /** Also write `<stem>_prob.png`, the 16-bit probability map. Default false. */
  saveProbabilities?: boolean;
  /** Post-processing of each mask at the image's size. Default: none. */
  postprocess?: PostprocessOptions;
  /**
   * Quality control of each mask (eval/quality.ts): one more pass on the mirrored image (none
   * with a test-time augmentation that mirrors) and the training statistics the model records
   * (a model known only by its engine has none: only confidence and flip are checked).
   * Default true.
   */
  quality?: boolean;
  /** How the overlay is drawn. Default: `overlayMask`'s defaults (a green contour). */
  overlay?: OverlayOptions;
  /**
   * The most pixels an image may have, read from its header before it is decoded; a larger one
   * is reported as a failure naming its size. Default `DEFAULT_MAX_PIXELS` (100 megapixels).
   */
  maxPixels?: number;
  /** Receives each input that cannot be used, as it happens. Default: none. */
  onFailure?: (failure: InputFailure) => void;
  /** Receives progress after each image. Default: none. */
  onProgress?: (progress: PredictProgress) => void;
}

/** What `predictFiles` did. */
export interface PredictFilesResult {
  predicted: PredictedImage[];
  failed: InputFailure[];
  /** Entries of input folders that are not images. */
  skipped: string[];
  /**
   * One line when some images do not look like the model's training images (see
   * data/input_statistics.ts); absent otherwise, or when the model records no statistics.
   */
  driftWarning?: string;
  /** The verdicts of quality control counted, with `quality`. */
  qc?: QualitySummary;
}

/**
 * Predicts every image of the inputs and writes its files (see the module doc). Missing and
 * unreadable inputs are reported through `onFailure`, listed in the result and skipped;
 * anything else (an unwritable output folder, a bug) throws.
 */
export async function predictFiles(options: PredictFilesOptions): Promise<PredictFilesResult> {
  const maxPixels = checkMaxPixels(options.maxPixels ?? DEFAULT_MAX_PIXELS);
  const predictor = new Predictor(options.model, {
    ...(options.threshold !== undefined ? { threshold: options.threshold } : {}),
    ...(options.interpolation !== undefined ? { interpolation: options.interpolation } : {}),
    attention: options.attention ?? false,
    ...(options.engine !== undefined ? { engine: options.engine } : {}),
    ...(options.postprocess !== undefined ? { postprocess: options.postprocess } : {}),
    quality: options.quality ?? true,
  });
  const recorded = isLayersModel(options.model)
    ? inputStatisticsOf(options.model.getUserDefinedMetadata())
    : undefined;
  const stats = recorded?.channels === predictor.inputShape[2] ? recorded : undefined;
  const drift = stats !== undefined ? new DriftCheck(stats) : undefined;
  const collected = await collectInputs(options.inputs);
  const failed: InputFailure[] = [];
  const fail = (f: InputFailure): void => {
    failed.push(f);
    options.onFailure?.(f);
  };
  collected.failed.forEach(fail);
  try {
    await mkdir(options.out, { recursive: true });
  } catch (err) {
    throw new UserError(
      `cannot create the output folder ${options.out}: ${(err as Error).message}`,
    );
  }
  const predicted: PredictedImage[] = [];
  const total = collected.files.length;
  for (const [i, input] of collected.files.entries()) {
    let image;
    try {
      image = await decodeImage(input, 3, { maxPixels });
    } catch (err) {
      if (!(err instanceof ImageReadError)) throw err;
      fail({ input, reason: err.reason });
      options.onProgress?.({ done: i + 1, total, input });
      continue;
    }
    const seen = predictor.preprocess(image).data;
    drift?.add(seen);
    const result = await predictor.predict(image);
    const lesionArea = lesionFraction(result.mask.data);
    const qc =
      result.passes !== undefined
        ? checkQuality({
            ...(stats !== undefined ? { stats } : {}),
            pixels: seen,
            probabilities: result.probabilities,
            passes: result.passes,
            threshold: predictor.threshold,
            lesionArea,
          })
        : undefined;
    const names = outputFileNames(path.parse(input).name, result.attention.length);
    const size: [number, number] = [image.height, image.width];
    const files = {
      mask: path.join(options.out, names.mask),
      overlay: path.join(options.out, names.overlay),
      attention: names.attention.map((n) => path.join(options.out, n)),
    };
    await writeMask(files.mask, result.mask);
    let probabilities: string | undefined;
    if (options.saveProbabilities) {
      probabilities = path.join(options.out, names.probabilities);
      const map = probabilityMap16(
        result.probabilities,
        [predictor.inputShape[0], predictor.inputShape[1]],
        size,
        predictor.threshold,
      );
      await writeGrey16Png(probabilities, map, size[0], size[1]);
    }
    await writeImage(files.overlay, overlayMask(image, result.mask, options.overlay));
    for (const [k, map] of result.attention.entries()) {
      await writeImage(files.attention[k], heatmapImage(map, size));
    }
    predicted.push({
      input,
      size,
      lesionArea,
      ...files,
      ...(probabilities !== undefined ? { probabilities } : {}),
      ...(qc !== undefined ? { qc } : {}),
    });
    options.onProgress?.({ done: i + 1, total, input });
  }
  const driftWarning = drift?.warning();
  const checks = predicted.flatMap((p) => (p.qc !== undefined ? [p.qc] : []));
  return {
    predicted,
    failed,
    skipped: collected.skipped,
    ...(driftWarning !== undefined ? { driftWarning } : {}),
    ...(checks.length > 0 ? { qc: summarizeQuality(checks) } : {}),
  };
}
