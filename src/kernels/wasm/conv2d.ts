/**
 * Conv2D and FusedConv2D for the wasm backend: Winograd (`winograd.ts`) for the
 * 3x3 stride-1 'same' convolutions where `convChoice` chooses it, with a bias and a linear or
 * ReLU activation fused; everything else goes to tfjs-backend-wasm's own kernels (XNNPACK),
 * which these wrap (`wrapStock` keeps them, and their set-up, before ours replace them).
 */
import {
  backend_util,
  Conv2D,
  FusedConv2D,
  type Conv2DAttrs,
  type FusedConv2DAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { WasmBackend } from './kernel_calls.js';
import { convChoice, winogradConv2d } from './winograd.js';

type Shape4 = [number, number, number, number];

/** The forward geometry when it is NHWC (other layouts go to the stock kernel). */
function forwardInfo(x: TensorInfo, filter: TensorInfo, attrs: Conv2DAttrs) {
  if (attrs.dataFormat !== 'NHWC' || x.shape.length !== 4) return undefined;
  return backend_util.computeConv2DInfo(
    x.shape as Shape4,
    filter.shape as Shape4,
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/** Our Conv2D in front of the stock one. */
export function conv2dConfig(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: {
    inputs: { x: TensorInfo; filter: TensorInfo };
    backend: WasmBackend;
    attrs: Conv2DAttrs;
  }) => {
    const { x, filter } = args.inputs;
    const info = forwardInfo(x, filter, args.attrs);
    const choice = info !== undefined ? convChoice(args.backend, 'forward', info) : 'direct';
    if (choice !== 'direct') return winogradConv2d(args.backend, x, filter, { tile: choice });
    return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]);
  };
  return {
    kernelName: Conv2D,
    backendName: 'wasm',
    setupFunc: stock.setupFunc,
    kernelFunc: kernelFunc as unknown as KernelFunc,
  };
}

/** Our FusedConv2D in front of the stock one: Winograd takes bias [Co] and linear or ReLU. */
export function fusedConv2dConfig(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: {
    inputs: {
      x: TensorInfo;
      filter: TensorInfo;
      bias?: TensorInfo;
      preluActivationWeights?: TensorInfo;
    };
    backend: WasmBackend;
    attrs: FusedConv2DAttrs;
  }) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs;
    const { activation } = args.attrs;
    const co = filter.shape[3];
    const fusable =
      preluActivationWeights == null &&
      (activation === 'linear' || activation === 'relu') &&
      (bias == null ||
        (bias.dtype === 'float32' &&
          bias.shape.reduce((a, b) => a * b, 1) === co &&
          bias.shape[bias.shape.length - 1] === co));
    const info = fusable ? forwardInfo(x, filter, args.attrs) : undefined;
    const choice = info !== undefined ? convChoice(args.backend, 'forward', info) : 'direct';
    if (choice !== 'direct') {
      return winogradConv2d(args.backend, x, filter, {
        bias: bias ?? undefined,
        relu: activation === 'relu',
        tile: choice,
      });
    }
    return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]);
  };
  return {
    kernelName: FusedConv2D,
    backendName: 'wasm',
    setupFunc: stock.setupFunc,
    kernelFunc: kernelFunc as unknown as KernelFunc,
  };
}
