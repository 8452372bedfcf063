/**
 * Weight quantization as TensorFlow.js's converter writes it (`tensorflowjs_converter
 * --quantize_float16` / `--quantize_uint8`), so that stock tfjs-core's `decodeWeights`
 * dequantizes the weights when it loads them, with no code of ours:
 *
 * - `float16`: each float32 value rounded to the nearest IEEE 754 half (ties to even), 2 bytes;
 *   the weight spec gets `quantization: {dtype: 'float16'}`.
 * - `uint8`: each float32 weight (one tensor) mapped affinely onto 0..255: scale =
 *   (max - min) / 255; when the range holds 0, min is nudged to -round(-min / scale) * scale so
 *   that 0 is one of the 256 levels exactly (zero padding and zero weights stay zero); q =
 *   round((clamp(v, min, max) - min) / scale). A tensor of one value stores zeros with min =
 *   that value, scale 1. The spec gets `quantization: {dtype: 'uint8', min, scale}`; tfjs
 *   reads v = q * scale + min.
 *
 * Weights of other dtypes (int32, bool) are stored as they are; the spec's `dtype` stays that
 * of the dequantized weight. Pure typed-array code, no Node-only API.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';

/** The quantized storage types; `'none'` (float32 as trained) is the absence of one. */
export type WeightQuantization = 'float16' | 'uint8';
export const WEIGHT_QUANTIZATIONS: readonly WeightQuantization[] = ['float16', 'uint8'];

/** Bytes per stored value of each quantization dtype that tfjs-core reads. */
export const QUANTIZED_BYTES: Readonly<Record<string, number>> = {
  uint8: 1,
  uint16: 2,
  float16: 2,
};

/** The largest finite float16 value. */
export const FLOAT16_MAX = 65504;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * The IEEE 754 half-precision bits of `value` (as float32 first), rounded to nearest with ties
 * to even, as numpy's `astype(np.float16)`; beyond ±65504 it gives ±Infinity, NaN stays NaN.
 */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  const e = exponent - 127 + 15; // the half's biased exponent
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // A subnormal half m * 2^-24: m = 1.mantissa * 2^(e - 1 + 10), i.e. shifted right 14 - e.
    if (e < -10) return sign; // below half of the smallest subnormal: rounds to zero
    const full = mantissa | 0x800000;
    const shift = 14 - e;
    let half = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) half += 1;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa moves into the exponent, which is the correct result (up to
  // Infinity from 65520 on).
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half += 1;
  return sign | half;
}

/** One weight's values as uint8 levels with the affine map back, as tfjs's converter does. */
export function quantizeUint8(values: Float32Array): {
  data: Uint8Array;
  min: number;
  scale: number;
} {
  const data = new Uint8Array(values.length);
  if (values.length === 0) return { data, min: 0, scale: 1 };
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (values[i] < lo) lo = values[i];
    if (values[i] > hi) hi = values[i];
  }
  if (lo === hi) return { data, min: lo, scale: 1 };
  const scale = (hi - lo) / 255;
  let min = lo;
  if (lo <= 0 && hi >= 0) min = -Math.round(-lo / scale) * scale;
  const max = 255 * scale + min;
  for (let i = 0; i < values.length; i++) {
    const v = Math.min(Math.max(values[i], min), max);
    data[i] = Math.round((v - min) / scale);
  }
  return { data, min, scale };
}

/**
 * The weights of a model's artifacts stored with `quantization`: new specs (each float32
 * weight with its `quantization` field) and the new weight data, in the same order. Throws a
 * `UserError` naming the weight for a value that is not finite, or (float16) beyond ±65504.
 */
export function quantizeWeights(
  specs: readonly tf.io.WeightsManifestEntry[],
  data: ArrayBuffer,
  quantization: WeightQuantization,
): { specs: tf.io.WeightsManifestEntry[]; data: ArrayBuffer } {
  if (!WEIGHT_QUANTIZATIONS.includes(quantization)) {
    throw new UserError(
      `quantization must be one of ${WEIGHT_QUANTIZATIONS.join(', ')}, got '${String(quantization)}'`,
    );
  }
  const parts: Uint8Array[] = [];
  const out: tf.io.WeightsManifestEntry[] = [];
  let offset = 0;
  for (const spec of specs) {
    if (spec.quantization !== undefined) {
      throw new UserError(`weight '${spec.name}' is already quantized`);
    }
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const bytes = spec.dtype === 'bool' ? n : 4 * n;
    if (spec.dtype !== 'float32' && spec.dtype !== 'int32' && spec.dtype !== 'bool') {
      throw new UserError(`weights of type ${spec.dtype} (${spec.name}) are not supported`);
    }
    if (offset + bytes > data.byteLength) {
      throw new UserError(`the weight data hold ${data.byteLength} bytes, the specs describe more`);
    }
    const raw = data.slice(offset, offset + bytes);
    offset += bytes;
    if (spec.dtype !== 'float32') {
      out.push({ ...spec });
      parts.push(new Uint8Array(raw));
      continue;
    }
    const values = new Float32Array(raw);
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) {
        throw new UserError(`weight '${spec.name}' holds ${values[i]}: cannot quantize it`);
      }
    }
    if (quantization === 'float16') {
      const half = new Uint16Array(values.length);
      for (let i = 0; i < values.length; i++) {
        half[i] = toFloat16Bits(values[i]);
        if ((half[i] & 0x7fff) === 0x7c00) {
          throw new UserError(
            `weight '${spec.name}' holds ${values[i]}, beyond float16's range ` +
              `(±${FLOAT16_MAX}); quantize with uint8 or store float32`,
          );
        }
      }
      out.push({ ...spec, quantization: { dtype: 'float16' } });
      parts.push(new Uint8Array(half.buffer));
    } else {
      const q = quantizeUint8(values);
      out.push({ ...spec, quantization: { dtype: 'uint8', min: q.min, scale: q.scale } });
      parts.push(q.data);
    }
  }
  if (offset !== data.byteLength) {
    throw new UserError(
      `the weight data hold ${data.byteLength} bytes, the specs describe ${offset}`,
    );
  }
  const total = parts.reduce((a, p) => a + p.byteLength, 0);
  const joined = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    joined.set(p, at);
    at += p.byteLength;
  }
  return { specs: out, data: joined.buffer };
}
