/**
 * Quality control of a predicted mask: signals that say when not to trust it, each compared
 * with a limit, and per image a verdict (`ok`, or `check` with the reasons) and a score.
 *
 * - `input`: the image, as the network sees it, is unlike the training images in brightness
 *   and contrast together (`inputDistance` of data/input_statistics.ts, a Mahalanobis
 *   distance, beyond `QC_LIMITS.inputDistance`);
 * - `area`: the predicted lesion's area (fraction of the image at its original size) lies
 *   outside the range of the training masks' areas by more than `QC_LIMITS.areaExcess` of the
 *   range's end: below `min (1 − e)` or above `max (1 + e)`; an empty mask is below whenever
 *   every training mask had a lesion;
 * - `confidence`: the mean binary entropy, in bits, of the probabilities inside the predicted
 *   lesion (p > threshold, at the input size) exceeds `QC_LIMITS.entropy` (1 bit is p = 0.5
 *   everywhere; no lesion, no entropy);
 * - `flip`: the masks (p > threshold, at the input size) of the image and of its horizontal
 *   mirror, predicted and mirrored back (ensemble.ts's `predictWithMirror`), agree with a DSC
 *   below `QC_LIMITS.flipDsc` (two empty masks agree: DSC 1).
 *
 * A signal that cannot be measured (a model that records no training statistics, no lesion,
 * no mirrored pass) is null and flags nothing. The score is the largest ratio of a signal to
 * its limit, each put so that beyond the limit is above 1 (input d / limit, area excess /
 * limit, entropy / limit, (1 − DSC) / (1 − limit)): the verdict is `check` exactly when the
 * score is above 1, and the score ranks the images to look at first.
 *
 * The limits were chosen on the quick start's model (bench/quality_rates.ts measures them):
 * on its own held-out fold they flag at most 5% of the images, on the synthetic set of
 * another look (`ftunet synth --look dim`) most of them. Pure (typed arrays only).
 */
import { imageIntensity, inputDistance, type InputStatistics } from '../data/input_statistics.js';
import { UserError } from '../errors.js';
import { plural } from '../util/messages.js';

/** Whether a mask may be trusted as far as quality control can tell. */
export type QcVerdict = 'ok' | 'check';

/** Why a mask is flagged (see the module doc), in the order they are listed. */
export type QcReason = 'input' | 'area' | 'confidence' | 'flip';
export const QC_REASONS: readonly QcReason[] = ['input', 'area', 'confidence', 'flip'];

/** The limits of the signals (see the module doc; measured in bench/quality_rates.ts). */
export const QC_LIMITS = {
  /** Mahalanobis distance of (brightness, contrast) from the training images. */
  inputDistance: 3,
  /** How far outside the training areas' range, as a fraction of the range's end. */
  areaExcess: 0.5,
  /** Mean binary entropy (bits) inside the predicted lesion. */
  entropy: 0.6,
  /** The smallest DSC between the masks of the image and of its mirror. */
  flipDsc: 0.7,
} as const;

/** The measured signals of one image; null where not measured. */
export interface QualitySignals {
  /** `inputDistance` of the image from the training images. */
  inputDistance: number | null;
  /** How far the predicted area lies outside the training range (0 inside it). */
  areaExcess: number | null;
  /** Mean binary entropy (bits) of the probabilities inside the predicted lesion. */
  entropy: number | null;
  /** DSC of the masks of the image and of its mirror (mirrored back). */
  flipDsc: number | null;
}

/** One image's quality control. */
export interface QualityCheck {
  verdict: QcVerdict;
  /** The largest signal-to-limit ratio (above 1: `check`); 0 when nothing was measured. */
  score: number;
  /** The signals beyond their limits, in `QC_REASONS` order. */
  reasons: QcReason[];
  signals: QualitySignals;
}

/** What `checkQuality` looks at for one image. */
export interface QualityInputs {
  /** The training statistics the model records. Default: none (no input or area signal). */
  stats?: InputStatistics;
  /** The image as the network sees it (8-bit, the model's channels last). Default: none. */
  pixels?: ArrayLike<number>;
  /** The prediction's probabilities at the input size. Required. */
  probabilities: ArrayLike<number>;
  /**
   * The two passes of the flip check, at the input size: the image as it is and its mirror,
   * mirrored back. Default: none (no flip signal).
   */
  passes?: { unflipped: ArrayLike<number>; mirrored: ArrayLike<number> };
  /** Lesion where p > threshold. Required. */
  threshold: number;
  /** The predicted lesion's fraction of the image at its original size. Required. */
  lesionArea: number;
}

/** Binary entropy in bits; 0 at p = 0 and p = 1. */
function binaryEntropy(p: number): number {
  if (p <= 0 || p >= 1) return 0;
  return -(p * Math.log2(p) + (1 - p) * Math.log2(1 - p));
}

/** The mean binary entropy (bits) over the pixels with p > threshold; null when there are none. */
export function lesionEntropy(probabilities: ArrayLike<number>, threshold: number): number | null {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i];
    if (p > threshold) {
      sum += binaryEntropy(p);
      count += 1;
    }
  }
  return count === 0 ? null : sum / count;
}

/** DSC of the masks p > threshold of two maps; 1 when both are empty. */
export function flipAgreement(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  threshold: number,
): number {
  if (a.length !== b.length) {
    throw new UserError(`the mirrored pass has ${b.length} values, expected ${a.length}`);
  }
  let both = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] > threshold;
    const y = b[i] > threshold;
    if (x) na += 1;
    if (y) nb += 1;
    if (x && y) both += 1;
  }
  return na + nb === 0 ? 1 : (2 * both) / (na + nb);
}

/**
 * How far `area` lies outside the range of the training areas `stats` records, relative to the
 * range's end (0 inside); null when the statistics record no areas. Below a minimum of 0
 * (training had empty masks) nothing is below.
 */
export function areaExcess(stats: InputStatistics | undefined, area: number): number | null {
  const q = stats?.lesionArea;
  if (q === undefined) return null;
  const min = q.quantiles[0];
  const max = q.quantiles[q.quantiles.length - 1];
  if (area < min) return (min - area) / min;
  // Training masks all empty: no range to be outside of (training warned about them).
  if (max === 0) return null;
  if (area > max) return (area - max) / max;
  return 0;
}

/** The quality control of one image (see the module doc). */
export function checkQuality(inputs: QualityInputs): QualityCheck {
  const { stats, threshold } = inputs;
  const signals: QualitySignals = {
    inputDistance:
      stats !== undefined && inputs.pixels !== undefined
        ? inputDistance(stats, imageIntensity(inputs.pixels, stats.channels))
        : null,
    areaExcess: areaExcess(stats, inputs.lesionArea),
    entropy: lesionEntropy(inputs.probabilities, threshold),
    flipDsc:
      inputs.passes !== undefined
        ? flipAgreement(inputs.passes.unflipped, inputs.passes.mirrored, threshold)
        : null,
  };
  const ratios: Record<QcReason, number | null> = {
    input: signals.inputDistance === null ? null : signals.inputDistance / QC_LIMITS.inputDistance,
    area: signals.areaExcess === null ? null : signals.areaExcess / QC_LIMITS.areaExcess,
    confidence: signals.entropy === null ? null : signals.entropy / QC_LIMITS.entropy,
    flip: signals.flipDsc === null ? null : (1 - signals.flipDsc) / (1 - QC_LIMITS.flipDsc),
  };
  const reasons = QC_REASONS.filter((r) => (ratios[r] ?? 0) > 1);
  const score = Math.max(0, ...QC_REASONS.map((r) => ratios[r] ?? 0));
  return { verdict: reasons.length > 0 ? 'check' : 'ok', score, reasons, signals };
}

/** The quality control of many images, as summary.json records it. */
export interface QualitySummary {
  /** Images checked. */
  checked: number;
  /** Images whose verdict is `check`. */
  flagged: number;
  /** Per reason, the flagged images it applies to (an image may count under several). */
  reasons: Record<QcReason, number>;
}

/** Counts the verdicts and reasons of `checks`. */
export function summarizeQuality(checks: readonly QualityCheck[]): QualitySummary {
  const reasons = Object.fromEntries(QC_REASONS.map((r) => [r, 0])) as Record<QcReason, number>;
  for (const c of checks) for (const r of c.reasons) reasons[r] += 1;
  return {
    checked: checks.length,
    flagged: checks.filter((c) => c.verdict === 'check').length,
    reasons,
  };
}

/** Words for each reason in the summary line. */
const REASON_WORDS: Record<QcReason, string> = {
  input: 'unlike the training images',
  area: 'lesion area outside the training range',
  confidence: 'low confidence',
  flip: 'mirror disagrees',
};

/**
 * The one line for a terminal: "qc: 12 of 40 images flagged (10 unlike the training images,
 * 3 low confidence): check their masks (qc column)"; "qc: none of 40 images flagged" when none
 * is. `where` says where the verdicts are.
 */
export function formatQualitySummary(s: QualitySummary, where: string): string {
  if (s.flagged === 0) return `qc: none of ${plural(s.checked, 'image')} flagged`;
  const counted = QC_REASONS.filter((r) => s.reasons[r] > 0)
    .map((r) => `${s.reasons[r]} ${REASON_WORDS[r]}`)
    .join(', ');
  return (
    `qc: ${s.flagged} of ${plural(s.checked, 'image')} flagged (${counted}): ` +
    `check their masks (${where})`
  );
}

/** The verdict as one word with its reasons, for a table cell or a label: "check: input, flip". */
export function formatVerdict(check: Pick<QualityCheck, 'verdict' | 'reasons'>): string {
  return check.verdict === 'ok' ? 'ok' : `check: ${check.reasons.join(', ')}`;
}
