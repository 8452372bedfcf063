/**
 * Sum and Mean for the wasm backend over every axis but the last (per-channel sums of an NHWC
 * tensor: batch-norm statistics and their gradients, bias gradients), in front of the stock
 * kernels. The stock ones first transpose the tensor so that the reduced axes are innermost,
 * a full strided copy that costs more than the sum; here the SIMD kernel `addRows`
 * (simd_kernels.ts) adds rows of channels where they lie. Rows are summed in float32 in
 * blocks of ROW_BLOCK, the blocks' sums in float64, so the rounding error grows with the block
 * size, not with the tensor. Other reductions, dtypes and channel counts that are not a multiple
 * of 4 go to the stock kernels.
 */
import {
  backend_util,
  Mean,
  Sum,
  util,
  type KernelConfig,
  type KernelFunc,
  type MeanAttrs,
  type SumAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { memoryOffset } from '../tfjs_internals.js';
import { allocate, heapF32, heapIndex, release, type WasmBackend } from './kernel_calls.js';
import { simdKernels } from './simd_kernels.js';

/** Rows summed in float32 before their sum joins the float64 total. */
const ROW_BLOCK = 256;

/** [rows, channels] when `axis` reduces every axis but the last of float32 `x`, else undefined. */
function columnShape(x: TensorInfo, axis: number | number[]): [number, number] | undefined {
  const rank = x.shape.length;
  if (x.dtype !== 'float32' || rank < 2) return undefined;
  const axes = [...new Set(util.parseAxisParam(axis, x.shape))].sort((a, b) => a - b);
  if (axes.length !== rank - 1 || axes.some((a, i) => a !== i)) return undefined;
  const channels = x.shape[rank - 1];
  const rows = util.sizeFromShape(x.shape) / Math.max(channels, 1);
  if (channels % 4 !== 0 || channels === 0 || rows === 0) return undefined;
  return [rows, channels];
}

/** Column sums of `x` as [rows, channels], scaled by `scale`, shaped as the reduction's output. */
function columnSums(
  backend: WasmBackend,
  x: TensorInfo,
  [rows, channels]: [number, number],
  axis: number | number[],
  keepDims: boolean,
  scale: number,
): TensorInfo | undefined {
  const addRows = simdKernels(backend)?.addRows;
  if (addRows === undefined) return undefined;
  const partial = allocate(backend, [channels]);
  try {
    const total = new Float64Array(channels);
    const xBytes = memoryOffset(backend, x);
    const pBytes = memoryOffset(backend, partial);
    const heap = heapF32(backend);
    const p = heapIndex(backend, partial);
    for (let r = 0; r < rows; r += ROW_BLOCK) {
      const count = Math.min(ROW_BLOCK, rows - r);
      heap.fill(0, p, p + channels);
      addRows(xBytes + r * channels * 4, count, channels / 4, channels * 4, pBytes);
      for (let c = 0; c < channels; c++) total[c] += heap[p + c];
    }
    const axes = util.parseAxisParam(axis, x.shape);
    const shape = keepDims ? backend_util.expandShapeToKeepDim([channels], axes) : [channels];
    const out = allocate(backend, shape);
    const o = heapIndex(backend, out);
    for (let c = 0; c < channels; c++) heap[o + c] = total[c] * scale;
    return out;
  } finally {
    release(backend, partial);
  }
}

function wrap(stock: KernelConfig, mean: boolean): KernelConfig {
  const kernelFunc = (args: {
    inputs: { x: TensorInfo };
    backend: WasmBackend;
    attrs: SumAttrs | MeanAttrs;
  }) => {
    const { x } = args.inputs;
    const { axis, keepDims } = args.attrs;
    const shape = columnShape(x, axis);
    const out =
      shape !== undefined
        ? columnSums(args.backend, x, shape, axis, keepDims, mean ? 1 / shape[0] : 1)
        : undefined;
    return out ?? stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]);
  };
  return {
    kernelName: stock.kernelName,
    backendName: 'wasm',
    setupFunc: stock.setupFunc,
    kernelFunc: kernelFunc as unknown as KernelFunc,
  };
}

/** Our Sum in front of the stock one. */
export function sumConfig(stock: KernelConfig): KernelConfig {
  if (stock.kernelName !== Sum) throw new Error(`sumConfig: got ${stock.kernelName}`);
  return wrap(stock, false);
}

/** Our Mean in front of the stock one. */
export function meanConfig(stock: KernelConfig): KernelConfig {
  if (stock.kernelName !== Mean) throw new Error(`meanConfig: got ${stock.kernelName}`);
  return wrap(stock, true);
}
