/**
 * Conv2DBackpropFilter for the wasm backend (which has none): the filter gradient of an NHWC
 * convolution,
 *
 *   dW[kh, kw, ci, co] = sum over n, y, x of x[n, y*sh + kh - padTop, x*sw + kw - padLeft, ci]
 *                                             * dy[n, y, x, co],
 *
 * summing only over input pixels inside the image (the padding is zeros).
 *
 * Main path: for each image, output row y and filter tap (kh, kw), the pixels of that row whose
 * tap lands inside the image form a run with a fixed stride in x (sw pixels) and in dy (one
 * pixel); the SIMD kernel of `simd_kernels.ts` adds the outer products of their channel
 * vectors into dW[kh, kw]. Both tensors are read where they lie: no padding copy, no
 * transposition, no packing. Rows outer and taps inner keep one row of dy in cache across all
 * taps. The kernel needs the channels of its vector side in multiples of 4: that side is dy
 * when Co % 4 == 0, else x when Ci % 4 == 0 (dW then comes out as [KH, KW, Co, Ci] and is
 * transposed), else dy copied with zero channels up to a multiple of 4. `npm run bench`
 * compares it with the forward convolution on the networks' shapes.
 *
 * Fallback (wasm builds without SIMD, or with a shared memory): XNNPACK matrix products, see
 * `conv2d_backprop_filter_xnnpack.ts`. The backend's numerics choose (`filterGradient`,
 * numerics.ts): `auto` as said, or one path always, for tests and benchmarks.
 *
 * Handles any kernel size, stride and padding ('same', 'valid', a number, explicit), any batch
 * and channel count; dataFormat must be NHWC. Exact up to float32 summation order.
 */
import {
  Conv2DBackpropFilter,
  type backend_util,
  type Conv2DBackpropFilterAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { backendNumerics, FILTER_GRADIENT_PATHS, type FilterGradientPath } from '../numerics.js';
import { memoryOffset } from '../tfjs_internals.js';
import { filterGradientXnnpack } from './conv2d_backprop_filter_xnnpack.js';
import {
  allocate,
  heapF32,
  heapIndex,
  nhwcConvInfo,
  release,
  type WasmBackend,
} from './kernel_calls.js';
import { simdKernels, type RowOuterProduct } from './simd_kernels.js';
import { convChoice, winogradFilterGradient } from './winograd.js';

type Shape4 = [number, number, number, number];

export type { FilterGradientPath };

function conv2DBackpropFilter(args: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: WasmBackend;
  attrs: Conv2DBackpropFilterAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  const info = nhwcConvInfo('Conv2DBackpropFilter', x.shape as Shape4, attrs.filterShape, attrs);
  const expected = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
  if (dy.shape.length !== 4 || dy.shape.some((d, i) => d !== expected[i])) {
    throw new Error(
      `Conv2DBackpropFilter (wasm): dy shape [${dy.shape.join(',')}] does not match the ` +
        `convolution output [${expected.join(',')}]`,
    );
  }
  const path = backendNumerics(backend).filterGradient;
  switch (path) {
    case 'auto': {
      const choice = convChoice(backend, 'filterGradient', info);
      if (choice !== 'direct') return winogradFilterGradient(backend, x, dy, choice);
      const kernel = simdKernels(backend)?.rowOuterProduct;
      return kernel !== undefined
        ? filterGradientSimd(backend, kernel, x, dy, info)
        : filterGradientXnnpack(backend, x, dy, info);
    }
    case 'simd': {
      const kernel = simdKernels(backend)?.rowOuterProduct;
      if (kernel === undefined) {
        throw new Error(
          "Conv2DBackpropFilter (wasm): path 'simd' chosen but the SIMD kernel cannot run " +
            'on this wasm build (no SIMD, or a shared memory)',
        );
      }
      return filterGradientSimd(backend, kernel, x, dy, info);
    }
    case 'xnnpack':
      return filterGradientXnnpack(backend, x, dy, info);
    default:
      throw new Error(
        `Conv2DBackpropFilter (wasm): unknown path '${String(path)}'; expected one of ` +
          FILTER_GRADIENT_PATHS.join(', '),
      );
  }
}

/** The range [first, end) of outputs whose tap `k` reads an input inside [0, size). */
function validRange(
  k: number,
  stride: number,
  pad: number,
  size: number,
  outSize: number,
): [number, number] {
  const first = Math.max(0, Math.ceil((pad - k) / stride));
  const end = Math.min(outSize, Math.floor((size - 1 + pad - k) / stride) + 1);
  return [first, Math.max(first, end)];
}

function filterGradientSimd(
  backend: WasmBackend,
  kernel: RowOuterProduct,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const {
    batchSize: n,
    inHeight: h,
    inWidth: w,
    inChannels: ci,
    outHeight: ho,
    outWidth: wo,
    outChannels: co,
    filterHeight: kh,
    filterWidth: kw,
    strideHeight: sh,
    strideWidth: sw,
  } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  // The kernel's vector side (channels a multiple of 4) is dy, else x, else dy padded.
  const swapped = co % 4 !== 0 && ci % 4 === 0;
  const dyChannels = swapped ? co : Math.ceil(co / 4) * 4;
  const na = swapped ? co : ci;
  const nb = swapped ? ci : dyChannels;
  const direct = !swapped && dyChannels === co;

  let dyPadded: TensorInfo | undefined;
  let sums: TensorInfo | undefined;
  try {
    if (dyChannels !== co) dyPadded = padChannels(backend, dy, dyChannels);
    // Per tap, [na, nb] sums: dW itself when no transposition or unpadding is needed.
    sums = allocate(backend, direct ? [kh, kw, ci, co] : [kh * kw * na * nb]);
    const sumsBase = heapIndex(backend, sums);
    heapF32(backend).fill(0, sumsBase, sumsBase + kh * kw * na * nb);

    const dyData = dyPadded ?? dy;
    const xBytes = memoryOffset(backend, x);
    const dyBytes = memoryOffset(backend, dyData);
    const sumsBytes = sumsBase * 4;
    const xPix = sw * ci * 4;
    const dyPix = dyChannels * 4;
    const rowsOfTap = Array.from({ length: kh }, (_, r) => validRange(r, sh, padTop, h, ho));
    const colsOfTap = Array.from({ length: kw }, (_, s) => validRange(s, sw, padLeft, w, wo));
    for (let img = 0; img < n; img++) {
      for (let y = 0; y < ho; y++) {
        const dyRow = dyBytes + (img * ho + y) * wo * dyPix;
        for (let r = 0; r < kh; r++) {
          if (y < rowsOfTap[r][0] || y >= rowsOfTap[r][1]) continue;
          const xRow = xBytes + (img * h + y * sh + r - padTop) * w * ci * 4;
          for (let s = 0; s < kw; s++) {
            const [x0, x1] = colsOfTap[s];
            if (x1 === x0) continue;
            const xp = xRow + (x0 * sw + s - padLeft) * ci * 4;
            const dp = dyRow + x0 * dyPix;
            const out = sumsBytes + (r * kw + s) * na * nb * 4;
            if (swapped) kernel(dp, xp, out, x1 - x0, dyPix, xPix, na, nb);
            else kernel(xp, dp, out, x1 - x0, xPix, dyPix, na, nb);
          }
        }
      }
    }
    if (direct) {
      const result = sums;
      sums = undefined;
      return result;
    }
    return rearrange(backend, sums, [kh, kw, ci, co], swapped, nb);
  } finally {
    release(backend, dyPadded, sums);
  }
}

/** A copy of NHWC `t` with its channels zero-padded to `channels`. */
function padChannels(backend: WasmBackend, t: TensorInfo, channels: number): TensorInfo {
  const [n, h, w, c] = t.shape;
  const out = allocate(backend, [n, h, w, channels]);
  const heap = heapF32(backend);
  const src = heapIndex(backend, t);
  const dst = heapIndex(backend, out);
  heap.fill(0, dst, dst + n * h * w * channels);
  for (let p = 0; p < n * h * w; p++) {
    heap.copyWithin(dst + p * channels, src + p * c, src + (p + 1) * c);
  }
  return out;
}

/**
 * dW [KH, KW, Ci, Co] from per-tap sums [KH*KW, na, nb]: transposed when the kernel ran with
 * x as its vector side ([Co, Ci] per tap), else with dy's padding channels dropped.
 */
function rearrange(
  backend: WasmBackend,
  sums: TensorInfo,
  shape: Shape4,
  swapped: boolean,
  nb: number,
): TensorInfo {
  const [kh, kw, ci, co] = shape;
  const taps = kh * kw;
  const dw = allocate(backend, shape);
  const heap = heapF32(backend);
  const src = heapIndex(backend, sums);
  const dst = heapIndex(backend, dw);
  for (let t = 0; t < taps; t++) {
    for (let i = 0; i < ci; i++) {
      for (let o = 0; o < co; o++) {
        heap[dst + (t * ci + i) * co + o] = swapped
          ? heap[src + (t * co + o) * ci + i]
          : heap[src + (t * ci + i) * nb + o];
      }
    }
  }
  return dw;
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as KernelFunc,
};
