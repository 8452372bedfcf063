/**
 * Ensembles and test-time augmentation, as one `InferenceEngine` over others: the prediction
 * of a batch is the mean of the `final` probabilities of every engine (one per model) on every
 * flip of the batch, each flipped back before it is averaged. With `tta` 'none' and one engine
 * it is that engine's prediction.
 *
 * - `hflip`: the images and their horizontal mirror (2 passes per model);
 * - `flips`: also the vertical mirror and both at once (4 passes per model), as nnU-Net's
 *   mirroring in 2-D.
 *
 * The mean over models of each model's mean over flips equals the mean over all the passes:
 * every model weighs the same. Browser-safe (tfjs-core only).
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import type { InferenceEngine } from './engine.js';

/** Test-time augmentation: none, the horizontal mirror, or every mirror (nnU-Net's). */
export type TtaMode = 'none' | 'hflip' | 'flips';
export const TTA_MODES: readonly TtaMode[] = ['none', 'hflip', 'flips'];
/** The default: no augmentation (the paper's numbers). */
export const DEFAULT_TTA: TtaMode = 'none';

/** A mirror of an image: flip its rows (vertical), its columns (horizontal), or both. */
export interface Flip {
  vertical: boolean;
  horizontal: boolean;
}

/** The flips of a mode, the identity first. */
export function ttaFlips(mode: TtaMode): Flip[] {
  const none = { vertical: false, horizontal: false };
  const h = { vertical: false, horizontal: true };
  switch (mode) {
    case 'none':
      return [none];
    case 'hflip':
      return [none, h];
    case 'flips':
      return [none, h, { vertical: true, horizontal: false }, { vertical: true, horizontal: true }];
    default:
      throw new UserError(
        `ttaFlips: unknown mode '${String(mode)}'; expected one of ${TTA_MODES.join(', ')}`,
      );
  }
}

/** Parses `--tta`. */
export function parseTta(text: string, flag = '--tta'): TtaMode {
  if ((TTA_MODES as readonly string[]).includes(text)) return text as TtaMode;
  throw new UserError(`${flag}: expected one of ${TTA_MODES.join(', ')}, got '${text}'`);
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
    if (engines.length === 0) throw new UserError('AveragingEngine: no engines');
    this.flips = ttaFlips(tta);
    this.name = engines[0].name;
    const parts = [engines[0].description];
    if (engines.length > 1) parts.push(`ensemble of ${engines.length} models`);
    if (tta !== 'none') parts.push(`tta ${tta}`);
    this.description = parts.join(', ');
  }

  async predict(xs: tf.Tensor4D): Promise<Float32Array> {
    if (this.engines.length === 1 && this.flips.length === 1) return this.engines[0].predict(xs);
    const [n, rows, cols] = xs.shape;
    const sum = new Float64Array(n * rows * cols);
    for (const flip of this.flips) {
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
    }
    const passes = this.flips.length * this.engines.length;
    const out = new Float32Array(sum.length);
    for (let i = 0; i < out.length; i++) out[i] = sum[i] / passes;
    return out;
  }

  async dispose(): Promise<void> {
    for (const engine of this.engines) await engine.dispose();
  }
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
        `ensemble: ${first.name} takes ${first.inputShape.join('x')} inputs but ${m.name} takes ` +
          `${m.inputShape.join('x')}; the models of an ensemble must agree on input size and channels`,
      );
    }
  }
}
