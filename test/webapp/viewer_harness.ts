/**
 * The page side of test/webapp/viewer.test.ts, bundled alone with the viewer: it makes a
 * synthetic image (grey, or colour), its mask, the model's mask, a ground truth, probabilities
 * and an attention gate from a small description, opens them in a `Viewer` on `#viewer`, and
 * records what the viewer tells its owner (`onMask`, `onStatus`, `onClose`) in `globalThis.log`.
 * Browser-only.
 */
import type { BinaryMask, RawImage } from '../../src/util/raster.js';
import { Viewer, type ViewerImage } from '../../src/webapp/viewer.js';
import type { ReviewStatus } from '../../src/webapp/work.js';

/** A rectangle of lesion, half-open: columns [x0, x1), rows [y0, y1). */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface Spec {
  width: number;
  height: number;
  /** Lesion boxes of the mask; `holes` are cleared after. */
  lesion: Box[];
  holes?: Box[];
  truth?: Box[];
  /** The probabilities' [rows, cols]: value (r * cols + c) / (rows * cols - 1). */
  probabilities?: [number, number];
  /** One attention gate of [rows, cols]: value c / (cols - 1). */
  gate?: [number, number];
  /** A colour picture of a dark lesion on skin (for the screenshots) instead of grey ramps. */
  skin?: boolean;
  status?: ReviewStatus;
}

export interface Log {
  masks: BinaryMask[];
  statuses: ReviewStatus[];
  closed: number;
}

/** Grey value of pixel (x, y) of the synthetic image: (3x + y) mod 256. */
export function greyAt(x: number, y: number): number {
  return (3 * x + y) % 256;
}

/** How dark the lesion of the skin picture is at (x, y), 0 to 1: a lumpy blob at the centre. */
export function lesionAt(x: number, y: number, width: number, height: number): number {
  const u = (x - width / 2) / (width * 0.2);
  const v = (y - height / 2) / (height * 0.24);
  const lump = 0.08 * Math.sin(5 * Math.atan2(v, u) + 1) + 0.05 * Math.sin(x / 7) * Math.cos(y / 9);
  const d = Math.hypot(u, v) * (1 - lump);
  return 1 / (1 + Math.exp((d - 1) * 6));
}

function boxes(width: number, height: number, on: Box[], off: Box[] = []): BinaryMask {
  const data = new Uint8Array(width * height);
  for (const [list, v] of [
    [on, 1],
    [off, 0],
  ] as const) {
    for (const b of list) {
      for (let y = b.y0; y < b.y1; y++) data.fill(v, y * width + b.x0, y * width + b.x1);
    }
  }
  return { data, width, height };
}

export function makeImage(spec: Spec): ViewerImage {
  const { width, height } = spec;
  const channels = spec.skin ? 3 : 1;
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * channels;
      if (spec.skin) {
        const d = lesionAt(x, y, width, height);
        const grain = ((x * 7919 + y * 104729) % 23) - 11;
        data[i] = Math.round(224 - 120 * d + grain);
        data[i + 1] = Math.round(178 - 115 * d + grain);
        data[i + 2] = Math.round(160 - 100 * d + grain);
      } else {
        data[i] = greyAt(x, y);
      }
    }
  }
  const image: RawImage = { data, width, height, channels };
  const mask = boxes(width, height, spec.lesion, spec.holes);
  if (spec.skin) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (lesionAt(x, y, width, height) > 0.5) mask.data[y * width + x] = 1;
      }
    }
  }
  const out: ViewerImage = {
    id: 'test-image',
    name: 'lesion.png',
    image,
    mask,
    modelMask: { ...mask, data: mask.data.slice() },
    attention: [],
    status: spec.status ?? 'unreviewed',
  };
  if (spec.truth) out.truth = boxes(width, height, spec.truth);
  if (spec.probabilities) {
    const [rows, cols] = spec.probabilities;
    const p = new Float32Array(rows * cols);
    for (let i = 0; i < p.length; i++) p[i] = i / (p.length - 1);
    if (spec.skin) {
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const x = ((c + 0.5) * width) / cols;
          const y = ((r + 0.5) * height) / rows;
          p[r * cols + c] = lesionAt(x * 0.97 + 6, y, width, height) ** 0.7;
        }
      }
    }
    out.probabilities = { data: p, height: rows, width: cols };
  }
  if (spec.gate) {
    const [rows, cols] = spec.gate;
    const g = new Float32Array(rows * cols);
    for (let i = 0; i < g.length; i++) g[i] = (i % cols) / (cols - 1);
    out.attention.push({ gate: 'gate 1', data: g, height: rows, width: cols });
  }
  return out;
}

const g = globalThis as unknown as { viewerUnderTest?: Viewer; log: Log };

/** Opens `spec` in the viewer (made on first use), with a fresh log; returns open's time. */
export function open(spec: Spec): number {
  g.log = { masks: [], statuses: [], closed: 0 };
  g.viewerUnderTest ??= new Viewer(document.getElementById('viewer')!, {
    onMask: (m) => g.log.masks.push(m),
    onStatus: (s) => g.log.statuses.push(s),
    onClose: () => g.log.closed++,
  });
  const image = makeImage(spec);
  const t0 = performance.now();
  g.viewerUnderTest.open(image);
  return performance.now() - t0;
}

/** The last mask given to `onMask`, as 0/1 numbers (or undefined). */
export function lastMask(): number[] | undefined {
  const m = g.log.masks.at(-1);
  return m ? [...m.data] : undefined;
}
