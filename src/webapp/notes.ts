/**
 * The page's words for people: the model described from its export metadata (what it was
 * trained on, its test DSC, its input size), an image's lesion area (in mm² when the pixel
 * spacing is given) and the text alternative of its picture; and the notes on an image's
 * result, as `ftunet predict` warns on the command line: the image's channels were converted
 * to fit the model, or the image does not look like the model's training images (the drift
 * warning of `data/input_statistics.ts`); and the verdict of quality control
 * (`eval/quality.ts`) that the page shows as a label. Pure.
 */
import { imageDriftWarning, imageIntensity, inputStatisticsOf } from '../data/input_statistics.js';
import { DATASET_PRESETS } from '../data/presets.js';
import type { DatasetSourceKind } from '../data/dataset.js';
import { checkQuality, type QualityCheck } from '../eval/quality.js';
import type { Segmenter } from '../browser/segmenter.js';
import type { BinaryMask, RawImage } from '../util/raster.js';
import type { PipelineModel } from './state.js';
import { currentMask, type ReviewStatus, type WorkImage } from './work.js';

/** The words of a review status, as the page shows them. */
export const STATUS_WORDS: Readonly<Record<ReviewStatus, string>> = {
  unreviewed: 'not reviewed',
  accepted: 'accepted',
  corrected: 'corrected',
};

/**
 * The model in words, from what its export records: the network, what it was trained on (the
 * data set's title, epochs), its test DSC and on how many images, and its input size. Says
 * plainly what is not recorded.
 */
export function modelWords(model: Pick<PipelineModel, 'metadata' | 'source'>): string {
  const m = model.metadata;
  const [h, w, c] = m.predict.inputShape;
  const input = `It looks at each image resized to ${w}x${h} pixels, in ${c === 1 ? 'grey' : 'colour'}.`;
  const t = m.training;
  if (t === undefined) {
    return `Model ${m.model} (${model.source}): what it was trained on and its test DSC were not recorded with it. ${input}`;
  }
  const preset =
    t.dataset !== undefined && t.dataset in DATASET_PRESETS
      ? DATASET_PRESETS[t.dataset as DatasetSourceKind].title
      : t.dataset;
  const trained =
    preset !== undefined
      ? `trained on ${preset}${t.epochs !== undefined ? ` for ${t.epochs} epochs` : ''}`
      : 'trained on data that was not recorded';
  const test =
    t.testDsc !== undefined
      ? `its DSC on ${t.testImages ?? 'the'} test images was ${t.testDsc.toFixed(3)}`
      : t.validationDsc !== undefined
        ? `its test DSC was not recorded (validation DSC ${t.validationDsc.toFixed(3)})`
        : 'its test DSC was not recorded';
  return `Model ${m.model}, ${trained}; ${test}. ${input}`;
}

/**
 * A lesion's area: in mm² when `spacing` (mm per pixel) is given, else in pixels; with its
 * share of the image.
 */
export function areaWords(pixels: number, imagePixels: number, spacing?: number): string {
  const share = `${((100 * pixels) / Math.max(1, imagePixels)).toFixed(1)}% of the image`;
  if (spacing === undefined) return `${pixels} px (${share})`;
  const mm2 = pixels * spacing * spacing;
  return `${mm2 < 10 ? mm2.toFixed(2) : mm2.toFixed(1)} mm² (${share})`;
}

/** The text alternative of an image's picture: its lesion area, threshold and review status. */
export function pictureText(image: WorkImage, spacing?: number): string {
  const mask = currentMask(image);
  const area =
    mask === undefined
      ? 'no mask yet'
      : `lesion ${areaWords(mask.pixels, image.width * image.height, spacing)}`;
  return `${image.name}: ${area}, threshold ${image.settings.threshold.toFixed(2)}, ${STATUS_WORDS[image.status]}`;
}

/** What the notes read of an engine: its model and its preprocessing (a `Segmenter`). */
export type NotesEngine = Pick<Segmenter, 'loaded' | 'preprocess'>;

/** Every note on `image` predicted by `engine`, in the order the page shows them. */
export function imageNotes(engine: NotesEngine, image: RawImage): string[] {
  return [
    channelNote(image, engine.loaded.metadata.predict.inputShape[2]),
    driftNote(engine, image),
  ].filter((n) => n !== undefined);
}

/** Whether an RGB(A) image has any pixel whose red, green and blue differ. */
function hasColour(image: RawImage): boolean {
  const c = image.channels;
  if (c < 3) return false;
  for (let i = 0; i < image.data.length; i += c) {
    if (image.data[i] !== image.data[i + 1] || image.data[i + 1] !== image.data[i + 2]) return true;
  }
  return false;
}

/**
 * A note when the image had to be converted to fit the model, as `ftunet predict` converts
 * it: a colour image for a grey model (BT.601 luma), a grey one for a colour model.
 */
export function channelNote(image: RawImage, modelChannels: number): string | undefined {
  const colour = hasColour(image);
  if (modelChannels === 1 && colour) {
    return 'This is a colour image and the model takes grey images: it was converted to grey (luma) first, as ftunet predict does. Check that the model fits these images.';
  }
  if (modelChannels === 3 && !colour) {
    return 'This is a grey image and the model takes colour images: its grey was copied into red, green and blue, as ftunet predict does. Check that the model fits these images.';
  }
  return undefined;
}

/**
 * A note when the image, as the network sees it, does not look like the model's training
 * images (their brightness and contrast, recorded with the model by training): the drift
 * warning of `ftunet predict`, written as a sentence.
 */
export function driftNote(engine: NotesEngine, image: RawImage): string | undefined {
  const stats = inputStatisticsOf(engine.loaded.model.getUserDefinedMetadata());
  if (stats === undefined || stats.channels !== engine.loaded.metadata.predict.inputShape[2]) {
    return undefined;
  }
  const warning = imageDriftWarning(
    stats,
    imageIntensity(engine.preprocess(image).data, stats.channels),
  );
  return warning === undefined ? undefined : `${warning[0].toUpperCase()}${warning.slice(1)}.`;
}

/**
 * Quality control of a result, as `ftunet predict` checks it: the image as the network saw it
 * (`pixels`, when known) against the training statistics the model records, the mask's area,
 * the confidence inside it (of `probabilities`, the mask's: the TTA mean when there is one)
 * and the agreement of the image's pass with the mirrored one, at `threshold`.
 */
export function imageQuality(
  engine: Pick<NotesEngine, 'loaded'>,
  pixels: ArrayLike<number> | undefined,
  prediction: { probabilities: Float32Array; unflipped: Float32Array; mirrored?: Float32Array },
  mask: BinaryMask,
  threshold: number,
): QualityCheck {
  const recorded = inputStatisticsOf(engine.loaded.model.getUserDefinedMetadata());
  const stats =
    recorded?.channels === engine.loaded.metadata.predict.inputShape[2] ? recorded : undefined;
  let lesion = 0;
  for (let i = 0; i < mask.data.length; i++) lesion += mask.data[i];
  return checkQuality({
    ...(stats !== undefined && pixels !== undefined ? { stats, pixels } : {}),
    probabilities: prediction.probabilities,
    ...(prediction.mirrored !== undefined
      ? { passes: { unflipped: prediction.unflipped, mirrored: prediction.mirrored } }
      : {}),
    threshold,
    lesionArea: lesion / mask.data.length,
  });
}
