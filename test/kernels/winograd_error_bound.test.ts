/**
 * The error of each convolution algorithm of the wasm backend per element, in units of the
 * element's own rounding scale sum |a||b| (`conv_reference.ts`, float64 plain loops), for the
 * forward pass, the input gradient and the filter gradient: the direct kernels, Winograd
 * F(2x2, 3x3) and F(4x4, 3x3), each forced, on the networks' channel counts at small spatial
 * sizes, with ReLU-like activations and glorot weights and with an adversarial large mean.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { setBackendNumerics, type ConvAlgorithm } from '../../src/kernels/numerics.js';
import type { WasmBackend } from '../../src/kernels/wasm/kernel_calls.js';
import { WINOGRAD_MIN_CHANNELS } from '../../src/kernels/wasm/winograd.js';
import { winogradKernels } from '../../src/kernels/wasm/winograd_kernels.js';
import { F23, F43, type WinogradMatrices } from '../../src/kernels/wasm/winograd_transforms.js';
import { expectClose, useBackend } from '../helpers.js';
import {
  CONV_DATA,
  convOperands,
  EPS32,
  filterScaledError,
  referenceFilterGradient,
  referenceForward,
  referenceInputGradient,
  scaledError,
  type ConvData,
} from './conv_reference.js';

type Algorithm = Exclude<ConvAlgorithm, 'auto'>;
type Pass = 'forward' | 'inputGradient' | 'filterGradient';

const ALGORITHMS: readonly Algorithm[] = ['direct', 'winograd', 'winograd4'];
const PASSES: readonly Pass[] = ['forward', 'inputGradient', 'filterGradient'];

/** [N, H, W, Ci, Co]: the networks' channel counts (first layer, 32, 64, 256) at small sizes. */
const CASES: [number, number, number, number, number][] = [
  [2, 8, 8, 1, 32],
  [2, 8, 12, 32, 32],
  [2, 7, 9, 32, 64],
  [2, 8, 8, 64, 64],
  [1, 8, 8, 256, 256],
];

/**
 * The accepted error per element, in EPS32 times the element's scale sum |a||b|, for the
 * networks' channel counts from WINOGRAD_MIN_CHANNELS (where the rule runs Winograd): about
 * twice the largest measured on these cases (printed by the suite; README, numerics). Why they
 * differ: the direct kernels round each of an element's products and sums once (1-2 eps seen;
 * the filter gradient's long sum over N x H x W terms with a large mean, 6 eps). F(2x2, 3x3)'s
 * transforms scale by 0, 1 and 1/2 only, and pass about 7 times the element's sum |a||b|
 * through their intermediate values (the largest entry of |A^T| (|G| 1 |G|^T . |B^T| 1 |B|) |A|
 * over 9, from the matrices): 1-5 eps seen. F(4x4, 3x3)'s carry 5, 8 and 1/6 and pass 28 to
 * 256 times (the same count): 10-50 eps seen, about ten times F(2x2, 3x3), as the error
 * analyses of Winograd convolution predict (Barabasz et al. 2020, ACM TOMS 46(4)). The filter
 * gradient's bound is the loosest: its output transform G^T dU G mixes the nine taps of a
 * filter, so a tap with small products of its own carries its neighbours' rounding.
 */
const BOUND: Record<Algorithm, Record<Pass, number>> = {
  direct: { forward: 4, inputGradient: 4, filterGradient: 16 },
  winograd: { forward: 4, inputGradient: 4, filterGradient: 12 },
  winograd4: { forward: 48, inputGradient: 40, filterGradient: 100 },
};

/**
 * The forward pass of a 1-channel input (the first layer; the rule keeps it direct, and only a
 * forced algorithm runs Winograd there): an element's own 9 products can be all but zero
 * (ReLU-like zeros) while its tile's 16 or 36 inputs are not, and Winograd's output is then a
 * difference of the tile's transformed values that cancels only in exact arithmetic. About
 * twice the measured (25 and 244 eps).
 */
const ONE_CHANNEL_FORWARD: Record<Algorithm, number> = {
  direct: 4,
  winograd: 64,
  winograd4: 512,
};

const measured = new Map<string, number>();

/** The three kernels' results on the wasm backend with `algorithm` forced. */
function wasmPasses(
  algorithm: Algorithm,
  shape: readonly number[],
  ops: { x: Float32Array; w: Float32Array; dy: Float32Array },
): Float32Array[] {
  const [n, h, wd, ci, co] = shape;
  setBackendNumerics(tf.backend(), { convAlgorithm: algorithm });
  return tf.tidy(() => {
    const x = tf.tensor4d(ops.x, [n, h, wd, ci]);
    const w = tf.tensor4d(ops.w, [3, 3, ci, co]);
    const dy = tf.tensor4d(ops.dy, [n, h, wd, co]);
    const y = tf.conv2d(x, w, 1, 'same');
    const [dx, dw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 1, 'same'), dy)),
    )([x, w]);
    return [y, dx, dw].map((t) => t.dataSync() as Float32Array);
  });
}

/** Runs every case of CASES on `data` with each algorithm; asserts each pass's bound. */
function checkBounds(data: ConvData, label = ''): void {
  for (const [k, shape] of CASES.entries()) {
    const ops = convOperands(data, shape, 100 + k);
    const refs = [
      referenceForward(ops.x, ops.w, shape),
      referenceInputGradient(ops.dy, ops.w, shape),
      referenceFilterGradient(ops.x, ops.dy, shape),
    ];
    for (const algorithm of ALGORITHMS) {
      const got = wasmPasses(algorithm, shape, ops);
      for (const [p, pass] of PASSES.entries()) {
        const err = scaledError(got[p], refs[p]);
        const oneChannel = shape[3] < WINOGRAD_MIN_CHANNELS && pass === 'forward';
        const key = `${algorithm} ${pass} ${data}${oneChannel ? ' (1 input channel)' : ''}${label}`;
        measured.set(key, Math.max(measured.get(key) ?? 0, err));
        const bound = oneChannel ? ONE_CHANNEL_FORWARD[algorithm] : BOUND[algorithm][pass];
        assert.ok(
          err <= bound * EPS32,
          `${shape.join('x')} ${key}: error ${(err / EPS32).toFixed(2)} eps > ${bound} eps`,
        );
      }
    }
  }
  setBackendNumerics(tf.backend(), { convAlgorithm: 'auto' });
}

describe('convolution error per element against sum |a||b| (float64 reference)', () => {
  before(async () => {
    await useBackend('wasm');
  });

  after(() => {
    setBackendNumerics(tf.backend(), { convAlgorithm: 'auto' });
    const rows = [...measured].map(([k, v]) => `${k}: ${(v / EPS32).toFixed(2)} eps`);
    console.log(`largest error / (eps32 * sum|a||b|):\n${rows.join('\n')}`);
  });

  it('the reference is the convolution worked by hand on a 1x2x2x1 -> 1 case', () => {
    // x = [[1, 2], [3, 4]], w = taps 1..9 (row-major), dy = [[1, -1], [2, 0]].
    const x = Float32Array.of(1, 2, 3, 4);
    const w = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9);
    const dy = Float32Array.of(1, -1, 2, 0);
    const shape = [1, 2, 2, 1, 1];
    // y(0,0) = x00 w11 + x01 w12 + x10 w21 + x11 w22 = 5 + 12 + 24 + 36.
    assert.deepEqual(Array.from(referenceForward(x, w, shape).value), [77, 67, 47, 37]);
    // dx(0,0) = dy00 w11 + dy01 w10 + dy10 w01 + dy11 w00 = 5 - 4 + 4 + 0.
    const dx = referenceInputGradient(dy, w, shape);
    assert.deepEqual(Array.from(dx.value), [5, 7, 11, 13]);
    // |.| sums: dx(0,0) = 5 + 4 + 4 + 0.
    assert.equal(dx.scale[0], 13);
    // dW(r, s) = sum over outputs of x at the tap's input times dy; dW(1,1) = 1 - 2 + 6 + 0.
    const dw = referenceFilterGradient(x, dy, shape);
    assert.deepEqual(Array.from(dw.value), [0, 2, 4, -1, 5, 10, -3, -1, 4]);
    assert.deepEqual(Array.from(dw.scale), [0, 2, 4, 1, 9, 10, 3, 7, 4]);
    // A tap with no products (scale 0) that comes out 0.5: Infinity per element, 0.5 / 10
    // against its filter's largest tap scale.
    const off = Float32Array.from(dw.value, (v, i) => (i === 0 ? 0.5 : v));
    assert.equal(scaledError(off, dw), Infinity);
    assert.equal(filterScaledError(off, dw, 1), 0.05);
    assert.equal(scaledError(Float32Array.from(dw.value), dw), 0);
  });

  it("the transforms' amplification that the bounds cite, from the matrices", () => {
    // max and min over outputs of |A^T| (|G| 1 |G|^T . |B^T| 1 |B|) |A| / 9: the absolute mass
    // the intermediate values carry per unit of an element's sum |a||b| (all-ones data).
    const amplification = ({ alpha, m, bt, g, gScale, at }: WinogradMatrices) => {
      const G = g.map((row, r) => row.map((v) => Math.abs(v * (gScale?.[r] ?? 1))));
      const rowSum = (M: number[][]) => M.map((row) => row.reduce((a, v) => a + Math.abs(v), 0));
      const [gs, bs] = [rowSum(G), rowSum(bt)];
      const outs: number[] = [];
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < m; j++) {
          let sum = 0;
          for (let p = 0; p < alpha; p++) {
            for (let q = 0; q < alpha; q++) {
              sum += Math.abs(at[i][p]) * gs[p] * gs[q] * bs[p] * bs[q] * Math.abs(at[j][q]);
            }
          }
          outs.push(sum / 9);
        }
      }
      return [Math.min(...outs), Math.max(...outs)];
    };
    // F(2x2, 3x3): every output 64 / 9 (rows of |G| sum to 1, 1.5, 1.5, 1; of |B^T| to 2).
    expectClose(amplification(F23), [64 / 9, 64 / 9], { rtol: 1e-12, atol: 0 });
    const [lo, hi] = amplification(F43);
    expectClose([lo, hi], [256 / 9, 256], { rtol: 1e-12, atol: 0 });
  });

  for (const data of CONV_DATA) {
    it(`each algorithm and pass stays within its bound (${data} data)`, async () => {
      await useBackend('wasm');
      checkBounds(data);
    });
  }

  it('the same bounds hold on the plain-SIMD kernels (ReLU-like data)', async (t) => {
    await useBackend('wasm');
    if (!(winogradKernels(tf.backend() as unknown as WasmBackend)?.relaxed ?? false)) {
      t.skip('this engine has no relaxed SIMD: the cases above ran the plain kernels');
      return;
    }
    setBackendNumerics(tf.backend(), { relaxedSimd: false });
    try {
      assert.equal(winogradKernels(tf.backend() as unknown as WasmBackend)?.relaxed, false);
      checkBounds('relu', ' (plain SIMD)');
    } finally {
      setBackendNumerics(tf.backend(), { relaxedSimd: true });
    }
  });
});
