/**
 * What the page's "Fine-tune" panel shows, as data and words, without the DOM or any training
 * code: which images have a mask to learn from (a mask in force that the person corrected,
 * accepted or imported) and which of them are held out for validation (`fineTuneSplit`, the
 * order being the work's), why the button cannot start, the progress line (epoch, step,
 * images/s, time left), and the curves of the loss and the validation DSC per epoch as SVG
 * paths. `fine_tune_view.ts` draws them. Pure.
 */
import { fineTuneSplit, type FineTuneSettings } from '../browser/fine_tune_settings.js';
import type { FineTuneEpoch, FineTuneProgress } from './fine_tuner.js';
import { currentMask, type WorkImage } from './work.js';

/**
 * Whether `image` has a mask to learn from: one in force that the person reviewed (corrected,
 * accepted, or imported with the image as `<stem>_mask.png`, which marks it corrected). A mask
 * the model made and nobody looked at teaches the model nothing but its own mistakes.
 */
export function learnable(image: WorkImage): boolean {
  return image.status !== 'unreviewed' && currentMask(image) !== undefined;
}

/** The images fine-tuning would use, in the work's order, and how they are split. */
export interface FineTuneSet {
  images: WorkImage[];
  /** The names of those trained on and those held out (empty below 2 images). */
  training: string[];
  validation: string[];
}

/** The learnable images of `images` and their split by `settings`'s share and seed. */
export function fineTuneSet(
  images: readonly WorkImage[],
  settings: Pick<FineTuneSettings, 'valFraction' | 'seed'>,
): FineTuneSet {
  const chosen = images.filter(learnable);
  if (chosen.length < 2) return { images: chosen, training: [], validation: [] };
  const split = fineTuneSplit(chosen.length, settings.valFraction, settings.seed);
  return {
    images: chosen,
    training: split.train.map((i) => chosen[i].name),
    validation: split.val.map((i) => chosen[i].name),
  };
}

/** `n` and the noun, in the plural unless one. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** A list of names in words: the first `most`, then how many more. */
export function nameList(names: readonly string[], most = 6): string {
  const shown = names.slice(0, most).join(', ');
  return names.length > most ? `${shown} and ${names.length - most} more` : shown;
}

/** The panel's sentence on the images it would learn from. */
export function setWords(set: FineTuneSet): string {
  const n = set.images.length;
  if (n === 0) {
    return 'No image has a mask to learn from yet: correct or accept masks in the viewer, or choose images together with their NAME_mask.png files.';
  }
  const have = `${plural(n, 'image')} ${n === 1 ? 'has' : 'have'} a mask to learn from (corrected, accepted or imported)`;
  if (set.validation.length === 0) return `${have}.`;
  return `${have}: ${set.training.length} to train on, ${set.validation.length} held out to validate (${nameList(set.validation)}).`;
}

/** What the page is doing that keeps fine-tuning from starting. */
export interface PanelContext {
  /** A model is loaded. */
  model: boolean;
  /** Images are being predicted or masks remade. */
  busy: boolean;
  /** A fine-tuning runs. */
  running: boolean;
}

/** Why the "Fine-tune" button cannot start now (a sentence), or undefined when it can. */
export function blockedReason(set: FineTuneSet, context: PanelContext): string | undefined {
  if (context.running) return 'A fine-tuning is running.';
  if (!context.model) return 'No model is loaded: open one first.';
  if (set.images.length < 2) {
    return `Fine-tuning needs at least 2 images with a corrected, accepted or imported mask (one to train on, one to validate); the work has ${set.images.length}.`;
  }
  if (context.busy) return 'Wait until the images being predicted are done.';
  return undefined;
}

/** A duration in words for the progress line: "45 s", "3 min 05 s", "1 h 02 min"; "-" if unknown. */
export function durationWords(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} min`;
}

/** What the progress line says of a step (epoch and step: 1-based counts of those finished). */
export type StepReport = Pick<
  FineTuneProgress,
  'epoch' | 'epochs' | 'step' | 'steps' | 'imagesPerSecond' | 'secondsLeft'
>;

/** The share of the whole training done after the step, from 0 to 1. */
export function stepFraction(p: StepReport): number {
  if (p.epochs <= 0 || p.steps <= 0) return 0;
  return Math.min(1, Math.max(0, (p.epoch - 1 + p.step / p.steps) / p.epochs));
}

/** The progress line: "Epoch 3 of 20, step 2 of 4 · 5.1 images/s · about 1 min 20 s left". */
export function progressWords(p: StepReport): string {
  const speed = Number.isFinite(p.imagesPerSecond)
    ? `${p.imagesPerSecond.toFixed(p.imagesPerSecond < 10 ? 1 : 0)} images/s`
    : '- images/s';
  return `Epoch ${p.epoch} of ${p.epochs}, step ${p.step} of ${p.steps} · ${speed} · about ${durationWords(p.secondsLeft)} left`;
}

/** One epoch on the curves: its training loss (mean over the epoch) and validation DSC. */
export type CurvePoint = Pick<FineTuneEpoch, 'epoch' | 'loss' | 'valDsc' | 'best'>;

/** The size of the curves' drawing, in SVG units (the picture scales with its box). */
export interface CurveBox {
  width: number;
  height: number;
  /** The margin inside the box on each side. */
  pad: number;
}

export const CURVE_BOX: Readonly<CurveBox> = { width: 320, height: 120, pad: 8 };

/** The curves' SVG paths and what their axes span. */
export interface Curves {
  /** The training loss, scaled from 0 to `lossMax` (top). */
  loss: string;
  /** The validation DSC, scaled from 0 to 1. */
  dsc: string;
  lossMax: number;
  /** The best epoch's point on the DSC curve, if any. */
  best?: { x: number; y: number };
}

/** A number for SVG's path text: two decimals at most. */
function num(x: number): string {
  return String(Math.round(x * 100) / 100);
}

/**
 * The curves of `points` on an x axis of `epochs` epochs (epoch 0 at the left edge, the last at
 * the right, so a curve grows as training goes on), the loss on a scale from 0 to its largest
 * value, the DSC from 0 to 1. Non-finite values break a curve rather than bend it.
 */
export function curvePaths(
  points: readonly CurvePoint[],
  epochs: number,
  box: CurveBox = CURVE_BOX,
): Curves {
  const span = Math.max(1, epochs);
  const w = box.width - 2 * box.pad;
  const h = box.height - 2 * box.pad;
  const x = (epoch: number): number => box.pad + (w * epoch) / span;
  const y = (v: number, max: number): number => box.pad + h * (1 - Math.min(1, v / max));
  const finite = points.filter((p) => Number.isFinite(p.loss) && p.loss >= 0);
  const lossMax = Math.max(1e-9, ...finite.map((p) => p.loss));
  const path = (values: { epoch: number; v: number | undefined }[], max: number): string => {
    let d = '';
    let pen = 'M';
    for (const { epoch, v } of values) {
      if (v === undefined || !Number.isFinite(v)) {
        pen = 'M';
        continue;
      }
      d += `${d ? ' ' : ''}${pen}${num(x(epoch))} ${num(y(Math.max(0, v), max))}`;
      pen = 'L';
    }
    return d;
  };
  const bestPoint = [...points].reverse().find((p) => p.best && p.valDsc !== undefined);
  return {
    loss: path(
      points.map((p) => ({ epoch: p.epoch, v: p.loss })),
      lossMax,
    ),
    dsc: path(
      points.map((p) => ({ epoch: p.epoch, v: p.valDsc })),
      1,
    ),
    lossMax,
    ...(bestPoint
      ? { best: { x: Number(num(x(bestPoint.epoch))), y: Number(num(y(bestPoint.valDsc!, 1))) } }
      : {}),
  };
}

/** The curves in words, for those who do not see them (the picture's text alternative). */
export function curvesWords(points: readonly CurvePoint[], epochs: number): string {
  if (points.length === 0) return `Loss and validation DSC per epoch: none of ${epochs} done yet.`;
  const first = points[0];
  const last = points[points.length - 1];
  const best = [...points].reverse().find((p) => p.best);
  const dsc =
    first.valDsc !== undefined && last.valDsc !== undefined
      ? `, validation DSC from ${first.valDsc.toFixed(3)} to ${last.valDsc.toFixed(3)}`
      : '';
  return (
    `Loss and validation DSC per epoch, ${last.epoch} of ${epochs} epochs: loss from ` +
    `${first.loss.toFixed(3)} to ${last.loss.toFixed(3)}${dsc}` +
    (best ? `; best epoch ${best.epoch}.` : '.')
  );
}
