/**
 * Conv2DBackpropInput for the wasm backend, replacing the stock one (a plain loop 10-30 times
 * slower than the forward convolution). It is the input gradient of a convolution and
 * the forward pass of a transposed convolution (`tf.conv2dTranspose`).
 *
 * With forward rows i = y*s + k - padTop, the gradient is
 *   dx[i] = sum over (y, k) with y*s + k = i + padTop of dy[y] * W[k].
 * Splitting the output rows by the phase r = (i + padTop) mod s leaves, per phase, a stride-1
 * correlation of dy with the sub-kernel W[r], W[r + s], ... reversed (sub-pixel
 * decomposition): no multiplications by the zeros that dilating dy would insert. The same holds
 * for columns, so each (row phase, column phase) pair is one stride-1 forward convolution of dy
 * with the reversed sub-kernel, its in/out channels swapped, by the wasm Conv2D kernel
 * (XNNPACK). Phases whose sub-kernels have the same size and padding share one convolution
 * with their output channels side by side. The phase outputs are then interleaved into dx:
 * - stride 1: one phase, which is dx itself (no copy);
 * - all s*s phases in one convolution, evenly tiled (2x2 stride 2 'same'): depth-to-space as
 *   a rank-4 transpose by the wasm Transpose kernel (its DepthToSpace is 20x slower);
 * - otherwise (3x3 stride 2, odd sizes, ...): a strided pixel copy, by the SIMD kernel of
 *   `simd_kernels.ts` where it runs.
 * Measured against the forward convolution of the same shape: 100% at stride 1, 90-100% for
 * 2x2 stride 2, 83-93% for 3x3 stride 2 (bench/kernels.ts, CPU time).
 * Rows that no phase reaches (a kernel smaller than its stride) are zeros. Negative effective
 * padding (a dy row that only reaches cropped output rows) is handled by computing a few
 * extra rows and skipping them.
 *
 * Handles any kernel size, stride and padding ('same', 'valid', a number, explicit), any batch
 * and channel count; dataFormat must be NHWC. Exact up to float32 summation order.
 */
import {
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import {
  allocate,
  conv2dExplicit,
  heapF32,
  heapIndex,
  nhwcConvInfo,
  release,
  transpose,
  type WasmBackend,
} from './kernel_calls.js';
import { simdKernels } from './simd_kernels.js';
import { convChoice, winogradConv2d } from './winograd.js';

type Shape4 = [number, number, number, number];

/** One output phase along one axis: the rows i = first + s*t, t in [0, count). */
interface AxisPhase {
  /** Residue of (i + padBefore) mod s: the phase uses kernel taps r, r + s, ... */
  r: number;
  /** Number of kernel taps in this phase (the sub-kernel length). */
  taps: number;
  /** First output row of this phase. */
  first: number;
  /** Number of output rows of this phase. */
  count: number;
  /** Padding of dy before and after for the stride-1 sub-convolution (both >= 0). */
  padBefore: number;
  padAfter: number;
  /** Rows of the sub-convolution's output to skip before the first wanted one. */
  skip: number;
  /** Rows of the sub-convolution's output. */
  length: number;
}

/**
 * The phases of one axis with at least one tap and one output row, and whether they cover
 * every output row (if not, the others are zeros).
 */
function axisPhases(
  size: number,
  dySize: number,
  k: number,
  s: number,
  padBefore: number,
): { phases: AxisPhase[]; complete: boolean } {
  const phases: AxisPhase[] = [];
  let complete = true;
  for (let r = 0; r < s; r++) {
    const taps = r < k ? Math.ceil((k - r) / s) : 0;
    const first = (((r - padBefore) % s) + s) % s;
    const count = first < size ? Math.ceil((size - first) / s) : 0;
    if (count === 0) continue;
    if (taps === 0) {
      complete = false;
      continue;
    }
    // Output row t of this phase is dy row u0 + t - m for taps m = 0..taps-1.
    const u0 = (first + padBefore - r) / s;
    const wantBefore = taps - 1 - u0;
    const before = Math.max(0, wantBefore);
    const skip = before - wantBefore;
    const after = Math.max(0, skip + count + taps - 1 - dySize - before);
    phases.push({
      r,
      taps,
      first,
      count,
      padBefore: before,
      padAfter: after,
      skip,
      length: dySize + before + after - taps + 1,
    });
  }
  return { phases, complete };
}

/** Phase pairs that share one sub-convolution (same sub-kernel size and padding). */
interface PhaseGroup {
  /** Row phase and column phase of each member, rows outer, columns inner. */
  members: { row: AxisPhase; col: AxisPhase }[];
}

function groupPhases(rows: AxisPhase[], cols: AxisPhase[]): PhaseGroup[] {
  const groups = new Map<string, PhaseGroup>();
  for (const row of rows) {
    for (const col of cols) {
      const key = [row.taps, row.padBefore, row.padAfter, col.taps, col.padBefore, col.padAfter];
      const id = key.join(',');
      let group = groups.get(id);
      if (group === undefined) {
        group = { members: [] };
        groups.set(id, group);
      }
      group.members.push({ row, col });
    }
  }
  return [...groups.values()];
}

function conv2DBackpropInput(args: {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  backend: WasmBackend;
  attrs: Conv2DBackpropInputAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs;
  const info = nhwcConvInfo('Conv2DBackpropInput', attrs.inputShape, filter.shape as Shape4, attrs);
  const {
    batchSize: n,
    inHeight: h,
    inWidth: w,
    inChannels: ci,
    outHeight: ho,
    outWidth: wo,
    outChannels: co,
    filterHeight: kh,
    filterWidth: kw,
    strideHeight: sh,
    strideWidth: sw,
  } = info;
  const expected = [n, ho, wo, co];
  if (dy.shape.length !== 4 || dy.shape.some((d, i) => d !== expected[i])) {
    throw new Error(
      `Conv2DBackpropInput (wasm): dy shape [${dy.shape.join(',')}] does not match the ` +
        `convolution output [${expected.join(',')}]`,
    );
  }
  const choice = convChoice(backend, 'inputGradient', info);
  if (choice !== 'direct') return winogradConv2d(backend, dy, filter, { flip: true, tile: choice });
  const rows = axisPhases(h, ho, kh, sh, info.padInfo.top);
  const cols = axisPhases(w, wo, kw, sw, info.padInfo.left);
  if (n * h * w * ci === 0 || co === 0 || rows.phases.length === 0 || cols.phases.length === 0) {
    const zeros = allocate(backend, [n, h, w, ci]);
    const base = heapIndex(backend, zeros);
    heapF32(backend).fill(0, base, base + n * h * w * ci);
    return zeros;
  }
  const groups = groupPhases(rows.phases, cols.phases);

  const outputs: { group: PhaseGroup; out: TensorInfo }[] = [];
  try {
    for (const group of groups) {
      const filterG = subKernels(backend, filter, group, kw, ci, co, sh, sw);
      try {
        const { row: r, col: c } = group.members[0];
        const out = conv2dExplicit(
          backend,
          dy,
          filterG,
          r.padBefore,
          r.padAfter,
          c.padBefore,
          c.padAfter,
        );
        outputs.push({ group, out });
      } finally {
        // Disposing the temporary filter also frees the XNNPACK operator cached on it.
        release(backend, filterG);
      }
    }

    if (isDx(outputs, h, w)) {
      const result = outputs[0].out;
      outputs.length = 0;
      return result;
    }
    if (isTiled(outputs, h, w, sh, sw)) {
      // [N, H/sh, W/sw, (rh, rw, ci)] -> [N, H/sh, rh, W/sw, (rw, ci)]: depth-to-space as a
      // rank-4 transpose, which the wasm backend does at memory speed (its DepthToSpace
      // kernel is many times slower).
      const out = outputs[0].out;
      const tiles = {
        dataId: out.dataId,
        shape: [n * (h / sh), w / sw, sh, sw * ci],
        dtype: out.dtype,
      };
      const dx = transpose(backend, tiles, [0, 2, 1, 3]);
      dx.shape = [n, h, w, ci];
      return dx;
    }

    const dx = allocate(backend, [n, h, w, ci]);
    const heap = heapF32(backend);
    const dxBase = heapIndex(backend, dx);
    if (!rows.complete || !cols.complete) heap.fill(0, dxBase, dxBase + n * h * w * ci);
    const copy = rowCopier(backend, heap, ci);
    for (const { group, out } of outputs) {
      interleave(
        copy,
        heapIndex(backend, out),
        out.shape as Shape4,
        group,
        dxBase,
        [n, h, w, ci],
        [sh, sw],
      );
    }
    return dx;
  } finally {
    release(backend, ...outputs.map((o) => o.out));
  }
}

/** Whether the only phase output is dx itself (stride 1, nothing to skip or crop). */
function isDx(outputs: { group: PhaseGroup }[], h: number, w: number): boolean {
  if (outputs.length !== 1 || outputs[0].group.members.length !== 1) return false;
  const { row, col } = outputs[0].group.members[0];
  return (
    row.skip === 0 &&
    col.skip === 0 &&
    row.first === 0 &&
    col.first === 0 &&
    row.count === h &&
    col.count === w &&
    row.length === h &&
    col.length === w
  );
}

/**
 * Whether the only phase output holds all sh*sw phases, rows outer, of an evenly tiled dx
 * (output row i = sh*t + rh): then dx is a depth-to-space of it.
 */
function isTiled(
  outputs: { group: PhaseGroup }[],
  h: number,
  w: number,
  sh: number,
  sw: number,
): boolean {
  if (outputs.length !== 1 || outputs[0].group.members.length !== sh * sw) return false;
  return outputs[0].group.members.every(
    ({ row, col }, g) =>
      row.r * sw + col.r === g &&
      row.skip === 0 &&
      col.skip === 0 &&
      row.first === row.r &&
      col.first === col.r &&
      row.length * sh === h &&
      col.length * sw === w,
  );
}

/**
 * The filter of one phase group's sub-convolution, [tapsH, tapsW, Co, G*Ci]: for member g,
 * channels [g*Ci, (g+1)*Ci) hold W[r + s*(taps-1-m), ..., ci, co] (reversed sub-kernel, in/out
 * channels swapped).
 */
function subKernels(
  backend: WasmBackend,
  filter: TensorInfo,
  group: PhaseGroup,
  kw: number,
  ci: number,
  co: number,
  sh: number,
  sw: number,
): TensorInfo {
  const { taps: th } = group.members[0].row;
  const { taps: tw } = group.members[0].col;
  const members = group.members.length;
  const outC = members * ci;
  const sub = allocate(backend, [th, tw, co, outC]);
  const heap = heapF32(backend);
  const wBase = heapIndex(backend, filter);
  const subBase = heapIndex(backend, sub);
  group.members.forEach(({ row, col }, g) => {
    for (let m = 0; m < th; m++) {
      const kr = row.r + sh * (th - 1 - m);
      for (let q = 0; q < tw; q++) {
        const kc = col.r + sw * (tw - 1 - q);
        const src = wBase + (kr * kw + kc) * ci * co;
        const dst = subBase + (m * tw + q) * co * outC + g * ci;
        for (let c = 0; c < ci; c++) {
          for (let o = 0; o < co; o++) heap[dst + o * outC + c] = heap[src + c * co + o];
        }
      }
    }
  });
  return sub;
}

/** Copies `count` pixels of Ci floats from heap index `src` to `dst`, with these steps. */
type RowCopy = (src: number, dst: number, count: number, srcStep: number, dstStep: number) => void;

/** Channel count from which one copyWithin per pixel beats an element loop (measured). */
const COPY_WITHIN_MIN = 8;

/** The fastest pixel copy available: SIMD (Ci a multiple of 4), copyWithin, or a loop. */
function rowCopier(backend: WasmBackend, heap: Float32Array, ci: number): RowCopy {
  const copyPixels = ci % 4 === 0 ? simdKernels(backend)?.copyPixels : undefined;
  if (copyPixels !== undefined) {
    return (src, dst, count, srcStep, dstStep) =>
      copyPixels(src * 4, dst * 4, count, ci * 4, srcStep * 4, dstStep * 4);
  }
  if (ci >= COPY_WITHIN_MIN) {
    return (src, dst, count, srcStep, dstStep) => {
      for (let u = 0; u < count; u++, src += srcStep, dst += dstStep) {
        heap.copyWithin(dst, src, src + ci);
      }
    };
  }
  return (src, dst, count, srcStep, dstStep) => {
    for (let u = 0; u < count; u++, src += srcStep, dst += dstStep) {
      for (let c = 0; c < ci; c++) heap[dst + c] = heap[src + c];
    }
  };
}

/** Copies a phase group's sub-convolution output [N, Lh, Lw, G*Ci] into its pixels of dx. */
function interleave(
  copy: RowCopy,
  outBase: number,
  outShape: Shape4,
  group: PhaseGroup,
  dxBase: number,
  [n, h, w, ci]: Shape4,
  [sh, sw]: [number, number],
): void {
  const [, lh, lw, depth] = outShape;
  group.members.forEach(({ row, col }, g) => {
    for (let img = 0; img < n; img++) {
      for (let t = 0; t < row.count; t++) {
        const src = outBase + ((img * lh + t + row.skip) * lw + col.skip) * depth + g * ci;
        const dst = dxBase + ((img * h + row.first + sh * t) * w + col.first) * ci;
        copy(src, dst, col.count, depth, sw * ci);
      }
    }
  });
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput as unknown as KernelFunc,
};
