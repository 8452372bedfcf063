/**
 * Options shared by every network builder, with their defaults filled in one place.
 */
import { ShapeError, UserError } from '../errors.js';
import { MODEL_NAMES, MODELS, type ModelName } from './registry.js';

// The networks are `MODELS` (models/registry.ts); their names are re-exported here, where
// callers found them before the registry, and so is `scaled` (blocks.ts).
export { MODEL_NAMES, type ModelName };
export { scaled } from './blocks.js';

/** The paper's network: attention U-Net with multi-scale input and deep supervision. */
export const DEFAULT_MODEL: ModelName = 'attn_reg';

/** The paper's filter counts (width multiplier 1). */
export const DEFAULT_WIDTH = 1;

/** The input shape of a network built without one: BUS's 128x128 grey. */
export const DEFAULT_INPUT_SHAPE: readonly [number, number, number] = [128, 128, 1];

export interface ModelOptions {
  /** Input shape [height, width, channels]; height and width multiples of 16. Default [128, 128, 1]. */
  inputShape?: [number, number, number];
  /**
   * Width multiplier applied to every filter count of the reference network (rounded, at
   * least 1 filter). 1 is the paper's network; 0.25 a quick one for tests. Default 1.
   */
  width?: number;
  /** Seed of the weight initialisers; each layer derives its own. Default: unseeded. */
  seed?: number;
  /**
   * Momentum of the BatchNormalization moving averages. Default 0.99 (Keras, the reference).
   * Short runs (a few hundred updates) need less, e.g. 0.9: with 0.99 the moving statistics
   * that inference uses still lean on their initial values.
   */
  bnMomentum?: number;
}

export interface ResolvedModelOptions {
  inputShape: [number, number, number];
  width: number;
  seed: number | undefined;
  bnMomentum: number;
}

/** Keras's BatchNormalization momentum, which the reference networks use. */
export const DEFAULT_BN_MOMENTUM = 0.99;

/**
 * The spatial down-sampling factor of the deepest level of every network (`downsampling` in
 * `MODELS`, the largest): inputs must divide by it.
 */
export const DOWNSAMPLING = Math.max(...MODEL_NAMES.map((n) => MODELS[n].downsampling));

export function parseModelName(name: string, source = 'buildModel'): ModelName {
  if ((MODEL_NAMES as readonly string[]).includes(name)) return name as ModelName;
  throw new UserError(
    `${source}: unknown model '${name}'; expected one of ${MODEL_NAMES.join(', ')}`,
  );
}

export function resolveModelOptions(options: ModelOptions = {}): ResolvedModelOptions {
  const inputShape = options.inputShape ?? [...DEFAULT_INPUT_SHAPE];
  validateInputShape(inputShape);
  const width = options.width ?? DEFAULT_WIDTH;
  if (!Number.isFinite(width) || width <= 0) {
    throw new UserError(`width multiplier must be a positive number, got ${width}`);
  }
  const bnMomentum = options.bnMomentum ?? DEFAULT_BN_MOMENTUM;
  if (!(bnMomentum >= 0 && bnMomentum < 1)) {
    throw new UserError(`batch norm momentum must be in [0, 1), got ${bnMomentum}`);
  }
  return { inputShape: [...inputShape], width, seed: options.seed, bnMomentum };
}

/** Throws a `ShapeError` unless the shape is [H, W, C] of positive integers with H, W % 16 == 0. */
export function validateInputShape(
  shape: readonly number[],
  source = 'input shape',
  downsampling = DOWNSAMPLING,
): void {
  const text = `${source} [${shape.join(',')}]`;
  if (shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new ShapeError(`${text} must be three positive integers: height, width, channels`);
  }
  const [h, w] = shape;
  if (h % downsampling !== 0 || w % downsampling !== 0) {
    throw new ShapeError(
      `${text}: height and width must be multiples of ${downsampling} ` +
        `(the network halves them four times)`,
    );
  }
}
