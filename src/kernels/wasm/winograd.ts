/**
 * Winograd F(2x2, 3x3) convolutions for the wasm backend: the forward pass, the input gradient
 * and the filter gradient of 3x3 stride-1 convolutions padded by one pixel on every side (a
 * 3x3 stride-1 'same' convolution), on the SIMD kernels of `winograd_kernels.ts`. The kernels
 * Conv2D, FusedConv2D (`conv2d.ts`), Conv2DBackpropInput and Conv2DBackpropFilter call them
 * when `convChoice` says so, else their direct paths.
 *
 * Forward: the filter becomes U[e][o / 8][i][o % 8] (16 x Ci x Co, G g G^T); the input is
 * copied once with a zero border and its channels rounded up to 4 (its height and width to
 * even); its 2x2-tiles are processed in blocks of tiles sized to stay in cache: per block,
 * inputTransform writes V[e][c / 4][t][c % 4], 16 matrix products give M[e][t][o] = V[e] U[e], and
 * outputTransform writes the 2x2 output pixels (+ bias, ReLU). Odd sizes go through an even
 * temporary output that is then cropped.
 *
 * Input gradient: the same forward pass on dy with the filter rotated by 180 degrees and its
 * channels swapped (dx = dy * rot180(W)^T, 'same' padding).
 *
 * Filter gradient: dL/dU[e] = sum over tiles of V[e][t] (x) Z[e][t] with Z = A dY A^T (the
 * outer products summed by `rowOuterProduct` of `simd_kernels.ts`), then dW = G^T dL/dU G.
 *
 * Arithmetic: F(2x2, 3x3) multiplies by 1/2 only (exact in float32) and adds at most nine
 * terms per transform; the results agree with the direct kernels to float32 rounding
 * (test/kernels/wasm_winograd.test.ts bounds it).
 */
import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { backendNumerics, CONV_ALGORITHMS, type ConvAlgorithm } from '../numerics.js';
import { memoryOffset } from '../tfjs_internals.js';
import {
  allocate,
  heapF32,
  heapIndex,
  release,
  transpose,
  type WasmBackend,
} from './kernel_calls.js';
import { simdKernels } from './simd_kernels.js';
import { winogradKernels, type WinogradKernels, type WinogradTile } from './winograd_kernels.js';

export { CONV_ALGORITHMS, type ConvAlgorithm };

/** The three kernels of a convolution layer. */
export type ConvPass = 'forward' | 'inputGradient' | 'filterGradient';

/** What computes one kernel call: the direct kernel, or Winograd with 2x2 or 4x4 output tiles. */
export type ConvChoice = 'direct' | WinogradTile;

/** Geometry of a convolution as the rule sees it: input [n, h, w, ci], ci -> co channels. */
export interface WinogradShape {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
}

/** Whether Winograd computes this convolution: 3x3, stride 1, dilation 1, padding 1. */
export function isWinogradConv(info: backend_util.Conv2DInfo): boolean {
  const p = info.padInfo;
  return (
    info.filterHeight === 3 &&
    info.filterWidth === 3 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    p.top === 1 &&
    p.bottom === 1 &&
    p.left === 1 &&
    p.right === 1 &&
    info.inHeight === info.outHeight &&
    info.inWidth === info.outWidth
  );
}

/**
 * Below this many input or output channels the direct kernels win: the transforms, which move
 * memory, cost more than the products they save (F(2x2, 3x3) ran at 0.75x the direct speed at
 * 16 -> 16 channels), and a 1- or 3-channel input would still pay for 4 channels.
 */
export const WINOGRAD_MIN_CHANNELS = 32;

/**
 * Up to this many summed pixels (batch x height x width) the filter gradient runs F(2x2, 3x3)
 * rather than F(4x4, 3x3). With so few tiles, the work per channel pair that does not shrink
 * with the image (36 transformed sums to bring back to the filter, against 16) outweighs the
 * products saved: 8x8 pixels, 512 -> 512 channels, batch 1 took 13 ms with F(2x2, 3x3) and
 * 19 ms with F(4x4, 3x3) (CPU time); within 15% either way at 128 pixels, F(4x4, 3x3) 1.15-1.3x
 * faster from 192. And F(2x2, 3x3) errs far less there: 3.6 against 65 eps32 x sum|x||dy| per
 * element (`bench/filter_gradient.ts --batch 1`; README). The deepest layers at micro-batch 1
 * (128x128 inputs) or up to 4 (64x64) fall under it.
 */
export const FILTER_GRADIENT_F2_MAX_PIXELS = 64;

/**
 * The measured rule (`npm run bench:kernels`, CPU time; the README's kernel table): direct
 * below WINOGRAD_MIN_CHANNELS, else F(4x4, 3x3), 1.4-1.6x faster than F(2x2, 3x3) from 64
 * channels and 1.6-4x faster than the direct kernels, except for a filter gradient over at
 * most FILTER_GRADIENT_F2_MAX_PIXELS pixels (F(2x2, 3x3)). F(4x4, 3x3)'s error per element is
 * about ten times F(2x2, 3x3)'s on realistic data (within 50 eps32 x sum|a||b|,
 * test/kernels/winograd_error_bound.test.ts); for the filter gradient at full image size and
 * batch 16 it is both the fastest and, where its long sum does not cancel, the most accurate
 * of the three (`bench/filter_gradient.ts`; README, Winograd's error per element).
 */
export function winogradRule(pass: ConvPass, s: WinogradShape): ConvChoice {
  const wide = s.ci >= WINOGRAD_MIN_CHANNELS && s.co >= WINOGRAD_MIN_CHANNELS;
  switch (pass) {
    case 'forward':
    case 'inputGradient':
      return wide ? 4 : 'direct';
    case 'filterGradient':
      if (!wide) return 'direct';
      return s.n * s.h * s.w <= FILTER_GRADIENT_F2_MAX_PIXELS ? 2 : 4;
    default:
      throw new Error(
        `winogradRule: unknown pass '${String(pass)}'; expected one of forward, ` +
          'inputGradient, filterGradient',
      );
  }
}

/**
 * What computes the kernel of `pass` on this convolution: Winograd if it applies, the output
 * transform writes whole vectors (output channels a multiple of 4; the filter gradient of
 * F(4x4, 3x3) too), the SIMD kernels run, and the backend's `convAlgorithm` (numerics.ts; with
 * `winogradRule` for 'auto') says so; else the direct kernel.
 */
export function convChoice(
  backend: WasmBackend,
  pass: ConvPass,
  info: backend_util.Conv2DInfo,
): ConvChoice {
  const algorithm = backendNumerics(backend).convAlgorithm;
  if (algorithm === 'direct' || !isWinogradConv(info)) return 'direct';
  const s: WinogradShape = {
    n: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    ci: info.inChannels,
    co: info.outChannels,
  };
  if (s.n * s.h * s.w * s.ci * s.co === 0) return 'direct';
  const wanted: ConvChoice =
    algorithm === 'winograd' ? 2 : algorithm === 'winograd4' ? 4 : winogradRule(pass, s);
  if (wanted === 'direct') return 'direct';
  // The forward pass of the input gradient maps co channels to ci.
  const outChannels = pass === 'inputGradient' ? s.ci : s.co;
  const tile: WinogradTile = pass === 'filterGradient' && s.co % 4 !== 0 ? 2 : wanted;
  if (outChannels % 4 !== 0 && pass !== 'filterGradient') return 'direct';
  if (winogradKernels(backend, tile) === undefined) return 'direct';
  if (pass === 'filterGradient' && simdKernels(backend) === undefined) return 'direct';
  return tile;
}

const ceil = (v: number, m: number) => Math.ceil(v / m) * m;

/**
 * The distance in floats between the 16 transformed elements of a buffer holding `floats` per
 * element: 16 floats (one cache line) more, so that the 16 streams a transform reads or writes
 * do not all fall into one set of the first-level cache (the sizes are mostly powers of two;
 * the filter transform of 512 channels ran 5x slower without).
 */
const stride = (floats: number) => floats + 16;

/**
 * Bytes of the per-block buffers (16 transformed tiles of input and output) that keep a block
 * in the second-level cache; blocks hold at least MIN_BLOCK tiles so that each U[e] is reused.
 */
const BLOCK_BYTES = 512 * 1024;
const MIN_BLOCK = 32;

function blockTiles(tiles: number, channels: number, elements: number): number {
  const fit = Math.floor(BLOCK_BYTES / (elements * 4 * channels));
  return Math.min(ceil(tiles, 4), Math.max(MIN_BLOCK, ceil(fit, 4)));
}

/** One run of tiles along a tile row: image, tile row, first tile column, count, block offset. */
interface Segment {
  img: number;
  ty: number;
  tx: number;
  count: number;
  offset: number;
}

/** The row segments of tiles [t0, t0 + count) in a grid of n images of th x tw tiles. */
function segments(t0: number, count: number, th: number, tw: number): Segment[] {
  const out: Segment[] = [];
  for (let t = t0; t < t0 + count;) {
    const img = Math.floor(t / (th * tw));
    const rem = t - img * th * tw;
    const ty = Math.floor(rem / tw);
    const tx = rem - ty * tw;
    const len = Math.min(tw - tx, t0 + count - t);
    out.push({ img, ty, tx, count: len, offset: t - t0 });
    t += len;
  }
  return out;
}

/**
 * NHWC `t` [n, h, w, c] copied into a zeroed [n, rows, cols, channels] buffer at pixel
 * (top, left), channels zero-padded.
 */
function padded(
  backend: WasmBackend,
  t: TensorInfo,
  rows: number,
  cols: number,
  channels: number,
  top: number,
  left: number,
): TensorInfo {
  const [n, h, w, c] = t.shape;
  const out = allocate(backend, [n, rows, cols, channels]);
  const heap = heapF32(backend);
  const src = heapIndex(backend, t);
  const dst = heapIndex(backend, out);
  const rowFloats = cols * channels;
  for (let img = 0; img < n; img++) {
    const base = dst + img * rows * rowFloats;
    // Zero the border rows, then each copied row's margins.
    heap.fill(0, base, base + top * rowFloats);
    heap.fill(0, base + (top + h) * rowFloats, base + rows * rowFloats);
    for (let y = 0; y < h; y++) {
      const row = base + (top + y) * rowFloats;
      const from = src + (img * h + y) * w * c;
      heap.fill(0, row, row + left * channels);
      heap.fill(0, row + (left + w) * channels, row + rowFloats);
      if (channels === c) {
        heap.copyWithin(row + left * channels, from, from + w * c);
      } else {
        for (let x = 0; x < w; x++) {
          const p = row + (left + x) * channels;
          for (let k = 0; k < c; k++) heap[p + k] = heap[from + x * c + k];
          heap.fill(0, p + c, p + channels);
        }
      }
    }
  }
  return out;
}

/**
 * U = G g G^T of every (input, output) channel pair, packed [16][co8 / 8][ci4][8] with zeros in
 * the padding, by the SIMD `filterTransform` (co a multiple of 4). `flip`: the filter is a
 * forward filter [3, 3, co, ci] of which the input gradient's rotated, channel-swapped filter
 * is wanted: transposed to [3, 3, ci, co] first, then read with its taps in reverse.
 */
function transformFilter(
  backend: WasmBackend,
  kernels: WinogradKernels,
  elements: number,
  filter: TensorInfo,
  ci: number,
  co: number,
  ci4: number,
  co8: number,
  flip: boolean,
): TensorInfo {
  const swapped = flip
    ? transpose(backend, { dataId: filter.dataId, shape: [9, co, ci], dtype: 'float32' }, [0, 2, 1])
    : undefined;
  try {
    const u = allocate(backend, [elements * stride(ci4 * co8)]);
    const uBase = heapIndex(backend, u);
    // The transform writes every entry but the padding's.
    if (ci4 !== ci || co8 !== co)
      heapF32(backend).fill(0, uBase, uBase + elements * stride(ci4 * co8));
    const at = (t: TensorInfo) => memoryOffset(backend, t);
    const tap = ci * co * 4;
    const g = swapped !== undefined ? at(swapped) + 8 * tap : at(filter);
    kernels.filterTransform(
      g,
      swapped !== undefined ? -tap : tap,
      co * 4,
      ci,
      co / 4,
      uBase * 4,
      stride(ci4 * co8) * 4,
      ci4 * 32,
    );
    return u;
  } finally {
    release(backend, swapped);
  }
}

/**
 * The 3x3 'same' convolution of NHWC `x` [n, h, w, ci] by Winograd: with `filter` [3, 3, ci,
 * co] (or, `flip`, the input gradient of a convolution whose filter is [3, 3, co, ci]), plus
 * `bias` [co] and ReLU when asked. co must be a multiple of 4.
 */
export function winogradConv2d(
  backend: WasmBackend,
  x: TensorInfo,
  filter: TensorInfo,
  options: { flip?: boolean; bias?: TensorInfo; relu?: boolean; tile?: WinogradTile } = {},
): TensorInfo {
  const { flip = false, bias, relu = false, tile: m = 2 } = options;
  const kernels = winogradKernels(backend, m);
  if (kernels === undefined) throw new Error('winogradConv2d: the SIMD kernels cannot run here');
  const [n, h, w, ci] = x.shape;
  const co = flip ? filter.shape[2] : filter.shape[3];
  if (co % 4 !== 0) throw new Error(`winogradConv2d: ${co} output channels; expected 4k`);
  const elements = (m + 2) * (m + 2);
  const th = Math.ceil(h / m);
  const tw = Math.ceil(w / m);
  const ci4 = ceil(ci, 4);
  const co8 = ceil(co, 8);
  const even = h % m === 0 && w % m === 0;
  const tiles = n * th * tw;
  const tb = blockTiles(tiles, ci4 + co8, elements);

  const temps: TensorInfo[] = [];
  const keep = <T extends TensorInfo>(t: T): T => (temps.push(t), t);
  let y: TensorInfo | undefined;
  try {
    const u = keep(transformFilter(backend, kernels, elements, filter, ci, co, ci4, co8, flip));
    const xp = keep(padded(backend, x, m * th + 2, m * tw + 2, ci4, 1, 1));
    const v = keep(allocate(backend, [elements * stride(tb * ci4)]));
    const prod = keep(allocate(backend, [elements * stride(tb * co8)]));
    const biasVec = keep(allocate(backend, [co]));
    y = allocate(backend, [n, h, w, co]);
    const yt = even ? y : keep(allocate(backend, [n, m * th, m * tw, co]));
    const heap = heapF32(backend);
    // V's rows beyond a block's last tile feed products nobody reads: keep them finite.
    heap.fill(0, heapIndex(backend, v), heapIndex(backend, v) + elements * stride(tb * ci4));
    const biasAt = heapIndex(backend, biasVec);
    if (bias !== undefined) {
      heap.copyWithin(biasAt, heapIndex(backend, bias), heapIndex(backend, bias) + co);
    } else {
      heap.fill(0, biasAt, biasAt + co);
    }
    const at = (t: TensorInfo) => memoryOffset(backend, t);
    const [uB, xB, vB, mB, yB, biasB] = [u, xp, v, prod, yt, biasVec].map(at);
    const wp = m * tw + 2;
    const hp = m * th + 2;
    const [yh, yw] = even ? [h, w] : [m * th, m * tw];
    for (let t0 = 0; t0 < tiles; t0 += tb) {
      const count = Math.min(tb, tiles - t0);
      const segs = segments(t0, count, th, tw);
      for (const s of segs) {
        const src = xB + ((s.img * hp + m * s.ty) * wp + m * s.tx) * ci4 * 4;
        // V[e][c / 4][t][c % 4]: the layout the product reads fastest.
        const dst = vB + s.offset * 16;
        kernels.inputTransformByChannel(
          src,
          wp * ci4 * 4,
          ci4 * 4,
          s.count,
          ci4 / 4,
          dst,
          stride(tb * ci4) * 4,
          16,
          tb * 16,
        );
      }
      for (let e = 0; e < elements; e++) {
        kernels.gemm(
          vB + e * stride(tb * ci4) * 4,
          uB + e * stride(ci4 * co8) * 4,
          mB + e * stride(tb * co8) * 4,
          ci4 / 4,
          ceil(count, 4),
          co8 / 8,
          tb * 16,
          co8 * 4,
        );
      }
      for (const s of segs) {
        const src = mB + s.offset * co8 * 4;
        const dst = yB + ((s.img * yh + m * s.ty) * yw + m * s.tx) * co * 4;
        kernels.outputTransform(
          src,
          stride(tb * co8) * 4,
          co8 * 4,
          s.count,
          co / 4,
          dst,
          yw * co * 4,
          co * 4,
          biasB,
          relu ? 1 : 0,
        );
      }
    }
    if (!even) cropInto(backend, yt, y);
    const result = y;
    y = undefined;
    return result;
  } finally {
    release(backend, y, ...temps);
  }
}

/** Copies the top-left [n, h, w, c] of NHWC `from` into `to`. */
function cropInto(backend: WasmBackend, from: TensorInfo, to: TensorInfo): void {
  const [n, h, w, c] = to.shape;
  const [, fh, fw] = from.shape;
  const heap = heapF32(backend);
  const src = heapIndex(backend, from);
  const dst = heapIndex(backend, to);
  for (let img = 0; img < n; img++) {
    for (let r = 0; r < h; r++) {
      const s = src + (img * fh + r) * fw * c;
      heap.copyWithin(dst + (img * h + r) * w * c, s, s + w * c);
    }
  }
}

/**
 * The filter gradient [3, 3, ci, co] of the 3x3 'same' convolution of NHWC `x` [n, h, w, ci]
 * whose output gradient is `dy` [n, h, w, co], by Winograd.
 */
export function winogradFilterGradient(
  backend: WasmBackend,
  x: TensorInfo,
  dy: TensorInfo,
  m: WinogradTile = 2,
): TensorInfo {
  const kernels = winogradKernels(backend, m);
  const outer = simdKernels(backend)?.rowOuterProduct;
  if (kernels === undefined || outer === undefined) {
    throw new Error('winogradFilterGradient: the SIMD kernels cannot run here');
  }
  const [n, h, w, ci] = x.shape;
  const co = dy.shape[3];
  const elements = (m + 2) * (m + 2);
  const th = Math.ceil(h / m);
  const tw = Math.ceil(w / m);
  const ci4 = ceil(ci, 4);
  const co4 = ceil(co, 4);
  const tiles = n * th * tw;
  const tb = blockTiles(tiles, ci4 + co4, elements);
  const direct = h % m === 0 && w % m === 0 && co4 === co;

  const temps: TensorInfo[] = [];
  const keep = <T extends TensorInfo>(t: T): T => (temps.push(t), t);
  let dw: TensorInfo | undefined;
  try {
    const xp = keep(padded(backend, x, m * th + 2, m * tw + 2, ci4, 1, 1));
    const dyp = direct ? dy : keep(padded(backend, dy, m * th, m * tw, co4, 0, 0));
    const v = keep(allocate(backend, [elements * stride(tb * ci4)]));
    const z = keep(allocate(backend, [elements * stride(tb * co4)]));
    const du = keep(allocate(backend, [elements * stride(ci4 * co4)]));
    dw = allocate(backend, [3, 3, ci, co]);
    const heap = heapF32(backend);
    heap.fill(0, heapIndex(backend, du), heapIndex(backend, du) + elements * stride(ci4 * co4));
    const at = (t: TensorInfo) => memoryOffset(backend, t);
    const [xB, dyB, vB, zB, duB] = [xp, dyp, v, z, du].map(at);
    const wp = m * tw + 2;
    const hp = m * th + 2;
    const [dh, dwd] = [m * th, m * tw];
    for (let t0 = 0; t0 < tiles; t0 += tb) {
      const count = Math.min(tb, tiles - t0);
      for (const s of segments(t0, count, th, tw)) {
        const src = xB + ((s.img * hp + m * s.ty) * wp + m * s.tx) * ci4 * 4;
        kernels.inputTransform(
          src,
          wp * ci4 * 4,
          ci4 * 4,
          s.count,
          ci4 / 4,
          vB + s.offset * ci4 * 4,
          stride(tb * ci4) * 4,
          ci4 * 4,
          16,
        );
        const [rows, cols] = direct ? [h, w] : [dh, dwd];
        const from = dyB + ((s.img * rows + m * s.ty) * cols + m * s.tx) * co4 * 4;
        kernels.gradientTransform(
          from,
          cols * co4 * 4,
          co4 * 4,
          s.count,
          co4 / 4,
          zB + s.offset * co4 * 4,
          stride(tb * co4) * 4,
          co4 * 4,
        );
      }
      for (let e = 0; e < elements; e++) {
        outer(
          vB + e * stride(tb * ci4) * 4,
          zB + e * stride(tb * co4) * 4,
          duB + e * stride(ci4 * co4) * 4,
          count,
          ci4 * 4,
          co4 * 4,
          ci,
          co4,
        );
      }
    }
    if (co4 === co) {
      kernels.gradientToFilter(
        duB,
        stride(ci4 * co4) * 4,
        co4 * 4,
        ci,
        co / 4,
        at(dw),
        ci * co * 4,
        co * 4,
      );
    } else {
      gradientToFilter(heapF32(backend), duB / 4, heapIndex(backend, dw), ci, co, ci4, co4);
    }
    const result = dw;
    dw = undefined;
    return result;
  } finally {
    release(backend, dw, ...temps);
  }
}

/**
 * dW[a][b][i][o] = sum over r, s of G[r][a] dU[4r + s][i][o] G[s][b] (G^T dU G), for output
 * channels that are not a multiple of 4 (else the SIMD `gradientToFilter` does it).
 */
function gradientToFilter(
  heap: Float32Array,
  du: number,
  dw: number,
  ci: number,
  co: number,
  ci4: number,
  co4: number,
): void {
  const eStride = stride(ci4 * co4);
  const tap = ci * co;
  const q = new Float64Array(12);
  for (let i = 0; i < ci; i++) {
    for (let o = 0; o < co; o++) {
      const src = du + i * co4 + o;
      // G^T along rows: q[a][s] for a < 3, s < 4.
      for (let s = 0; s < 4; s++) {
        const d0 = heap[src + s * eStride];
        const d1 = heap[src + (4 + s) * eStride];
        const d2 = heap[src + (8 + s) * eStride];
        const d3 = heap[src + (12 + s) * eStride];
        q[s] = d0 + 0.5 * (d1 + d2);
        q[4 + s] = 0.5 * (d1 - d2);
        q[8 + s] = 0.5 * (d1 + d2) + d3;
      }
      const dst = dw + i * co + o;
      for (let a = 0; a < 3; a++) {
        const [q0, q1, q2, q3] = [q[4 * a], q[4 * a + 1], q[4 * a + 2], q[4 * a + 3]];
        heap[dst + 3 * a * tap] = q0 + 0.5 * (q1 + q2);
        heap[dst + (3 * a + 1) * tap] = 0.5 * (q1 - q2);
        heap[dst + (3 * a + 2) * tap] = 0.5 * (q1 + q2) + q3;
      }
    }
  }
}
