/**
 * A minimal WebAssembly binary writer: just what the generated SIMD kernels of this folder use
 * (`simd_kernels.ts`, `winograd_kernels.ts`; compiled and bound by `bound_modules.ts`).
 * Instructions follow https://webassembly.github.io/spec/core/binary/instructions.html; the
 * relaxed SIMD ones https://github.com/WebAssembly/relaxed-simd. No Node-only API.
 */

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

export function name(s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
}

export function vector(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

export function section(id: number, bytes: number[]): number[] {
  return [id, ...uleb(bytes.length), ...bytes];
}

export const I32 = 0x7f;
export const V128 = 0x7b;
const VOID = 0x40;

const simd = (op: number) => [0xfd, ...uleb(op)];

/** Instructions. */
export const ins = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32: (v: number) => [0x41, ...sleb(v)],
  add: [0x6a],
  sub: [0x6b],
  mul: [0x6c],
  ltS: [0x48],
  geS: [0x4e],
  eq: [0x46],
  and: [0x71],
  shrU: [0x76],
  block: [0x02, VOID],
  loop: [0x03, VOID],
  if: [0x04, VOID],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  /** v128.load with a 16-byte alignment hint and a constant offset. */
  vload: (offset: number) => [...simd(0x00), 4, ...uleb(offset)],
  vstore: (offset: number) => [...simd(0x0b), 4, ...uleb(offset)],
  /** v128.load32_splat: one float broadcast to four lanes. */
  splat: (offset: number) => [...simd(0x09), 2, ...uleb(offset)],
  /** v128.const of sixteen zero bytes. */
  vzero: [...simd(0x0c), ...new Array<number>(16).fill(0)],
  /** v128.const of four copies of the float32 `v`. */
  fconst: (v: number) => {
    const bytes = new Uint8Array(new Float32Array([v, v, v, v]).buffer);
    return [...simd(0x0c), ...Array.from(bytes)];
  },
  fadd: simd(0xe4),
  fsub: simd(0xe5),
  fmul: simd(0xe6),
  fneg: simd(0xe1),
  fmax: simd(0xe9),
  feq: simd(0x41),
  vand: simd(0x4e),
  /** v128.andnot a & ~b. */
  vandnot: simd(0x4f),
  vor: simd(0x50),
  /** f32x4.pmax: lane-wise b > a ? b : a (maxps). */
  fpmax: simd(0xeb),
  /** f32x4.relaxed_madd a * b + c (fused where the hardware fuses). */
  fmadd: simd(0x105),
};

/** The function type (i32 x params) -> (). */
export function voidType(params: number): number[] {
  return [0x60, ...vector(Array.from({ length: params }, () => [I32])), ...vector([])];
}

/** A function body with `i32s` i32 locals then `v128s` v128 locals. */
export function body(i32s: number, v128s: number, code: number[]): number[] {
  const locals: number[][] = [];
  if (i32s > 0) locals.push([...uleb(i32s), I32]);
  if (v128s > 0) locals.push([...uleb(v128s), V128]);
  return [...vector(locals), ...code, ...ins.end];
}

/**
 * A module importing `env.memory` and exporting `functions` (name, parameter count, body from
 * `body`); every function takes i32 parameters and returns nothing.
 */
export function moduleOf(functions: { name: string; params: number; body: number[] }[]) {
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector(functions.map((f) => voidType(f.params)))),
    ...section(2, vector([[...name('env'), ...name('memory'), 0x02, 0x00, ...uleb(1)]])),
    ...section(3, vector(functions.map((_, k) => uleb(k)))),
    ...section(7, vector(functions.map((f, k) => [...name(f.name), 0x00, ...uleb(k)]))),
    ...section(10, vector(functions.map((f) => [...uleb(f.body.length), ...f.body]))),
  ]);
}
