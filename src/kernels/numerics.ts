/**
 * The numerics of the wasm backend: which algorithm computes 3x3 convolutions, whether relaxed
 * SIMD may fuse multiply-adds, and which path computes filter gradients. Each changes the last
 * bits of a result, so they are options given when a backend starts (`initBackend` in
 * `backend/select.ts`, and through it every worker), held per backend instance (not in
 * module switches), and recorded with what they produced (config.json, summary.json: an
 * optional `numerics` object; a file without it ran with `DEFAULT_NUMERICS`). The other
 * backends ignore them. No Node-only API.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as v from 'valibot';
import { parseWith } from '../util/schema.js';

/**
 * Which algorithm computes 3x3 stride-1 'same' convolutions: `'auto'` the measured rule
 * (`winogradRule` in `wasm/winograd.ts`), `'direct'` the direct kernels, `'winograd'`
 * F(2x2, 3x3) and `'winograd4'` F(4x4, 3x3) wherever they apply (for tests and benchmarks).
 */
export type ConvAlgorithm = 'auto' | 'direct' | 'winograd' | 'winograd4';

export const CONV_ALGORITHMS: readonly ConvAlgorithm[] = [
  'auto',
  'direct',
  'winograd',
  'winograd4',
];

/**
 * How `Conv2DBackpropFilter` runs off Winograd: `'auto'` the SIMD kernel where it applies, else
 * XNNPACK; `'simd'` the SIMD kernel or an error; `'xnnpack'` always XNNPACK (for tests and
 * benchmarks of that path).
 */
export type FilterGradientPath = 'auto' | 'simd' | 'xnnpack';

export const FILTER_GRADIENT_PATHS: readonly FilterGradientPath[] = ['auto', 'simd', 'xnnpack'];

const oneOf = (values: readonly string[]) => `must be one of ${values.join(', ')}`;

/** The numerics as JSON (config.json, summary.json): every field optional, defaults filled. */
export const NumericsSchema = v.strictObject(
  {
    /** Default `'auto'`. */
    convAlgorithm: v.optional(v.picklist(CONV_ALGORITHMS, oneOf(CONV_ALGORITHMS)), 'auto'),
    /** Use relaxed SIMD's fused multiply-add where the engine has it. Default true. */
    relaxedSimd: v.optional(v.boolean('must be true or false'), true),
    /** Default `'auto'`. */
    filterGradient: v.optional(
      v.picklist(FILTER_GRADIENT_PATHS, oneOf(FILTER_GRADIENT_PATHS)),
      'auto',
    ),
  },
  'is an unknown field',
);

/** The numerics a backend runs with, every field set. */
export type Numerics = v.InferOutput<typeof NumericsSchema>;

/** Numerics as options: every field optional (see `NumericsSchema` for the defaults). */
export type NumericsOptions = v.InferInput<typeof NumericsSchema>;

/** Today's behaviour: what a run without a recorded `numerics` object used. */
export const DEFAULT_NUMERICS: Readonly<Numerics> = Object.freeze({
  convAlgorithm: 'auto',
  relaxedSimd: true,
  filterGradient: 'auto',
});

/** Checks `options` and fills in the defaults; throws a one-line `UserError` naming `source`. */
export function resolveNumerics(options: unknown = {}, source = 'numerics'): Numerics {
  return parseWith(NumericsSchema, options, source);
}

/**
 * The numerics a file recorded in its optional `numerics` field (`value` the field, undefined
 * where absent: `DEFAULT_NUMERICS`); a bad one is a one-line `UserError` naming `source` and
 * the field, e.g. `config.json: "numerics.convAlgorithm" must be one of ...`.
 */
export function recordedNumerics(value: unknown, source: string): Numerics {
  const field = v.object({ numerics: v.optional(NumericsSchema, {}) });
  return parseWith(field, { numerics: value }, source).numerics;
}

/** Whether two numerics are the same (field by field). */
export function sameNumerics(a: Numerics, b: Numerics): boolean {
  return (
    a.convAlgorithm === b.convAlgorithm &&
    a.relaxedSimd === b.relaxedSimd &&
    a.filterGradient === b.filterGradient
  );
}

/** The numerics each backend instance was started with. */
const byBackend = new WeakMap<object, Numerics>();

/**
 * Sets the given fields of `backend`'s numerics (a started backend instance, `tf.backend()`;
 * `initBackend` sets them all); returns those it had, for a caller (a test, a benchmark) that
 * puts them back.
 */
export function setBackendNumerics(backend: object, numerics: NumericsOptions): Numerics {
  const before = backendNumerics(backend);
  byBackend.set(backend, resolveNumerics({ ...before, ...numerics }));
  return before;
}

/** The numerics `backend` runs with: those it was started with, else `DEFAULT_NUMERICS`. */
export function backendNumerics(backend: object): Numerics {
  return byBackend.get(backend) ?? { ...DEFAULT_NUMERICS };
}

/** The numerics of the backend that runs now (`tf.backend()`): what a run or evaluation records. */
export function activeNumerics(): Numerics {
  return backendNumerics(tf.backend());
}
