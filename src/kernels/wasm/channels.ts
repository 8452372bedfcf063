/**
 * SplitV along the last axis for the wasm backend, in front of the stock kernel: the gradient
 * of a channel concatenation (the U-Net's skip connections and the attention gates' inputs)
 * splits NHWC tensors along channels. The stock kernel runs one generic Slice per piece; here
 * each piece is one strided copy of pixel vectors by `copyPixels` (simd_kernels.ts). Other
 * axes, dtypes and pieces whose channels are not a multiple of 4 go to the stock kernel.
 */
import {
  backend_util,
  SplitV,
  util,
  type KernelConfig,
  type KernelFunc,
  type SplitVAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
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
    const src = args.backend.dataIdMap.get(x.dataId).memoryOffset;
    let first = 0;
    return sizes.map((size) => {
      const out = allocate(args.backend, [...x.shape.slice(0, -1), size]);
      const dst = args.backend.dataIdMap.get(out.dataId).memoryOffset;
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
