/**
 * Fine-tuning's settings, their defaults and the split of the images, apart from the training
 * itself (`fine_tune.ts`, which re-exports them): the page's panel shows the defaults and names
 * the held-out images before any training code loads. The defaults are explained in
 * `fine_tune.ts`'s module comment. Pure (no tfjs).
 */
import { AUGMENT_LEVELS, type AugmentLevel } from '../data/augment.js';
import { UserError } from '../errors.js';
import { FREEZE_PARTS, type FreezePart } from '../models/freeze.js';
import type { TrainIndices } from '../train/trainer.js';
import { checkSeed, Rng } from '../util/rng.js';

/** What a person may change, and how the images are split. */
export interface FineTuneSettings {
  epochs: number;
  learningRate: number;
  /** Augmentation level of the training images (the CLI's `--augment`). */
  augment: AugmentLevel;
  /** Layers held fixed (the CLI's `--freeze`). */
  freeze: FreezePart;
  /** Images per update. */
  batchSize: number;
  /** The share of the images held out for validation (at least one image). */
  valFraction: number;
  /** Seed of the split, the order and the augmentation. */
  seed: number;
}

/** The defaults (see the module comment for why). */
export const FINE_TUNE_DEFAULTS: Readonly<FineTuneSettings> = {
  epochs: 20,
  learningRate: 1e-3,
  augment: 'light',
  freeze: 'none',
  batchSize: 4,
  valFraction: 0.2,
  seed: 1,
};

/** `settings` over the defaults, checked; a `UserError` names the first bad one. */
export function fineTuneSettings(settings: Partial<FineTuneSettings> = {}): FineTuneSettings {
  const s = { ...FINE_TUNE_DEFAULTS, ...settings };
  const bad = (what: string, value: unknown): never => {
    throw new UserError(`fine-tuning: ${what}, got ${String(value)}`);
  };
  if (!(Number.isInteger(s.epochs) && s.epochs >= 1 && s.epochs <= 1000)) {
    bad('epochs must be an integer from 1 to 1000', s.epochs);
  }
  if (!(s.learningRate > 0 && s.learningRate <= 1)) {
    bad('the learning rate must be in (0, 1]', s.learningRate);
  }
  if (!AUGMENT_LEVELS.includes(s.augment)) {
    bad(`augmentation must be one of ${AUGMENT_LEVELS.join(', ')}`, s.augment);
  }
  if (!FREEZE_PARTS.includes(s.freeze))
    bad(`freeze must be one of ${FREEZE_PARTS.join(', ')}`, s.freeze);
  if (!(Number.isInteger(s.batchSize) && s.batchSize >= 1 && s.batchSize <= 64)) {
    bad('the batch size must be an integer from 1 to 64', s.batchSize);
  }
  if (!(s.valFraction > 0 && s.valFraction < 1)) {
    bad('the validation share must be in (0, 1)', s.valFraction);
  }
  checkSeed(s.seed);
  return s;
}

/**
 * The split of `count` images: `round(count * valFraction)` of them (at least one, at most
 * count - 1) held out, drawn by a generator seeded with `seed`; each part in index order.
 */
export function fineTuneSplit(count: number, valFraction: number, seed: number): TrainIndices {
  if (count < 2) {
    throw new UserError(
      `fine-tuning needs at least 2 images with masks (one to train on, one to validate), got ${count}`,
    );
  }
  const order = Array.from({ length: count }, (_, i) => i);
  new Rng(seed).shuffle(order);
  const held = Math.min(count - 1, Math.max(1, Math.round(count * valFraction)));
  return {
    train: order.slice(held).sort((a, b) => a - b),
    val: order.slice(0, held).sort((a, b) => a - b),
  };
}
