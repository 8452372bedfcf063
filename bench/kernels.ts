/**
 * GFLOPS of the convolution kernels on the convolution shapes of a network (by default
 * attn_reg at 128x128x1 with batch 16, the paper's BUS setting), on whichever backend runs.
 * Not a test: speed only. `npm run bench` (bench/index.ts) runs `benchKernels` after the
 * network figures; this file also runs standalone:
 *
 *   npm run build && node dist/bench/kernels.js [--backend B] [--shapes all|classes]
 *       [--batch N] [--reps N] [--json] [--cpu-time] [--stock] [--xnnpack]
 *
 * The shapes are read off the built model: every distinct (layer type, input shape, output
 * shape, kernel, stride) among its Conv2D and Conv2DTranspose layers (41 for attn_reg at
 * 128x128x1). `--shapes classes` keeps one per (layer type, kernel, stride), the one with the
 * most FLOPs. Each layer gives three kernels:
 *
 * - a Conv2D layer: `conv2d` (forward, kernel Conv2D), `conv2dBackpropInput` (input
 *   gradient, Conv2DBackpropInput) and `conv2dBackpropFilter` (filter gradient,
 *   Conv2DBackpropFilter);
 * - a Conv2DTranspose layer: `conv2dTranspose` (forward, Conv2DBackpropInput),
 *   `conv2dTransposeBackpropInput` (input gradient, a Conv2D of the output gradient) and
 *   `conv2dTransposeBackpropFilter` (filter gradient, Conv2DBackpropFilter with the output
 *   gradient as x and the layer input as dy).
 *
 * FLOPs are 2 * N * KH * KW * Cin * Cout * (pixels of the lower-resolution side) for all
 * three; bias and activation are not timed. Each figure is the median of N timed runs
 * (default 5) after one warm-up run, the three kernels of a shape timed in turn within every
 * repetition so that a change in machine load affects them alike. Every Conv2D call gets a
 * fresh copy of its filter (made outside the timing), as in training, where the weights change
 * every step (XNNPACK repacks a filter it has not seen). Timing is by the wall clock, after
 * reading one element of the output on backends that may return before the kernel finished;
 * `--cpu-time` times by this process's CPU time instead (wasm and cpu run kernels on one
 * thread, so on a machine busy with other work this measures the kernels rather than the
 * sharing; ignored for `tensorflow`, which runs several threads).
 * `--stock` (wasm) also times tfjs-backend-wasm's own Conv2DBackpropInput for the input
 * gradient of each Conv2D layer (once: it is slow). `--xnnpack` (wasm) times the filter
 * gradient's fallback path (for wasm builds without SIMD).
 *
 * On wasm the main columns time the direct kernels (the backend's numerics, `convAlgorithm: 'direct'`), and the
 * shapes Winograd applies to (3x3 stride 1 'same') are timed again with F(2x2, 3x3) and with
 * F(4x4, 3x3) forced (`F2 fwd`, ..., `F4 dW`): their GFLOPS count the direct convolution's
 * arithmetic, so that they compare with the direct columns (F(2x2, 3x3) does 2.25x fewer
 * multiplications, F(4x4, 3x3) 4x). `auto`, what training runs, follows `winogradRule`
 * (src/kernels/wasm/winograd.ts). `--no-winograd` leaves the Winograd columns out.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { pathToFileURL } from 'node:url';
import { describeBackend, initBackend } from '../src/backend/select.js';
import {
  backendNumerics,
  setBackendNumerics,
  type ConvAlgorithm,
} from '../src/kernels/numerics.js';
import { buildModel } from '../src/models/build.js';
import { formatTable } from '../src/util/text_table.js';

export type LayerKind = 'conv2d' | 'conv2dTranspose';

export type KernelOp =
  | 'conv2d'
  | 'conv2dBackpropInput'
  | 'conv2dBackpropFilter'
  | 'conv2dTranspose'
  | 'conv2dTransposeBackpropInput'
  | 'conv2dTransposeBackpropFilter';

/** Which shapes `benchKernels` times: all distinct ones, or one per (layer type, kernel, stride). */
export type ShapeSelection = 'all' | 'classes';

export const SHAPE_SELECTIONS: readonly ShapeSelection[] = ['all', 'classes'];

/** One distinct convolution of a network, NHWC. */
export interface ConvShape {
  kind: LayerKind;
  batch: number;
  /** The layer's input [H, W, C]. */
  input: [number, number, number];
  /** The layer's output [H, W, C]. */
  output: [number, number, number];
  kernel: [number, number];
  stride: [number, number];
  padding: 'same' | 'valid';
  /** How many layers of the network have this shape. */
  layers: number;
}

export interface KernelResult {
  op: KernelOp;
  /** The layer's shape, e.g. `16x128x128x64 -> 16x128x128x32 3x3 s1`. */
  shape: string;
  /**
   * GFLOPS, counting the direct convolution's arithmetic (2 * N * KH * KW * Cin * Cout * pixels)
   * whichever algorithm ran.
   */
  gflops: number;
  /** The algorithm of 3x3 stride-1 'same' convolutions on wasm (the backend's numerics). */
  algorithm?: ConvAlgorithm;
}

export interface KernelBenchOptions {
  /** The network whose convolution shapes are timed. Default `'attn_reg'`. */
  model?: string;
  /** Its input [H, W, C]. Default [128, 128, 1]. */
  inputShape?: [number, number, number];
  /** The batch of every timed call. Default 16. */
  batch?: number;
  /** Which shapes: `'all'` or `'classes'`. Default `'all'`. */
  shapes?: ShapeSelection;
  /** Timed runs per kernel; the figure is their median. Default 5. */
  reps?: number;
  /** Untimed runs before them. Default 1. */
  warmUp?: number;
  /** Milliseconds on the clock to time by. Default the wall clock (`performance.now`). */
  clock?: () => number;
  /**
   * wasm only: the algorithm of 3x3 stride-1 'same' convolutions while timing; `'winograd'`
   * and `'winograd4'` time only the shapes they apply to (`winogradApplies`). Default: the
   * current setting.
   */
  algorithm?: ConvAlgorithm;
}

/** The value after `name` in this process's arguments, else `fallback`. */
export function flagValue(name: string, fallback: string): string {
  const args = process.argv.slice(2);
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
}

/** `--input HxWxC` as [H, W, C] (default 128x128x1). */
export function inputFlag(): [number, number, number] {
  return flagValue('--input', '128x128x1').split('x').map(Number) as [number, number, number];
}

/** Whether Winograd F(2x2, 3x3) computes this shape's kernels: 3x3, stride 1, 'same'. */
export function winogradApplies(s: ConvShape): boolean {
  return (
    s.kernel[0] === 3 &&
    s.kernel[1] === 3 &&
    s.stride[0] === 1 &&
    s.stride[1] === 1 &&
    s.padding === 'same'
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function hw(shape: tfl.Shape | tfl.Shape[], what: string): [number, number, number] {
  // A node lists one shape per tensor; a convolution has one input and one output.
  const one = Array.isArray(shape[0]) && shape.length === 1 ? shape[0] : shape;
  const s = one as tfl.Shape;
  if (s.length !== 4 || !s.slice(1).every((d) => typeof d === 'number')) {
    throw new Error(`convShapes: ${what} has shape ${JSON.stringify(shape)}; expected [N,H,W,C]`);
  }
  return s.slice(1) as [number, number, number];
}

function pair(value: unknown): [number, number] {
  return Array.isArray(value)
    ? [Number(value[0]), Number(value[1])]
    : [Number(value), Number(value)];
}

/**
 * The distinct convolutions of a model's Conv2D and Conv2DTranspose layers (every call of a
 * shared layer counts), in the order of the layers, each with the number of layers that have
 * it.
 */
export function convShapes(model: tfl.LayersModel, batch: number): ConvShape[] {
  const shapes = new Map<string, ConvShape>();
  for (const layer of model.layers) {
    const className = layer.getClassName();
    if (className !== 'Conv2D' && className !== 'Conv2DTranspose') continue;
    const config = layer.getConfig();
    const dilation = pair(config.dilationRate ?? 1);
    if (dilation[0] !== 1 || dilation[1] !== 1) {
      throw new Error(`convShapes: layer ${layer.name} has dilation ${dilation}; expected 1`);
    }
    for (const node of layer.inboundNodes) {
      const shape: ConvShape = {
        kind: className === 'Conv2D' ? 'conv2d' : 'conv2dTranspose',
        batch,
        input: hw(node.inputShapes, `layer ${layer.name}'s input`),
        output: hw(node.outputShapes, `layer ${layer.name}'s output`),
        kernel: pair(config.kernelSize),
        stride: pair(config.strides ?? 1),
        padding: config.padding === 'valid' ? 'valid' : 'same',
        layers: 1,
      };
      const key = JSON.stringify({ ...shape, layers: 0 });
      const seen = shapes.get(key);
      if (seen !== undefined) seen.layers += 1;
      else shapes.set(key, shape);
    }
  }
  return [...shapes.values()];
}

/** Floating-point operations of one call of any of the three kernels of a shape. */
export function convFlops(s: ConvShape): number {
  // The forward convolution computes one dot product per pixel of its output, a transposed
  // one per pixel of its input: the lower-resolution side either way.
  const [h, w] = s.kind === 'conv2d' ? s.output : s.input;
  const [cin, cout] = [s.input[2], s.output[2]];
  return 2 * s.batch * h * w * s.kernel[0] * s.kernel[1] * cin * cout;
}

/** The shape with the most FLOPs of each (layer type, kernel, stride), in first-seen order. */
export function shapeClasses(shapes: ConvShape[]): ConvShape[] {
  const best = new Map<string, ConvShape>();
  for (const s of shapes) {
    const key = `${s.kind} ${s.kernel} ${s.stride}`;
    const current = best.get(key);
    if (current === undefined || convFlops(s) > convFlops(current)) best.set(key, s);
  }
  return [...best.values()];
}

/** `16x128x128x64 -> 16x128x128x32 3x3 s1`. */
export function describeShape(s: ConvShape): string {
  const stride = s.stride[0] === s.stride[1] ? `${s.stride[0]}` : s.stride.join('x');
  const pad = s.padding === 'same' ? '' : ' valid';
  return (
    `${[s.batch, ...s.input].join('x')} -> ${[s.batch, ...s.output].join('x')} ` +
    `${s.kernel.join('x')} s${stride}${pad}`
  );
}

/** One kernel call: the inputs stay alive across runs; `filter` is copied afresh if `fresh`. */
interface KernelCall {
  op: KernelOp;
  kernel: string;
  inputs: tf.NamedTensorMap;
  attrs: tf.NamedAttrMap;
  freshFilter: boolean;
}

/** Random operands for a shape and its three kernel calls. */
function kernelCalls(s: ConvShape): { calls: KernelCall[]; operands: tf.Tensor[] } {
  const n = s.batch;
  const x = tf.randomUniform([n, ...s.input], -1, 1);
  const dy = tf.randomUniform([n, ...s.output], -1, 1);
  const [kh, kw] = s.kernel;
  const common = { strides: s.stride, pad: s.padding, dataFormat: 'NHWC' };
  const forward = { ...common, dilations: 1 } as unknown as tf.NamedAttrMap;
  if (s.kind === 'conv2d') {
    const filter = tf.randomUniform([kh, kw, s.input[2], s.output[2]], -1, 1);
    const calls: KernelCall[] = [
      { op: 'conv2d', kernel: 'Conv2D', inputs: { x, filter }, attrs: forward, freshFilter: true },
      {
        op: 'conv2dBackpropInput',
        kernel: 'Conv2DBackpropInput',
        inputs: { dy, filter },
        attrs: { ...common, inputShape: x.shape } as unknown as tf.NamedAttrMap,
        freshFilter: false,
      },
      {
        op: 'conv2dBackpropFilter',
        kernel: 'Conv2DBackpropFilter',
        inputs: { x, dy },
        attrs: { ...common, filterShape: filter.shape } as unknown as tf.NamedAttrMap,
        freshFilter: false,
      },
    ];
    return { calls, operands: [x, dy, filter] };
  }
  // A transposed convolution's filter is [KH, KW, Cout, Cin]; its forward pass is the input
  // gradient of the convolution from its output back to its input.
  const filter = tf.randomUniform([kh, kw, s.output[2], s.input[2]], -1, 1);
  const calls: KernelCall[] = [
    {
      op: 'conv2dTranspose',
      kernel: 'Conv2DBackpropInput',
      inputs: { dy: x, filter },
      attrs: { ...common, inputShape: dy.shape } as unknown as tf.NamedAttrMap,
      freshFilter: false,
    },
    {
      op: 'conv2dTransposeBackpropInput',
      kernel: 'Conv2D',
      inputs: { x: dy, filter },
      attrs: forward,
      freshFilter: true,
    },
    {
      op: 'conv2dTransposeBackpropFilter',
      kernel: 'Conv2DBackpropFilter',
      inputs: { x: dy, dy: x },
      attrs: { ...common, filterShape: filter.shape } as unknown as tf.NamedAttrMap,
      freshFilter: false,
    },
  ];
  return { calls, operands: [x, dy, filter] };
}

/**
 * Median milliseconds of each call over `reps` runs after `warmUp`, the calls timed in turn
 * within every repetition.
 */
function timeCalls(calls: KernelCall[], reps: number, warmUp: number, clock: () => number) {
  // wasm and cpu compute before runKernel returns; others (tensorflow on a GPU) may not.
  const synchronous = ['wasm', 'cpu'].includes(tf.getBackend());
  const engine = tf.engine();
  const times: number[][] = calls.map(() => []);
  for (let i = 0; i < warmUp + reps; i++) {
    calls.forEach((call, k) => {
      const fresh = call.freshFilter ? tf.clone(call.inputs.filter) : undefined;
      const inputs = fresh !== undefined ? { ...call.inputs, filter: fresh } : call.inputs;
      const start = clock();
      const out = engine.runKernel(call.kernel, inputs, call.attrs) as tf.Tensor;
      if (!synchronous)
        tf.tidy(() =>
          tf
            .slice(
              out,
              out.shape.map(() => 0),
              1,
            )
            .dataSync(),
        );
      const ms = clock() - start;
      tf.dispose([out, ...(fresh !== undefined ? [fresh] : [])]);
      if (i >= warmUp) times[k].push(ms);
    });
  }
  return times.map(median);
}

/** Resolves the shapes `benchKernels` times for `options` (same defaults). */
export function kernelShapes(options: KernelBenchOptions = {}): ConvShape[] {
  const { model = 'attn_reg', inputShape = [128, 128, 1], batch = 16, shapes = 'all' } = options;
  if (!Number.isInteger(batch) || batch < 1) {
    throw new Error(`benchKernels: batch must be a positive integer, got ${batch}`);
  }
  const net = buildModel(model, { inputShape, seed: 1 });
  try {
    const all = convShapes(net, batch);
    switch (shapes) {
      case 'all':
        return all;
      case 'classes':
        return shapeClasses(all);
      default:
        throw new Error(
          `benchKernels: unknown shapes '${String(shapes)}'; expected ${SHAPE_SELECTIONS.join(', ')}`,
        );
    }
  } finally {
    net.dispose();
  }
}

/**
 * Times the forward, input-gradient and filter-gradient kernels of each convolution shape of
 * a network on the backend already started (see `initBackend`); returns three results per
 * shape, in the order of the network's layers.
 */
export async function benchKernels(options: KernelBenchOptions = {}): Promise<KernelResult[]> {
  const { reps = 5, warmUp = 1, clock = () => performance.now() } = options;
  if (!Number.isInteger(reps) || reps < 1) {
    throw new Error(`benchKernels: reps must be a positive integer, got ${reps}`);
  }
  if (!Number.isInteger(warmUp) || warmUp < 0) {
    throw new Error(`benchKernels: warmUp must be a non-negative integer, got ${warmUp}`);
  }
  await tf.ready();
  const wasm = tf.getBackend() === 'wasm';
  const before = backendNumerics(tf.backend()).convAlgorithm;
  const algorithm = wasm ? (options.algorithm ?? before) : undefined;
  const results: KernelResult[] = [];
  try {
    if (algorithm !== undefined) setBackendNumerics(tf.backend(), { convAlgorithm: algorithm });
    const shapes = kernelShapes(options).filter(
      (s) => (algorithm !== 'winograd' && algorithm !== 'winograd4') || winogradApplies(s),
    );
    for (const s of shapes) {
      const { calls, operands } = kernelCalls(s);
      const ms = timeCalls(calls, reps, warmUp, clock);
      tf.dispose(operands);
      const flops = convFlops(s);
      const shape = describeShape(s);
      results.push(
        ...calls.map((c, k) => ({
          op: c.op,
          shape,
          gflops: flops / ms[k] / 1e6,
          ...(algorithm !== undefined ? { algorithm } : {}),
        })),
      );
      // Let timers and I/O run between shapes.
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    setBackendNumerics(tf.backend(), { convAlgorithm: before });
  }
  return results;
}

/**
 * The kernel table's Winograd columns (`F2 fwd GF*` for F(2x2, 3x3), `F4 ...` for F(4x4, 3x3))
 * from results timed with `algorithm: 'winograd'` or `'winograd4'`; empty cells for shapes
 * they do not apply to.
 */
export function winogradColumns(
  results: KernelResult[],
): { header: string; cell: (shape: string) => string }[] {
  const columns: { header: string; cell: (shape: string) => string }[] = [];
  for (const [algorithm, label] of [
    ['winograd', 'F2'],
    ['winograd4', 'F4'],
  ] as const) {
    const cells = new Map<string, number>();
    for (const r of results.filter((k) => k.algorithm === algorithm)) {
      cells.set(`${passOf(r.op)} ${r.shape}`, r.gflops);
    }
    if (cells.size === 0) continue;
    for (const pass of ['fwd', 'dx', 'dW'] as const) {
      columns.push({
        header: `${label} ${pass} GF*`,
        cell: (shape: string) => cells.get(`${pass} ${shape}`)?.toFixed(1) ?? '',
      });
    }
  }
  return columns;
}

/** What the Winograd columns' asterisk means. */
export const WINOGRAD_NOTE =
  '* Winograd forced (F2: F(2x2,3x3), 2.25x fewer multiplications; F4: F(4x4,3x3), 4x fewer), ' +
  "GFLOPS counted as the direct convolution's arithmetic; training (auto) runs the direct " +
  'kernels below 32 channels and F(4x4,3x3) from 32';

const FORWARD: readonly KernelOp[] = ['conv2d', 'conv2dTranspose'];
const INPUT_GRADIENT: readonly KernelOp[] = ['conv2dBackpropInput', 'conv2dTransposeBackpropInput'];

function passOf(op: KernelOp): 'fwd' | 'dx' | 'dW' {
  return FORWARD.includes(op) ? 'fwd' : INPUT_GRADIENT.includes(op) ? 'dx' : 'dW';
}

/**
 * A table with one line per shape: layer type, shape, and the GFLOPS of its forward (fwd),
 * input-gradient (dx) and filter-gradient (dW) kernels. `extra` adds columns (header, cell
 * per shape string).
 */
export function formatKernelTable(
  results: KernelResult[],
  extra: { header: string; cell: (shape: string) => string }[] = [],
): string[] {
  const byShape = new Map<string, Partial<Record<'layer' | 'fwd' | 'dx' | 'dW', string>>>();
  for (const r of results) {
    const layer: LayerKind = r.op.startsWith('conv2dTranspose') ? 'conv2dTranspose' : 'conv2d';
    const key = `${layer} ${r.shape}`;
    const row = byShape.get(key) ?? { layer };
    row[passOf(r.op)] = r.gflops.toFixed(1);
    byShape.set(key, row);
  }
  const rows = [...byShape.entries()].map(([key, r]) => {
    const shape = key.slice((r.layer ?? '').length + 1);
    return [
      r.layer ?? '',
      shape,
      r.fwd ?? '',
      r.dx ?? '',
      r.dW ?? '',
      ...extra.map((e) => e.cell(shape)),
    ];
  });
  const header = ['layer', 'shape (NHWC in -> out, kernel, stride)', 'fwd GF', 'dx GF', 'dW GF'];
  return formatTable([...header, ...extra.map((e) => e.header)], rows, 'll');
}

function cpuClock(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

function intFlag(args: string[], flag: string, fallback: number): number {
  const at = args.indexOf(flag);
  if (at < 0) return fallback;
  const value = Number(args[at + 1]);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${flag}: expected a positive integer, got '${args[at + 1] ?? ''}'`);
  }
  return value;
}

/** tfjs-backend-wasm's own input-gradient kernel, timed once per Conv2D shape (`--stock`). */
function benchStock(stock: tf.KernelConfig, shapes: ConvShape[], clock: () => number) {
  const gflops = new Map<string, number>();
  for (const s of shapes.filter((t) => t.kind === 'conv2d')) {
    const { calls, operands } = kernelCalls(s);
    const call = calls.find((c) => c.op === 'conv2dBackpropInput') as KernelCall;
    const backend = tf.backend();
    const start = clock();
    const out = stock.kernelFunc({ inputs: call.inputs, backend, attrs: call.attrs });
    const ms = clock() - start;
    tf.dispose([out as tf.Tensor, ...operands]);
    gflops.set(describeShape(s), convFlops(s) / ms / 1e6);
  }
  return gflops;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const reps = intFlag(args, '--reps', 5);
  const batch = intFlag(args, '--batch', 16);
  const shapesAt = args.indexOf('--shapes');
  const shapes = (shapesAt >= 0 ? args[shapesAt + 1] : 'all') as ShapeSelection;
  if (!SHAPE_SELECTIONS.includes(shapes)) {
    throw new Error(`--shapes: expected one of ${SHAPE_SELECTIONS.join(', ')}, got '${shapes}'`);
  }
  const backendAt = args.indexOf('--backend');
  // The stock kernel must be taken before initBackend registers ours in its place.
  const stock = args.includes('--stock') ? tf.getKernel('Conv2DBackpropInput', 'wasm') : undefined;
  const info = await initBackend(backendAt >= 0 ? { backend: args[backendAt + 1] } : {});
  if (info.name !== 'wasm' && (stock !== undefined || args.includes('--xnnpack'))) {
    throw new Error(`--stock and --xnnpack time wasm kernels; the backend is ${info.name}`);
  }
  const filterPath = args.includes('--xnnpack') ? 'xnnpack' : 'auto';
  setBackendNumerics(tf.backend(), { filterGradient: filterPath });
  const cpuTime = args.includes('--cpu-time') && info.name !== 'tensorflow';
  const clock = cpuTime ? cpuClock : () => performance.now();
  // The stock kernel was unregistered before the backend started, so it was never set up.
  stock?.setupFunc?.(tf.backend());

  const wasm = info.name === 'wasm';
  const options: KernelBenchOptions = {
    batch,
    shapes,
    reps,
    clock,
    ...(wasm ? { algorithm: 'direct' as const } : {}),
  };
  const results = await benchKernels(options);
  const winograd =
    wasm && !args.includes('--no-winograd')
      ? [
          ...(await benchKernels({ ...options, algorithm: 'winograd' })),
          ...(await benchKernels({ ...options, algorithm: 'winograd4' })),
        ]
      : [];
  const stockGflops =
    stock !== undefined ? benchStock(stock, kernelShapes(options), clock) : undefined;
  const timing = cpuTime ? 'cpu' : 'wall';
  if (json) {
    const stockKernels =
      stockGflops !== undefined
        ? [...stockGflops].map(([shape, gflops]) => ({ op: 'conv2dBackpropInput', shape, gflops }))
        : undefined;
    const report = { backend: info.name, simd: info.simd, reps, timing, filterPath, stockKernels };
    console.log(JSON.stringify({ ...report, kernels: [...results, ...winograd] }, null, 2));
    return;
  }
  console.log(
    `${describeBackend(info)}; attn_reg 128x128x1 convolutions, GFLOPS, median of ${reps} ` +
      `runs, ${cpuTime ? 'CPU' : 'wall-clock'} time; filter gradient path: ${filterPath}`,
  );
  const extra = [
    ...(winograd.length > 0 ? winogradColumns(winograd) : []),
    ...(stockGflops !== undefined
      ? [{ header: 'stock dx GF', cell: (s: string) => stockGflops.get(s)?.toFixed(1) ?? '' }]
      : []),
  ];
  for (const line of formatKernelTable(results, extra)) console.log(line);
  if (winograd.length > 0) console.log(WINOGRAD_NOTE);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
