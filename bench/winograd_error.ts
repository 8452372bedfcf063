/**
 * The error of Winograd F(2x2, 3x3) and F(4x4, 3x3) against the cpu backend on every 3x3
 * stride-1 convolution of attn_reg (its real input, output and channel sizes; batch 1 by
 * default): for the forward pass, the input gradient and the filter gradient, the relative
 * error max|wasm - cpu| / max|cpu|. The bound for F(4x4, 3x3) is 1e-4. Not a test
 * (the cpu backend needs minutes for the 512-channel layers): `npm run build && node
 * dist/bench/winograd_error.js [--input HxWxC] [--batch N]`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend/select.js';
import { setBackendNumerics } from '../src/kernels/numerics.js';
import { formatTable } from '../src/util/text_table.js';
import { describeShape, flagValue, inputFlag, kernelShapes, winogradApplies } from './kernels.js';

function relativeError(got: Float32Array, want: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return diff / scale;
}

/** Forward, input gradient and filter gradient of conv2d(x, f, 'same') against dy. */
function passes(x: tf.Tensor4D, f: tf.Tensor4D, dy: tf.Tensor4D): Float32Array[] {
  return tf.tidy(() => {
    const y = tf.conv2d(x, f, 1, 'same');
    const [dx, df] = tf.grads((xx: tf.Tensor, ff: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, 1, 'same'), dy)),
    )([x, f]);
    return [y, dx, df].map((t) => t.dataSync() as Float32Array);
  });
}

async function main(): Promise<void> {
  const inputShape = inputFlag();
  const batch = Number(flagValue('--batch', '1'));
  await initBackend({ backend: 'cpu' });
  const shapes = kernelShapes({ inputShape, batch }).filter(winogradApplies);
  const rows: string[][] = [];
  for (const [k, s] of shapes.entries()) {
    // A transposed 3x3 stride-1 convolution runs the same three kernels with in and out swapped.
    const [ci, co] = s.kind === 'conv2d' ? [s.input[2], s.output[2]] : [s.output[2], s.input[2]];
    const [h, w] = s.input;
    await initBackend({ backend: 'cpu' });
    const x = tf.randomUniform([batch, h, w, ci], -1, 1, 'float32', 3 * k) as tf.Tensor4D;
    const f = tf.randomUniform([3, 3, ci, co], -1, 1, 'float32', 3 * k + 1) as tf.Tensor4D;
    const dy = tf.randomUniform([batch, h, w, co], -1, 1, 'float32', 3 * k + 2) as tf.Tensor4D;
    const values = [x, f, dy].map((t) => ({ data: t.dataSync(), shape: t.shape }));
    const want = passes(x, f, dy);
    tf.dispose([x, f, dy]);
    await initBackend({ backend: 'wasm' });
    const [xw, fw, dyw] = values.map((v) => tf.tensor(v.data, v.shape)) as tf.Tensor4D[];
    const cells: string[] = [];
    for (const algorithm of ['winograd', 'winograd4'] as const) {
      setBackendNumerics(tf.backend(), { convAlgorithm: algorithm });
      const got = passes(xw, fw, dyw);
      cells.push(...got.map((g, i) => relativeError(g, want[i]).toExponential(1)));
    }
    setBackendNumerics(tf.backend(), { convAlgorithm: 'auto' });
    tf.dispose([xw, fw, dyw]);
    rows.push([s.kind, describeShape(s), ...cells]);
    console.error(`${k + 1}/${shapes.length} ${describeShape(s)}`);
  }
  const header = ['layer', 'shape', 'F2 fwd', 'F2 dx', 'F2 dW', 'F4 fwd', 'F4 dx', 'F4 dW'];
  for (const line of formatTable(header, rows, 'll')) console.log(line);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
