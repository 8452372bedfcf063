/**
 * The filter gradient of every 3x3 stride-1 'same' convolution of attn_reg at its full image
 * size and micro-batch 16, by the direct kernel and by Winograd F(2x2, 3x3) and F(4x4, 3x3)
 * (each forced, wasm backend): its error per element in units of eps32 * sum |x||dy| (the
 * element's rounding scale; float64 reference of `test/kernels/conv_reference.ts` on a sample
 * of input channels, every output channel and tap), on ReLU-like activations and on data with
 * a large mean (`relu`, `offset`), and its time (median of `--reps` runs after one warm-up;
 * CPU time of this process, and wall clock). The sum of a filter gradient runs over
 * batch x H x W terms, so its error grows with the image; this measures it where training
 * runs. Not a test (minutes):
 *
 *   npm run build && nice node dist/bench/filter_gradient.js [--input HxWxC] [--batch N]
 *       [--reps N] [--channels K] [--min-channels C] [--json]
 *
 * Defaults: --input 128x128x1 (BUS; 192x256x3 for ISIC 2018), --batch 16, --reps 3,
 * --channels 8 (input channels sampled, evenly spaced, for the reference), --min-channels 1
 * (32 leaves out the layers that read the image, which the rule keeps direct).
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend/select.js';
import { setBackendNumerics } from '../src/kernels/numerics.js';
import { formatTable } from '../src/util/text_table.js';
import {
  CONV_DATA,
  convOperands,
  EPS32,
  filterChannels,
  filterScaledError,
  referenceFilterGradient,
  scaledError,
} from '../test/kernels/conv_reference.js';
import { flagValue, inputFlag, kernelShapes, winogradApplies } from './kernels.js';

const ALGORITHMS = ['direct', 'winograd', 'winograd4'] as const;
const LABELS = { direct: 'direct', winograd: 'F2', winograd4: 'F4' } as const;

type Algorithm = (typeof ALGORITHMS)[number];

interface Row {
  shape: string;
  terms: number;
  /** Error / (eps32 * scale) per data kind and algorithm: per element, and per 3x3 filter. */
  error: Record<string, Record<Algorithm, number>>;
  filterError: Record<string, Record<Algorithm, number>>;
  /** Median milliseconds per algorithm: CPU time and wall clock. */
  cpuMs: Record<Algorithm, number>;
  wallMs: Record<Algorithm, number>;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/** dW of x, dy by the backend's Conv2DBackpropFilter with `algorithm` forced. */
function filterGradient(algorithm: Algorithm, x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor {
  setBackendNumerics(tf.backend(), { convAlgorithm: algorithm });
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
    strides: 1,
    pad: 'same',
    dataFormat: 'NHWC',
    dimRoundingMode: undefined,
    filterShape: [3, 3, x.shape[3], dy.shape[3]],
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

async function main(): Promise<void> {
  const inputShape = inputFlag();
  const batch = Number(flagValue('--batch', '16'));
  const reps = Number(flagValue('--reps', '3'));
  const sample = Number(flagValue('--channels', '8'));
  const minChannels = Number(flagValue('--min-channels', '1'));
  await initBackend({ backend: 'wasm' });
  const seen = new Set<string>();
  const layers: [number, number, number, number, number][] = [];
  for (const s of kernelShapes({ inputShape, batch }).filter(winogradApplies)) {
    // A transposed 3x3 stride-1 convolution's filter gradient has in and out swapped.
    const [ci, co] = s.kind === 'conv2d' ? [s.input[2], s.output[2]] : [s.output[2], s.input[2]];
    const shape: [number, number, number, number, number] = [batch, s.input[0], s.input[1], ci, co];
    const key = shape.join('x');
    if (!seen.has(key) && Math.min(ci, co) >= minChannels) layers.push(shape);
    seen.add(key);
  }
  const rows: Row[] = [];
  for (const [k, shape] of layers.entries()) {
    const [n, h, w, ci, co] = shape;
    const channels = Array.from({ length: Math.min(sample, ci) }, (_, i) =>
      Math.floor((i * ci) / Math.min(sample, ci)),
    );
    const row: Row = {
      shape: `${n}x${h}x${w}x${ci} -> ${co}`,
      terms: n * h * w,
      error: {},
      filterError: {},
      cpuMs: { direct: 0, winograd: 0, winograd4: 0 },
      wallMs: { direct: 0, winograd: 0, winograd4: 0 },
    };
    for (const data of CONV_DATA) {
      const ops = convOperands(data, shape, 1000 + k);
      const ref = referenceFilterGradient(ops.x, ops.dy, shape, channels);
      const x = tf.tensor4d(ops.x, [n, h, w, ci]);
      const dy = tf.tensor4d(ops.dy, [n, h, w, co]);
      row.error[data] = { direct: 0, winograd: 0, winograd4: 0 };
      row.filterError[data] = { direct: 0, winograd: 0, winograd4: 0 };
      const times = new Map<Algorithm, { cpu: number[]; wall: number[] }>(
        ALGORITHMS.map((a) => [a, { cpu: [], wall: [] }]),
      );
      // Timed on the first data set only; the algorithms take turns within each repetition.
      const runs = data === CONV_DATA[0] ? reps + 1 : 1;
      for (let r = 0; r < runs; r++) {
        for (const algorithm of ALGORITHMS) {
          const [c0, w0] = [cpuMs(), performance.now()];
          const dw = filterGradient(algorithm, x, dy);
          const [c1, w1] = [cpuMs(), performance.now()];
          if (r === 0) {
            const got = filterChannels(dw.dataSync() as Float32Array, ci, co, channels);
            row.error[data][algorithm] = scaledError(got, ref) / EPS32;
            row.filterError[data][algorithm] = filterScaledError(got, ref, co) / EPS32;
          } else {
            times.get(algorithm)?.cpu.push(c1 - c0);
            times.get(algorithm)?.wall.push(w1 - w0);
          }
          dw.dispose();
        }
      }
      if (runs > 1) {
        for (const algorithm of ALGORITHMS) {
          const t = times.get(algorithm);
          row.cpuMs[algorithm] = median(t?.cpu ?? []);
          row.wallMs[algorithm] = median(t?.wall ?? []);
        }
      }
      tf.dispose([x, dy]);
    }
    setBackendNumerics(tf.backend(), { convAlgorithm: 'auto' });
    rows.push(row);
    console.error(`${k + 1}/${layers.length} ${row.shape}`);
  }
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ inputShape, batch, reps, channels: sample, rows }));
    return;
  }
  const header = [
    'layer (N x H x W x Ci -> Co)',
    'terms',
    ...CONV_DATA.flatMap((d) => ALGORITHMS.map((a) => `${LABELS[a]} ${d}`)),
    ...ALGORITHMS.map((a) => `${LABELS[a]} ms cpu`),
    ...ALGORITHMS.map((a) => `${LABELS[a]} ms wall`),
  ];
  const cells = rows.map((r) => [
    r.shape,
    String(r.terms),
    ...CONV_DATA.flatMap((d) =>
      ALGORITHMS.map((a) => `${r.error[d][a].toFixed(1)} (${r.filterError[d][a].toFixed(1)})`),
    ),
    ...ALGORITHMS.map((a) => r.cpuMs[a].toFixed(0)),
    ...ALGORITHMS.map((a) => r.wallMs[a].toFixed(0)),
  ]);
  console.log(
    `filter gradient, attn_reg ${inputShape.join('x')}, batch ${batch}: error in eps32 * ` +
      `sum|x||dy| per element (per 3x3 filter: its largest element scale), max over ${sample} ` +
      `sampled input channels; median of ${reps} runs`,
  );
  for (const line of formatTable(header, cells, 'l')) console.log(line);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
