/**
 * FusedBatchNorm and MaxPoolGrad for the wasm backend, in front of the stock kernels, at memory
 * speed on the shapes the networks use (the stock ones index every element through generic
 * broadcasting and window loops, about 1 ns per element):
 *
 * - FusedBatchNorm of NHWC x with per-channel mean, variance, scale and offset (each [C] or
 *   broadcast as [..., C]): y = (x - mean) * (scale / sqrt(variance + epsilon)) + offset, by the
 *   SIMD `channelAffine`; the per-channel factor is computed in float64.
 * - MaxPoolGrad of 2x2 stride-2 windows that tile the input exactly (even height and width, no
 *   padding): the gradient goes to the first position of each window, in row-major order, that
 *   holds its maximum, as on the cpu backend; by the SIMD `maxPoolGrad2x2`.
 *
 * Channels must be a multiple of 4 and the dtype float32; everything else goes to the stock
 * kernels (`simd_kernels.ts` has the SIMD code).
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
        const at = (t: TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
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
      if (kernel === undefined || input.dtype !== 'float32' || input.shape.length !== 4) {
        return stockCall(stock, args);
      }
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
      if (!exact) return stockCall(stock, args);
      const dx = allocate(backend, input.shape);
      const at = (t: TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
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
