/**
 * Registers the project's kernels for the wasm backend: the convolution gradients
 * `Conv2DBackpropFilter` (missing from tfjs-backend-wasm, so nothing with a convolution could
 * train on it) and `Conv2DBackpropInput` (replacing the stock plain loop), and an `Identity`
 * that shares memory instead of copying. See the files beside this one for how each works.
 */
// The stock kernels must be registered before ours replace them (ES modules evaluate
// dependencies first).
import '@tensorflow/tfjs-backend-wasm';
import {
  getKernel,
  registerKernel,
  unregisterKernel,
  type KernelConfig,
} from '@tensorflow/tfjs-core';
import { conv2DBackpropFilterConfig } from './conv2d_backprop_filter.js';
import { conv2DBackpropInputConfig } from './conv2d_backprop_input.js';
import { identityConfig } from './identity.js';

let registered = false;

function replaceKernel(config: KernelConfig): void {
  if (getKernel(config.kernelName, config.backendName) !== undefined) {
    unregisterKernel(config.kernelName, config.backendName);
  }
  registerKernel(config);
}

/** Registers once per process; safe to call again. Call before `tf.setBackend('wasm')`. */
export function registerWasmKernels(): void {
  if (registered) return;
  replaceKernel(conv2DBackpropInputConfig);
  replaceKernel(conv2DBackpropFilterConfig);
  replaceKernel(identityConfig);
  registered = true;
}
