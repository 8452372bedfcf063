/**
 * Ensembles and test-time augmentation, as one `InferenceEngine` over others: the prediction
 * of a batch is the mean of the `final` probabilities of every engine (one per model) on every
 * flip of the batch, each flipped back before it is averaged. With `tta` 'none' and one engine
 * it is that engine's prediction.
 *
 * - `hflip`: the images and their horizontal mirror (2 passes per model); `vflip` likewise
 *   with the vertical mirror;
 * - `flips`: the horizontal, vertical and double mirrors (4 passes per model), as nnU-Net's
 *   mirroring in 2-D;
 * - `auto` (a choice, not a mode): the mirrors that suit the model (`resolveTta`): those of its
 *   training augmentation and those natural to its data set (its preset's `naturalMirrors`).
 *   A model is not invariant to a mirror it never saw: the quick start's BUS model scores
 *   DSC 0.8267 alone, 0.8324 with `hflip` (ultrasound is mirrored left-right) and 0.5986 with
 *   `flips` (depth runs down an ultrasound image).
 *
 * The mean over models of each model's mean over flips equals the mean over all the passes:
 * every model weighs the same. Browser-safe (tfjs-core only).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AugmentConfig } from '../data/augment.js';
import { UserError } from '../errors.js';
import type { InferenceEngine } from './engine.js';

/** Test-time augmentation: none, one mirror, or every mirror (nnU-Net's). */
export type TtaMode = 'none' | 'hflip' | 'vflip' | 'flips';
export const TTA_MODES: readonly TtaMode[] = ['none', 'hflip', 'vflip', 'flips'];
/** What `--tta` takes: a mode, or `auto`, the mirrors the model was trained with. */
export type TtaChoice = TtaMode | 'auto';
export const TTA_CHOICES: readonly TtaChoice[] = [...TTA_MODES, 'auto'];
/** The default: no augmentation (the paper's numbers; as the web app predicts). */
export const DEFAULT_TTA: TtaMode = 'none';

/** A mirror of an image: flip its rows (vertical), its columns (horizontal), or both. */
export interface Flip {
  vertical: boolean;
  horizontal: boolean;
}

/**
 * The mirrors that suit a model: the axes its training augmentation flipped (`flipH`, `flipV`
 * with p > 0) and those its data set's images are seen under anyway (the preset's
 * `naturalMirrors`). Quarter turns are not counted: they mirror no single axis.
 */
export type Mirrors = Flip;

/** The mirrors of a training augmentation. */
export function mirrorsOfAugment(augment: AugmentConfig): Mirrors {
  return { horizontal: augment.flipH.p > 0, vertical: augment.flipV.p > 0 };
}

/** The mode that mirrors exactly `mirrors`' axes. */
export function ttaOfMirrors(mirrors: Mirrors): TtaMode {
  if (mirrors.horizontal && mirrors.vertical) return 'flips';
  if (mirrors.horizontal) return 'hflip';
  if (mirrors.vertical) return 'vflip';
  return 'none';
}

/** The axes every member was trained with; undefined when one member's are unknown. */
export function commonMirrors(members: ReadonlyArray<Mirrors | undefined>): Mirrors | undefined {
  if (members.some((m) => m === undefined)) return undefined;
  return {
    horizontal: members.every((m) => m!.horizontal),
    vertical: members.every((m) => m!.vertical),
  };
}

/** A chosen test-time augmentation, and one line to warn the user with, when there is one. */
export interface ResolvedTta {
  mode: TtaMode;
  warning?: string;
}

/**
 * The mode of `choice` for a model that `trained` mirrors suit (undefined: not recorded).
 * `auto` is those mirrors (none when they are not recorded, with a warning); a mode that
 * mirrors another axis is kept, with a warning. `flag` names the choice in the warnings.
 */
export function resolveTta(
  choice: TtaChoice,
  trained: Mirrors | undefined,
  flag = '--tta',
): ResolvedTta {
  if (choice === 'auto') {
    if (trained !== undefined) return { mode: ttaOfMirrors(trained) };
    return {
      mode: 'none',
      warning:
        `${flag} auto: the model does not record its training augmentation (a model folder ` +
        'outside its run, or an export of one), so no mirror is used; give the run folder, ' +
        'or --tta hflip or flips',
    };
  }
  const flips = ttaFlips(choice);
  if (trained === undefined) return { mode: choice };
  const untrained = [
    ...(flips.some((f) => f.horizontal) && !trained.horizontal ? ['horizontal'] : []),
    ...(flips.some((f) => f.vertical) && !trained.vertical ? ['vertical'] : []),
  ];
  if (untrained.length === 0) return { mode: choice };
  return {
    mode: choice,
    warning:
      `${flag} ${choice}: the model was not trained with ${untrained.join(' or ')} flips, nor ` +
      'does its data set show such mirrors, so its masks of mirrored images can be much worse; ' +
      `--tta auto uses the mirrors that suit it (${ttaOfMirrors(trained)})`,
  };
}

/** The flips of a mode, the identity first. */
export function ttaFlips(mode: TtaMode): Flip[] {
  const none = { vertical: false, horizontal: false };
  const h = { vertical: false, horizontal: true };
  const v = { vertical: true, horizontal: false };
  switch (mode) {
    case 'none':
      return [none];
    case 'hflip':
      return [none, h];
    case 'vflip':
      return [none, v];
    case 'flips':
      return [none, h, v, { vertical: true, horizontal: true }];
    default:
      throw new UserError(
        `tta: unknown mode '${String(mode)}'; expected one of ${TTA_MODES.join(', ')}`,
      );
  }
}

/** Parses `--tta`: a mode or `auto`. */
export function parseTta(text: string, flag = '--tta'): TtaChoice {
  if ((TTA_CHOICES as readonly string[]).includes(text)) return text as TtaChoice;
  throw new UserError(`${flag}: expected one of ${TTA_CHOICES.join(', ')}, got '${text}'`);
}

/**
 * Adds the flipped maps to `sum`: `values` holds `n` maps of `rows x cols` (one channel),
 * predicted on images flipped by `flip`; each is mapped back before it is added.
 */
export function addFlippedBack(
  sum: Float64Array,
  values: Float32Array,
  n: number,
  rows: number,
  cols: number,
  flip: Flip,
): void {
  for (let k = 0; k < n; k++) {
    const base = k * rows * cols;
    for (let y = 0; y < rows; y++) {
      const sy = flip.vertical ? rows - 1 - y : y;
      for (let x = 0; x < cols; x++) {
        const sx = flip.horizontal ? cols - 1 - x : x;
        sum[base + y * cols + x] += values[base + sy * cols + sx];
      }
    }
  }
}

/**
 * `n` images of `rows x cols x channels` (channels last) mirrored left to right: for engines
 * that take arrays rather than tensors (the web app's), the input of quality control's mirrored
 * pass and, with `channels` 1, its output mapped back (a mirror is its own inverse).
 */
export function mirrorColumns(
  values: ArrayLike<number>,
  n: number,
  rows: number,
  cols: number,
  channels: number,
): Float32Array {
  const out = new Float32Array(n * rows * cols * channels);
  for (let r = 0; r < n * rows; r++) {
    for (let x = 0; x < cols; x++) {
      const to = (r * cols + x) * channels;
      const from = (r * cols + (cols - 1 - x)) * channels;
      for (let c = 0; c < channels; c++) out[to + c] = values[from + c];
    }
  }
  return out;
}

/**
 * `n` maps of `rows x cols x channels` (channels last) flipped by `flip`, for engines that take
 * arrays (the web app's): the input of a test-time pass, and with `channels` 1 its output
 * mapped back (a flip is its own inverse). `mirrorColumns` is the horizontal case.
 */
export function flipValues(
  values: ArrayLike<number>,
  n: number,
  rows: number,
  cols: number,
  channels: number,
  flip: Flip,
): Float32Array {
  const out = new Float32Array(n * rows * cols * channels);
  for (let k = 0; k < n; k++) {
    for (let y = 0; y < rows; y++) {
      const sy = flip.vertical ? rows - 1 - y : y;
      for (let x = 0; x < cols; x++) {
        const sx = flip.horizontal ? cols - 1 - x : x;
        const to = ((k * rows + y) * cols + x) * channels;
        const from = ((k * rows + sy) * cols + sx) * channels;
        for (let c = 0; c < channels; c++) out[to + c] = values[from + c];
      }
    }
  }
  return out;
}

/**
 * The mean of one model's passes, each already mapped back, in the order of `ttaFlips`: the
 * sum in float64 over the passes in that order, divided by their number, as
 * `AveragingEngine` averages one engine's flips (so the web app's TTA equals `predict --tta`).
 */
export function meanOfPasses(passes: readonly ArrayLike<number>[]): Float32Array {
  if (passes.length === 1) return Float32Array.from(passes[0]);
  const out = new Float32Array(passes[0].length);
  for (let i = 0; i < out.length; i++) {
    let total = 0;
    for (const pass of passes) total += pass[i];
    out[i] = total / passes.length;
  }
  return out;
}

/**
 * The mean of `engines` over the flips of `tta` (see the module doc). It owns the engines and
 * disposes of them.
 */
export class AveragingEngine implements InferenceEngine {
  readonly name: string;
  readonly description: string;
  private readonly flips: Flip[];

  constructor(
    private readonly engines: readonly InferenceEngine[],
    readonly tta: TtaMode = DEFAULT_TTA,
  ) {
    if (engines.length === 0) throw new UserError('an ensemble needs at least one model');
    this.flips = ttaFlips(tta);
    this.name = engines[0].name;
    const parts = [engines[0].description];
    if (engines.length > 1) parts.push(`ensemble of ${engines.length} models`);
    if (tta !== 'none') parts.push(`tta ${tta}`);
    this.description = parts.join(', ');
  }

  async predict(xs: tf.Tensor4D): Promise<Float32Array> {
    if (this.engines.length === 1 && this.flips.length === 1) return this.engines[0].predict(xs);
    return this.meanOf(await this.flipSums(xs, this.flips));
  }

  /**
   * The prediction (as `predict`), and the two passes quality control compares
   * (eval/quality.ts): the images as they are and their horizontal mirror, each the mean over
   * the engines, mapped back. The passes `tta` already makes are not made twice: with `hflip`
   * or `flips` this costs nothing more, with `none` one more pass.
   */
  async predictWithMirror(xs: tf.Tensor4D): Promise<MirroredPrediction> {
    const flips = [...this.flips];
    const indexOf = (f: Flip): number =>
      flips.findIndex((g) => g.vertical === f.vertical && g.horizontal === f.horizontal);
    for (const f of [UNFLIPPED, HORIZONTAL]) if (indexOf(f) < 0) flips.push(f);
    const sums = await this.flipSums(xs, flips);
    const perEngine = (sum: Float64Array): Float32Array => {
      const out = new Float32Array(sum.length);
      for (let i = 0; i < out.length; i++) out[i] = sum[i] / this.engines.length;
      return out;
    };
    return {
      probabilities: this.meanOf(sums.slice(0, this.flips.length)),
      unflipped: perEngine(sums[indexOf(UNFLIPPED)]),
      mirrored: perEngine(sums[indexOf(HORIZONTAL)]),
    };
  }

  /** Per flip of `flips`: the sum over the engines of their maps on the flipped images, mapped back. */
  private async flipSums(xs: tf.Tensor4D, flips: readonly Flip[]): Promise<Float64Array[]> {
    const [n, rows, cols] = xs.shape;
    const sums: Float64Array[] = [];
    for (const flip of flips) {
      const sum = new Float64Array(n * rows * cols);
      const axes = [...(flip.vertical ? [1] : []), ...(flip.horizontal ? [2] : [])];
      const flipped = axes.length === 0 ? xs : tf.reverse(xs, axes);
      try {
        for (const engine of this.engines) {
          const values = await engine.predict(flipped);
          if (values.length !== sum.length) {
            throw new Error(
              `AveragingEngine: ${engine.name} returned ${values.length} values, expected ${sum.length}`,
            );
          }
          addFlippedBack(sum, values, n, rows, cols, flip);
        }
      } finally {
        if (flipped !== xs) flipped.dispose();
      }
      sums.push(sum);
    }
    return sums;
  }

  /** The mean over every pass of `sums` (one per flip, each summed over the engines). */
  private meanOf(sums: readonly Float64Array[]): Float32Array {
    const passes = sums.length * this.engines.length;
    const out = new Float32Array(sums[0].length);
    for (let i = 0; i < out.length; i++) {
      let total = 0;
      for (const sum of sums) total += sum[i];
      out[i] = total / passes;
    }
    return out;
  }

  async dispose(): Promise<void> {
    for (const engine of this.engines) await engine.dispose();
  }
}

/** The identity and the horizontal mirror, the two passes of quality control's flip check. */
const UNFLIPPED: Flip = { vertical: false, horizontal: false };
const HORIZONTAL: Flip = { vertical: false, horizontal: true };

/** What `predictWithMirror` gives: `n * rows * cols` values each, one image after another. */
export interface MirroredPrediction {
  /** The engine's prediction (its `predict`). */
  probabilities: Float32Array;
  /** The mean over the models of their pass on the images as they are. */
  unflipped: Float32Array;
  /** The mean over the models of their pass on the horizontal mirror, mirrored back. */
  mirrored: Float32Array;
}

/**
 * `engine`'s prediction of `xs` and the passes of quality control's flip check: an
 * `AveragingEngine` shares them with its test-time augmentation; any other engine is run
 * on the images and on their mirror. The caller keeps `xs` and the engine.
 */
export function predictWithMirror(
  engine: InferenceEngine,
  xs: tf.Tensor4D,
): Promise<MirroredPrediction> {
  // A one-engine average owns nothing but `engine`, which stays the caller's: not disposed.
  const averaging = engine instanceof AveragingEngine ? engine : new AveragingEngine([engine]);
  return averaging.predictWithMirror(xs);
}

/** A model's input shape, and the name shown for it in messages (its folder). */
export interface EnsembleMember {
  name: string;
  inputShape: readonly [number, number, number];
}

/**
 * Throws a `UserError` naming both models unless every member takes the same input size and
 * channels as the first.
 */
export function checkEnsembleInputs(members: readonly EnsembleMember[]): void {
  const [first, ...rest] = members;
  for (const m of rest) {
    if (m.inputShape.some((v, i) => v !== first.inputShape[i])) {
      throw new UserError(
        `${first.name} takes ${first.inputShape.join('x')} inputs but ${m.name} takes ` +
          `${m.inputShape.join('x')}: the models of an ensemble must agree on input size and channels`,
      );
    }
  }
}
