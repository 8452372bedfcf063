/**
 * The wasm Sum, Mean (per-channel reductions without a transposition, src/kernels/wasm/
 * reductions.ts), Concat and SplitV (along channels by a SIMD copy, channels.ts), FusedBatchNorm and
 * MaxPoolGrad (norm_pool.ts) against the cpu backend: the cases they take (every axis but the last, channels a multiple of 4, more rows
 * than one float32 block) and the ones they hand to the stock kernels, a concatenation's
 * gradient, and no leaks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { randomTensor, relativeError, useBackend } from '../helpers.js';

/** Float32 sums of a few thousand terms in another order than the cpu backend's. */
const RTOL = 1e-5;

/** Runs `f` on both backends with the same inputs; returns [wasm results, cpu results]. */
async function onBoth(
  shapes: number[][],
  f: (...xs: tf.Tensor[]) => tf.Tensor[],
): Promise<[number[][], number[][], number[][]]> {
  const out: { values: number[][]; shapes: number[][] }[] = [];
  for (const backend of ['wasm', 'cpu'] as const) {
    await useBackend(backend);
    const xs = shapes.map((s, i) => randomTensor(s, 90 + i, -1, 1));
    const ys = tf.tidy(() => f(...xs));
    out.push({ values: ys.map((y) => Array.from(y.dataSync())), shapes: ys.map((y) => y.shape) });
    tf.dispose([...xs, ...ys]);
  }
  assert.deepEqual(out[0].shapes, out[1].shapes, 'shapes');
  return [out[0].values, out[1].values, out[0].shapes];
}

async function expectSame(
  shapes: number[][],
  f: (...xs: tf.Tensor[]) => tf.Tensor[],
  what: string,
) {
  const [wasm, cpu, outShapes] = await onBoth(shapes, f);
  wasm.forEach((values, k) => {
    const err = relativeError(tf.tensor(values, outShapes[k]), tf.tensor(cpu[k], outShapes[k]));
    assert.ok(err <= RTOL, `${what} [${k}]: relative error ${err} > ${RTOL}`);
  });
}

describe('wasm Sum, Mean, SplitV, FusedBatchNorm and MaxPoolGrad', () => {
  const reductions: [string, number[], number | number[], boolean][] = [
    ['NHWC over N, H, W', [2, 5, 7, 12], [0, 1, 2], false],
    ['NHWC over N, H, W, keepDims', [2, 5, 7, 12], [0, 1, 2], true],
    ['negative, unordered axes', [3, 4, 4, 8], [-2, 0, 1], false],
    ['more rows than a float32 block', [3, 40, 33, 8], [0, 1, 2], true],
    ['rank 2 over rows', [37, 16], 0, false],
    ['3 channels (stock kernel)', [2, 5, 7, 3], [0, 1, 2], false],
    ['over H, W only (stock kernel)', [2, 5, 7, 8], [1, 2], false],
    ['over channels (stock kernel)', [2, 5, 7, 8], 3, true],
  ];
  for (const [name, shape, axis, keepDims] of reductions) {
    it(`sum and mean ${name} match cpu`, async () => {
      await expectSame(
        [shape],
        (x) => [tf.sum(x, axis, keepDims), tf.mean(x, axis, keepDims)],
        name,
      );
    });
  }

  const splits: [string, number[], number[] | number, number][] = [
    ['sizes along channels', [2, 3, 5, 24], [8, 4, 12], -1],
    ['equal pieces along channels', [2, 3, 5, 24], 3, 3],
    ['odd sizes (stock kernel)', [2, 3, 5, 24], [5, 19], -1],
    ['along width (stock kernel)', [2, 3, 6, 8], 2, 2],
  ];
  for (const [name, shape, sizes, axis] of splits) {
    it(`split ${name} matches cpu`, async () => {
      await expectSame([shape], (x) => tf.split(x, sizes, axis), name);
    });
  }

  const concats: [string, number[][], number][] = [
    [
      'along channels',
      [
        [2, 3, 5, 8],
        [2, 3, 5, 4],
        [2, 3, 5, 12],
      ],
      -1,
    ],
    [
      'along channels, 3 (stock kernel)',
      [
        [2, 3, 5, 8],
        [2, 3, 5, 3],
      ],
      3,
    ],
    [
      'along width (stock kernel)',
      [
        [2, 3, 5, 8],
        [2, 3, 2, 8],
      ],
      2,
    ],
  ];
  for (const [name, shapes, axis] of concats) {
    it(`concat ${name} matches cpu`, async () => {
      await expectSame(shapes, (...xs) => [tf.concat(xs, axis)], name);
    });
  }

  it("a channel concatenation's gradient matches cpu", async () => {
    await expectSame(
      [
        [2, 6, 6, 8],
        [2, 6, 6, 12],
        [2, 6, 6, 20],
      ],
      (a, b, dy) => tf.grads((x, y) => tf.sum(tf.mul(tf.concat([x, y], -1), dy)))([a, b]),
      'concat gradient',
    );
  });

  const norms: [string, number[], number[], boolean][] = [
    ['NHWC, scale and offset', [2, 5, 7, 12], [12], true],
    ['NHWC, no scale or offset', [2, 5, 7, 8], [8], false],
    ['parameters as [1, 1, 1, C]', [2, 3, 4, 8], [1, 1, 1, 8], true],
    ['3 channels (stock kernel)', [2, 5, 7, 3], [3], true],
  ];
  for (const [name, shape, paramShape, affine] of norms) {
    it(`batch norm ${name} matches cpu`, async () => {
      await expectSame(
        [shape, paramShape, paramShape, paramShape, paramShape],
        (x, m, v, o, sc) => [
          tf.batchNorm(x, m, tf.abs(v), affine ? o : undefined, affine ? sc : undefined, 1e-3),
        ],
        name,
      );
    });
  }

  // Ties (all-zero windows after ReLU, equal rounded values) go to the first maximum in
  // row-major order, on cpu and here (tfjs-backend-wasm's own kernel, no longer used, disagreed
  // with cpu on odd widths even without ties).
  const pools: [string, number[], 'valid' | 'same', boolean, number, number][] = [
    ['2x2 stride 2 valid (SIMD)', [2, 6, 8, 8], 'valid', true, 2, 2],
    ['2x2 stride 2 same, even (SIMD)', [3, 4, 4, 12], 'same', true, 2, 2],
    ['2x2 stride 2 valid, odd size', [2, 5, 7, 8], 'valid', true, 2, 2],
    ['2x2 stride 2 same, odd size', [2, 5, 7, 8], 'same', true, 2, 2],
    ['2x2 stride 2, 3 channels', [2, 6, 6, 3], 'valid', true, 2, 2],
    ['3x3 stride 2 same, overlapping', [2, 7, 6, 4], 'same', true, 3, 2],
    ['3x3 stride 1 valid', [1, 6, 5, 4], 'valid', false, 3, 1],
  ];
  for (const [name, shape, pad, ties, size, stride] of pools) {
    it(`max pool gradient ${name} matches cpu`, async () => {
      const outShape = (n: number) =>
        pad === 'same' ? Math.ceil(n / stride) : Math.floor((n - size) / stride) + 1;
      const dyShape = [shape[0], outShape(shape[1]), outShape(shape[2]), shape[3]];
      await expectSame(
        [shape, dyShape],
        (x, dy) => {
          const input = ties ? tf.relu(tf.round(tf.mul(x, 2))) : x;
          return [
            tf.grad((t) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, size, stride, pad), dy)))(
              input,
            ),
          ];
        },
        name,
      );
    });
  }

  it('leaks no tensors or data ids', async () => {
    await useBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const x = randomTensor([2, 8, 8, 16], 99, -1, 1);
    const step = () =>
      tf.tidy(() => {
        const [a, b] = tf.split(x, [4, 12], -1);
        const pooled = tf.grad((t) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')))(b);
        const normed = tf.batchNorm(a, tf.ones([4]), tf.ones([4]), tf.zeros([4]), tf.ones([4]));
        return [tf.sum(a, [0, 1, 2]), tf.mean(b, [0, 1, 2], true), pooled, normed].map(
          (t) => t.dataSync()[0],
        );
      });
    step();
    const tensors = tf.memory().numTensors;
    const dataIds = backend.numDataIds();
    for (let i = 0; i < 5; i++) step();
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(backend.numDataIds(), dataIds);
    x.dispose();
  });
});
