/**
 * GFLOPS of the wasm forward convolution against the project's two gradient kernels
 * (src/kernels/wasm) on the convolution shapes of the networks. Not a test: speed only.
 *
 *   npm run build && node dist/bench/kernels.js [--reps N] [--json] [--stock] [--cpu-time]
 *                                               [--xnnpack]
 *
 * Each figure is the median of N timed runs (default 7) after two warm-up runs, timed by the
 * wall clock, or with `--cpu-time` by this process's CPU time (the kernels run on one thread,
 * so on a machine busy with other work this measures the kernels rather than the sharing). The forward
 * convolution gets a fresh filter tensor every run, as in training (XNNPACK repacks it).
 * "dx" is Conv2DBackpropInput, also the forward pass of a transposed convolution of the same
 * shape; "dW" is Conv2DBackpropFilter, also the filter gradient of that transposed
 * convolution. FLOPs are 2 * N * Ho * Wo * KH * KW * Cin * Cout for all three.
 * `--stock` also times tfjs-backend-wasm's own Conv2DBackpropInput (once: it is slow).
 * `--xnnpack` times the filter gradient's fallback path (for wasm builds without SIMD).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { setFilterGradientPath } from '../src/kernels/wasm/conv2d_backprop_filter.js';
import { registerWasmKernels } from '../src/kernels/wasm/register.js';

interface Shape {
  name: string;
  batch: number;
  size: number;
  kernel: number;
  stride: number;
  inChannels: number;
  outChannels: number;
}

const SHAPES: Shape[] = [
  {
    name: 'conv 3x3 s1 32->32',
    batch: 4,
    size: 128,
    kernel: 3,
    stride: 1,
    inChannels: 32,
    outChannels: 32,
  },
  {
    name: 'conv 3x3 s1 64->64',
    batch: 4,
    size: 64,
    kernel: 3,
    stride: 1,
    inChannels: 64,
    outChannels: 64,
  },
  {
    name: 'conv 2x2 s2 32->32 (= transpose 2x2 s2)',
    batch: 4,
    size: 128,
    kernel: 2,
    stride: 2,
    inChannels: 32,
    outChannels: 32,
  },
  {
    name: 'conv 2x2 s2 64->64 (= transpose 2x2 s2)',
    batch: 4,
    size: 64,
    kernel: 2,
    stride: 2,
    inChannels: 64,
    outChannels: 64,
  },
  {
    name: 'conv 3x3 s2 32->32 (= transpose 3x3 s2)',
    batch: 4,
    size: 128,
    kernel: 3,
    stride: 2,
    inChannels: 32,
    outChannels: 32,
  },
  {
    name: 'conv 3x3 s2 64->64 (= transpose 3x3 s2)',
    batch: 4,
    size: 64,
    kernel: 3,
    stride: 2,
    inChannels: 64,
    outChannels: 64,
  },
  {
    name: 'conv 1x1 s1 32->32',
    batch: 4,
    size: 128,
    kernel: 1,
    stride: 1,
    inChannels: 32,
    outChannels: 32,
  },
  {
    name: 'conv 3x3 s1 1->32',
    batch: 4,
    size: 128,
    kernel: 3,
    stride: 1,
    inChannels: 1,
    outChannels: 32,
  },
];

interface Row {
  op: string;
  shape: string;
  forwardGflops: number;
  inputGradGflops: number;
  filterGradGflops: number;
  stockInputGradGflops?: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Milliseconds on the chosen clock. */
let clock = (): number => performance.now();

function cpuClock(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * Median milliseconds of each of `runs`, timed in turn within every repetition so that a
 * change in machine load affects all of them alike. Each run returns what to dispose.
 */
function timeMs(runs: (() => tf.TensorInfo | tf.Tensor)[], reps: number, warmUp = 2): number[] {
  const times: number[][] = runs.map(() => []);
  for (let i = 0; i < warmUp + reps; i++) {
    runs.forEach((run, k) => {
      const start = clock();
      const out = run();
      const ms = clock() - start;
      tf.dispose(out as tf.Tensor);
      if (i >= warmUp) times[k].push(ms);
    });
  }
  return times.map(median);
}

function benchShape(s: Shape, reps: number, stockInput?: tf.KernelConfig): Row {
  const outSize = Math.ceil(s.size / s.stride);
  const x = tf.randomUniform([s.batch, s.size, s.size, s.inChannels], -1, 1);
  const w = tf.randomUniform([s.kernel, s.kernel, s.inChannels, s.outChannels], -1, 1);
  const dy = tf.randomUniform([s.batch, outSize, outSize, s.outChannels], -1, 1);
  const flops =
    2 * s.batch * outSize * outSize * s.kernel * s.kernel * s.inChannels * s.outChannels;
  const gflops = (ms: number) => flops / ms / 1e6;
  const common = { strides: s.stride, pad: 'same', dataFormat: 'NHWC' };
  const engine = tf.engine();

  const dxAttrs = { ...common, inputShape: x.shape } as unknown as tf.NamedAttrMap;
  const dwAttrs = { ...common, filterShape: w.shape } as unknown as tf.NamedAttrMap;
  const [forward, dx, dw] = timeMs(
    [
      () => {
        const fresh = tf.clone(w);
        const y = engine.runKernel('Conv2D', { x, filter: fresh }, {
          ...common,
          dilations: 1,
        } as unknown as tf.NamedAttrMap) as tf.Tensor;
        fresh.dispose();
        return y;
      },
      () => engine.runKernel('Conv2DBackpropInput', { dy, filter: w }, dxAttrs) as tf.Tensor,
      () => engine.runKernel('Conv2DBackpropFilter', { x, dy }, dwAttrs) as tf.Tensor,
    ],
    reps,
  );
  const row: Row = {
    op: s.name,
    shape: `[${s.batch},${s.size},${s.size},${s.inChannels}]`,
    forwardGflops: gflops(forward),
    inputGradGflops: gflops(dx),
    filterGradGflops: gflops(dw),
  };
  if (stockInput !== undefined) {
    const backend = tf.backend();
    const [stock] = timeMs(
      [
        () =>
          stockInput.kernelFunc({
            inputs: { dy, filter: w },
            backend,
            attrs: dxAttrs,
          }) as tf.TensorInfo,
      ],
      1,
      0,
    );
    row.stockInputGradGflops = gflops(stock);
  }
  tf.dispose([x, w, dy]);
  return row;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const cpuTime = args.includes('--cpu-time');
  if (cpuTime) clock = cpuClock;
  const filterPath = args.includes('--xnnpack') ? 'xnnpack' : 'auto';
  setFilterGradientPath(filterPath);
  const repsAt = args.indexOf('--reps');
  const reps = repsAt >= 0 ? Number(args[repsAt + 1]) : 7;
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps: expected a positive integer`);
  const stockInput = args.includes('--stock')
    ? tf.getKernel('Conv2DBackpropInput', 'wasm')
    : undefined;
  registerWasmKernels();
  tf.env().set('PROD', true);
  await tf.setBackend('wasm');
  await tf.ready();
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  // The stock kernel was unregistered before the backend started, so it was never set up.
  stockInput?.setupFunc?.(tf.backend());

  const rows = SHAPES.map((s) => benchShape(s, reps, stockInput));
  if (json) {
    const timing = cpuTime ? 'cpu' : 'wall';
    const report = { backend: 'wasm', simd, reps, timing, filterPath, kernels: rows };
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  console.log(
    `backend: wasm (${simd ? 'SIMD' : 'no SIMD'}, 1 thread); median of ${reps} runs, ` +
      `${cpuTime ? 'CPU' : 'wall-clock'} time; filter gradient path: ${filterPath}`,
  );
  const header = ['op', 'input', 'fwd GF', 'dx GF', 'dW GF', 'dx/fwd', 'dW/fwd'];
  if (stockInput !== undefined) header.push('stock dx GF');
  const lines = rows.map((r) => {
    const cells = [
      r.op,
      r.shape,
      r.forwardGflops.toFixed(1),
      r.inputGradGflops.toFixed(1),
      r.filterGradGflops.toFixed(1),
      `${Math.round((100 * r.inputGradGflops) / r.forwardGflops)}%`,
      `${Math.round((100 * r.filterGradGflops) / r.forwardGflops)}%`,
    ];
    if (r.stockInputGradGflops !== undefined) cells.push(r.stockInputGradGflops.toFixed(1));
    return cells;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(format(header));
  for (const l of lines) console.log(format(l));
}

await main();
