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
import { backendMemory, body, compile, ins, moduleOf } from './wasm_writer.js';

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

export interface WinogradKernels {
  inputTransform: InputTransform;
  outputTransform: OutputTransform;
  gradientTransform: GradientTransform;
  gemm: Gemm;
  /** Whether `gemm` uses relaxed SIMD's fused multiply-add. */
  relaxed: boolean;
}

const { get, set, tee, i32, add, sub, mul, loop, end, brIf, vload, vstore, splat } = ins;

/** `local += value` (i32). */
const inc = (local: number, value: number[]) => [...get(local), ...value, ...add, ...set(local)];
/** `local -= 1; br_if local != 0` to the enclosing loop. */
const countDown = (local: number) => [...get(local), ...i32(1), ...sub, ...tee(local), ...brIf(0)];

function inputTransformBody(): number[] {
  const [SRC, ROW, PIX, TILES, CBS, DST, ESTRIDE, TSTRIDE, CBSTRIDE] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [Q, W, W0, CB, R2, R3, P2, P3] = [9, 10, 11, 12, 13, 14, 15, 16];
  const T = 17; // four v128 locals t0..t3
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
  code.push(...loop); // tiles
  code.push(...get(SRC), ...set(Q), ...get(DST), ...set(W0), ...get(CBS), ...set(CB));
  code.push(...loop); // channel vectors
  code.push(...get(W0), ...set(W));
  for (const [x, y, op] of rows) {
    for (let c = 0; c < 4; c++) code.push(...load(x, c), ...load(y, c), ...op, ...set(T + c));
    // (t B)[j] for j = 0..3, the same pattern along columns.
    for (const [u, v, op2] of rows) code.push(...store([...get(T + u), ...get(T + v), ...op2]));
  }
  code.push(...inc(Q, i32(16)), ...inc(W0, get(CBSTRIDE)), ...countDown(CB), ...end);
  code.push(...inc(SRC, get(P2)), ...inc(DST, get(TSTRIDE)), ...countDown(TILES), ...end);
  return body(8, 4, code);
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

function moduleBytes(fma: boolean): Uint8Array<ArrayBuffer> {
  return moduleOf([
    { name: 'inputTransform', params: 9, body: inputTransformBody() },
    { name: 'outputTransform', params: 10, body: outputTransformBody() },
    { name: 'gradientTransform', params: 8, body: gradientTransformBody() },
    { name: 'gemm', params: 8, body: gemmBody(fma) },
  ]);
}

let compiled: { module: WebAssembly.Module; relaxed: boolean } | null | undefined;
let relaxedAllowed = true;
const instances = new WeakMap<WebAssembly.Memory, WinogradKernels>();

/**
 * Whether to use relaxed SIMD where the engine has it (default true); false compiles the plain
 * SIMD kernels (for tests and benchmarks of the fallback). Applies to memories bound later.
 */
export function setRelaxedSimd(allowed: boolean): void {
  if (allowed !== relaxedAllowed) {
    relaxedAllowed = allowed;
    compiled = undefined;
  }
}

function compileOnce(): { module: WebAssembly.Module; relaxed: boolean } | null {
  if (compiled === undefined) {
    const relaxed = relaxedAllowed ? compile(moduleBytes(true)) : null;
    const plain = relaxed === null ? compile(moduleBytes(false)) : null;
    compiled =
      relaxed !== null
        ? { module: relaxed, relaxed: true }
        : plain !== null
          ? { module: plain, relaxed: false }
          : null;
  }
  return compiled;
}

/**
 * The kernels bound to `backend`'s memory, or undefined where they cannot run (no SIMD, shared
 * or unreachable memory).
 */
export function winogradKernels(backend: WasmBackend): WinogradKernels | undefined {
  const memory = backendMemory(backend.wasm);
  if (memory === undefined) return undefined;
  const module = compileOnce();
  if (module === null) return undefined;
  let kernels = instances.get(memory);
  if (kernels === undefined || kernels.relaxed !== module.relaxed) {
    const { exports } = new WebAssembly.Instance(module.module, { env: { memory } });
    kernels = {
      inputTransform: exports.inputTransform as InputTransform,
      outputTransform: exports.outputTransform as OutputTransform,
      gradientTransform: exports.gradientTransform as GradientTransform,
      gemm: exports.gemm as Gemm,
      relaxed: module.relaxed,
    };
    instances.set(memory, kernels);
  }
  return kernels;
}
