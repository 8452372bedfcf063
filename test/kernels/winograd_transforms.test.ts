/**
 * The Winograd transforms generated from the matrices (src/kernels/wasm/winograd_transforms.ts)
 * give, to the bit, what the kernels gave before the generator: F(2x2, 3x3)'s were written by
 * hand then. Each kernel runs on seeded inputs in a memory of its own and the SHA-256 of what
 * it wrote is pinned; the pins were printed by the same calls on the hand-written kernels
 * (commit 38ebd47). A change of the arithmetic's order changes a pin.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { WasmBackend } from '../../src/kernels/tfjs_internals.js';
import { setBackendNumerics } from '../../src/kernels/numerics.js';
import {
  compileGenerated,
  GeneratedModuleError,
  hasFeature,
} from '../../src/kernels/wasm/bound_modules.js';
import { body, ins, moduleOf } from '../../src/kernels/wasm/wasm_writer.js';
import { winogradKernels, type WinogradTile } from '../../src/kernels/wasm/winograd_kernels.js';

const OUT = 8 << 20;

/** A backend-shaped object around a memory of its own, 4 MB of seeded floats at its start. */
function memoryBackend(): { backend: WasmBackend; memory: WebAssembly.Memory } {
  const memory = new WebAssembly.Memory({ initial: 256 });
  const f32 = new Float32Array(memory.buffer);
  let seed = 12345;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = 256; i < (4 << 20) / 4; i++) {
    f32[i] = (rand() - 0.5) * 2 ** Math.floor(rand() * 20 - 10);
  }
  const wasm = { asm: { memory }, HEAPU8: new Uint8Array(memory.buffer), tfjs: {} };
  return { backend: { wasm } as unknown as WasmBackend, memory };
}

/** SHA-256 (16 hex digits) of the 8 MB a kernel wrote, from input tiles 3 wide, 2 vectors deep. */
const PINNED: Record<WinogradTile, Record<string, string>> = {
  2: {
    inputTransform: '279661d8dad82e81',
    inputTransformByChannel: '279661d8dad82e81',
    outputTransform: '99958d18e32559aa',
    outputTransformRelu: 'd215fd3de6139c7b',
    gradientTransform: '609e93d8b96a1b42',
    gemm: '42677f6260e1509a',
    filterTransform: '99ef5785a24158aa',
    filterTransformReversed: 'bb921285eb41a994',
    gradientToFilter: '0efbcab57d46f1aa',
  },
  4: {
    inputTransform: '2d297e56b1919a1e',
    inputTransformByChannel: '2d297e56b1919a1e',
    outputTransform: 'd407ecc520113851',
    outputTransformRelu: 'b73d6f8fe8350fc9',
    gradientTransform: 'ae9d22ded0c49411',
    gemm: '42677f6260e1509a',
    filterTransform: '1ad3b458da711161',
    filterTransformReversed: '1cf46a3daf51e9fa',
    gradientToFilter: 'caff35b507304998',
  },
};

describe('Winograd transforms from the matrices', () => {
  for (const tile of [2, 4] as const) {
    it(`F(${tile}x${tile}, 3x3) writes the bytes the kernels wrote before the generator`, () => {
      const { backend, memory } = memoryBackend();
      setBackendNumerics(backend, { relaxedSimd: false }); // gemm pinned unfused
      const k = winogradKernels(backend, tile);
      assert.ok(k !== undefined, 'the kernels run on this engine');
      assert.equal(k.relaxed, false);
      const [R, P] = [4096, 32];
      const calls: Record<string, () => void> = {
        inputTransform: () => k.inputTransform(1024, R, P, 3, 2, OUT, 1024, 64, 16),
        inputTransformByChannel: () =>
          k.inputTransformByChannel(1024, R, P, 3, 2, OUT, 1024, 64, 16),
        outputTransform: () => k.outputTransform(1024, 2048, 64, 3, 2, OUT, R, P, 200000, 0),
        outputTransformRelu: () => k.outputTransform(1024, 2048, 64, 3, 2, OUT, R, P, 200000, 1),
        gradientTransform: () => k.gradientTransform(1024, R, P, 3, 2, OUT, 1024, 64),
        gemm: () => k.gemm(1024, 100000, OUT, 2, 4, 2, 64, 64),
        filterTransform: () => k.filterTransform(1024, 96, 32, 3, 2, OUT, 1024, 256),
        filterTransformReversed: () =>
          k.filterTransform(1024 + 8 * 96, -96, 32, 3, 2, OUT, 1024, 256),
        gradientToFilter: () => k.gradientToFilter(1024, 1024, 32, 3, 2, OUT, 96, 32),
      };
      const got: Record<string, string> = {};
      for (const [name, call] of Object.entries(calls)) {
        new Float32Array(memory.buffer).fill(0, OUT / 4);
        call();
        const written = new Uint8Array(memory.buffer, OUT, 8 << 20);
        got[name] = createHash('sha256').update(written).digest('hex').slice(0, 16);
      }
      assert.deepEqual(got, PINNED[tile]);
    });
  }

  it('an invalid generated module is an error, not a silent fall back', () => {
    // f32x4.add on an empty stack: SIMD, so this engine would run it, but invalid.
    const bytes = moduleOf([{ name: 'f', params: 0, body: body(0, 0, [...ins.fadd]) }]);
    assert.throws(
      () => compileGenerated(bytes, 'simd', 'of a test'),
      (err: unknown) =>
        err instanceof GeneratedModuleError &&
        /^the generated wasm module of a test is invalid: /.test(err.message),
    );
    const valid = moduleOf([{ name: 'f', params: 0, body: body(0, 0, [...ins.vzero, 0x1a]) }]);
    assert.ok(compileGenerated(valid, 'simd', 'of a test') instanceof WebAssembly.Module);
  });

  it('a module whose feature the engine lacks is null: its kernels take their other path', (t) => {
    if (hasFeature('relaxed-simd')) {
      t.skip('this engine has relaxed SIMD (Node.js 22 and later): nothing it lacks to test');
      return;
    }
    const relaxed = moduleOf([
      {
        name: 'f',
        params: 0,
        body: body(0, 0, [...ins.vzero, ...ins.vzero, ...ins.vzero, ...ins.fmadd, 0x1a]),
      },
    ]);
    assert.equal(compileGenerated(relaxed, 'relaxed-simd', 'of a test'), null);
  });
});
