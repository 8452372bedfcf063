/**
 * Two small WebAssembly SIMD kernels, generated here and run on the wasm backend's own memory.
 *
 * `rowOuterProduct`: sums of outer products over pixels,
 *
 *   out[i, j] += sum over c < cols of a[c*aPix + 4i] * b[c*bPix + 4j]      (float32)
 *
 * where `a` and `b` walk along one row of pixels of two NHWC tensors (byte strides aPix and
 * bPix), i < na channels of `a` and j < nb channels of `b`. This is the filter gradient's inner
 * loop: for one filter tap and one output row, a = the input pixels that tap reads, b = dy.
 *
 * Why not XNNPACK: its matrix product needs one operand transposed (pixels contiguous) and
 * packs the other, both pixel-sized, which costs more than the arithmetic for 1x1 and 2x2
 * filters. This kernel reads both tensors where they lie. Register tiles of 4 rows of `a` by
 * 8 columns of `b` (8 accumulators, 64 flops per pixel from 2 vector loads and 4 splats) run
 * faster than the wasm forward convolution (`npm run bench:kernels`). Larger tiles (12
 * accumulators) spill registers; 2x16 and 3x8 were no better.
 *
 * `copyPixels`: a strided copy of pixel vectors, for interleaving the sub-pixel outputs of
 * the input gradient (4x faster than one `copyWithin` per pixel), and for splitting tensors
 * along channels (`channels.ts`).
 *
 * `addRows`: column sums of a row-major matrix, added into a vector in memory: the sums of
 * NHWC tensors over N, H and W (`reductions.ts`).
 *
 * `channelAffine` and `maxPoolGrad2x2`: batch normalisation's per-channel affine map and the
 * 2x2 max pool's input gradient (`norm_pool.ts`), at memory speed.
 *
 * Requirements: channel counts in multiples of 4 where said; SIMD support; the backend's
 * memory reachable and not shared (`wasmMemory` of `kernels/tfjs_internals.ts`). Otherwise
 * `simdKernels` returns undefined and callers use another path. No Node-only API: runs in browsers too.
 */
import type { WasmBackend } from './kernel_calls.js';
import { boundModules } from './bound_modules.js';
import { I32, ins, moduleOf, uleb, V128, vector } from './wasm_writer.js';

/**
 * out[i, j] += sum over c < cols of a[c*aPix + 4i] * b[c*bPix + 4j] for i < na, j < nb (nb a
 * multiple of 4; cols >= 1); every address and stride is in bytes.
 */
export type RowOuterProduct = (
  a: number,
  b: number,
  out: number,
  cols: number,
  aPix: number,
  bPix: number,
  na: number,
  nb: number,
) => void;

/**
 * Copies `count` >= 1 pixels of `bytes` bytes (a multiple of 16) from src + k*srcStride to
 * dst + k*dstStride (non-overlapping).
 */
export type CopyPixels = (
  src: number,
  dst: number,
  count: number,
  bytes: number,
  srcStride: number,
  dstStride: number,
) => void;

/**
 * acc[v] += sum over r < rows of src[r*rowBytes + 16v] for v < vecs (four floats each, rows
 * >= 1, vecs >= 1): the column sums of a [rows, 4*vecs] float32 matrix, added into `acc`.
 */
export type AddRows = (
  src: number,
  rows: number,
  vecs: number,
  rowBytes: number,
  acc: number,
) => void;

/**
 * dst[p][v] = (src[p][v] - mean[v]) * scale[v] + offset[v] for p < pixels, v < vecs (four
 * floats each; pixels, vecs >= 1; each pixel is 16*vecs bytes).
 */
export type ChannelAffine = (
  src: number,
  dst: number,
  pixels: number,
  vecs: number,
  mean: number,
  scale: number,
  offset: number,
) => void;

/**
 * The input gradient of a 2x2 stride-2 max pool, for `rows` output rows of `cols` pixels of
 * `vecs` vectors: dx gets dy at the first position of each window (row-major) that holds the
 * window's maximum, zeros elsewhere. x and dx rows are 2*cols pixels, dy rows cols pixels.
 */
export type MaxPoolGrad2x2 = (
  x: number,
  dy: number,
  dx: number,
  rows: number,
  cols: number,
  vecs: number,
) => void;

export interface SimdKernels {
  rowOuterProduct: RowOuterProduct;
  copyPixels: CopyPixels;
  addRows: AddRows;
  channelAffine: ChannelAffine;
  maxPoolGrad2x2: MaxPoolGrad2x2;
}

// Parameters of the exported function, then its locals.
const A = 0;
const B = 1;
const OUT = 2;
const COLS = 3;
const A_PIX = 4;
const B_PIX = 5;
const NA = 6;
const NB = 7;
const I = 8; // first `a` channel of the current tile
const J = 9; // first `b` channel of the current tile
const AP = 10; // walking pointers within the tile
const BP = 11;
const OP = 12; // out address of the tile
const C = 13; // pixels left
const I32_LOCALS = 6;
const ACC = 14; // 8 accumulators, then two `b` vectors and one splat
const BV = ACC + 8;
const S = BV + 2;
const V128_LOCALS = 11;

/** One tile of `rows` channels of `a` (1-4) by `vecs` vectors of `b` (1-2) over the row. */
function tile(rows: number, vecs: number): number[] {
  const code: number[] = [];
  // OP = OUT + (I*NB + J)*4; AP = A + I*4; BP = B + J*4; C = COLS.
  code.push(...ins.get(OUT), ...ins.get(I), ...ins.get(NB), ...ins.mul, ...ins.get(J));
  code.push(...ins.add, ...ins.i32(4), ...ins.mul, ...ins.add, ...ins.set(OP));
  code.push(...ins.get(A), ...ins.get(I), ...ins.i32(4), ...ins.mul, ...ins.add, ...ins.set(AP));
  code.push(...ins.get(B), ...ins.get(J), ...ins.i32(4), ...ins.mul, ...ins.add, ...ins.set(BP));
  code.push(...ins.get(COLS), ...ins.set(C));
  const outRow = (r: number) => [
    ...ins.get(OP),
    ...ins.get(NB),
    ...ins.i32(4 * r),
    ...ins.mul,
    ...ins.add,
  ];
  for (let r = 0; r < rows; r++) {
    for (let v = 0; v < vecs; v++) {
      code.push(...outRow(r), ...ins.vload(16 * v), ...ins.set(ACC + 2 * r + v));
    }
  }
  code.push(...ins.loop);
  for (let v = 0; v < vecs; v++)
    code.push(...ins.get(BP), ...ins.vload(16 * v), ...ins.set(BV + v));
  for (let r = 0; r < rows; r++) {
    code.push(...ins.get(AP), ...ins.splat(4 * r), ...ins.set(S));
    for (let v = 0; v < vecs; v++) {
      const acc = ACC + 2 * r + v;
      code.push(...ins.get(acc), ...ins.get(S), ...ins.get(BV + v), ...ins.fmul, ...ins.fadd);
      code.push(...ins.set(acc));
    }
  }
  code.push(...ins.get(AP), ...ins.get(A_PIX), ...ins.add, ...ins.set(AP));
  code.push(...ins.get(BP), ...ins.get(B_PIX), ...ins.add, ...ins.set(BP));
  code.push(...ins.get(C), ...ins.i32(1), ...ins.sub, ...ins.tee(C), ...ins.brIf(0), ...ins.end);
  for (let r = 0; r < rows; r++) {
    for (let v = 0; v < vecs; v++) {
      code.push(...outRow(r), ...ins.get(ACC + 2 * r + v), ...ins.vstore(16 * v));
    }
  }
  return code;
}

/** All `b` tiles for `rows` channels of `a` starting at I: vectors of 8, then one of 4. */
function tileRow(rows: number): number[] {
  const code: number[] = [...ins.i32(0), ...ins.set(J)];
  code.push(...ins.block, ...ins.loop);
  // while (NB - J >= 8)
  code.push(...ins.get(NB), ...ins.get(J), ...ins.sub, ...ins.i32(8), ...ins.ltS, ...ins.brIf(1));
  code.push(...tile(rows, 2));
  code.push(...ins.get(J), ...ins.i32(8), ...ins.add, ...ins.set(J), ...ins.br(0));
  code.push(...ins.end, ...ins.end);
  // if (NB - J >= 4): NB is a multiple of 4, so at most one vector is left.
  code.push(...ins.get(NB), ...ins.get(J), ...ins.sub, ...ins.i32(4), ...ins.geS, ...ins.if);
  code.push(...tile(rows, 1), ...ins.end);
  return code;
}

function outerProductBody(): number[] {
  const body: number[] = [...ins.i32(0), ...ins.set(I)];
  // while (NA - I >= 4): tiles of four `a` channels.
  body.push(...ins.block, ...ins.loop);
  body.push(...ins.get(NA), ...ins.get(I), ...ins.sub, ...ins.i32(4), ...ins.ltS, ...ins.brIf(1));
  body.push(...tileRow(4));
  body.push(...ins.get(I), ...ins.i32(4), ...ins.add, ...ins.set(I), ...ins.br(0));
  body.push(...ins.end, ...ins.end);
  // The last 1-3 channels of `a`.
  for (const rows of [1, 2, 3]) {
    body.push(...ins.get(NA), ...ins.get(I), ...ins.sub, ...ins.i32(rows), ...ins.eq, ...ins.if);
    body.push(...tileRow(rows), ...ins.end);
  }
  body.push(...ins.end);
  return [
    ...vector([
      [...uleb(I32_LOCALS), I32],
      [...uleb(V128_LOCALS), V128],
    ]),
    ...body,
  ];
}

function copyPixelsBody(): number[] {
  // Parameters src, dst, count, bytes, srcStride, dstStride; locals s, d, k.
  const [SRC, DST, COUNT, BYTES, SRC_STRIDE, DST_STRIDE, SP, DP, K] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const body: number[] = [...ins.loop];
  body.push(...ins.get(SRC), ...ins.set(SP), ...ins.get(DST), ...ins.set(DP));
  body.push(...ins.get(BYTES), ...ins.set(K), ...ins.loop);
  body.push(...ins.get(DP), ...ins.get(SP), ...ins.vload(0), ...ins.vstore(0));
  body.push(...ins.get(SP), ...ins.i32(16), ...ins.add, ...ins.set(SP));
  body.push(...ins.get(DP), ...ins.i32(16), ...ins.add, ...ins.set(DP));
  body.push(...ins.get(K), ...ins.i32(16), ...ins.sub, ...ins.tee(K), ...ins.brIf(0), ...ins.end);
  body.push(...ins.get(SRC), ...ins.get(SRC_STRIDE), ...ins.add, ...ins.set(SRC));
  body.push(...ins.get(DST), ...ins.get(DST_STRIDE), ...ins.add, ...ins.set(DST));
  body.push(...ins.get(COUNT), ...ins.i32(1), ...ins.sub, ...ins.tee(COUNT), ...ins.brIf(0));
  body.push(...ins.end, ...ins.end);
  return [...vector([[...uleb(3), I32]]), ...body];
}

function addRowsBody(): number[] {
  // Parameters src, rows, vecs, rowBytes, acc; locals s, a, v.
  const [SRC, ROWS, VECS, ROW_BYTES, ACC, SP, AP, V] = [0, 1, 2, 3, 4, 5, 6, 7];
  const body: number[] = [...ins.loop];
  body.push(...ins.get(SRC), ...ins.set(SP), ...ins.get(ACC), ...ins.set(AP));
  body.push(...ins.get(VECS), ...ins.set(V), ...ins.loop);
  body.push(...ins.get(AP), ...ins.get(AP), ...ins.vload(0), ...ins.get(SP), ...ins.vload(0));
  body.push(...ins.fadd, ...ins.vstore(0));
  body.push(...ins.get(SP), ...ins.i32(16), ...ins.add, ...ins.set(SP));
  body.push(...ins.get(AP), ...ins.i32(16), ...ins.add, ...ins.set(AP));
  body.push(...ins.get(V), ...ins.i32(1), ...ins.sub, ...ins.tee(V), ...ins.brIf(0), ...ins.end);
  body.push(...ins.get(SRC), ...ins.get(ROW_BYTES), ...ins.add, ...ins.set(SRC));
  body.push(...ins.get(ROWS), ...ins.i32(1), ...ins.sub, ...ins.tee(ROWS), ...ins.brIf(0));
  body.push(...ins.end, ...ins.end);
  return [...vector([[...uleb(3), I32]]), ...body];
}

function channelAffineBody(): number[] {
  const [SRC, DST, PIXELS, VECS, MEAN, SCALE, OFFSET, V, K] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const { get, set, tee, i32, add, sub, vload, vstore, loop, end, brIf } = ins;
  const code: number[] = [...loop]; // pixels
  code.push(...i32(0), ...set(K), ...get(VECS), ...set(V), ...loop); // channel vectors
  code.push(...get(DST), ...get(K), ...add);
  code.push(...get(SRC), ...get(K), ...add, ...vload(0), ...get(MEAN), ...get(K), ...add);
  code.push(...vload(0), ...ins.fsub, ...get(SCALE), ...get(K), ...add, ...vload(0), ...ins.fmul);
  code.push(...get(OFFSET), ...get(K), ...add, ...vload(0), ...ins.fadd, ...vstore(0));
  code.push(...get(K), ...i32(16), ...add, ...set(K));
  code.push(...get(V), ...i32(1), ...sub, ...tee(V), ...brIf(0), ...end);
  code.push(...get(SRC), ...get(K), ...add, ...set(SRC), ...get(DST), ...get(K), ...add);
  code.push(...set(DST), ...get(PIXELS), ...i32(1), ...sub, ...tee(PIXELS), ...brIf(0), ...end);
  code.push(...end);
  return [...vector([[...uleb(2), I32]]), ...code];
}

function maxPoolGradBody(): number[] {
  const [X, DY, DX, ROWS, COLS, VECS] = [0, 1, 2, 3, 4, 5];
  const [PIX, XROW, C, V, XP, DP, GP] = [6, 7, 8, 9, 10, 11, 12];
  const [A, B, CC, D, M, G, SEEN] = [13, 14, 15, 16, 17, 18, 19];
  const { get, set, tee, i32, add, sub, mul, vload, vstore, loop, end, brIf } = ins;
  const code: number[] = [];
  code.push(...get(VECS), ...i32(16), ...mul, ...set(PIX)); // bytes per pixel
  code.push(...get(PIX), ...get(COLS), ...mul, ...i32(2), ...mul, ...set(XROW)); // x row bytes
  code.push(...loop); // output rows
  code.push(...get(X), ...set(XP), ...get(DX), ...set(DP), ...get(DY), ...set(GP));
  code.push(...get(COLS), ...set(C), ...loop); // output columns
  code.push(...get(VECS), ...set(V), ...loop); // channel vectors
  const at = (base: number, right: boolean, down: boolean) => [
    ...get(base),
    ...(right ? [...get(PIX), ...add] : []),
    ...(down ? [...get(XROW), ...add] : []),
  ];
  const corners: [number, boolean, boolean][] = [
    [A, false, false],
    [B, true, false],
    [CC, false, true],
    [D, true, true],
  ];
  for (const [local, right, down] of corners)
    code.push(...at(XP, right, down), ...vload(0), ...set(local));
  code.push(...get(A), ...get(B), ...ins.fmax, ...get(CC), ...get(D), ...ins.fmax, ...ins.fmax);
  code.push(...set(M), ...get(GP), ...vload(0), ...set(G));
  // The first corner equal to the maximum takes the gradient: mask = (corner == m) & ~seen.
  code.push(...ins.vzero, ...set(SEEN));
  for (const [local, right, down] of corners) {
    code.push(...at(DP, right, down));
    if (local === D) {
      code.push(...get(G), ...get(SEEN), ...ins.vandnot);
    } else {
      code.push(...get(local), ...get(M), ...ins.feq, ...get(SEEN), ...ins.vandnot, ...tee(M + 0));
      // M is no longer needed as the maximum once this mask is taken: keep it in SEEN.
      code.push(...get(G), ...ins.vand);
    }
    code.push(...vstore(0));
    if (local !== D) {
      code.push(...get(SEEN), ...get(M), ...ins.vor, ...set(SEEN));
      code.push(...get(A), ...get(B), ...ins.fmax, ...get(CC), ...get(D), ...ins.fmax, ...ins.fmax);
      code.push(...set(M));
    }
  }
  code.push(...get(XP), ...i32(16), ...add, ...set(XP), ...get(DP), ...i32(16), ...add, ...set(DP));
  code.push(...get(GP), ...i32(16), ...add, ...set(GP));
  code.push(...get(V), ...i32(1), ...sub, ...tee(V), ...brIf(0), ...end);
  // Next window: x and dx move one more pixel (two per window), dy has moved one.
  code.push(
    ...get(XP),
    ...get(PIX),
    ...add,
    ...set(XP),
    ...get(DP),
    ...get(PIX),
    ...add,
    ...set(DP),
  );
  code.push(...get(C), ...i32(1), ...sub, ...tee(C), ...brIf(0), ...end);
  code.push(...get(X), ...get(XROW), ...i32(2), ...mul, ...add, ...set(X));
  code.push(...get(DX), ...get(XROW), ...i32(2), ...mul, ...add, ...set(DX));
  code.push(...get(DY), ...get(PIX), ...get(COLS), ...mul, ...add, ...set(DY));
  code.push(...get(ROWS), ...i32(1), ...sub, ...tee(ROWS), ...brIf(0), ...end);
  code.push(...end);
  return [
    ...vector([
      [...uleb(7), I32],
      [...uleb(7), V128],
    ]),
    ...code,
  ];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  return moduleOf([
    { name: 'rowOuterProduct', params: 8, body: outerProductBody() },
    { name: 'copyPixels', params: 6, body: copyPixelsBody() },
    { name: 'addRows', params: 5, body: addRowsBody() },
    { name: 'channelAffine', params: 7, body: channelAffineBody() },
    { name: 'maxPoolGrad2x2', params: 6, body: maxPoolGradBody() },
  ]);
}

const modules = boundModules<'simd', SimdKernels>({
  bytes: moduleBytes,
  feature: () => 'simd',
  what: () => 'of the SIMD kernels',
  bind: (exports) => ({
    rowOuterProduct: exports.rowOuterProduct as RowOuterProduct,
    copyPixels: exports.copyPixels as CopyPixels,
    addRows: exports.addRows as AddRows,
    channelAffine: exports.channelAffine as ChannelAffine,
    maxPoolGrad2x2: exports.maxPoolGrad2x2 as MaxPoolGrad2x2,
  }),
});

/** Compiles the module asynchronously ahead of its first use (see `compileGeneratedAsync`). */
export async function prepareSimdKernels(): Promise<void> {
  await modules.prepare(['simd']);
}

/**
 * The kernels bound to `backend`'s memory, or undefined where they cannot run (no SIMD, shared
 * or unreachable memory).
 */
export function simdKernels(backend: WasmBackend): SimdKernels | undefined {
  return modules.get(backend, 'simd');
}
