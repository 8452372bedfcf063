/**
 * The wasm convolution gradient kernels (src/kernels/wasm) against the cpu backend's reference
 * kernels: every case computes the same gradients (through tf.grad, so with the attributes
 * tfjs itself passes) on `cpu` and on `wasm` and bounds their relative error
 * max|wasm - cpu| / max|cpu| by KERNEL_RTOL. The shapes are those the networks use, shrunk in
 * space and batch, plus the unusual geometries the kernels have separate code paths for. The
 * filter gradient is checked on both of its paths (SIMD kernel and XNNPACK fallback). Also: a
 * finite-difference check, leak checks and the NCHW error. The largest relative error seen is
 * printed at the end ("max kernel relative error: ...").
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core registers no gradients by itself; tfjs-layers' Node bundle registers them all.
import '@tensorflow/tfjs-layers';
import { setBackendNumerics, type FilterGradientPath } from '../../src/kernels/numerics.js';
import { conv2DBackpropFilterConfig } from '../../src/kernels/wasm/conv2d_backprop_filter.js';
import { conv2DBackpropInputConfig } from '../../src/kernels/wasm/conv2d_backprop_input.js';
import { registerWasmKernels } from '../../src/kernels/wasm/register.js';
import { randomTensor, relativeError, useBackend } from '../helpers.js';

/** The wasm backend's filter-gradient path (its numerics, as `initBackend` sets them). */
const setFilterGradientPath = (filterGradient: FilterGradientPath) =>
  setBackendNumerics(tf.backend(), { filterGradient });

/**
 * Largest accepted relative error. The kernels sum in float32 in another order than the cpu
 * backend (which accumulates in float64); the errors seen are around 1e-6.
 */
const KERNEL_RTOL = 1e-4;

type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

interface ConvCase {
  name: string;
  /** NHWC input shape. */
  x: [number, number, number, number];
  /** Filter shape [KH, KW, Cin, Cout]. */
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
}

const CONV_CASES: ConvCase[] = [
  { name: '3x3 stride 1 same', x: [2, 16, 16, 8], filter: [3, 3, 8, 16], strides: 1, pad: 'same' },
  { name: '1x1 stride 1', x: [2, 12, 12, 16], filter: [1, 1, 16, 8], strides: 1, pad: 'same' },
  { name: '2x2 stride 2 same', x: [2, 16, 16, 8], filter: [2, 2, 8, 16], strides: 2, pad: 'same' },
  { name: '3x3 stride 2 same', x: [2, 16, 16, 8], filter: [3, 3, 8, 16], strides: 2, pad: 'same' },
  { name: '3x3 stride 1 valid', x: [2, 13, 11, 4], filter: [3, 3, 4, 8], strides: 1, pad: 'valid' },
  {
    name: '3x3 stride 2 valid, odd',
    x: [2, 15, 13, 4],
    filter: [3, 3, 4, 8],
    strides: 2,
    pad: 'valid',
  },
  {
    name: '2x2 stride 2 same, odd',
    x: [2, 15, 17, 3],
    filter: [2, 2, 3, 5],
    strides: 2,
    pad: 'same',
  },
  {
    name: '2x2 stride 2 valid, odd',
    x: [2, 9, 11, 3],
    filter: [2, 2, 3, 5],
    strides: 2,
    pad: 'valid',
  },
  {
    name: '3x3 stride 2 same, odd',
    x: [3, 9, 11, 5],
    filter: [3, 3, 5, 7],
    strides: 2,
    pad: 'same',
  },
  {
    name: '3x3 stride 2 same, 10 -> 6 channels',
    x: [2, 9, 9, 10],
    filter: [3, 3, 10, 6],
    strides: 2,
    pad: 'same',
  },
  {
    name: '3x3 stride 1 same, 1 -> 32 channels',
    x: [2, 16, 16, 1],
    filter: [3, 3, 1, 32],
    strides: 1,
    pad: 'same',
  },
  {
    name: '3x3 stride 1 same, 64 -> 64 channels',
    x: [1, 8, 8, 64],
    filter: [3, 3, 64, 64],
    strides: 1,
    pad: 'same',
  },
  {
    name: '1x1 stride 1, 32 -> 1 channel',
    x: [2, 16, 16, 32],
    filter: [1, 1, 32, 1],
    strides: 1,
    pad: 'valid',
  },
  {
    name: '3x3 stride 1, numeric padding',
    x: [2, 10, 10, 3],
    filter: [3, 3, 3, 4],
    strides: 1,
    pad: 1,
  },
  {
    name: '3x3 stride 2, explicit asymmetric padding',
    x: [2, 10, 9, 3],
    filter: [3, 3, 3, 4],
    strides: 2,
    pad: [
      [0, 0],
      [2, 0],
      [1, 3],
      [0, 0],
    ],
  },
  {
    name: '1x1 stride 2 (rows no tap reaches)',
    x: [2, 9, 9, 3],
    filter: [1, 1, 3, 4],
    strides: 2,
    pad: 'same',
  },
  { name: '5x5 stride 1 same', x: [2, 10, 10, 3], filter: [5, 5, 3, 4], strides: 1, pad: 'same' },
  { name: '4x4 stride 2 same', x: [2, 10, 11, 3], filter: [4, 4, 3, 4], strides: 2, pad: 'same' },
  { name: '3x3 stride 3 same', x: [2, 10, 11, 3], filter: [3, 3, 3, 4], strides: 3, pad: 'same' },
  {
    name: '3x3 strides [1, 2] same',
    x: [2, 9, 10, 3],
    filter: [3, 3, 3, 4],
    strides: [1, 2],
    pad: 'same',
  },
  { name: '2x3 stride 2 valid', x: [2, 9, 12, 3], filter: [2, 3, 3, 4], strides: 2, pad: 'valid' },
];

interface TransposeCase {
  name: string;
  /** NHWC input shape of the transposed convolution. */
  x: [number, number, number, number];
  /** Filter shape [KH, KW, Cout, Cin] (tf.conv2dTranspose's layout). */
  filter: [number, number, number, number];
  /** Output shape [N, H, W, Cout]. */
  out: [number, number, number, number];
  strides: number;
  pad: 'same' | 'valid';
}

const TRANSPOSE_CASES: TransposeCase[] = [
  {
    name: '3x3 stride 2 same',
    x: [2, 8, 8, 16],
    filter: [3, 3, 8, 16],
    out: [2, 16, 16, 8],
    strides: 2,
    pad: 'same',
  },
  {
    name: '2x2 stride 2 same',
    x: [2, 8, 8, 16],
    filter: [2, 2, 8, 16],
    out: [2, 16, 16, 8],
    strides: 2,
    pad: 'same',
  },
  {
    name: '3x3 stride 1 same',
    x: [2, 12, 12, 8],
    filter: [3, 3, 16, 8],
    out: [2, 12, 12, 16],
    strides: 1,
    pad: 'same',
  },
  {
    name: '3x3 stride 2 same, 32 -> 32',
    x: [1, 8, 8, 32],
    filter: [3, 3, 32, 32],
    out: [1, 16, 16, 32],
    strides: 2,
    pad: 'same',
  },
  {
    name: '3x3 stride 2 valid',
    x: [2, 7, 7, 4],
    filter: [3, 3, 5, 4],
    out: [2, 15, 15, 5],
    strides: 2,
    pad: 'valid',
  },
];

/** Runs `f` on a backend and returns its results as plain tensors on that backend. */
async function on<T extends tf.Tensor[]>(backend: 'cpu' | 'wasm', f: () => T): Promise<T> {
  await useBackend(backend);
  return tf.tidy(f);
}

/** Moves a tensor's values to the current backend (so that inputs match across backends). */
function copy(t: tf.Tensor): tf.Tensor {
  return tf.tensor(t.dataSync(), t.shape, t.dtype);
}

let maxError = 0;

/** Asserts relative error <= KERNEL_RTOL between a wasm result and its cpu reference. */
function expectKernelClose(what: string, wasm: tf.Tensor, cpu: tf.Tensor): void {
  assert.deepEqual(wasm.shape, cpu.shape, `${what}: shape`);
  const err = relativeError(wasm, cpu);
  maxError = Math.max(maxError, err);
  assert.ok(err <= KERNEL_RTOL, `${what}: relative error ${err} > ${KERNEL_RTOL}`);
}

/** Gradients of sum(conv2d(x, f) * dy) with respect to x and f, and the forward result. */
function convGrads(c: ConvCase, x: tf.Tensor4D, f: tf.Tensor4D, dy: tf.Tensor4D) {
  const loss = (xx: tf.Tensor4D, ff: tf.Tensor4D) =>
    tf.sum(tf.mul(tf.conv2d(xx, ff, c.strides, c.pad), dy));
  const [dx, df] = tf.grads((xx: tf.Tensor, ff: tf.Tensor) =>
    loss(xx as tf.Tensor4D, ff as tf.Tensor4D),
  )([x, f]);
  return [dx, df];
}

describe('wasm convolution gradient kernels', () => {
  before(async () => {
    await useBackend('wasm');
  });

  after(() => {
    console.log(`max kernel relative error: ${maxError.toExponential(1)}`);
  });

  it('replaces Conv2DBackpropInput and adds Conv2DBackpropFilter, once', () => {
    registerWasmKernels();
    registerWasmKernels();
    assert.equal(
      tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc,
      conv2DBackpropInputConfig.kernelFunc,
    );
    assert.equal(
      tf.getKernel('Conv2DBackpropFilter', 'wasm')?.kernelFunc,
      conv2DBackpropFilterConfig.kernelFunc,
    );
  });

  // The filter gradient has a SIMD kernel and an XNNPACK fallback for wasm builds without
  // SIMD: both are checked on every case.
  for (const filterPath of ['simd', 'xnnpack'] as FilterGradientPath[]) {
    for (const [i, c] of CONV_CASES.entries()) {
      it(`conv2d ${c.name}: input and filter (${filterPath}) gradients match cpu`, async () => {
        await useBackend('cpu');
        const xc = randomTensor(c.x, 10 + i, -1, 1) as tf.Tensor4D;
        const fc = randomTensor(c.filter, 20 + i, -1, 1) as tf.Tensor4D;
        const yShape = tf.tidy(() => tf.conv2d(xc, fc, c.strides, c.pad).shape);
        const dyc = randomTensor(yShape, 30 + i, -1, 1) as tf.Tensor4D;
        const [dxRef, dfRef] = tf.tidy(() => convGrads(c, xc, fc, dyc));

        await useBackend('wasm');
        const [xw, fw, dyw] = [xc, fc, dyc].map(copy) as tf.Tensor4D[];
        setFilterGradientPath(filterPath);
        try {
          const [dx, df] = tf.tidy(() => convGrads(c, xw, fw, dyw));
          expectKernelClose(`${c.name} dx`, dx, dxRef);
          expectKernelClose(`${c.name} dW (${filterPath})`, df, dfRef);
          tf.dispose([dx, df]);
        } finally {
          setFilterGradientPath('auto');
        }
        tf.dispose([xw, fw, dyw]);
        await useBackend('cpu');
        tf.dispose([xc, fc, dyc, dxRef, dfRef]);
      });
    }
  }

  for (const [i, c] of TRANSPOSE_CASES.entries()) {
    it(`conv2dTranspose ${c.name}: result and gradients match cpu`, async () => {
      const run = (x: tf.Tensor4D, f: tf.Tensor4D, dy: tf.Tensor4D) => {
        const y = tf.conv2dTranspose(x, f, c.out, c.strides, c.pad);
        const [dx, df] = tf.grads((xx: tf.Tensor, ff: tf.Tensor) =>
          tf.sum(
            tf.mul(
              tf.conv2dTranspose(xx as tf.Tensor4D, ff as tf.Tensor4D, c.out, c.strides, c.pad),
              dy,
            ),
          ),
        )([x, f]);
        return [y, dx, df];
      };
      await useBackend('cpu');
      const xc = randomTensor(c.x, 40 + i, -1, 1) as tf.Tensor4D;
      const fc = randomTensor(c.filter, 50 + i, -1, 1) as tf.Tensor4D;
      const dyc = randomTensor(c.out, 60 + i, -1, 1) as tf.Tensor4D;
      const ref = tf.tidy(() => run(xc, fc, dyc));

      await useBackend('wasm');
      const [xw, fw, dyw] = [xc, fc, dyc].map(copy) as tf.Tensor4D[];
      const got = tf.tidy(() => run(xw, fw, dyw));

      for (const [j, what] of ['result', 'input gradient', 'filter gradient'].entries()) {
        expectKernelClose(`conv2dTranspose ${c.name} ${what}`, got[j], ref[j]);
      }
      tf.dispose([xw, fw, dyw, ...got]);
      await useBackend('cpu');
      tf.dispose([xc, fc, dyc, ...ref]);
    });
  }

  it('matches central finite differences of a linear loss (filter and input gradient)', async () => {
    // loss(x, f) = sum(conv2d(x, f) * dy) is linear in each argument, so a central difference
    // with a step of 1 is exact up to float32 rounding of the loss (about 1e-6 relative).
    const c = CONV_CASES[3];
    const [x, f] = await on('wasm', () => [
      randomTensor(c.x, 70, -1, 1),
      randomTensor(c.filter, 71, -1, 1),
    ]);
    const dy = tf.tidy(() =>
      randomTensor(
        tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad).shape,
        72,
        -1,
        1,
      ),
    );
    const loss = (xx: tf.Tensor, ff: tf.Tensor) =>
      tf.tidy(
        () =>
          tf
            .sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, c.strides, c.pad), dy))
            .dataSync()[0],
      );
    const [dx, df] = tf.grads((xx: tf.Tensor, ff: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, c.strides, c.pad), dy)),
    )([x, f]);
    const probe = (t: tf.Tensor, grad: tf.Tensor, which: 'x' | 'f', indices: number[]) => {
      const values = t.dataSync();
      const g = grad.dataSync();
      for (const k of indices) {
        const shifted = (delta: number) => {
          const v = Float32Array.from(values);
          v[k] += delta;
          const moved = tf.tensor(v, t.shape);
          const l = which === 'x' ? loss(moved, f) : loss(x, moved);
          moved.dispose();
          return l;
        };
        const fd = (shifted(1) - shifted(-1)) / 2;
        assert.ok(
          Math.abs(fd - g[k]) <= 1e-3 * Math.max(1, Math.abs(g[k])),
          `d loss / d ${which}[${k}]: kernel ${g[k]}, finite difference ${fd}`,
        );
      }
    };
    probe(f, df, 'f', [0, 17, 100, f.size - 1]);
    probe(x, dx, 'x', [0, 33, 500, x.size - 1]);
    tf.dispose([x, f, dy, dx, df]);
  });

  // Each step packs dy for three XNNPACK filter gradients (about 0.6 + 0.15 + 0.15 MB): 30
  // leaked steps would need 26 MB more heap than its 16 MB start, which the heap size would
  // show (checked by disposing a packed dy without unregistering it). The SIMD path creates no
  // operators; its loop checks the counts.
  for (const [filterPath, steps] of [
    ['xnnpack', 30],
    ['simd', 10],
  ] as [FilterGradientPath, number][]) {
    it(`leaks no tensors, data ids or XNNPACK operators over ${steps} steps (${filterPath})`, async () => {
      await useBackend('wasm');
      const backend = tf.backend() as unknown as {
        numDataIds(): number;
        wasm: { HEAPU8: Uint8Array };
      };
      const x = randomTensor([2, 32, 32, 64], 80, -1, 1) as tf.Tensor4D;
      const f = randomTensor([3, 3, 64, 64], 81, -1, 1) as tf.Tensor4D;
      const g = randomTensor([3, 3, 64, 64], 82, -1, 1) as tf.Tensor4D;
      const step = () =>
        tf.tidy(() => {
          const gradients = tf.grads((xx: tf.Tensor, ff: tf.Tensor, gg: tf.Tensor) => {
            const h = tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, 1, 'same');
            const down = tf.conv2d(h, gg as tf.Tensor4D, 2, 'same');
            const up = tf.conv2dTranspose(down, gg as tf.Tensor4D, [2, 32, 32, 64], 2, 'same');
            return tf.sum(tf.square(up));
          })([x, f, g]);
          return gradients.map((t) => t.dataSync()[0]);
        });
      setFilterGradientPath(filterPath);
      try {
        for (let i = 0; i < 3; i++) step();
        const tensors = tf.memory().numTensors;
        const dataIds = backend.numDataIds();
        const heap = backend.wasm.HEAPU8.length;
        for (let i = 0; i < steps; i++) step();
        assert.equal(tf.memory().numTensors, tensors, 'tf.memory().numTensors');
        assert.equal(backend.numDataIds(), dataIds, 'wasm numDataIds()');
        assert.equal(backend.wasm.HEAPU8.length, heap, 'wasm heap size');
      } finally {
        setFilterGradientPath('auto');
      }
      tf.dispose([x, f, g]);
    });
  }

  it('names the allowed filter-gradient paths when given another', () => {
    assert.throws(
      () => setFilterGradientPath('fast' as FilterGradientPath),
      /^UserError: numerics: "filterGradient" must be one of auto, simd, xnnpack, got "fast"$/,
    );
  });

  it('rejects NCHW with a clear message', async () => {
    await useBackend('wasm');
    const x = tf.zeros([1, 2, 4, 4]);
    const dy = tf.zeros([1, 3, 4, 4]);
    const filter = tf.zeros([3, 3, 2, 3]);
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NCHW' } as const;
    assert.throws(
      () =>
        tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
          ...attrs,
          filterShape: [3, 3, 2, 3],
        } as unknown as tf.NamedAttrMap),
      /Conv2DBackpropFilter \(wasm\): dataFormat 'NCHW' is not supported; expected 'NHWC'/,
    );
    assert.throws(
      () =>
        tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, {
          ...attrs,
          inputShape: [1, 2, 4, 4],
        } as unknown as tf.NamedAttrMap),
      /Conv2DBackpropInput \(wasm\): dataFormat 'NCHW' is not supported; expected 'NHWC'/,
    );
    tf.dispose([x, dy, filter]);
  });
});
