/**
 * The transforms of Winograd's minimal filtering F(m x m, 3x3) (Lavin & Gray, "Fast Algorithms
 * for Convolutional Neural Networks", 2016), generated as WebAssembly SIMD from the
 * algorithm's matrices for both tile sizes the kernels use: F(2x2, 3x3) (4x4 input tiles) and
 * F(4x4, 3x3) (6x6 input tiles, interpolation points 0, 1, -1, 2, -2 and infinity; 36 products
 * per 16 outputs instead of 16 per 4, 1.78x fewer, at the cost of larger transforms and
 * coefficients up to 8, which round more: `winograd.ts` says where each is used, the tests
 * bound their error). `winograd_kernels.ts` puts them in a module with the products (`gemm`).
 *
 * Every transform is a linear map by a small constant matrix along rows, then along columns,
 * emitted term by term (`linear`): coefficients 0 are skipped, +-1 become adds and subtracts,
 * others multiply by a constant vector; a sum that would start -x + y starts y - x (the same
 * float). A matrix may carry its row scales apart (G = diag(gScale) g, as F(2x2, 3x3)'s halves):
 * a row of it is then its integer row summed, times its scale; a column sums the terms of
 * each scale, in the order they first appear, times that scale. This order of the arithmetic
 * is the order of the F(2x2, 3x3) kernels written by hand before the generator, whose results
 * these reproduce to the bit (test/kernels/wasm_winograd.test.ts pins them). No Node-only API.
 */
import { body, ins } from './wasm_writer.js';

/** The matrices of F(m x m, 3x3); alpha = m + 2 is the input tile's side. */
export interface WinogradMatrices {
  m: number;
  alpha: number;
  /** B^T, alpha x alpha: V = B^T d B. */
  bt: number[][];
  /** G, alpha x 3: U = G g G^T (times `gScale` by rows where given). */
  g: number[][];
  /** G = diag(gScale) g where given, else G = g. */
  gScale?: number[];
  /** A^T, m x alpha: Y = A^T M A. */
  at: number[][];
}

/** F(2x2, 3x3): multiplies by 1/2 only (exact in float32), at most nine terms per transform. */
export const F23: WinogradMatrices = {
  m: 2,
  alpha: 4,
  bt: [
    [1, 0, -1, 0],
    [0, 1, 1, 0],
    [0, -1, 1, 0],
    [0, 1, 0, -1],
  ],
  g: [
    [1, 0, 0],
    [1, 1, 1],
    [1, -1, 1],
    [0, 0, 1],
  ],
  gScale: [1, 1 / 2, 1 / 2, 1],
  at: [
    [1, 1, 1, 0],
    [0, 1, -1, -1],
  ],
};

export const F43: WinogradMatrices = {
  m: 4,
  alpha: 6,
  bt: [
    [4, 0, -5, 0, 1, 0],
    [0, -4, -4, 1, 1, 0],
    [0, 4, -4, -1, 1, 0],
    [0, -2, -1, 2, 1, 0],
    [0, 2, -1, -2, 1, 0],
    [0, 4, 0, -5, 0, 1],
  ],
  g: [
    [1 / 4, 0, 0],
    [-1 / 6, -1 / 6, -1 / 6],
    [-1 / 6, 1 / 6, -1 / 6],
    [1 / 24, 1 / 12, 1 / 6],
    [1 / 24, -1 / 12, 1 / 6],
    [0, 0, 1],
  ],
  at: [
    [1, 1, 1, 1, 1, 0],
    [0, 1, -1, 2, -2, 0],
    [0, 1, 1, 4, 4, 0],
    [0, 1, -1, 8, -8, 1],
  ],
};

const { get, set, tee, i32, add, sub, mul, loop, end, brIf, vload, vstore } = ins;
const inc = (local: number, value: number[]) => [...get(local), ...value, ...add, ...set(local)];
const countDown = (local: number) => [...get(local), ...i32(1), ...sub, ...tee(local), ...brIf(0)];

/** coefficient x input j. */
type Term = [j: number, coefficient: number];

/** scale x (the sum of `terms`). */
interface Group {
  scale: number;
  terms: Term[];
}

/**
 * Code adding `terms` to the sum on the stack (`first`: starting it): +-1 add or subtract,
 * others multiply a constant first; -x + y starts as y - x.
 */
function sum(terms: Term[], term: (j: number) => number[], first: boolean): number[] {
  const code: number[] = [];
  const ordered =
    first && terms.length > 1 && terms[0][1] === -1 && terms[1][1] === 1
      ? [terms[1], terms[0], ...terms.slice(2)]
      : terms;
  ordered.forEach(([j, c], n) => {
    code.push(...term(j));
    if (first && n === 0) {
      if (c === -1) code.push(...ins.fneg);
      else if (c !== 1) code.push(...ins.fconst(c), ...ins.fmul);
    } else if (c === 1) code.push(...ins.fadd);
    else if (c === -1) code.push(...ins.fsub);
    else code.push(...ins.fconst(c), ...ins.fmul, ...ins.fadd);
  });
  return code;
}

/** Code leaving the sum of `groups` (a v128) on the stack; a group of scale 1 adds term by term. */
function linear(groups: Group[], term: (j: number) => number[]): number[] {
  const code: number[] = [];
  groups.forEach(({ scale, terms }, n) => {
    if (n > 0 && scale === 1) {
      code.push(...sum(terms, term, false));
      return;
    }
    code.push(...sum(terms, term, true));
    if (scale !== 1) code.push(...ins.fconst(scale), ...ins.fmul);
    if (n > 0) code.push(...ins.fadd);
  });
  if (groups.length === 0) code.push(...ins.vzero);
  return code;
}

/** Row i of diag(scale) M as one group. */
function row(matrix: number[][], i: number, scale?: number[]): Group[] {
  const terms = matrix[i].flatMap((c, j): Term[] => (c === 0 ? [] : [[j, c]]));
  return terms.length === 0 ? [] : [{ scale: scale?.[i] ?? 1, terms }];
}

/** Column j of diag(scale) M: its terms grouped by scale, in the order they first appear. */
function column(matrix: number[][], j: number, scale?: number[]): Group[] {
  const groups: Group[] = [];
  matrix.forEach((r, i) => {
    if (r[j] === 0) return;
    const s = scale?.[i] ?? 1;
    const group = groups.find((g) => g.scale === s);
    if (group !== undefined) group.terms.push([i, r[j]]);
    else groups.push({ scale: s, terms: [[i, r[j]]] });
  });
  return groups;
}

/** Locals `base + k` = k * `of` for k = 1..count-1 (k = 0 needs none). */
function multiples(base: number, of: number, count: number): number[] {
  const code: number[] = [];
  for (let k = 1; k < count; k++) code.push(...get(of), ...i32(k), ...mul, ...set(base + k));
  return code;
}

/** `+ local(base + k)` for k > 0, nothing for k = 0. */
const plus = (base: number, k: number) => (k === 0 ? [] : [...get(base + k), ...add]);

/** As `inputTransform` / `inputTransformByChannel` of winograd_kernels.ts (9 parameters). */
export function inputTransformBody(f: WinogradMatrices, tilesInner: boolean): number[] {
  const { alpha, m, bt } = f;
  const [SRC, ROW, PIX, TILES, CBS, DST, ESTRIDE, TSTRIDE, CBSTRIDE] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [Q, W, W0, CB, TL, PM] = [9, 10, 11, 12, 13, 14];
  const R = 15; // R + r = r * rowBytes
  const P = R + alpha; // P + c = c * pixBytes
  const I32S = P + alpha - 9;
  const T = P + alpha; // alpha v128 locals
  const load = (r: number, c: number) => [...get(Q), ...plus(R, r), ...plus(P, c), ...vload(0)];
  const code: number[] = [...multiples(R, ROW, alpha), ...multiples(P, PIX, alpha)];
  code.push(...get(PIX), ...i32(m), ...mul, ...set(PM));
  if (tilesInner) {
    code.push(...get(CBS), ...set(CB), ...loop);
    code.push(...get(SRC), ...set(Q), ...get(DST), ...set(W0), ...get(TILES), ...set(TL), ...loop);
  } else {
    code.push(...loop);
    code.push(...get(SRC), ...set(Q), ...get(DST), ...set(W0), ...get(CBS), ...set(CB), ...loop);
  }
  code.push(...get(W0), ...set(W));
  for (let i = 0; i < alpha; i++) {
    // Row i of B^T d, then that row times B.
    for (let c = 0; c < alpha; c++)
      code.push(...linear(row(bt, i), (j) => load(j, c)), ...set(T + c));
    for (let k = 0; k < alpha; k++) {
      code.push(...get(W), ...linear(row(bt, k), (c) => get(T + c)), ...vstore(0));
      code.push(...inc(W, get(ESTRIDE)));
    }
  }
  if (tilesInner) {
    code.push(...inc(Q, get(PM)), ...inc(W0, get(TSTRIDE)), ...countDown(TL), ...end);
    code.push(...inc(SRC, i32(16)), ...inc(DST, get(CBSTRIDE)), ...countDown(CB), ...end);
  } else {
    code.push(...inc(Q, i32(16)), ...inc(W0, get(CBSTRIDE)), ...countDown(CB), ...end);
    code.push(...inc(SRC, get(PM)), ...inc(DST, get(TSTRIDE)), ...countDown(TILES), ...end);
  }
  return body(I32S, alpha, code);
}

/** As `outputTransform` (10 parameters): Y = A^T M A + bias, ReLU when relu != 0. */
export function outputTransformBody(f: WinogradMatrices): number[] {
  const { alpha, m, at } = f;
  const [M, ESTRIDE, TSTRIDE, TILES, CVS, DST, ROW, PIX, BIAS, RELU] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
  ];
  const [M0, D, B, CV, PJ, PM] = [10, 11, 12, 13, 14, 15];
  const EK = 16; // EK + k = k * alpha * eStride
  const RI = EK + alpha; // RI + i = i * rowBytes
  const PL = RI + m; // PL + l = l * pixBytes
  const AE = PL + m; // alpha * eStride
  const I32S = AE + 1 - 10;
  const MV = AE + 1; // alpha column values, m * alpha row sums, bias, one output
  const S = MV + alpha;
  const BV = S + m * alpha;
  const YV = BV + 1;
  const code: number[] = [...get(ESTRIDE), ...i32(alpha), ...mul, ...set(AE)];
  code.push(...multiples(EK, AE, alpha), ...multiples(RI, ROW, m), ...multiples(PL, PIX, m));
  code.push(...get(PIX), ...i32(m), ...mul, ...set(PM));
  code.push(...loop);
  code.push(...get(M), ...set(M0), ...get(DST), ...set(D), ...get(BIAS), ...set(B));
  code.push(...get(CVS), ...set(CV), ...loop);
  code.push(...get(M0), ...set(PJ));
  for (let j = 0; j < alpha; j++) {
    for (let k = 0; k < alpha; k++)
      code.push(...get(PJ), ...plus(EK, k), ...vload(0), ...set(MV + k));
    for (let i = 0; i < m; i++)
      code.push(...linear(row(at, i), (k) => get(MV + k)), ...set(S + i * alpha + j));
    code.push(...inc(PJ, get(ESTRIDE)));
  }
  code.push(...get(B), ...vload(0), ...set(BV));
  for (let i = 0; i < m; i++) {
    for (let l = 0; l < m; l++) {
      code.push(
        ...linear(row(at, l), (j) => get(S + i * alpha + j)),
        ...get(BV),
        ...ins.fadd,
        ...set(YV),
      );
      code.push(
        ...get(RELU),
        ...ins.if,
        ...get(YV),
        ...ins.vzero,
        ...ins.fpmax,
        ...set(YV),
        ...end,
      );
      code.push(...get(D), ...plus(RI, i), ...plus(PL, l), ...get(YV), ...vstore(0));
    }
  }
  code.push(...inc(M0, i32(16)), ...inc(D, i32(16)), ...inc(B, i32(16)), ...countDown(CV), ...end);
  code.push(...inc(M, get(TSTRIDE)), ...inc(DST, get(PM)), ...countDown(TILES), ...end);
  return body(I32S, alpha + m * alpha + 2, code);
}

/** As `gradientTransform` (8 parameters): Z = A dY A^T of m x m tiles of dy. */
export function gradientTransformBody(f: WinogradMatrices): number[] {
  const { alpha, m, at } = f;
  const [SRC, ROW, PIX, TILES, CVS, DST, ESTRIDE, TSTRIDE] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [Q, W, W0, CV, PM] = [8, 9, 10, 11, 12];
  const RI = 13;
  const PL = RI + m;
  const I32S = PL + m - 8;
  const Y = PL + m; // m * m tile values, then m row values
  const WV = Y + m * m;
  const code: number[] = [...multiples(RI, ROW, m), ...multiples(PL, PIX, m)];
  code.push(...get(PIX), ...i32(m), ...mul, ...set(PM));
  code.push(...loop);
  code.push(...get(SRC), ...set(Q), ...get(DST), ...set(W0), ...get(CVS), ...set(CV), ...loop);
  code.push(...get(W0), ...set(W));
  for (let k = 0; k < m; k++) {
    for (let c = 0; c < m; c++) {
      code.push(...get(Q), ...plus(RI, k), ...plus(PL, c), ...vload(0), ...set(Y + k * m + c));
    }
  }
  for (let i = 0; i < alpha; i++) {
    // Row i of A dY (A = (A^T)^T), then that row times A^T.
    for (let c = 0; c < m; c++)
      code.push(...linear(column(at, i), (k) => get(Y + k * m + c)), ...set(WV + c));
    for (let j = 0; j < alpha; j++) {
      code.push(...get(W), ...linear(column(at, j), (c) => get(WV + c)), ...vstore(0));
      code.push(...inc(W, get(ESTRIDE)));
    }
  }
  code.push(...inc(Q, i32(16)), ...inc(W0, i32(16)), ...countDown(CV), ...end);
  code.push(...inc(SRC, get(PM)), ...inc(DST, get(TSTRIDE)), ...countDown(TILES), ...end);
  return body(I32S, m * m + m, code);
}

/** As `filterTransform` (8 parameters): U = G g G^T. */
export function filterTransformBody(f: WinogradMatrices): number[] {
  const { alpha, g, gScale } = f;
  const [G, TAP, ROW, CI, CVS, U, ESTRIDE, JBSTRIDE] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [S, P, W, Q, I] = [8, 9, 10, 11, 12];
  const GV = 13; // g0..g8, then 3 row values
  const RV = GV + 9;
  const code: number[] = [...get(CI), ...set(I), ...loop];
  code.push(...get(G), ...set(S), ...i32(0), ...set(Q), ...loop);
  code.push(...get(S), ...set(P));
  for (let k = 0; k < 9; k++) {
    code.push(...get(P), ...vload(0), ...set(GV + k));
    if (k < 8) code.push(...inc(P, get(TAP)));
  }
  code.push(...get(U), ...get(Q), ...i32(1), ...ins.shrU, ...get(JBSTRIDE), ...mul, ...add);
  code.push(...get(Q), ...i32(1), ...ins.and, ...i32(16), ...mul, ...add, ...set(W));
  for (let i = 0; i < alpha; i++) {
    for (let l = 0; l < 3; l++)
      code.push(...linear(row(g, i, gScale), (k) => get(GV + 3 * k + l)), ...set(RV + l));
    for (let j = 0; j < alpha; j++) {
      code.push(...get(W), ...linear(row(g, j, gScale), (l) => get(RV + l)), ...vstore(0));
      code.push(...inc(W, get(ESTRIDE)));
    }
  }
  code.push(...inc(S, i32(16)), ...inc(Q, i32(1)));
  code.push(...get(Q), ...get(CVS), ...ins.ltS, ...brIf(0), ...end);
  code.push(...inc(G, get(ROW)), ...inc(U, i32(32)), ...countDown(I), ...end);
  return body(5, 12, code);
}

/** As `gradientToFilter` (8 parameters): dW = G^T dU G. */
export function gradientToFilterBody(f: WinogradMatrices): number[] {
  const { alpha, g, gScale } = f;
  const [DU, ESTRIDE, DUROW, CI, CVS, DW, TAP, DWROW] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [S, D, PS, W, CV, AE] = [8, 9, 10, 11, 12, 13];
  const EK = 14; // EK + r = r * alpha * eStride
  const I32S = EK + alpha - 8;
  const QV = EK + alpha; // 3 * alpha values q[a][s], then alpha column values
  const DV = QV + 3 * alpha;
  const code: number[] = [...get(ESTRIDE), ...i32(alpha), ...mul, ...set(AE)];
  code.push(...multiples(EK, AE, alpha));
  code.push(...loop);
  code.push(...get(DU), ...set(S), ...get(DW), ...set(D), ...get(CVS), ...set(CV), ...loop);
  code.push(...get(S), ...set(PS));
  for (let s = 0; s < alpha; s++) {
    for (let r = 0; r < alpha; r++)
      code.push(...get(PS), ...plus(EK, r), ...vload(0), ...set(DV + r));
    for (let a = 0; a < 3; a++)
      code.push(...linear(column(g, a, gScale), (r) => get(DV + r)), ...set(QV + a * alpha + s));
    code.push(...inc(PS, get(ESTRIDE)));
  }
  code.push(...get(D), ...set(W));
  for (let a = 0; a < 3; a++) {
    for (let b = 0; b < 3; b++) {
      code.push(
        ...get(W),
        ...linear(column(g, b, gScale), (s) => get(QV + a * alpha + s)),
        ...vstore(0),
      );
      code.push(...inc(W, get(TAP)));
    }
  }
  code.push(...inc(S, i32(16)), ...inc(D, i32(16)), ...countDown(CV), ...end);
  code.push(...inc(DU, get(DUROW)), ...inc(DW, get(DWROW)), ...countDown(CI), ...end);
  return body(I32S, 4 * alpha, code);
}
