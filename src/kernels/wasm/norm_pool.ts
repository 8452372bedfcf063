/**
 * FusedBatchNorm and MaxPoolGrad for the wasm backend, in front of the stock kernels, at memory
 * speed on the shapes the networks use (the stock ones index every element through generic
 * broadcasting and window loops, about 1 ns per element):
 *
 * - FusedBatchNorm of NHWC x with per-channel mean, variance, scale and offset (each [C] or
 *   broadcast as [..., C]): y = (x - mean) * (scale / sqrt(variance + epsilon)) + offset, by the
 *   SIMD `channelAffine`; the per-channel factor is computed in float64.
 * - MaxPoolGrad: the gradient goes to the first position of each window, in row-major order,
 *   that holds its maximum, as on the cpu backend; 2x2 stride-2 windows that tile the input
 *   exactly (even height and width, no padding, channels a multiple of 4) by the SIMD
 *   `maxPoolGrad2x2`, any other geometry by a plain loop. (tfjs-backend-wasm's own kernel
 *   disagrees with the cpu backend when the input width is odd, for one, so it is not used.)
 *
 * FusedBatchNorm needs channels a multiple of 4 and float32; other cases go to the stock kernel
 * (`simd_kernels.ts` has the SIMD code).
 */
import {
  backend_util,
  FusedBatchNorm,
  MaxPoolGrad,
  util,
  type FusedBatchNormAttrs,
  type KernelConfig,
  type KernelFunc,
  type MaxPoolGradAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { memoryOffset } from '../tfjs_internals.js';
import { allocate, heapF32, heapIndex, release, type WasmBackend } from './kernel_calls.js';
import { simdKernels } from './simd_kernels.js';

const stockCall = (stock: KernelConfig, args: unknown) =>
  stock.kernelFunc(args as Parameters<KernelFunc>[0]);

function wrapper(stock: KernelConfig, kernelFunc: unknown): KernelConfig {
  return {
    kernelName: stock.kernelName,
    backendName: 'wasm',
    setupFunc: stock.setupFunc,
    kernelFunc: kernelFunc as KernelFunc,
  };
}

/** Our FusedBatchNorm in front of the stock one. */
export function fusedBatchNormConfig(stock: KernelConfig): KernelConfig {
  if (stock.kernelName !== FusedBatchNorm) {
    throw new Error(`fusedBatchNormConfig: got ${stock.kernelName}`);
  }
  return wrapper(
    stock,
    (args: {
      inputs: {
        x: TensorInfo;
        mean: TensorInfo;
        variance: TensorInfo;
        offset?: TensorInfo;
        scale?: TensorInfo;
      };
      backend: WasmBackend;
      attrs: FusedBatchNormAttrs;
    }) => {
      const { x, mean, variance, offset, scale } = args.inputs;
      const { backend } = args;
      const channels = x.shape[x.shape.length - 1] ?? 0;
      const perChannel = (t: TensorInfo | undefined) =>
        t == null ||
        (t.dtype === 'float32' &&
          util.sizeFromShape(t.shape) === channels &&
          t.shape[t.shape.length - 1] === channels);
      const kernel = simdKernels(backend)?.channelAffine;
      const pixels = util.sizeFromShape(x.shape) / Math.max(channels, 1);
      if (
        kernel === undefined ||
        x.dtype !== 'float32' ||
        channels % 4 !== 0 ||
        channels === 0 ||
        pixels === 0 ||
        ![mean, variance, offset, scale].every(perChannel)
      ) {
        return stockCall(stock, args);
      }
      const params = allocate(backend, [3, channels]);
      try {
        const heap = heapF32(backend);
        const p = heapIndex(backend, params);
        const m = heapIndex(backend, mean);
        const v = heapIndex(backend, variance);
        const s = scale == null ? undefined : heapIndex(backend, scale);
        const o = offset == null ? undefined : heapIndex(backend, offset);
        const epsilon = args.attrs.varianceEpsilon;
        for (let c = 0; c < channels; c++) {
          heap[p + c] = heap[m + c];
          heap[p + channels + c] =
            (s === undefined ? 1 : heap[s + c]) / Math.sqrt(heap[v + c] + epsilon);
          heap[p + 2 * channels + c] = o === undefined ? 0 : heap[o + c];
        }
        const out = allocate(backend, x.shape);
        const at = (t: TensorInfo) => memoryOffset(backend, t);
        const pB = at(params);
        kernel(at(x), at(out), pixels, channels / 4, pB, pB + channels * 4, pB + channels * 8);
        return out;
      } finally {
        release(backend, params);
      }
    },
  );
}

/** Our MaxPoolGrad in front of the stock one. */
export function maxPoolGradConfig(stock: KernelConfig): KernelConfig {
  if (stock.kernelName !== MaxPoolGrad) {
    throw new Error(`maxPoolGradConfig: got ${stock.kernelName}`);
  }
  return wrapper(
    stock,
    (args: {
      inputs: { dy: TensorInfo; input: TensorInfo };
      backend: WasmBackend;
      attrs: MaxPoolGradAttrs;
    }) => {
      const { dy, input } = args.inputs;
      const { backend } = args;
      const { filterSize, strides, pad, dimRoundingMode } = args.attrs;
      const kernel = simdKernels(backend)?.maxPoolGrad2x2;
      if (input.dtype !== 'float32' || input.shape.length !== 4) return stockCall(stock, args);
      const info = backend_util.computePool2DInfo(
        input.shape as [number, number, number, number],
        filterSize,
        strides,
        1,
        pad,
        dimRoundingMode,
      );
      const exact =
        info.filterHeight === 2 &&
        info.filterWidth === 2 &&
        info.strideHeight === 2 &&
        info.strideWidth === 2 &&
        info.padInfo.top === 0 &&
        info.padInfo.left === 0 &&
        info.inHeight === 2 * info.outHeight &&
        info.inWidth === 2 * info.outWidth &&
        info.inChannels % 4 === 0 &&
        info.batchSize * info.outHeight * info.outWidth * info.inChannels > 0;
      const dx = allocate(backend, input.shape);
      if (!exact || kernel === undefined) {
        maxPoolGradLoop(backend, input, dy, dx, info);
        return dx;
      }
      const at = (t: TensorInfo) => memoryOffset(backend, t);
      kernel(
        at(input),
        at(dy),
        at(dx),
        info.batchSize * info.outHeight,
        info.outWidth,
        info.inChannels / 4,
      );
      return dx;
    },
  );
}

/**
 * MaxPoolGrad for any geometry, as the cpu backend computes it: each output's gradient goes to
 * the first position of its window (rows, then columns, strictly greater) holding the maximum,
 * summed where windows overlap; windows without a finite maximum pass nothing.
 */
function maxPoolGradLoop(
  backend: WasmBackend,
  input: TensorInfo,
  dy: TensorInfo,
  dx: TensorInfo,
  info: backend_util.Conv2DInfo,
): void {
  const heap = heapF32(backend);
  const x = heapIndex(backend, input);
  const g = heapIndex(backend, dy);
  const out = heapIndex(backend, dx);
  const {
    batchSize: n,
    inHeight: h,
    inWidth: w,
    inChannels: c,
    outHeight: ho,
    outWidth: wo,
  } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const fh = info.effectiveFilterHeight;
  const fw = info.effectiveFilterWidth;
  heap.fill(0, out, out + n * h * w * c);
  for (let b = 0; b < n; b++) {
    for (let yr = 0; yr < ho; yr++) {
      const r0 = yr * sh - info.padInfo.top;
      for (let yc = 0; yc < wo; yc++) {
        const c0 = yc * sw - info.padInfo.left;
        for (let d = 0; d < c; d++) {
          let best = Number.NEGATIVE_INFINITY;
          let at = -1;
          for (let xr = Math.max(0, r0); xr < Math.min(h, r0 + fh); xr += dh) {
            for (let xc = Math.max(0, c0); xc < Math.min(w, c0 + fw); xc += dw) {
              const k = ((b * h + xr) * w + xc) * c + d;
              if (heap[x + k] > best) {
                best = heap[x + k];
                at = k;
              }
            }
          }
          if (at >= 0) heap[out + at] += heap[g + ((b * ho + yr) * wo + yc) * c + d];
        }
      }
    }
  }
}
