/**
 * Thin, typed calls into the wasm backend for the gradient kernels beside this file: other
 * registered wasm kernels (Conv2D, BatchMatMul, Transpose) called directly
 * through the kernel registry (not through tf ops, so nothing is recorded on the tape and
 * no tensors are tracked), plus access to the wasm heap for the few layout copies that no
 * kernel does.
 *
 * Every TensorInfo returned here is owned by the caller, who disposes it with `release`.
 * The heap may move whenever the backend allocates (memory growth replaces the buffer), so
 * `heapF32` must be called again after any allocation.
 */
import {
  backend_util,
  getKernel,
  type KernelConfig,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { forgetData, heapU8, memoryOffset, type WasmBackend } from '../tfjs_internals.js';

export type { WasmBackend };

/** The 4-D explicit padding format of tfjs-core (`[[0, 0], [top, bottom], [left, right], [0, 0]]`). */
export type Pads4 = [[number, number], [number, number], [number, number], [number, number]];

/** tfjs-backend-wasm's own kernels that ours replace, kept by `keepStockKernel`. */
const stockKernels = new Map<string, KernelConfig>();

/**
 * Remembers the stock kernel `config` so that the calls here reach it (not the kernel that
 * replaces it, which may call back here: our Conv2D runs Winograd, the direct paths want
 * XNNPACK).
 */
export function keepStockKernel(config: KernelConfig): void {
  stockKernels.set(config.kernelName, config);
}

function callKernel(
  name: string,
  backend: WasmBackend,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap,
): TensorInfo {
  const kernel = stockKernels.get(name) ?? getKernel(name, 'wasm');
  if (kernel === undefined) {
    throw new Error(`wasm gradient kernels: the wasm backend has no '${name}' kernel`);
  }
  return kernel.kernelFunc({ inputs, backend, attrs }) as TensorInfo;
}

/** Disposes kernel outputs owned by the caller. */
export function release(backend: WasmBackend, ...infos: (TensorInfo | undefined)[]): void {
  for (const info of infos) if (info !== undefined) backend.disposeData(info.dataId);
}

/** Allocates an uninitialised float32 tensor on the wasm heap. */
export function allocate(backend: WasmBackend, shape: number[]): TensorInfo {
  return backend.makeOutput(shape, 'float32');
}

/** The whole wasm heap as float32 (valid until the next allocation). */
export function heapF32(backend: WasmBackend): Float32Array {
  const heap = heapU8(backend);
  return new Float32Array(heap.buffer, heap.byteOffset, heap.byteLength >>> 2);
}

/** Index of a tensor's first element in `heapF32(backend)`. */
export function heapIndex(backend: WasmBackend, info: TensorInfo): number {
  return memoryOffset(backend, info) >>> 2;
}

/**
 * A tensor that aliases `length(shape)` floats of `base`'s memory starting at element
 * `offset` (no copy). It must be given back with `releaseView`, never with `release`: it does
 * not own its memory.
 */
export function makeView(
  backend: WasmBackend,
  base: TensorInfo,
  offset: number,
  shape: number[],
): TensorInfo {
  const byteOffset = memoryOffset(backend, base) + offset * 4;
  return backend.makeOutput(shape, 'float32', byteOffset);
}

/** Unregisters a view made by `makeView` without freeing the memory it aliases. */
export function releaseView(backend: WasmBackend, view: TensorInfo): void {
  forgetData(backend, view);
}

/**
 * Stride-1, dilation-1 NHWC convolution of `x` [N, H, W, Cin] with `filter`
 * [KH, KW, Cin, Cout] and explicit non-negative padding, by the wasm Conv2D kernel (XNNPACK).
 */
export function conv2dExplicit(
  backend: WasmBackend,
  x: TensorInfo,
  filter: TensorInfo,
  padTop: number,
  padBottom: number,
  padLeft: number,
  padRight: number,
): TensorInfo {
  const pad: Pads4 = [
    [0, 0],
    [padTop, padBottom],
    [padLeft, padRight],
    [0, 0],
  ];
  return callKernel('Conv2D', backend, { x, filter }, {
    strides: [1, 1],
    pad,
    dataFormat: 'NHWC',
    dilations: [1, 1],
  } as unknown as NamedAttrMap);
}

/**
 * `a` [M, K] times `b` [K, N] by the wasm BatchMatMul kernel, without transposes (the only
 * case it hands to XNNPACK). XNNPACK packs `b` once and caches the packed copy under `b`'s id
 * until `b` is disposed, so `b` must be a tensor private to the caller whose shape never
 * changes (the cache key does not include the shape).
 */
export function matMul(backend: WasmBackend, a: TensorInfo, b: TensorInfo): TensorInfo {
  return callKernel('BatchMatMul', backend, { a, b }, { transposeA: false, transposeB: false });
}

/** Permutes the axes of `x` by the wasm Transpose kernel (fast for rank <= 4 only). */
export function transpose(backend: WasmBackend, x: TensorInfo, perm: number[]): TensorInfo {
  return callKernel('Transpose', backend, { x }, { perm });
}

/** The convolution geometry of a gradient kernel, checked to be NHWC. */
export function nhwcConvInfo(
  kernelName: string,
  inShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  },
): backend_util.Conv2DInfo {
  if (attrs.dataFormat !== 'NHWC') {
    throw new Error(
      `${kernelName} (wasm): dataFormat '${String(attrs.dataFormat)}' is not supported; ` +
        `expected 'NHWC'`,
    );
  }
  return backend_util.computeConv2DInfo(
    inShape,
    filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}
