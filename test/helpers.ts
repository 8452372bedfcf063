/**
 * Shared test helpers: one closeness assertion with written-down tolerances, and a way to
 * run a suite on every backend the numeric code must support.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName } from '../src/backend/select.js';

export interface Tolerance {
  /** Relative tolerance. Default 1e-6. */
  rtol?: number;
  /** Absolute tolerance. Default 1e-6. */
  atol?: number;
}

type Numeric = number | ArrayLike<number> | tf.Tensor;

function toArray(x: Numeric): number[] {
  if (typeof x === 'number') return [x];
  if (x instanceof tf.Tensor) return Array.from(x.dataSync());
  return Array.from(x);
}

/**
 * Asserts |actual - expected| <= atol + rtol * |expected| element-wise (numpy's allclose),
 * and that both have the same number of elements. NaN never passes.
 */
export function expectClose(
  actual: Numeric,
  expected: Numeric,
  { rtol = 1e-6, atol = 1e-6 }: Tolerance = {},
  what = 'value',
): void {
  const a = toArray(actual);
  const e = toArray(expected);
  assert.equal(a.length, e.length, `${what}: length ${a.length} != expected ${e.length}`);
  for (let i = 0; i < a.length; i++) {
    const ok = Math.abs(a[i] - e[i]) <= atol + rtol * Math.abs(e[i]);
    if (!ok || Number.isNaN(a[i]) || Number.isNaN(e[i])) {
      assert.fail(
        `${what}[${i}]: got ${a[i]}, expected ${e[i]} (rtol ${rtol}, atol ${atol}, ` +
          `diff ${Math.abs(a[i] - e[i])})`,
      );
    }
  }
}

/** Largest relative error max|a - e| / max|e| between two tensors (for kernel checks). */
export function relativeError(actual: tf.Tensor, expected: tf.Tensor): number {
  const a = actual.dataSync();
  const e = expected.dataSync();
  assert.equal(a.length, e.length, 'relativeError: size mismatch');
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - e[i]));
    den = Math.max(den, Math.abs(e[i]));
  }
  return den === 0 ? num : num / den;
}

/** The backends every numeric suite runs on. */
export const NUMERIC_BACKENDS: readonly BackendName[] = ['cpu', 'wasm'];

/** Switches to a backend for the tests that follow (quietly). */
export async function useBackend(name: BackendName): Promise<void> {
  tf.env().set('PROD', true);
  await initBackend({ backend: name });
}

/** A seeded uniform random tensor in [lo, hi). */
export function randomTensor(shape: number[], seed: number, lo = 0, hi = 1): tf.Tensor {
  return tf.randomUniform(shape, lo, hi, 'float32', seed);
}
