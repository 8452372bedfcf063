/**
 * Weight quantization (src/io/quantize.ts) against stock tfjs-core's `decodeWeights`, which
 * is what dequantizes the weights when TensorFlow.js loads them: float16 bits of every half
 * value round-trip, ties go to even, uint8 keeps 0 exact and every value within half a step.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { quantizeUint8, quantizeWeights, toFloat16Bits } from '../../src/io/quantize.js';
import { useBackend } from '../helpers.js';

/** tfjs-core's own float16 decoding of `bits`, through `decodeWeights`. */
function decodeHalves(bits: Uint16Array): Float32Array {
  const spec: tf.io.WeightsManifestEntry = {
    name: 'w',
    shape: [bits.length],
    dtype: 'float32',
    quantization: { dtype: 'float16' },
  };
  const t = tf.io.decodeWeights(bits.slice().buffer, [spec]).w;
  const values = t.dataSync() as Float32Array;
  t.dispose();
  return values;
}

describe('toFloat16Bits', () => {
  test('every finite half value round-trips through tfjs-core decoding (all 63488)', async () => {
    await useBackend('cpu');
    const all = new Uint16Array(65536).map((_, i) => i);
    const values = decodeHalves(all);
    let checked = 0;
    for (let h = 0; h < 65536; h++) {
      if ((h & 0x7c00) === 0x7c00) continue; // Infinity and NaN
      assert.equal(toFloat16Bits(values[h]), h, `half 0x${h.toString(16)} = ${values[h]}`);
      checked += 1;
    }
    assert.equal(checked, 63488);
  });

  // Worked by hand: 1 + 2^-11 lies halfway between 1 (0x3c00, even) and 1 + 2^-10 (0x3c01).
  const cases: Array<[string, number, number]> = [
    ['1', 1, 0x3c00],
    ['-2', -2, 0xc000],
    ['halfway 1 + 2^-11 to even (down)', 1 + 2 ** -11, 0x3c00],
    ['halfway 1 + 3 * 2^-11 to even (up)', 1 + 3 * 2 ** -11, 0x3c02],
    ['just above halfway rounds up', 1 + 2 ** -11 + 2 ** -20, 0x3c01],
    ['65504, the largest half', 65504, 0x7bff],
    ['65519 rounds down to 65504', 65519, 0x7bff],
    ['65520 overflows to Infinity', 65520, 0x7c00],
    ['smallest subnormal 2^-24', 2 ** -24, 0x0001],
    ['2^-25 is halfway to 0: to even (0)', 2 ** -25, 0x0000],
    ['3 * 2^-25 is halfway 1..2 subnormal: to even (2)', 3 * 2 ** -25, 0x0002],
    ['largest subnormal', 1023 * 2 ** -24, 0x03ff],
    ['-0', -0, 0x8000],
    ['Infinity', Infinity, 0x7c00],
  ];
  for (const [what, value, bits] of cases) {
    test(what, () => assert.equal(toFloat16Bits(value), bits));
  }
  test('NaN stays NaN', () => {
    const h = toFloat16Bits(NaN);
    assert.ok((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0, h.toString(16));
  });
});

describe('quantizeUint8', () => {
  test('range with 0: 0 is a level exactly, every value within half a step', () => {
    const values = new Float32Array([-0.3, 0, 0.05, 0.7, -0.01, 0.2]);
    const { data, min, scale } = quantizeUint8(values);
    // scale = (max - min) / 255 of the float32 values; min nudged to -zero point * scale.
    assert.equal(scale, (Math.fround(0.7) - Math.fround(-0.3)) / 255);
    const zero = Math.round(-Math.fround(-0.3) / scale);
    assert.equal(min, -zero * scale);
    assert.equal(data[1] * scale + min, 0, '0 maps back to 0 exactly');
    for (let i = 0; i < values.length; i++) {
      assert.ok(Math.abs(data[i] * scale + min - values[i]) <= scale / 2 + 1e-7, `value ${i}`);
    }
  });

  test('all positive: no nudge, min and max are levels 0 and 255', () => {
    const { data, min, scale } = quantizeUint8(new Float32Array([1, 2, 3]));
    assert.deepEqual([...data], [0, 128, 255]);
    assert.equal(min, 1);
    assert.equal(scale, 2 / 255);
  });

  test('one value: zeros, min that value, scale 1', () => {
    const { data, min, scale } = quantizeUint8(new Float32Array([0.25, 0.25]));
    assert.deepEqual([...data], [0, 0]);
    assert.deepEqual([min, scale], [Math.fround(0.25), 1]);
  });
});

describe('quantizeWeights', () => {
  const specs: tf.io.WeightsManifestEntry[] = [
    { name: 'a/kernel', shape: [2, 3], dtype: 'float32' },
    { name: 'a/count', shape: [2], dtype: 'int32' },
    { name: 'b/bias', shape: [3], dtype: 'float32' },
  ];
  const kernel = new Float32Array([0.5, -1.25, 3, 0, 2.5e-3, -0.75]);
  const bias = new Float32Array([1, 1.5, 2]);
  const raw = new Uint8Array(6 * 4 + 2 * 4 + 3 * 4);
  raw.set(new Uint8Array(kernel.buffer), 0);
  raw.set(new Uint8Array(new Int32Array([7, -3]).buffer), 24);
  raw.set(new Uint8Array(bias.buffer), 32);

  test('float16: half the float32 bytes, int32 kept; tfjs-core decodes within 2^-11 relative', async () => {
    await useBackend('cpu');
    const q = quantizeWeights(specs, raw.buffer, 'float16');
    assert.equal(q.data.byteLength, 6 * 2 + 2 * 4 + 3 * 2);
    assert.deepEqual(
      q.specs.map((s) => s.quantization),
      [{ dtype: 'float16' }, undefined, { dtype: 'float16' }],
    );
    const w = tf.io.decodeWeights(q.data, q.specs);
    const got = w['a/kernel'].dataSync();
    kernel.forEach((v, i) => assert.ok(Math.abs(got[i] - v) <= Math.abs(v) * 2 ** -11, `${i}`));
    assert.deepEqual([...w['a/count'].dataSync()], [7, -3]);
    assert.deepEqual([...w['b/bias'].dataSync()], [1, 1.5, 2]);
    tf.dispose(Object.values(w));
  });

  test('uint8: a quarter of the float32 bytes; tfjs-core decodes within half a step', async () => {
    await useBackend('cpu');
    const q = quantizeWeights(specs, raw.buffer, 'uint8');
    assert.equal(q.data.byteLength, 6 + 2 * 4 + 3);
    const w = tf.io.decodeWeights(q.data, q.specs);
    for (const [name, values] of [
      ['a/kernel', kernel],
      ['b/bias', bias],
    ] as const) {
      const { scale } = q.specs.find((s) => s.name === name)!.quantization!;
      const got = w[name].dataSync();
      values.forEach((v, i) =>
        assert.ok(Math.abs(got[i] - v) <= scale! / 2 + 1e-6, `${name} ${i}`),
      );
    }
    assert.equal(w['a/kernel'].dataSync()[3], 0, 'zero stays zero');
    tf.dispose(Object.values(w));
  });

  test('errors name the weight', () => {
    const big = new Float32Array([1, 70000, 0]);
    const spec: tf.io.WeightsManifestEntry[] = [{ name: 'c/kernel', shape: [3], dtype: 'float32' }];
    assert.throws(() => quantizeWeights(spec, big.buffer, 'float16'), {
      name: 'UserError',
      message:
        "weight 'c/kernel' holds 70000, beyond float16's range (±65504); " +
        'quantize with uint8 or store float32',
    });
    assert.throws(() => quantizeWeights(spec, new Float32Array([1, NaN, 0]).buffer, 'uint8'), {
      message: "weight 'c/kernel' holds NaN: cannot quantize it",
    });
    assert.throws(() => quantizeWeights(spec, new Float32Array(2).buffer, 'uint8'), {
      message: 'the weight data hold 8 bytes, the specs describe more',
    });
    assert.throws(() => quantizeWeights(spec, big.buffer, 'int4' as 'uint8'), {
      message: "quantization must be one of float16, uint8, got 'int4'",
    });
  });
});
