/**
 * Concat and SplitV along the last axis for the wasm backend, in front of the stock kernels:
 * the U-Net's skip connections and the attention gates' inputs concatenate NHWC tensors along
 * channels, and the gradient splits them again. The stock Concat copies one pixel of one input
 * at a time from JavaScript, the stock SplitV runs one generic Slice per piece; here each input
 * or piece is one strided copy of pixel vectors by `copyPixels` (simd_kernels.ts). Other axes,
 * dtypes and pieces whose channels are not a multiple of 4 go to the stock kernels.
 */
import {
  backend_util,
  Concat,
  SplitV,
  type ConcatAttrs,
  util,
  type KernelConfig,
  type KernelFunc,
  type SplitVAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { memoryOffset } from '../tfjs_internals.js';
import { allocate, type WasmBackend } from './kernel_calls.js';
import { simdKernels } from './simd_kernels.js';

/** Our SplitV in front of the stock one. */
export function splitVConfig(stock: KernelConfig): KernelConfig {
  if (stock.kernelName !== SplitV) throw new Error(`splitVConfig: got ${stock.kernelName}`);
  const kernelFunc = (args: {
    inputs: { x: TensorInfo };
    backend: WasmBackend;
    attrs: SplitVAttrs;
  }) => {
    const { x } = args.inputs;
    const { numOrSizeSplits, axis } = args.attrs;
    const rank = x.shape.length;
    const at = util.parseAxisParam(axis, x.shape)[0];
    const copy = simdKernels(args.backend)?.copyPixels;
    const sizes = backend_util.prepareSplitSize(x as never, numOrSizeSplits, at);
    const pixels = util.sizeFromShape(x.shape) / Math.max(x.shape[rank - 1], 1);
    if (
      copy === undefined ||
      x.dtype !== 'float32' ||
      at !== rank - 1 ||
      pixels === 0 ||
      sizes.some((s) => s % 4 !== 0 || s === 0)
    ) {
      return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]);
    }
    const channels = x.shape[rank - 1];
    const src = memoryOffset(args.backend, x);
    let first = 0;
    return sizes.map((size) => {
      const out = allocate(args.backend, [...x.shape.slice(0, -1), size]);
      const dst = memoryOffset(args.backend, out);
      copy(src + first * 4, dst, pixels, size * 4, channels * 4, size * 4);
      first += size;
      return out;
    });
  };
  return {
    kernelName: SplitV,
    backendName: 'wasm',
    setupFunc: stock.setupFunc,
    kernelFunc: kernelFunc as unknown as KernelFunc,
  };
}

/** Our Concat in front of the stock one. */
export function concatConfig(stock: KernelConfig): KernelConfig {
  if (stock.kernelName !== Concat) throw new Error(`concatConfig: got ${stock.kernelName}`);
  const kernelFunc = (args: { inputs: TensorInfo[]; backend: WasmBackend; attrs: ConcatAttrs }) => {
    const { inputs, backend } = args;
    const first = inputs[0];
    const rank = first?.shape.length ?? 0;
    const copy = simdKernels(backend)?.copyPixels;
    const at = rank > 0 ? util.parseAxisParam(args.attrs.axis, first.shape)[0] : -1;
    const lead = rank > 0 ? first.shape.slice(0, -1) : [];
    const pixels = util.sizeFromShape(lead);
    if (
      copy === undefined ||
      inputs.length < 2 ||
      at !== rank - 1 ||
      pixels === 0 ||
      inputs.some(
        (t) =>
          t.dtype !== 'float32' ||
          t.shape.length !== rank ||
          t.shape.slice(0, -1).some((d, i) => d !== lead[i]) ||
          t.shape[rank - 1] % 4 !== 0 ||
          t.shape[rank - 1] === 0,
      )
    ) {
      return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]);
    }
    const channels = inputs.reduce((sum, t) => sum + t.shape[rank - 1], 0);
    const out = allocate(backend, [...lead, channels]);
    const dst = memoryOffset(backend, out);
    let first4 = 0;
    for (const t of inputs) {
      const c = t.shape[rank - 1];
      const src = memoryOffset(backend, t);
      copy(src, dst + first4 * 4, pixels, c * 4, c * 4, channels * 4);
      first4 += c;
    }
    return out;
  };
  return {
    kernelName: Concat,
    backendName: 'wasm',
    setupFunc: stock.setupFunc,
    kernelFunc: kernelFunc as unknown as KernelFunc,
  };
}
