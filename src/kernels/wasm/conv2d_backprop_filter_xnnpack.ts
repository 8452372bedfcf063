/**
 * The filter gradient of an NHWC convolution by XNNPACK matrix products, for wasm builds where
 * the SIMD kernel of `simd_kernels.ts` cannot run (no SIMD, or a shared memory):
 * dW[kh, kw, ci, co] = sum over n, y, x of xPad[n, y*sh + kh, x*sw + kw, ci] * dy[n, y, x, co],
 * one product per filter tap (or per run of taps that share a shift), contracted over pixels.
 *
 * Layout (per chunk of images):
 * - The input is transposed to channel planes and split into stride phases: plane
 *   (ph, pw, ci) holds xPad[n, Y*sh + ph, X*sw + pw, ci] on a grid of Hq x Wq pixels per
 *   image, Hq = outHeight + ceil(KH / sh) - 1 (zeros where that falls in the padding). Tap
 *   (kh, kw) = (a*sh + ph, b*sw + pw) then reads plane (ph, pw, .) shifted by (a, b) on the
 *   grid: for every valid output pixel p, element p + a*Wq + b of the plane.
 * - dy is embedded in the same grid, [images*Hq*Wq, Co], with zeros outside the Ho x Wo
 *   output window.
 * - For each tap, the shifted planes of all Ci channels form a [Ci, images*Hq*Wq] matrix with
 *   row stride images*Hq*Wq: a zero-copy view into the plane buffer at offset a*Wq + b. Its
 *   product with the embedded dy is that tap's [Ci, Co] slice of dW. Grid positions outside
 *   the output window meet zeros of dy; a view's last row runs past its plane into the next
 *   plane or into `slack` zeros at the end of the buffer, again only at such positions.
 *
 * The product is the wasm BatchMatMul kernel without transposes (XNNPACK's fully connected
 * operator); it packs dy once per chunk and reuses it for every tap. Packing and transposing
 * cost about as much as a 1x1 product itself, so this path reaches 55-75% of the forward
 * convolution's speed for 3x3 filters but only about 30% for 1x1 (bench/kernels.ts
 * --xnnpack).
 */
import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import {
  allocate,
  heapF32,
  heapIndex,
  makeView,
  matMul,
  release,
  releaseView,
  type WasmBackend,
} from './kernel_calls.js';

/**
 * Grid positions per chunk of images that we aim for: the fully connected operator packs dy
 * about twice as fast, and multiplies a little faster, when its [positions, Co] operand stays
 * in cache (measured; whole images per chunk, at least one).
 */
const CHUNK_POSITIONS = 16384;

/** Largest plane buffer, in floats, before a chunk is cut further (64 MiB). */
const CHUNK_FLOATS = 1 << 24;

/** The convolution geometry, and how the filter taps map onto phase planes and shifts. */
interface Plan {
  h: number;
  w: number;
  ci: number;
  co: number;
  ho: number;
  wo: number;
  kw: number;
  sh: number;
  sw: number;
  padTop: number;
  padLeft: number;
  phasesH: number;
  phasesW: number;
  /** Grid size per image: the output window plus room for the largest shift. */
  hq: number;
  wq: number;
  /** Largest shift, a*Wq + b: zeros kept after the last plane. */
  slack: number;
  products: Product[];
}

/**
 * One matrix product: the taps of a run of consecutive phase planes that share a shift
 * (a, b). Its left operand is the view of `count * Ci` plane rows starting at plane `first`,
 * shifted by a*Wq + b; row k*Ci + c of its result is dW[taps[k][0], taps[k][1], c, :].
 */
interface Product {
  first: number;
  count: number;
  a: number;
  b: number;
  taps: [number, number][];
}

function makePlan(info: {
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outChannels: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padInfo: { top: number; left: number };
}): Plan {
  const kh = info.filterHeight;
  const kw = info.filterWidth;
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  const phasesH = Math.min(sh, kh);
  const phasesW = Math.min(sw, kw);
  const shiftsH = Math.ceil(kh / sh);
  const shiftsW = Math.ceil(kw / sw);
  const wq = info.outWidth + shiftsW - 1;
  const products: Product[] = [];
  for (let a = 0; a < shiftsH; a++) {
    for (let b = 0; b < shiftsW; b++) {
      let run: Product | undefined;
      for (let ph = 0; ph < phasesH; ph++) {
        for (let pw = 0; pw < phasesW; pw++) {
          const r = a * sh + ph;
          const s = b * sw + pw;
          if (r >= kh || s >= kw) continue;
          const phase = ph * phasesW + pw;
          if (run === undefined || run.first + run.count !== phase) {
            run = { first: phase, count: 0, a, b, taps: [] };
            products.push(run);
          }
          run.count++;
          run.taps.push([r, s]);
        }
      }
    }
  }
  return {
    h: info.inHeight,
    w: info.inWidth,
    ci: info.inChannels,
    co: info.outChannels,
    ho: info.outHeight,
    wo: info.outWidth,
    kw,
    sh,
    sw,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    phasesH,
    phasesW,
    hq: info.outHeight + shiftsH - 1,
    wq,
    slack: (shiftsH - 1) * wq + shiftsW - 1,
    products,
  };
}

/** dW [KH, KW, Ci, Co] of `x` and `dy` (checked by the caller against `info`). */
export function filterGradientXnnpack(
  backend: WasmBackend,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const {
    batchSize: n,
    outHeight: ho,
    outWidth: wo,
    inChannels: ci,
    outChannels: co,
    filterHeight: kh,
    filterWidth: kw,
  } = info;
  const acc = new Float32Array(kh * kw * ci * co);
  if (n * ho * wo > 0 && ci * co > 0) {
    const plan = makePlan(info);
    const grid = plan.hq * plan.wq;
    const perImage = Math.max(plan.phasesH * plan.phasesW * ci, co) * grid;
    const byPositions = Math.max(1, Math.round(CHUNK_POSITIONS / grid));
    const chunk = Math.max(1, Math.min(n, byPositions, Math.floor(CHUNK_FLOATS / perImage)));
    for (let n0 = 0; n0 < n; n0 += chunk) {
      accumulateChunk(backend, x, dy, plan, n0, Math.min(chunk, n - n0), acc);
    }
  }
  const dw = allocate(backend, [kh, kw, ci, co]);
  heapF32(backend).set(acc, heapIndex(backend, dw));
  return dw;
}

/** Adds the filter gradient of images [n0, n0 + count) to `acc` ([KH, KW, Ci, Co]). */
function accumulateChunk(
  backend: WasmBackend,
  x: TensorInfo,
  dy: TensorInfo,
  plan: Plan,
  n0: number,
  count: number,
  acc: Float32Array,
): void {
  const { h, w, ci, co, ho, wo, kw, hq, wq, slack, phasesH, phasesW } = plan;
  const len = count * hq * wq;
  const planesSize = phasesH * phasesW * ci * len + slack;
  const dyIsGrid = hq === ho && wq === wo;
  let planes: TensorInfo | undefined;
  let dyGrid: TensorInfo | undefined;
  try {
    // Phase planes on the grid, [phasesH, phasesW, Ci, count*Hq*Wq] + slack.
    planes = allocate(backend, [planesSize]);
    // dy on the grid, [count*Hq*Wq, Co]; a view of dy itself when the grid is the output
    // window (1x1, or 2x2 stride 2 without padding).
    dyGrid = dyIsGrid
      ? makeView(backend, dy, n0 * ho * wo * co, [len, co])
      : allocate(backend, [len, co]);

    const heap = heapF32(backend);
    const planesBase = heapIndex(backend, planes);
    heap.fill(0, planesBase, planesBase + planesSize);
    fillPlanes(heap, heapIndex(backend, x) + n0 * h * w * ci, planesBase, plan, count, len);
    if (!dyIsGrid) {
      const dyBase = heapIndex(backend, dy) + n0 * ho * wo * co;
      const gridBase = heapIndex(backend, dyGrid);
      heap.fill(0, gridBase, gridBase + len * co);
      const rowLen = wo * co;
      for (let img = 0; img < count; img++) {
        for (let y = 0; y < ho; y++) {
          const src = dyBase + (img * ho + y) * rowLen;
          heap.copyWithin(gridBase + (img * hq + y) * wq * co, src, src + rowLen);
        }
      }
    }

    for (const { first, count: phases, a, b, taps } of plan.products) {
      const view = makeView(backend, planes, first * ci * len + a * wq + b, [phases * ci, len]);
      let product: TensorInfo | undefined;
      try {
        product = matMul(backend, view, dyGrid);
        const out = heapF32(backend);
        let src = heapIndex(backend, product);
        for (const [r, s] of taps) {
          const dst = (r * kw + s) * ci * co;
          for (let i = 0; i < ci * co; i++) acc[dst + i] += out[src + i];
          src += ci * co;
        }
      } finally {
        releaseView(backend, view);
        release(backend, product);
      }
    }
  } finally {
    // Disposing dy's grid (or view) also frees the XNNPACK operator packed from it.
    if (dyGrid !== undefined) {
      if (dyIsGrid) releaseView(backend, dyGrid);
      else release(backend, dyGrid);
    }
    release(backend, planes);
  }
}

/** Channels moved per pass of the transposing copy (one source read feeds this many rows). */
const UNROLL = 8;

/**
 * Writes images [0, count) of the NHWC input at heap index `xBase` into the phase planes at
 * `planesBase` (already zeroed): plane (ph, pw, c) gets x[img, Y*sh + ph - padTop,
 * X*sw + pw - padLeft, c] at grid position (img*Hq + Y)*Wq + X. A transposing copy, row by
 * row, eight channels per pass (measured twice as fast as one).
 */
function fillPlanes(
  heap: Float32Array,
  xBase: number,
  planesBase: number,
  plan: Plan,
  count: number,
  len: number,
): void {
  const { h, w, ci, sh, sw, padTop, padLeft, phasesH, phasesW, hq, wq } = plan;
  const pixelStep = sw * ci;
  for (let ph = 0; ph < phasesH; ph++) {
    // Grid rows Y whose input row Y*sh + ph - padTop lies in [0, H).
    const y0 = Math.max(0, Math.ceil((padTop - ph) / sh));
    const y1 = Math.min(hq, Math.floor((h - 1 + padTop - ph) / sh) + 1);
    for (let pw = 0; pw < phasesW; pw++) {
      const x0 = Math.max(0, Math.ceil((padLeft - pw) / sw));
      const x1 = Math.min(wq, Math.floor((w - 1 + padLeft - pw) / sw) + 1);
      const plane = planesBase + (ph * phasesW + pw) * ci * len;
      for (let img = 0; img < count; img++) {
        for (let y = y0; y < y1; y++) {
          const dstRow = plane + (img * hq + y) * wq;
          // Input pixel of grid column 0 (may lie in the padding; only x0.. is read).
          const srcRow = xBase + ((img * h + y * sh + ph - padTop) * w + pw - padLeft) * ci;
          let c = 0;
          for (; c + UNROLL <= ci; c += UNROLL) {
            const dst = dstRow + c * len;
            let src = srcRow + x0 * pixelStep + c;
            for (let xq = x0; xq < x1; xq++) {
              let d = dst + xq;
              heap[d] = heap[src];
              d += len;
              heap[d] = heap[src + 1];
              d += len;
              heap[d] = heap[src + 2];
              d += len;
              heap[d] = heap[src + 3];
              d += len;
              heap[d] = heap[src + 4];
              d += len;
              heap[d] = heap[src + 5];
              d += len;
              heap[d] = heap[src + 6];
              d += len;
              heap[d] = heap[src + 7];
              src += pixelStep;
            }
          }
          for (; c < ci; c++) {
            const dst = dstRow + c * len;
            let src = srcRow + x0 * pixelStep + c;
            for (let xq = x0; xq < x1; xq++) {
              heap[dst + xq] = heap[src];
              src += pixelStep;
            }
          }
        }
      }
    }
  }
}
