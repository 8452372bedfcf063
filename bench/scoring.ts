/**
 * Time to score one ISIC-sized mask (2166x3188) at the original size: the hard metrics, HD95
 * and ASSD (two exact distance transforms over the masks' bounding box), and keep-largest
 * post-processing. The masks are an ellipse covering about 21% of the image (ISIC's mean
 * lesion area) and the same ellipse shifted and stretched, with a few specks of noise.
 *
 * Run: `npm run build && node dist/bench/scoring.js [--repeat N]`.
 */
import { performance } from 'node:perf_hooks';
import { scoreMask } from '../src/eval/score.js';
import { surfaceDistanceMetrics } from '../src/metrics/surface_distance.js';
import { postprocessMask } from '../src/util/components.js';
import { Rng } from '../src/util/rng.js';
import type { BinaryMask } from '../src/util/raster.js';

const [H, W] = [2166, 3188];

function ellipse(cy: number, cx: number, ry: number, rx: number, noise: number): BinaryMask {
  const rng = new Rng(1);
  const data = new Uint8Array(H * W);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const inside = ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1;
      data[y * W + x] = inside || rng.chance(noise) ? 1 : 0;
    }
  }
  return { data, height: H, width: W };
}

function time(what: string, repeat: number, fn: () => unknown): void {
  fn(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(
    `${what.padEnd(44)} median ${times[Math.floor(times.length / 2)].toFixed(1)} ms, ` +
      `min ${times[0].toFixed(1)} ms (${repeat} runs)`,
  );
}

const i = process.argv.indexOf('--repeat');
const repeat = i > 0 ? Number(process.argv[i + 1]) : 5;
const truth = ellipse(1083, 1594, 620, 930, 0);
const pred = ellipse(1120, 1560, 650, 900, 1e-5);
let area = 0;
for (const v of truth.data) area += v;
console.log(`masks ${H}x${W}, truth lesion area ${((100 * area) / (H * W)).toFixed(1)}%`);
time('HD95 + ASSD (surfaceDistanceMetrics)', repeat, () => surfaceDistanceMetrics(truth, pred));
time('keep largest (postprocessMask)', repeat, () => postprocessMask(pred, { keepLargest: true }));
time('scoreMask (metrics, areas, HD95, ASSD)', repeat, () => scoreMask(pred, truth));
time('scoreMask with --keep-largest', repeat, () =>
  scoreMask(pred, truth, { postprocess: { keepLargest: true } }),
);
