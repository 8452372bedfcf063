/**
 * Where a training step's time goes: runs a few optimiser updates of attn_reg in this process
 * (one worker, the trainer's default micro-batch) with every wasm kernel timed, and prints each
 * kernel's share of the step (exclusive time: a kernel that calls another is charged only its
 * own part), the convolutions split by pass and by algorithm, and the time outside kernels
 * (tape bookkeeping, the optimiser's JavaScript, data). Not a test: speed only.
 *
 *   npm run build && node dist/bench/step_profile.js [--input HxWxC] [--batch N] [--steps N]
 *       [--json]
 *
 * Defaults: 128x128x1, batch 16, 2 timed steps after one warm-up. FTUNET_CONV_ALGORITHM=direct
 * profiles the step without Winograd. Wall-clock time: on a busy machine, compare shares
 * rather than seconds.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend/select.js';
import { synthesizeDataset } from '../src/data/synthetic/generate.js';
import { backendNumerics } from '../src/kernels/numerics.js';
import { convChoice, isWinogradConv } from '../src/kernels/wasm/winograd.js';
import type { WasmBackend } from '../src/kernels/wasm/kernel_calls.js';
import { buildModel } from '../src/models/build.js';
import { MODEL_SUPERVISION } from '../src/models/supervision.js';
import { trainingMicroBatch } from '../src/train/memory.js';
import { Trainer } from '../src/train/trainer.js';
import { formatTable } from '../src/util/text_table.js';

const CONV_PASS: Record<string, 'forward' | 'inputGradient' | 'filterGradient'> = {
  Conv2D: 'forward',
  FusedConv2D: 'forward',
  Conv2DBackpropInput: 'inputGradient',
  Conv2DBackpropFilter: 'filterGradient',
};

/** A label for one kernel call: convolutions get their kernel size, stride and algorithm. */
function label(name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): string {
  const pass = CONV_PASS[name];
  if (pass === undefined) return name;
  const filter = inputs.filter;
  const x = name === 'Conv2DBackpropInput' ? undefined : inputs.x;
  const xShape = (x?.shape ?? (attrs.inputShape as number[])) as [number, number, number, number];
  const fShape = (filter?.shape ?? (attrs.filterShape as number[])) as [
    number,
    number,
    number,
    number,
  ];
  const info = tf.backend_util.computeConv2DInfo(
    xShape,
    fShape,
    attrs.strides as number,
    (attrs.dilations as number) ?? 1,
    attrs.pad as 'same',
  );
  const choice = convChoice(tf.backend() as unknown as WasmBackend, pass, info);
  const geometry = `${info.filterHeight}x${info.filterWidth} s${info.strideHeight}`;
  const algo = isWinogradConv(info)
    ? choice === 'direct'
      ? ' direct'
      : ` F(${choice}x${choice},3x3)`
    : '';
  return `${name} ${geometry}${algo}`;
}

/** Wraps every registered wasm kernel with a timer; returns the accumulated exclusive times. */
function timeKernels(): Map<string, { ms: number; calls: number }> {
  const totals = new Map<string, { ms: number; calls: number }>();
  const stack: { child: number }[] = [];
  for (const config of tf.getKernelsForBackend('wasm')) {
    const inner = config.kernelFunc;
    const kernelFunc: tf.KernelFunc = (args) => {
      const name = label(config.kernelName, args.inputs, args.attrs ?? {});
      stack.push({ child: 0 });
      const start = performance.now();
      try {
        return inner(args);
      } finally {
        const ms = performance.now() - start;
        const frame = stack.pop() as { child: number };
        if (stack.length > 0) stack[stack.length - 1].child += ms;
        const total = totals.get(name) ?? { ms: 0, calls: 0 };
        total.ms += ms - frame.child;
        total.calls += 1;
        totals.set(name, total);
      }
    };
    tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel({ ...config, kernelFunc });
  }
  return totals;
}

function parseShape(value: string): [number, number, number] {
  const parts = value.split('x').map(Number);
  if (parts.length !== 3 || !parts.every((p) => Number.isInteger(p) && p > 0)) {
    throw new Error(`--input: expected HxWxC, got '${value}'`);
  }
  return parts as [number, number, number];
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string, fallback: string) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : fallback;
  };
  const inputShape = parseShape(flag('--input', '128x128x1'));
  const batch = Number(flag('--batch', '16'));
  const steps = Number(flag('--steps', '2'));
  const info = await initBackend({ backend: 'wasm' });
  const [h, w, ch] = inputShape;
  const data = synthesizeDataset({
    kind: ch === 1 ? 'bus' : 'isic',
    count: batch,
    seed: 1,
    inputSize: [h, w],
    channels: ch === 1 ? 1 : 3,
  });
  const model = buildModel('attn_reg', { inputShape, seed: 1 });
  const microBatch = trainingMicroBatch(model, batch, info.name, 1);
  const trainer = new Trainer(
    model,
    data,
    { train: [...Array(batch).keys()], val: [] },
    {
      epochs: steps + 1,
      batchSize: batch,
      microBatch,
      objective: { loss: 'ftl', finalLoss: MODEL_SUPERVISION.attn_reg.finalLoss },
    },
  );
  let totals = new Map<string, { ms: number; calls: number }>();
  let stepMs = 0;
  let timed: Map<string, { ms: number; calls: number }> | undefined;
  await trainer.run({
    onEpochEnd: (log) => {
      if (log.epoch === 1) {
        // After the warm-up step: start timing kernels.
        timed = timeKernels();
        return;
      }
      stepMs += log.seconds * 1000;
    },
  });
  totals = timed ?? totals;
  trainer.dispose();
  model.dispose();

  const kernelMs = [...totals.values()].reduce((a, t) => a + t.ms, 0);
  const rows = [...totals.entries()]
    .map(([name, t]) => ({ name, ms: t.ms / steps, calls: t.calls / steps }))
    .sort((a, b) => b.ms - a.ms);
  rows.push({ name: '(outside kernels)', ms: (stepMs - kernelMs) / steps, calls: 0 });
  const perStep = stepMs / steps;
  if (args.includes('--json')) {
    console.log(
      JSON.stringify({
        inputShape,
        batch,
        microBatch,
        algorithm: backendNumerics(tf.backend()).convAlgorithm,
        stepMs: perStep,
        kernels: rows,
      }),
    );
    return;
  }
  console.log(
    `attn_reg ${inputShape.join('x')} batch ${batch} (micro-batch ${microBatch}), one worker, ` +
      `conv algorithm ${backendNumerics(tf.backend()).convAlgorithm}: ${(perStep / 1000).toFixed(2)} s per step ` +
      `(${((batch * 1000) / perStep).toFixed(2)} img/s), mean of ${steps}`,
  );
  const table = rows
    .filter((r) => r.ms >= perStep * 0.002)
    .map((r) => [
      r.name,
      r.calls === 0 ? '' : r.calls.toFixed(0),
      r.ms.toFixed(0),
      ((100 * r.ms) / perStep).toFixed(1),
    ]);
  for (const line of formatTable(['kernel', 'calls', 'ms/step', '% of step'], table, 'lrrr')) {
    console.log(line);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
