/**
 * The WebAssembly SIMD kernels of Winograd's minimal filtering F(2x2, 3x3) and F(4x4, 3x3)
 * (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016), generated here
 * (the transforms from each algorithm's matrices by `winograd_transforms.ts`) and run on the
 * wasm backend's own memory; `winograd.ts` drives them. For F(2x2, 3x3), with a 4x4 input
 * tile d, a 3x3 filter g and a 2x2 output tile Y,
 *
 *   Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A,   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
 *   G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],   A^T = [1 1 1 0; 0 1 -1 -1],
 *
 * so the 16 products of a tile replace the direct convolution's 36, and summing over input
 * channels turns them into 16 matrix products (one per element e of the 4x4 transformed tile).
 * F(4x4, 3x3) is the same with 6x6 input tiles and 4x4 output tiles (its matrices are in
 * `winograd_transforms.ts`). Every kernel works on 4 channels at once (one v128) and takes byte addresses and strides.
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
 * Relaxed SIMD: where the backend's numerics allow it (`relaxedSimd`, numerics.ts) and the
 * engine validates `f32x4.relaxed_madd`, `gemm` multiplies and adds in one instruction (fused
 * on hardware with FMA); else plain SIMD. Node.js 22 and later (V8 12)
 * and Chrome 114 and later have it on by default; Node.js 20 only with
 * `--experimental-wasm-relaxed-simd`. No Node-only API: runs in browsers too.
 */
import type { WasmBackend } from './kernel_calls.js';
import { backendNumerics } from '../numerics.js';
import { boundModules } from './bound_modules.js';
import { body, ins, moduleOf } from './wasm_writer.js';
import {
  F23,
  F43,
  filterTransformBody,
  gradientToFilterBody,
  gradientTransformBody,
  inputTransformBody,
  outputTransformBody,
} from './winograd_transforms.js';

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

/** Output tile side: F(2x2, 3x3) or F(4x4, 3x3) (`winograd_transforms.ts`). */
export type WinogradTile = 2 | 4;

/** What a module holds: the transforms of one tile size, and the products fused or not. */
interface ModuleKey {
  tile: WinogradTile;
  relaxed: boolean;
}

function moduleBytes({ tile, relaxed }: ModuleKey): Uint8Array<ArrayBuffer> {
  const f = tile === 4 ? F43 : F23;
  return moduleOf([
    { name: 'inputTransform', params: 9, body: inputTransformBody(f, false) },
    { name: 'inputTransformByChannel', params: 9, body: inputTransformBody(f, true) },
    { name: 'outputTransform', params: 10, body: outputTransformBody(f) },
    { name: 'gradientTransform', params: 8, body: gradientTransformBody(f) },
    { name: 'gemm', params: 8, body: gemmBody(relaxed) },
    { name: 'filterTransform', params: 8, body: filterTransformBody(f) },
    { name: 'gradientToFilter', params: 8, body: gradientToFilterBody(f) },
  ]);
}

const KEYS = {
  2: { plain: { tile: 2, relaxed: false }, relaxed: { tile: 2, relaxed: true } },
  4: { plain: { tile: 4, relaxed: false }, relaxed: { tile: 4, relaxed: true } },
} as const satisfies Record<WinogradTile, Record<'plain' | 'relaxed', ModuleKey>>;

const modules = boundModules<ModuleKey, WinogradKernels>({
  bytes: moduleBytes,
  feature: (key) => (key.relaxed ? 'relaxed-simd' : 'simd'),
  what: (key) => `of F(${key.tile}x${key.tile}, 3x3)${key.relaxed ? ' with relaxed SIMD' : ''}`,
  bind: (exports, key) => ({
    inputTransform: exports.inputTransform as InputTransform,
    inputTransformByChannel: exports.inputTransformByChannel as InputTransform,
    outputTransform: exports.outputTransform as OutputTransform,
    gradientTransform: exports.gradientTransform as GradientTransform,
    gemm: exports.gemm as Gemm,
    filterTransform: exports.filterTransform as FilterTransform,
    gradientToFilter: exports.gradientToFilter as GradientToFilter,
    relaxed: key.relaxed,
  }),
});

/** Compiles every module asynchronously ahead of its first use (see `compileGeneratedAsync`). */
export async function prepareWinogradKernels(): Promise<void> {
  await modules.prepare([KEYS[2].relaxed, KEYS[2].plain, KEYS[4].relaxed, KEYS[4].plain]);
}

/**
 * The kernels of F(tile x tile, 3x3) bound to `backend`'s memory, or undefined where they
 * cannot run (no SIMD, shared or unreachable memory). Their products use relaxed SIMD where
 * the backend's numerics allow it (`relaxedSimd`) and the engine has it.
 */
export function winogradKernels(
  backend: WasmBackend,
  tile: WinogradTile = 2,
): WinogradKernels | undefined {
  const keys = KEYS[tile];
  const relaxed = backendNumerics(backend).relaxedSimd
    ? modules.get(backend, keys.relaxed)
    : undefined;
  return relaxed ?? modules.get(backend, keys.plain);
}
