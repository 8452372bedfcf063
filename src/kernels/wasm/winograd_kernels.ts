/**
 * The WebAssembly SIMD kernels of Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray,
 * "Fast Algorithms for Convolutional Neural Networks", 2016), generated here and run on the
 * wasm backend's own memory; `winograd.ts` drives them. With a 4x4 input tile d, a 3x3 filter
 * g and a 2x2 output tile Y,
 *
 *   Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A,   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
 *   G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],   A^T = [1 1 1 0; 0 1 -1 -1],
 *
 * so the 16 products of a tile replace the direct convolution's 36, and summing over input
 * channels turns them into 16 matrix products (one per element e of the 4x4 transformed tile).
 * Every kernel works on 4 channels at once (one v128) and takes byte addresses and strides.
 *
 * - `inputTransform`: V[e][t] = (B^T d B)[e] for `tiles` tiles along one row of a padded NHWC
 *   image (tile t reads 4x4 pixels from src + 2t pixels), `cbs` channel vectors each.
 * - `outputTransform`: Y = A^T M A (+ bias, then ReLU when `relu` != 0) from M[e][t], written
 *   as 2x2 pixels of an NHWC output.
 * - `gradientTransform`: Z = A dY A^T, the filter gradient's transform of a 2x2 tile of the
 *   output gradient (dL/dU = Z ⊙ V, summed over tiles).
 * - `filterTransform`: U = G g G^T, and `gradientToFilter`: dW = G^T dL/dU G, four output
 *   channels at a time.
 * - `gemm`: out[t][o] = sum over c of a[c / 4][t][c % 4] * b[o / 8][c][o % 8], the 16 products
 *   of the forward pass; register tiles of 4 tiles by 8 output channels (8 accumulators, 16
 *   splats from one 64-byte line of a per 4 channels), as the filter gradient's
 *   `rowOuterProduct` (simd_kernels.ts). (With a as [t][c], four row pointers, it ran at half
 *   the speed.)
 *
 * Relaxed SIMD: where the engine validates `f32x4.relaxed_madd`, `gemm` multiplies and adds in
 * one instruction (fused on hardware with FMA); else plain SIMD. Node.js 22 and later (V8 12)
 * and Chrome 114 and later have it on by default; Node.js 20 only with
 * `--experimental-wasm-relaxed-simd`. No Node-only API: runs in browsers too.
 */
import type { WasmBackend } from './kernel_calls.js';
import { backendMemory, body, compile, compileAsync, ins, moduleOf } from './wasm_writer.js';
import * as f43 from './winograd_f43.js';

/** Byte addresses and strides; see the file comment. `tiles` >= 1, `cbs` >= 1. */
export type InputTransform = (
  src: number,
  rowBytes: number,
  pixBytes: number,
  tiles: number,
  cbs: number,
  dst: number,
  eStride: number,
  tileStride: number,
  cbStride: number,
) => void;

/** As InputTransform without cbStride (channel vectors are contiguous). */
export type GradientTransform = (
  src: number,
  rowBytes: number,
  pixBytes: number,
  tiles: number,
  cvs: number,
  dst: number,
  eStride: number,
  tileStride: number,
) => void;

export type OutputTransform = (
  m: number,
  eStride: number,
  tileStride: number,
  tiles: number,
  cvs: number,
  dst: number,
  rowBytes: number,
  pixBytes: number,
  bias: number,
  relu: number,
) => void;

/**
 * `tiles` a multiple of 4; `jbs` blocks of 8 output channels; `cbs` vectors of 4 inputs; aCb
 * the byte stride of a's channel vectors (16 x its tiles).
 */
export type Gemm = (
  a: number,
  b: number,
  out: number,
  cbs: number,
  tiles: number,
  jbs: number,
  aCb: number,
  outRow: number,
) => void;

/**
 * U[e] = (G g G^T)[e] for `ci` input channels and `cvs` vectors of 4 output channels: g[k] of
 * input channel i, vector q at g + i*rowBytes + 16q + k*tapBytes; U[e] at u + i*32 + (q >> 1) *
 * jbStride + (q & 1)*16 + e*eStride (the product's packed [e][o / 8][i][o % 8]).
 */
export type FilterTransform = (
  g: number,
  tapBytes: number,
  rowBytes: number,
  ci: number,
  cvs: number,
  u: number,
  eStride: number,
  jbStride: number,
) => void;

/**
 * dW[k] = (G^T dU G)[k] for `ci` input channels and `cvs` vectors of 4 output channels: dU[e]
 * at du + i*duRow + 16q + e*eStride, dW[k] at dw + i*dwRow + 16q + k*tapBytes.
 */
export type GradientToFilter = (
  du: number,
  eStride: number,
  duRow: number,
  ci: number,
  cvs: number,
  dw: number,
  tapBytes: number,
  dwRow: number,
) => void;

export interface WinogradKernels {
  inputTransform: InputTransform;
  /** The same, channel vectors outer and tiles inner (for the forward pass's layout). */
  inputTransformByChannel: InputTransform;
  outputTransform: OutputTransform;
  gradientTransform: GradientTransform;
  gemm: Gemm;
  filterTransform: FilterTransform;
  gradientToFilter: GradientToFilter;
  /** Whether `gemm` uses relaxed SIMD's fused multiply-add. */
  relaxed: boolean;
}

const { get, set, tee, i32, add, sub, mul, loop, end, brIf, vload, vstore, splat } = ins;

/** `local += value` (i32). */
const inc = (local: number, value: number[]) => [...get(local), ...value, ...add, ...set(local)];
/** `local -= 1; br_if local != 0` to the enclosing loop. */
const countDown = (local: number) => [...get(local), ...i32(1), ...sub, ...tee(local), ...brIf(0)];

/**
 * `tilesInner`: channel vectors outer, tiles inner (each store stream then runs sequentially
 * through the channel-blocked layout of the forward pass); else tiles outer.
 */
function inputTransformBody(tilesInner: boolean): number[] {
  const [SRC, ROW, PIX, TILES, CBS, DST, ESTRIDE, TSTRIDE, CBSTRIDE] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [Q, W, W0, CB, R2, R3, P2, P3, TL] = [9, 10, 11, 12, 13, 14, 15, 16, 17];
  const T = 18; // four v128 locals t0..t3
  const rowOff = [[], [...get(ROW), ...add], [...get(R2), ...add], [...get(R3), ...add]];
  const colOff = [[], [...get(PIX), ...add], [...get(P2), ...add], [...get(P3), ...add]];
  const load = (r: number, c: number) => [...get(Q), ...rowOff[r], ...colOff[c], ...vload(0)];
  const store = (value: number[]) => [...get(W), ...value, ...vstore(0), ...inc(W, get(ESTRIDE))];
  // B^T d: row i of the result is d[x] op d[y].
  const rows: [number, number, number[]][] = [
    [0, 2, ins.fsub],
    [1, 2, ins.fadd],
    [2, 1, ins.fsub],
    [1, 3, ins.fsub],
  ];
  const code: number[] = [];
  code.push(...get(ROW), ...i32(2), ...mul, ...set(R2), ...get(ROW), ...i32(3), ...mul, ...set(R3));
  code.push(...get(PIX), ...i32(2), ...mul, ...set(P2), ...get(PIX), ...i32(3), ...mul, ...set(P3));
  if (tilesInner) {
    // TILES counts down per channel vector: keep the count in R (CB counts channel vectors).
    code.push(...get(CBS), ...set(CB), ...loop); // channel vectors
    code.push(...get(SRC), ...set(Q), ...get(DST), ...set(W0), ...get(TILES), ...set(TL));
    code.push(...loop); // tiles
  } else {
    code.push(...loop); // tiles
    code.push(...get(SRC), ...set(Q), ...get(DST), ...set(W0), ...get(CBS), ...set(CB));
    code.push(...loop); // channel vectors
  }
  code.push(...get(W0), ...set(W));
  for (const [x, y, op] of rows) {
    for (let c = 0; c < 4; c++) code.push(...load(x, c), ...load(y, c), ...op, ...set(T + c));
    // (t B)[j] for j = 0..3, the same pattern along columns.
    for (const [u, v, op2] of rows) code.push(...store([...get(T + u), ...get(T + v), ...op2]));
  }
  if (tilesInner) {
    code.push(...inc(Q, get(P2)), ...inc(W0, get(TSTRIDE)), ...countDown(TL), ...end);
    code.push(...inc(SRC, i32(16)), ...inc(DST, get(CBSTRIDE)), ...countDown(CB), ...end);
  } else {
    code.push(...inc(Q, i32(16)), ...inc(W0, get(CBSTRIDE)), ...countDown(CB), ...end);
    code.push(...inc(SRC, get(P2)), ...inc(DST, get(TSTRIDE)), ...countDown(TILES), ...end);
  }
  return body(9, 4, code);
}

function outputTransformBody(): number[] {
  const [M, ESTRIDE, TSTRIDE, TILES, CVS, DST, ROW, PIX, BIAS, RELU] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
  ];
  const [M0, D, B, CV, PJ, E4, E8, E12, RP] = [10, 11, 12, 13, 14, 15, 16, 17, 18];
  const S0 = 19; // s0[0..3], s1[0..3], y[0..3], bias
  const S1 = S0 + 4;
  const Y = S1 + 4;
  const BV = Y + 4;
  const code: number[] = [];
  code.push(...get(ESTRIDE), ...i32(4), ...mul, ...set(E4));
  code.push(...get(ESTRIDE), ...i32(8), ...mul, ...set(E8));
  code.push(...get(ESTRIDE), ...i32(12), ...mul, ...set(E12));
  code.push(...get(ROW), ...get(PIX), ...add, ...set(RP));
  code.push(...loop); // tiles
  code.push(...get(M), ...set(M0), ...get(DST), ...set(D), ...get(BIAS), ...set(B));
  code.push(...get(CVS), ...set(CV), ...loop); // channel vectors
  code.push(...get(M0), ...set(PJ));
  const m = (off: number[]) => [...get(PJ), ...off, ...vload(0)];
  const e4 = [...get(E4), ...add];
  const e8 = [...get(E8), ...add];
  const e12 = [...get(E12), ...add];
  for (let j = 0; j < 4; j++) {
    // Column j of A^T M: s0 = m0 + m1 + m2, s1 = m1 - m2 - m3 (m_i = M[4i + j]).
    code.push(...m([]), ...m(e4), ...ins.fadd, ...m(e8), ...ins.fadd, ...set(S0 + j));
    code.push(...m(e4), ...m(e8), ...ins.fsub, ...m(e12), ...ins.fsub, ...set(S1 + j));
    code.push(...inc(PJ, get(ESTRIDE)));
  }
  code.push(...get(B), ...vload(0), ...set(BV));
  for (const [k, s] of [
    [0, S0],
    [2, S1],
  ]) {
    code.push(...get(s), ...get(s + 1), ...ins.fadd, ...get(s + 2), ...ins.fadd);
    code.push(...get(BV), ...ins.fadd, ...set(Y + k));
    code.push(...get(s + 1), ...get(s + 2), ...ins.fsub, ...get(s + 3), ...ins.fsub);
    code.push(...get(BV), ...ins.fadd, ...set(Y + k + 1));
  }
  code.push(...get(RELU), ...ins.if);
  for (let k = 0; k < 4; k++) code.push(...get(Y + k), ...ins.vzero, ...ins.fpmax, ...set(Y + k));
  code.push(...end);
  const offsets = [[], [...get(PIX), ...add], [...get(ROW), ...add], [...get(RP), ...add]];
  for (let k = 0; k < 4; k++) code.push(...get(D), ...offsets[k], ...get(Y + k), ...vstore(0));
  code.push(...inc(M0, i32(16)), ...inc(D, i32(16)), ...inc(B, i32(16)));
  code.push(...countDown(CV), ...end);
  code.push(...inc(M, get(TSTRIDE)), ...inc(DST, get(PIX)), ...inc(DST, get(PIX)));
  code.push(...countDown(TILES), ...end);
  return body(9, 13, code);
}

function gradientTransformBody(): number[] {
  const [SRC, ROW, PIX, TILES, CVS, DST, ESTRIDE, TSTRIDE] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [Q, W, W0, CV] = [8, 9, 10, 11];
  const YV = 12; // y00, y01, y10, y11, then w[i][0], w[i][1]
  const W2 = YV + 4;
  const store = (value: number[]) => [...get(W), ...value, ...vstore(0), ...inc(W, get(ESTRIDE))];
  const code: number[] = [];
  code.push(...loop); // tiles
  code.push(...get(SRC), ...set(Q), ...get(DST), ...set(W0), ...get(CVS), ...set(CV), ...loop);
  code.push(...get(W0), ...set(W));
  const offsets = [[], [...get(PIX), ...add], [...get(ROW), ...add], [...get(ROW), ...add]];
  for (let k = 0; k < 4; k++) {
    const extra = k === 3 ? [...get(PIX), ...add] : [];
    code.push(...get(Q), ...offsets[k], ...extra, ...vload(0), ...set(YV + k));
  }
  // Rows of A dY: w0 = y0, w1 = y0 + y1, w2 = y0 - y1, w3 = -y1 (y_r = [y_r0, y_r1]).
  const rowOf = (i: number, c: number): number[] => {
    const y0 = get(YV + c);
    const y1 = get(YV + 2 + c);
    if (i === 0) return y0;
    if (i === 1) return [...y0, ...y1, ...ins.fadd];
    if (i === 2) return [...y0, ...y1, ...ins.fsub];
    return [...y1, ...ins.fneg];
  };
  for (let i = 0; i < 4; i++) {
    code.push(...rowOf(i, 0), ...set(W2), ...rowOf(i, 1), ...set(W2 + 1));
    const w0 = get(W2);
    const w1 = get(W2 + 1);
    code.push(...store(w0));
    code.push(...store([...w0, ...w1, ...ins.fadd]));
    code.push(...store([...w0, ...w1, ...ins.fsub]));
    code.push(...store([...w1, ...ins.fneg]));
  }
  code.push(...inc(Q, i32(16)), ...inc(W0, i32(16)), ...countDown(CV), ...end);
  code.push(...inc(SRC, get(PIX)), ...inc(SRC, get(PIX)), ...inc(DST, get(TSTRIDE)));
  code.push(...countDown(TILES), ...end);
  return body(4, 6, code);
}

function gemmBody(fma: boolean): number[] {
  // a is [cbs][tiles][4]: the 4x4 block of tiles i..i+3, channels 4cb..4cb+3 is 64 bytes.
  const [A, B, OUT, CBS, TILES, JBS, ACB, OUTROW] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [AP, BP, OP, BJ, JB, CB, BJSTRIDE, K] = [8, 9, 10, 11, 12, 13, 14, 15];
  const ACC = 16; // 8 accumulators, two b vectors, one splat
  const BV = ACC + 8;
  const S = BV + 2;
  const code: number[] = [];
  code.push(...get(CBS), ...i32(128), ...mul, ...set(BJSTRIDE));
  code.push(...loop); // groups of 4 tiles
  code.push(...get(OUT), ...set(OP), ...get(B), ...set(BJ), ...get(JBS), ...set(JB));
  code.push(...loop); // blocks of 8 output channels
  for (let k = 0; k < 8; k++) code.push(...ins.vzero, ...set(ACC + k));
  code.push(...get(A), ...set(AP), ...get(BJ), ...set(BP), ...get(CBS), ...set(CB));
  code.push(...loop); // input channels, 4 at a time
  code.push(...i32(4), ...set(K), ...loop); // each of the 4 (unrolled, it ran slower)
  code.push(...get(BP), ...vload(0), ...set(BV));
  code.push(...get(BP), ...vload(16), ...set(BV + 1));
  for (let r = 0; r < 4; r++) {
    code.push(...get(AP), ...splat(16 * r), ...set(S));
    for (let v = 0; v < 2; v++) {
      const acc = ACC + 2 * r + v;
      if (fma) code.push(...get(S), ...get(BV + v), ...get(acc), ...ins.fmadd);
      else code.push(...get(acc), ...get(S), ...get(BV + v), ...ins.fmul, ...ins.fadd);
      code.push(...set(acc));
    }
  }
  code.push(...inc(AP, i32(4)), ...inc(BP, i32(32)), ...countDown(K), ...end);
  code.push(...inc(AP, get(ACB)), ...inc(AP, i32(-16)), ...countDown(CB), ...end);
  for (let r = 0; r < 4; r++) {
    for (let v = 0; v < 2; v++) {
      code.push(...get(OP), ...get(OUTROW), ...i32(r), ...mul, ...add);
      code.push(...get(ACC + 2 * r + v), ...vstore(16 * v));
    }
  }
  code.push(...inc(OP, i32(32)), ...inc(BJ, get(BJSTRIDE)), ...countDown(JB), ...end);
  code.push(...inc(A, i32(64)));
  code.push(...get(OUT), ...get(OUTROW), ...i32(4), ...mul, ...add, ...set(OUT));
  code.push(...get(TILES), ...i32(4), ...sub, ...tee(TILES), ...brIf(0), ...end);
  return body(8, 11, code);
}

function filterTransformBody(): number[] {
  // U = G g G^T for 4 output channels at a time: g[k] at src + k*tapBytes (tapBytes may be
  // negative: the input gradient reads taps in reverse), U[e] at dst + e*eStride.
  const [G, TAP, ROW, CI, CVS, U, ESTRIDE, JBSTRIDE] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [S, P, W, Q, I] = [8, 9, 10, 11, 12];
  const GV = 13; // g0..g8, then c0..c2, then one half
  const C = GV + 9;
  const HALF = C + 3;
  const code: number[] = [...ins.fconst(0.5), ...set(HALF)];
  code.push(...get(CI), ...set(I), ...loop); // input channels
  code.push(...get(G), ...set(S), ...i32(0), ...set(Q), ...loop); // vectors of output channels
  code.push(...get(S), ...set(P));
  for (let k = 0; k < 9; k++) {
    code.push(...get(P), ...vload(0), ...set(GV + k));
    if (k < 8) code.push(...inc(P, get(TAP)));
  }
  // W = U + (q >> 1) * jbStride + (q & 1) * 16.
  code.push(...get(U), ...get(Q), ...i32(1), ...ins.shrU, ...get(JBSTRIDE), ...mul, ...add);
  code.push(...get(Q), ...i32(1), ...ins.and, ...i32(16), ...mul, ...add, ...set(W));
  const half = (x: number[]) => [...x, ...get(HALF), ...ins.fmul];
  for (let r = 0; r < 4; r++) {
    for (let j = 0; j < 3; j++) {
      let row: number[];
      if (r === 0) row = get(GV + j);
      else if (r === 3) row = get(GV + 6 + j);
      else {
        const mid = r === 1 ? ins.fadd : ins.fsub;
        row = half([...get(GV + j), ...get(GV + 3 + j), ...mid, ...get(GV + 6 + j), ...ins.fadd]);
      }
      code.push(...row, ...set(C + j));
    }
    const [c0, c1, c2] = [get(C), get(C + 1), get(C + 2)];
    const outs = [
      c0,
      half([...c0, ...c1, ...ins.fadd, ...c2, ...ins.fadd]),
      half([...c0, ...c1, ...ins.fsub, ...c2, ...ins.fadd]),
      c2,
    ];
    for (const value of outs) code.push(...get(W), ...value, ...vstore(0), ...inc(W, get(ESTRIDE)));
  }
  code.push(...inc(S, i32(16)), ...inc(Q, i32(1)));
  code.push(...get(Q), ...get(CVS), ...ins.ltS, ...brIf(0), ...end);
  code.push(...inc(G, get(ROW)), ...inc(U, i32(32)), ...countDown(I), ...end);
  return body(5, 13, code);
}

function gradientToFilterBody(): number[] {
  // dW = G^T dU G for 4 output channels at a time: dU[e] at src + e*eStride, dW[k] at
  // dst + k*tapBytes.
  const [DU, ESTRIDE, DUROW, CI, CVS, DW, TAP, DWROW] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [S, D, PS, W, CV, E4, E8, E12] = [8, 9, 10, 11, 12, 13, 14, 15];
  const QV = 16; // q[a][s] (12), then d0..d3, then one half
  const DV = QV + 12;
  const HALF = DV + 4;
  const code: number[] = [...ins.fconst(0.5), ...set(HALF)];
  code.push(...get(ESTRIDE), ...i32(4), ...mul, ...set(E4));
  code.push(...get(ESTRIDE), ...i32(8), ...mul, ...set(E8));
  code.push(...get(ESTRIDE), ...i32(12), ...mul, ...set(E12));
  code.push(...loop); // input channels
  code.push(...get(DU), ...set(S), ...get(DW), ...set(D), ...get(CVS), ...set(CV), ...loop);
  code.push(...get(S), ...set(PS));
  const half = (x: number[]) => [...x, ...get(HALF), ...ins.fmul];
  const offsets = [[], [...get(E4), ...add], [...get(E8), ...add], [...get(E12), ...add]];
  for (let s = 0; s < 4; s++) {
    for (let r = 0; r < 4; r++) code.push(...get(PS), ...offsets[r], ...vload(0), ...set(DV + r));
    const [d0, d1, d2, d3] = [0, 1, 2, 3].map((r) => get(DV + r));
    const mid = half([...d1, ...d2, ...ins.fadd]);
    code.push(...d0, ...mid, ...ins.fadd, ...set(QV + s));
    code.push(...half([...d1, ...d2, ...ins.fsub]), ...set(QV + 4 + s));
    code.push(...mid, ...d3, ...ins.fadd, ...set(QV + 8 + s));
    code.push(...inc(PS, get(ESTRIDE)));
  }
  code.push(...get(D), ...set(W));
  for (let a = 0; a < 3; a++) {
    const [q0, q1, q2, q3] = [0, 1, 2, 3].map((s) => get(QV + 4 * a + s));
    const mid = half([...q1, ...q2, ...ins.fadd]);
    const outs = [
      [...q0, ...mid, ...ins.fadd],
      half([...q1, ...q2, ...ins.fsub]),
      [...mid, ...q3, ...ins.fadd],
    ];
    for (const value of outs) code.push(...get(W), ...value, ...vstore(0), ...inc(W, get(TAP)));
  }
  code.push(...inc(S, i32(16)), ...inc(D, i32(16)), ...countDown(CV), ...end);
  code.push(...inc(DU, get(DUROW)), ...inc(DW, get(DWROW)), ...countDown(CI), ...end);
  return body(8, 17, code);
}

/** Output tile side: F(2x2, 3x3) or F(4x4, 3x3) (`winograd_f43.ts`). */
export type WinogradTile = 2 | 4;

function moduleBytes(fma: boolean, tile: WinogradTile): Uint8Array<ArrayBuffer> {
  const shared = [{ name: 'gemm', params: 8, body: gemmBody(fma) }];
  if (tile === 4) {
    const f = f43.F43;
    return moduleOf([
      { name: 'inputTransform', params: 9, body: f43.inputTransformBody(f, false) },
      { name: 'inputTransformByChannel', params: 9, body: f43.inputTransformBody(f, true) },
      { name: 'outputTransform', params: 10, body: f43.outputTransformBody(f) },
      { name: 'gradientTransform', params: 8, body: f43.gradientTransformBody(f) },
      ...shared,
      { name: 'filterTransform', params: 8, body: f43.filterTransformBody(f) },
      { name: 'gradientToFilter', params: 8, body: f43.gradientToFilterBody(f) },
    ]);
  }
  return moduleOf([
    { name: 'inputTransform', params: 9, body: inputTransformBody(false) },
    { name: 'inputTransformByChannel', params: 9, body: inputTransformBody(true) },
    { name: 'outputTransform', params: 10, body: outputTransformBody() },
    { name: 'gradientTransform', params: 8, body: gradientTransformBody() },
    ...shared,
    { name: 'filterTransform', params: 8, body: filterTransformBody() },
    { name: 'gradientToFilter', params: 8, body: gradientToFilterBody() },
  ]);
}

type Compiled = { module: WebAssembly.Module; relaxed: boolean } | null;

const compiled = new Map<WinogradTile, Compiled>();
let relaxedAllowed = true;
const instances = new Map<WinogradTile, WeakMap<WebAssembly.Memory, WinogradKernels>>();

/**
 * Whether to use relaxed SIMD where the engine has it (default true); false compiles the plain
 * SIMD kernels (for tests and benchmarks of the fallback). Applies to memories bound later.
 */
export function setRelaxedSimd(allowed: boolean): void {
  if (allowed !== relaxedAllowed) {
    relaxedAllowed = allowed;
    compiled.clear();
  }
}

/** Compiles both tiles' modules asynchronously ahead of their first use (see `compileAsync`). */
export async function prepareWinogradKernels(): Promise<void> {
  for (const tile of [2, 4] as const) {
    if (compiled.has(tile)) continue;
    const relaxed = relaxedAllowed ? await compileAsync(moduleBytes(true, tile)) : null;
    const plain = relaxed === null ? await compileAsync(moduleBytes(false, tile)) : null;
    compiled.set(
      tile,
      relaxed !== null
        ? { module: relaxed, relaxed: true }
        : plain !== null
          ? { module: plain, relaxed: false }
          : null,
    );
  }
}

function compileOnce(tile: WinogradTile): Compiled {
  let result = compiled.get(tile);
  if (result === undefined) {
    const relaxed = relaxedAllowed ? compile(moduleBytes(true, tile)) : null;
    const plain = relaxed === null ? compile(moduleBytes(false, tile)) : null;
    result =
      relaxed !== null
        ? { module: relaxed, relaxed: true }
        : plain !== null
          ? { module: plain, relaxed: false }
          : null;
    compiled.set(tile, result);
  }
  return result;
}

/**
 * The kernels of F(tile x tile, 3x3) bound to `backend`'s memory, or undefined where they
 * cannot run (no SIMD, shared or unreachable memory).
 */
export function winogradKernels(
  backend: WasmBackend,
  tile: WinogradTile = 2,
): WinogradKernels | undefined {
  const memory = backendMemory(backend.wasm);
  if (memory === undefined) return undefined;
  const module = compileOnce(tile);
  if (module === null) return undefined;
  let bound = instances.get(tile);
  if (bound === undefined) {
    bound = new WeakMap();
    instances.set(tile, bound);
  }
  let kernels = bound.get(memory);
  if (kernels === undefined || kernels.relaxed !== module.relaxed) {
    const { exports } = new WebAssembly.Instance(module.module, { env: { memory } });
    kernels = {
      inputTransform: exports.inputTransform as InputTransform,
      inputTransformByChannel: exports.inputTransformByChannel as InputTransform,
      outputTransform: exports.outputTransform as OutputTransform,
      gradientTransform: exports.gradientTransform as GradientTransform,
      gemm: exports.gemm as Gemm,
      filterTransform: exports.filterTransform as FilterTransform,
      gradientToFilter: exports.gradientToFilter as GradientToFilter,
      relaxed: module.relaxed,
    };
    bound.set(memory, kernels);
  }
  return kernels;
}
