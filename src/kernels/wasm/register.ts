/**
 * Registers the project's kernels for the wasm backend: the convolution gradients
 * `Conv2DBackpropFilter` (missing from tfjs-backend-wasm, so nothing with a convolution could
 * train on it) and `Conv2DBackpropInput` (replacing the stock plain loop), and an `Identity`
 * that shares memory instead of copying, and `Conv2D` and `FusedConv2D` in front of the stock
 * ones (Winograd for 3x3 stride-1 'same' convolutions where it is faster), and `Sum`, `Mean`
 * (per-channel sums without a transposition), `Concat` and `SplitV` (along channels by a SIMD copy),
 * `FusedBatchNorm` and `MaxPoolGrad` (2x2 windows) in front of theirs. See the files beside this one for how each works.
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
import { checkTfjsVersion } from '../tfjs_internals.js';
import { concatConfig, splitVConfig } from './channels.js';
import { conv2dConfig, fusedConv2dConfig } from './conv2d.js';
import { conv2DBackpropFilterConfig } from './conv2d_backprop_filter.js';
import { conv2DBackpropInputConfig } from './conv2d_backprop_input.js';
import { identityConfig } from './identity.js';
import { keepStockKernel } from './kernel_calls.js';
import { fusedBatchNormConfig, maxPoolGradConfig } from './norm_pool.js';
import { meanConfig, sumConfig } from './reductions.js';
import { prepareSimdKernels } from './simd_kernels.js';
import { prepareWinogradKernels } from './winograd_kernels.js';

let registered = false;

function replaceKernel(config: KernelConfig): void {
  if (getKernel(config.kernelName, config.backendName) !== undefined) {
    unregisterKernel(config.kernelName, config.backendName);
  }
  registerKernel(config);
}

/**
 * Registers once per process; safe to call again. Call before `tf.setBackend('wasm')`. Throws
 * one line when the installed tfjs is not a version whose private parts the kernels read
 * (`kernels/tfjs_internals.ts`).
 */
export function registerWasmKernels(): void {
  if (registered) return;
  checkTfjsVersion();
  replaceKernel(conv2DBackpropInputConfig);
  replaceKernel(conv2DBackpropFilterConfig);
  replaceKernel(identityConfig);
  for (const [name, wrap] of [
    ['Conv2D', conv2dConfig],
    ['FusedConv2D', fusedConv2dConfig],
    ['Sum', sumConfig],
    ['Mean', meanConfig],
    ['SplitV', splitVConfig],
    ['Concat', concatConfig],
    ['FusedBatchNorm', fusedBatchNormConfig],
    ['MaxPoolGrad', maxPoolGradConfig],
  ] as const) {
    const stock = getKernel(name, 'wasm');
    if (stock === undefined) throw new Error(`registerWasmKernels: no stock wasm ${name} kernel`);
    keepStockKernel(stock);
    replaceKernel(wrap(stock));
  }
  registered = true;
}

/**
 * Compiles the generated SIMD modules ahead of their first use, asynchronously: a browser's
 * main thread refuses to compile modules over 4 KB synchronously, which would leave the kernels
 * on their slower fallbacks there. Optional in Node.js; safe to call again.
 */
export async function prepareWasmKernels(): Promise<void> {
  await Promise.all([prepareSimdKernels(), prepareWinogradKernels()]);
}
