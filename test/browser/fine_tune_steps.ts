/**
 * A few epochs of a small attn_reg on synthetic data, on the backend asked for: the work that
 * test/browser/fine_tune.test.ts runs in a page (bundled) and in Node.js, to compare.
 * Browser-safe.
 */
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { synthesizeDataset } from '../../src/data/synthetic/generate.js';
import { enableTraining } from '../../src/browser/fine_tune.js';
import { prepareWasmKernels, registerWasmKernels } from '../../src/kernels/wasm/register.js';
import { buildModel } from '../../src/models/build.js';
import { Trainer } from '../../src/train/trainer.js';

export interface FewSteps {
  backend: string;
  /** The WebGPU adapter, or '' elsewhere. */
  adapter: string;
  /** The training loss of each epoch. */
  losses: number[];
}

export async function trainFewSteps(options: {
  backend: 'webgpu' | 'wasm';
  /** In a page: where the wasm binaries are (the backend is set up here). */
  wasmPath?: string;
}): Promise<FewSteps> {
  let adapter = '';
  enableTraining();
  if (options.backend === 'wasm' && options.wasmPath !== undefined) {
    setWasmPaths(options.wasmPath);
    registerWasmKernels();
    await prepareWasmKernels();
  }
  if (!(await tf.setBackend(options.backend))) throw new Error(`no ${options.backend} backend`);
  await tf.ready();
  if (options.backend === 'webgpu') {
    const info = (
      tf.backend() as unknown as { adapterInfo?: { vendor?: string; architecture?: string } }
    ).adapterInfo;
    adapter = [info?.vendor, info?.architecture].filter(Boolean).join(' ') || 'unknown';
  }
  const model = buildModel('attn_reg', { inputShape: [16, 16, 1], width: 0.125, seed: 4 });
  const data = synthesizeDataset({ kind: 'bus', count: 8, seed: 2, inputSize: [16, 16] });
  const trainer = new Trainer(
    model,
    data,
    { train: [0, 1, 2, 3, 4, 5], val: [6, 7] },
    {
      epochs: 2,
      batchSize: 3,
      seed: 1,
      objective: { loss: 'ftl', finalLoss: 'tl' },
      optimizer: { name: 'sgd', learningRate: 0.01 },
    },
  );
  try {
    const logs = await trainer.run();
    return { backend: tf.getBackend(), adapter, losses: logs.map((l) => l.train.loss) };
  } finally {
    trainer.dispose();
    model.dispose();
  }
}
