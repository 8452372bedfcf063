/**
 * Scoring another tool's masks, as `ftunet evaluate --pred` runs it: the masks of a folder
 * (nnU-Net's, MONAI's, `ftunet predict`'s, ...) matched to a data set's items by name
 * (`matchPredictions`), each read and scored against its ground truth at the original size
 * with the metrics of a model's evaluation (`scoreMask`), and `metrics.csv` and `summary.json`
 * written as a model's evaluation writes them (`files.ts`). Masks that score as empty although
 * they hold a shape are named in one warning per kind (`emptyMaskWarnings`).
 *
 * Node-only (fs).
 */
import path from 'node:path';
import type { DatasetSourceKind } from '../data/dataset.js';
import { listDatasetPairs } from '../data/load.js';
import { listImageFolder, type ImageFile, type ImagePair } from '../data/listing.js';
import { datasetLayout } from '../data/presets.js';
import { UserError } from '../errors.js';
import { decodeMask, DEFAULT_MAX_PIXELS, ImageReadError, type DecodedMask } from '../io/image.js';
import { listFew, plural } from '../util/messages.js';
import type { ImageEvaluation } from './evaluate.js';
import { summarizeEvaluation } from './evaluation_summary.js';
import { pairMasks, PREDICTION_STEM_SUFFIXES } from './mask_pairing.js';
import {
  postprocessRecord,
  testItemsOfSplit,
  writeEvaluation,
  type EvaluationReport,
} from './files.js';
import type { CommonEvaluationOptions } from './run.js';
import { scoreMask } from './score.js';

/** Options of `evaluatePredictions`. */
export interface EvaluatePredictionsOptions extends Pick<
  CommonEvaluationOptions,
  'postprocess' | 'surface' | 'onProgress' | 'onWarning' | 'maxPixels'
> {
  /** The folder of predicted masks (any tool's: 0/1, 0/255, 16-bit; see `binarizeMask`). */
  pred: string;
  /** The data set's kind, whose layout gives the ground truths. Required. */
  dataset: DatasetSourceKind;
  /** The data folder. Required. */
  data: string;
  /** A split file; its fold `fold` gives the items scored. Default: every item. */
  split?: string;
  /** The fold of `split`. Default 0 when the split has one fold. */
  fold?: number;
  /** For the 'folder' layout: the suffix of a mask's stem. Default ''. */
  maskSuffix?: string;
  /** Where to write `metrics.csv` and `summary.json`. Required. */
  out: string;
}

// The pairing rule moved to mask_pairing.ts (pure, for the browser); re-exported where callers found it.
export { PREDICTION_STEM_SUFFIXES };

/**
 * The mask file of each image stem in `stems`: the one file of `files` whose stem is the
 * image's stem plus one of `PREDICTION_STEM_SUFFIXES` (`pairMasks`). Other files are ignored.
 * Throws a `UserError` that starts with `label` (how the folder was given: `--pred DIR`)
 * naming a few images without a mask, then a few with two (two suffixes, or one stem in two
 * formats: `x.png` and `x.tiff`).
 */
export function matchPredictions(
  files: readonly ImageFile[],
  stems: readonly string[],
  label: string,
): string[] {
  const { found, missing, ambiguous } = pairMasks(files, stems);
  if (missing.length > 0) {
    throw new UserError(
      `${label}: no mask for ${plural(missing.length, 'image')} of ${stems.length} ` +
        `(expected <stem>.png, <stem>_mask.png or <stem>_segmentation.png): ${listFew(missing)}`,
    );
  }
  if (ambiguous.length > 0) {
    throw new UserError(
      `${label}: ${plural(ambiguous.length, 'image')} with two masks: ${listFew(ambiguous)}`,
    );
  }
  return found.map((f) => f!.path);
}

/** Predicted masks that score as empty although they hold a shape, by file name. */
export interface EmptyLookingMasks {
  /** Values above 0 that never reach half of the range: `name (largest value V)`. */
  faint: string[];
  /** A shape in the alpha channel alone. */
  inAlpha: string[];
}

/** One warning line per kind of `EmptyLookingMasks` that names any; `label` as `--pred DIR`. */
export function emptyMaskWarnings(label: string, masks: EmptyLookingMasks): string[] {
  const { faint, inAlpha } = masks;
  const emptyAlthough = (n: number) =>
    `${plural(n, 'mask')} ${n === 1 ? 'is' : 'are'} scored as empty although`;
  const warnings: string[] = [];
  if (faint.length > 0) {
    warnings.push(
      `${label}: ${emptyAlthough(faint.length)} ${faint.length === 1 ? 'it has' : 'they have'} ` +
        'values above 0: none reaches half of its range (a lesion is above 0.5 of 1, 127.5 of ' +
        `255 or 32767.5 of 65535): ${listFew(faint)}`,
    );
  }
  if (inAlpha.length > 0) {
    warnings.push(
      `${label}: ${emptyAlthough(inAlpha.length)} ${inAlpha.length === 1 ? 'its' : 'their'} ` +
        'alpha channel holds a shape (masks are read from their grey or colour values, not from ' +
        `alpha): ${listFew(inAlpha)}`,
    );
  }
  return warnings;
}

/** Reads an item's ground truth and predicted mask; throws a `UserError` unless same-sized. */
async function readMasks(
  pair: ImagePair,
  predFile: string,
  maxPixels: number,
): Promise<{ truth: DecodedMask; prediction: DecodedMask }> {
  let truth;
  let prediction;
  try {
    truth = await decodeMask(pair.mask, { maxPixels });
    prediction = await decodeMask(predFile, { maxPixels });
  } catch (err) {
    if (err instanceof ImageReadError) throw new UserError(err.message);
    throw err;
  }
  if (prediction.height !== truth.height || prediction.width !== truth.width) {
    throw new UserError(
      `--pred: ${predFile} is ${prediction.height}x${prediction.width} but the ground truth ` +
        `of ${pair.name} is ${truth.height}x${truth.width}`,
    );
  }
  return { truth, prediction };
}

/**
 * Scores the masks of a folder against a data set's ground truths, at the original size, with
 * the metrics of a model's evaluation. Each scored item needs exactly one mask in `pred` whose
 * stem is the image's stem plus one of `PREDICTION_STEM_SUFFIXES`, of the image's size; a
 * missing, ambiguous (two suffixes, or one stem in two formats: `x.png` and `x.tiff`) or
 * mis-sized mask is a `UserError` naming a few. Extra files are ignored. Masks that score as
 * empty although they hold a shape get one `onWarning` line per kind naming them: values above
 * 0 that never reach half of the range (see `binarizeMask`), or a shape in alpha alone.
 */
export async function evaluatePredictions(
  options: EvaluatePredictionsOptions,
): Promise<EvaluationReport> {
  const label = `--pred ${options.pred}`;
  const predDir = path.resolve(options.pred);
  const listing = await listImageFolder(predDir, options.pred);
  const pairs = await listDatasetPairs(
    datasetLayout(options.dataset),
    path.resolve(options.data),
    options.maskSuffix ?? '',
  );
  const names = pairs.pairs.map((p) => p.name);
  let fold: number | null = null;
  let indices = names.map((_, i) => i);
  let split: string | null = null;
  if (options.split !== undefined) {
    split = path.resolve(options.split);
    ({ fold, indices } = await testItemsOfSplit(split, names, options.fold));
  } else if (options.fold !== undefined) {
    throw new UserError('fold: applies to a split file, and none was given');
  }
  const predFiles = matchPredictions(
    listing.files,
    indices.map((i) => path.parse(names[i]).name),
    label,
  );
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const rows: ImageEvaluation[] = [];
  const emptyLooking: EmptyLookingMasks = { faint: [], inAlpha: [] };
  for (const [k, index] of indices.entries()) {
    const pair = pairs.pairs[index];
    const { truth, prediction } = await readMasks(pair, predFiles[k], maxPixels);
    const file = path.basename(predFiles[k]);
    if (prediction.maxValue > 0 && prediction.maxValue <= prediction.threshold) {
      emptyLooking.faint.push(`${file} (largest value ${prediction.maxValue})`);
    }
    if (prediction.shapeInAlpha) emptyLooking.inAlpha.push(file);
    const score = scoreMask(prediction, truth, {
      ...(options.postprocess ? { postprocess: options.postprocess } : {}),
      ...(options.surface ? { surface: options.surface } : {}),
    });
    rows.push({
      name: pair.name,
      index,
      originalSize: [truth.height, truth.width],
      metrics: score.metrics,
      counts: score.counts,
      surface: score.surface,
      truthArea: score.truthArea,
      predictedArea: score.predictedArea,
    });
    options.onProgress?.({ phase: 'predict', done: k + 1, total: indices.length });
  }
  for (const warning of emptyMaskWarnings(label, emptyLooking)) options.onWarning?.(warning);
  const summary = summarizeEvaluation(rows, {
    threshold: null,
    fold,
    model: path.basename(predDir),
    ...(options.surface ? { surface: options.surface } : {}),
    extra: {
      predictions: predDir,
      dataset: { kind: options.dataset, data: pairs.root },
      split,
      postprocess: postprocessRecord(options.postprocess),
    },
  });
  const files = await writeEvaluation(path.resolve(options.out), rows, summary);
  return { summary, rows, files };
}
