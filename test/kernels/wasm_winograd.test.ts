/**
 * Winograd F(2x2, 3x3) and F(4x4, 3x3) (src/kernels/wasm/winograd.ts) against the cpu backend:
 * the forward pass (Conv2D, and FusedConv2D with bias and ReLU), the input gradient and the
 * filter gradient of 3x3 stride-1 'same' convolutions on the channel counts of the four
 * networks (1, 3 and 32k input channels, shrunk in space and batch; every input/output channel
 * pair of attn_reg's 3x3 stride-1 layers), odd sizes and batch > 1, with each algorithm forced
 * wherever it applies; the relative error max|wasm - cpu| / max|cpu| is bounded by KERNEL_RTOL.
 * Also: the same on the plain-SIMD kernels when the engine has relaxed SIMD, no leaked tensors
 * or heap growth, the rule's choices, and a short training run whose loss curve matches the
 * direct kernels'.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { synthesizeDataset } from '../../src/data/synthetic/generate.js';
import { setBackendNumerics, type ConvAlgorithm } from '../../src/kernels/numerics.js';
import {
  isWinogradConv,
  FILTER_GRADIENT_F2_MAX_PIXELS,
  winogradRule,
  WINOGRAD_MIN_CHANNELS,
} from '../../src/kernels/wasm/winograd.js';
import { winogradKernels } from '../../src/kernels/wasm/winograd_kernels.js';
import type { WasmBackend } from '../../src/kernels/wasm/kernel_calls.js';
import { buildModel } from '../../src/models/build.js';
import { MODEL_SUPERVISION } from '../../src/models/supervision.js';
import { Trainer } from '../../src/train/trainer.js';
import { randomTensor, relativeError, useBackend } from '../helpers.js';

/** The wasm backend's convolution algorithm (its numerics, as `initBackend` sets them). */
const setConvAlgorithm = (convAlgorithm: ConvAlgorithm) =>
  setBackendNumerics(tf.backend(), { convAlgorithm });
const setRelaxedSimd = (relaxedSimd: boolean) => setBackendNumerics(tf.backend(), { relaxedSimd });

/**
 * Largest accepted relative error. F(2x2, 3x3)'s transforms add at most 9 terms and scale by
 * 1/2 (exact): its error stays at the direct kernels' level (around 1e-6 seen). F(4x4, 3x3)'s
 * carry coefficients up to 8 and fractions like 1/6 that float32 rounds (up to 2e-5 seen on
 * 512 channels); the issue's bound for it is 1e-4.
 */
const KERNEL_RTOL: Record<'winograd' | 'winograd4', number> = { winograd: 1e-5, winograd4: 1e-4 };

/** [N, H, W, Ci, Co]: the networks' channel counts, small spatial sizes, odd ones too. */
const CASES: [number, number, number, number, number][] = [
  [2, 8, 8, 32, 32],
  [2, 7, 9, 32, 64],
  [3, 5, 6, 64, 32],
  [2, 6, 4, 96, 64],
  [1, 3, 3, 128, 256],
  [2, 9, 7, 1, 32],
  [2, 6, 6, 3, 32],
  [2, 4, 5, 36, 20],
  [2, 5, 5, 32, 6],
  [2, 8, 12, 64, 32],
];

/**
 * Channel pairs of attn_reg's 3x3 stride-1 layers small enough for the cpu backend in a test
 * (up to 256 -> 256); `node dist/bench/winograd_error.js` measures every layer at its real size,
 * 512 -> 512 included (README: largest F(4x4, 3x3) error 2e-5).
 */
const ATTN_REG_CHANNELS: [number, number][] = [
  [32, 32],
  [64, 32],
  [96, 64],
  [192, 128],
  [384, 64],
  [96, 256],
  [256, 256],
];

const maxError = { winograd: 0, winograd4: 0 };

function expectKernelClose(
  algorithm: 'winograd' | 'winograd4',
  what: string,
  got: tf.Tensor,
  want: tf.Tensor,
): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  const err = relativeError(got, want);
  maxError[algorithm] = Math.max(maxError[algorithm], err);
  const rtol = KERNEL_RTOL[algorithm];
  assert.ok(err <= rtol, `${what} (${algorithm}): relative error ${err} > ${rtol}`);
}

/** conv2d, fused conv2d + bias + relu, and the input and filter gradients of a linear loss. */
function passes(x: tf.Tensor4D, f: tf.Tensor4D, b: tf.Tensor1D, dy: tf.Tensor4D) {
  return tf.tidy(() => {
    const y = tf.conv2d(x, f, 1, 'same');
    const fused = tf.fused.conv2d({
      x,
      filter: f,
      strides: 1,
      pad: 'same',
      bias: b,
      activation: 'relu',
    });
    const [dx, df] = tf.grads((xx: tf.Tensor, ff: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, 1, 'same'), dy)),
    )([x, f]);
    return [y, fused, dx, df];
  });
}

const NAMES = ['forward', 'fused forward (bias, ReLU)', 'input gradient', 'filter gradient'];

async function checkCases(
  label: string,
  algorithm: 'winograd' | 'winograd4',
  cases = CASES,
): Promise<void> {
  for (const [i, [n, h, w, ci, co]] of cases.entries()) {
    await useBackend('cpu');
    const host = [
      randomTensor([n, h, w, ci], 10 + i, -1, 1),
      randomTensor([3, 3, ci, co], 20 + i, -1, 1),
      randomTensor([co], 30 + i, -1, 1),
      randomTensor([n, h, w, co], 40 + i, -1, 1),
    ];
    const ref = passes(...(host as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D, tf.Tensor4D]));
    const values = host.map((t) => ({ data: t.dataSync(), shape: t.shape }));
    const refValues = ref.map((t) => ({ data: t.dataSync(), shape: t.shape }));
    tf.dispose([...host, ...ref]);

    await useBackend('wasm');
    setConvAlgorithm(algorithm);
    const inputs = values.map((v) => tf.tensor(v.data, v.shape));
    const want = refValues.map((v) => tf.tensor(v.data, v.shape));
    const got = passes(...(inputs as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D, tf.Tensor4D]));
    got.forEach((t, k) =>
      expectKernelClose(
        algorithm,
        `${label} ${[n, h, w, ci, co].join('x')} ${NAMES[k]}`,
        t,
        want[k],
      ),
    );
    tf.dispose([...inputs, ...want, ...got]);
  }
}

describe('wasm Winograd convolutions', () => {
  before(async () => {
    await useBackend('wasm');
    setConvAlgorithm('winograd');
  });

  after(() => {
    setConvAlgorithm('auto');
    setRelaxedSimd(true);
    console.log(
      `max Winograd relative error: F(2x2,3x3) ${maxError.winograd.toExponential(1)}, ` +
        `F(4x4,3x3) ${maxError.winograd4.toExponential(1)}`,
    );
  });

  for (const algorithm of ['winograd', 'winograd4'] as const) {
    it(`forward, fused forward, input and filter gradients match cpu (${algorithm})`, async () => {
      await checkCases('', algorithm);
    });
  }

  it("attn_reg's 3x3 layer channels match cpu with F(4x4, 3x3)", async () => {
    await checkCases(
      'attn_reg',
      'winograd4',
      ATTN_REG_CHANNELS.map(([ci, co]) => [1, 4, 8, ci, co]),
    );
  });

  it('match cpu on the plain-SIMD kernels too', async (t) => {
    await useBackend('wasm');
    if (!(winogradKernels(tf.backend() as unknown as WasmBackend)?.relaxed ?? false)) {
      t.skip('this engine has no relaxed SIMD: the case above ran the plain kernels');
      return;
    }
    setRelaxedSimd(false);
    try {
      assert.equal(winogradKernels(tf.backend() as unknown as WasmBackend)?.relaxed, false);
      await checkCases('plain SIMD', 'winograd');
      await checkCases('plain SIMD', 'winograd4');
    } finally {
      setRelaxedSimd(true);
    }
  });

  it('leaks no tensors, data ids or heap over 10 steps', async () => {
    await useBackend('wasm');
    const backend = tf.backend() as unknown as {
      numDataIds(): number;
      wasm: { HEAPU8: Uint8Array };
    };
    const x = randomTensor([2, 10, 10, 32], 80, -1, 1) as tf.Tensor4D;
    const f = randomTensor([3, 3, 32, 32], 81, -1, 1) as tf.Tensor4D;
    const b = randomTensor([32], 82, -1, 1) as tf.Tensor1D;
    const step = () =>
      tf.tidy(() => {
        const g = tf.grads((xx: tf.Tensor, ff: tf.Tensor) => {
          const y = tf.fused.conv2d({
            x: xx as tf.Tensor4D,
            filter: ff as tf.Tensor4D,
            strides: 1,
            pad: 'same',
            bias: b,
            activation: 'relu',
          });
          return tf.sum(tf.square(tf.conv2d(y, ff as tf.Tensor4D, 1, 'same')));
        })([x, f]);
        return g.map((t) => t.dataSync()[0]);
      });
    for (let i = 0; i < 3; i++) step();
    const tensors = tf.memory().numTensors;
    const dataIds = backend.numDataIds();
    const heap = backend.wasm.HEAPU8.length;
    for (let i = 0; i < 10; i++) step();
    assert.equal(tf.memory().numTensors, tensors, 'tf.memory().numTensors');
    assert.equal(backend.numDataIds(), dataIds, 'wasm numDataIds()');
    assert.equal(backend.wasm.HEAPU8.length, heap, 'wasm heap size');
    tf.dispose([x, f, b]);
  });

  it('applies to 3x3 stride-1 pad-1 convolutions only; the rule keeps few channels direct and few pixels F(2x2) in the filter gradient', () => {
    const info = (k: number, stride: number, pad: 'same' | 'valid') =>
      tf.backend_util.computeConv2DInfo([2, 8, 8, 32], [k, k, 32, 32], stride, 1, pad);
    assert.equal(isWinogradConv(info(3, 1, 'same')), true);
    assert.equal(isWinogradConv(info(3, 1, 'valid')), false);
    assert.equal(isWinogradConv(info(3, 2, 'same')), false);
    assert.equal(isWinogradConv(info(2, 1, 'same')), false);
    const shape = { n: 16, h: 128, w: 128, ci: 1, co: 32 };
    for (const pass of ['forward', 'inputGradient', 'filterGradient'] as const) {
      assert.equal(winogradRule(pass, shape), 'direct', `${pass}: 1 -> 32 channels`);
      assert.equal(winogradRule(pass, { ...shape, ci: 64, co: 64 }), 4, `${pass}: 64 -> 64`);
      assert.equal(winogradRule(pass, { ...shape, ci: 16, co: 16 }), 'direct', `${pass}: 16`);
      assert.equal(WINOGRAD_MIN_CHANNELS, 32);
    }
    // Few summed pixels: the filter gradient runs F(2x2, 3x3), the other passes F(4x4, 3x3).
    const deep = { n: 1, h: 8, w: 8, ci: 512, co: 512 };
    assert.equal(FILTER_GRADIENT_F2_MAX_PIXELS, 64);
    assert.equal(winogradRule('filterGradient', deep), 2, 'filter gradient, 1x8x8');
    assert.equal(winogradRule('filterGradient', { ...deep, n: 2 }), 4, 'filter gradient, 2x8x8');
    assert.equal(winogradRule('filterGradient', { ...deep, ci: 16 }), 'direct', '16 -> 512');
    assert.equal(winogradRule('forward', deep), 4, 'forward, 1x8x8');
    assert.equal(winogradRule('inputGradient', deep), 4, 'input gradient, 1x8x8');
  });

  it("auto's filter gradient is F(2x2) to the bit over few pixels, F(4x4) over more", async () => {
    await useBackend('wasm');
    const dW = (algorithm: ConvAlgorithm, n: number) => {
      setConvAlgorithm(algorithm);
      return tf.tidy(() => {
        const x = randomTensor([n, 8, 8, 32], 90, 0, 1) as tf.Tensor4D;
        const f = randomTensor([3, 3, 32, 32], 91, -1, 1) as tf.Tensor4D;
        const dy = randomTensor([n, 8, 8, 32], 92, -1, 1) as tf.Tensor4D;
        const g = tf.grad((ff: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(x, ff as tf.Tensor4D, 1, 'same'), dy)),
        );
        return Array.from(g(f).dataSync());
      });
    };
    try {
      for (const [n, tile] of [
        [1, 'winograd'],
        [2, 'winograd4'],
      ] as const) {
        const [auto, f2, f4] = [dW('auto', n), dW('winograd', n), dW('winograd4', n)];
        // The two tiles round differently here, so the comparison tells them apart.
        assert.notDeepEqual(f2, f4, `${n}x8x8: F(2x2) and F(4x4) give the same bits`);
        assert.deepEqual(auto, tile === 'winograd' ? f2 : f4, `${n}x8x8: auto is not ${tile}`);
      }
    } finally {
      setConvAlgorithm('winograd');
    }
  });

  it('names the allowed algorithms when given another', () => {
    assert.throws(
      () => setConvAlgorithm('fft' as ConvAlgorithm),
      /^UserError: numerics: "convAlgorithm" must be one of auto, direct, winograd, winograd4, got "fft"$/,
    );
  });

  it('a short training run gives the loss curve of the direct kernels', async () => {
    await useBackend('wasm');
    const data = synthesizeDataset({ kind: 'bus', count: 4, seed: 3, inputSize: [16, 16] });
    const curve = async (choice: ConvAlgorithm): Promise<number[]> => {
      setConvAlgorithm(choice);
      const model = buildModel('attn_reg', { inputShape: [16, 16, 1], width: 0.25, seed: 1 });
      const trainer = new Trainer(
        model,
        data,
        { train: [0, 1, 2, 3], val: [] },
        {
          epochs: 4,
          batchSize: 4,
          microBatch: 4,
          objective: { loss: 'ftl', finalLoss: MODEL_SUPERVISION.attn_reg.finalLoss },
        },
      );
      const losses: number[] = [];
      await trainer.run({
        onEpochEnd: (log) => {
          losses.push(log.train.loss);
        },
      });
      trainer.dispose();
      model.dispose();
      return losses;
    };
    const tensors = tf.memory().numTensors;
    const direct = await curve('direct');
    for (const algorithm of ['winograd', 'winograd4'] as const) {
      const winograd = await curve(algorithm);
      // Float32 rounding differs; four steps of SGD keep the curves within 1e-4.
      for (const [k, want] of direct.entries()) {
        assert.ok(
          Math.abs(winograd[k] - want) <= 1e-4 * Math.max(1, Math.abs(want)),
          `epoch ${k + 1}: loss ${winograd[k]} with ${algorithm}, ${want} direct`,
        );
      }
    }
    setConvAlgorithm('winograd');
    assert.equal(tf.memory().numTensors, tensors, 'tensors after the runs');
    // The loss moved: the comparison is of a curve, not of one value repeated.
    assert.notEqual(direct[0], direct[direct.length - 1]);
  });
});
