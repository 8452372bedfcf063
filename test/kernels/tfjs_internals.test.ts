/**
 * Contract tests of the private TensorFlow.js parts the project reads (src/kernels/tfjs_internals.ts):
 * each shape the adapter declares is checked on the installed tfjs, by what it does, not only
 * by its name. When tfjs is upgraded these fail first, naming what moved: read the new
 * engine.ts, tape.ts and backend_wasm.ts, update the adapter, then its supported versions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
// The gradients of tfjs-core's kernels are registered by tfjs-layers.
import '@tensorflow/tfjs-layers';
import {
  checkEngineInternals,
  checkTfjsVersion,
  checkWasmInternals,
  forgetData,
  heapU8,
  memoryOffset,
  SUPPORTED_TFJS_VERSIONS,
  tapeEngine,
  wasmMemory,
} from '../../src/kernels/tfjs_internals.js';
import { useBackend } from '../helpers.js';

describe('tfjs internals the project reads', () => {
  it('the installed tfjs is a version the adapter was checked against', () => {
    assert.ok(
      SUPPORTED_TFJS_VERSIONS.includes(tf.version_core),
      `@tensorflow/tfjs-core ${tf.version_core}: check src/kernels/tfjs_internals.ts against it`,
    );
    assert.doesNotThrow(() => checkTfjsVersion());
  });

  it('an unknown version fails with one line that says what to install', () => {
    assert.throws(
      () => checkTfjsVersion('5.0.0'),
      (err: unknown) =>
        err instanceof Error &&
        err.name === 'BackendError' &&
        !err.message.includes('\n') &&
        err.message ===
          '@tensorflow/tfjs-core 5.0.0 is not supported: this program reads private parts of ' +
            'TensorFlow.js checked against 4.22.0; install @tensorflow/tfjs-core@4.22.0',
    );
  });

  it("the engine's tape records nodes with the fields the backward pass walks", async () => {
    await useBackend('cpu');
    checkEngineInternals();
    const engine = tapeEngine();
    assert.equal(engine.state.gradientDepth, 0);
    const x = tf.variable(tf.tensor1d([1, 2, 3]));
    engine.startTape();
    let y: tf.Tensor;
    try {
      y = tf.tidy(() => tf.sum(tf.mul(x, x)));
    } finally {
      engine.endTape();
    }
    const tape = engine.state.activeTape;
    engine.state.activeTape = null;
    assert.ok(Array.isArray(tape), 'the tape is an array');
    // A node per kernel (and, outside production mode, per op scope: 'mul__op').
    const mul = tape.find((n) => n.kernelName === 'Multiply');
    const sum = tape.find((n) => n.kernelName === 'Sum');
    assert.ok(mul !== undefined && sum !== undefined, 'Multiply and Sum are on the tape');
    assert.equal(mul.kernelName, 'Multiply');
    assert.equal(sum.kernelName, 'Sum');
    assert.equal(typeof mul.id, 'number');
    assert.ok(mul.id < sum.id, 'ids grow along the tape');
    assert.deepEqual(Object.keys(mul.inputs).sort(), ['a', 'b']);
    assert.equal(mul.inputs.a, x, 'inputs are the tensors themselves');
    assert.equal(sum.outputs[0], y, 'outputs are the tensors themselves');
    assert.equal(sum.inputs.x, mul.outputs[0]);
    assert.equal(typeof mul.gradient, 'function');
    // Multiply saves its inputs for its gradient; the gradient maps input names to thunks.
    assert.ok(Array.isArray(mul.saved) && mul.saved.length === 2, 'Multiply saves a and b');
    const grads = tf.tidy(() => {
      const g = mul.gradient!([tf.onesLike(mul.outputs[0])]);
      assert.deepEqual(Object.keys(g).sort(), ['a', 'b']);
      return g.a().arraySync();
    });
    assert.deepEqual(grads, [1, 2, 3], 'd(a*b)/da = b');
    for (const node of tape) node.saved?.forEach((t) => t.dispose());
    tf.dispose([x, y]);
  });

  it("the wasm backend's data map and memory hold tensors where the kernels read them", async () => {
    await useBackend('wasm');
    const backend = tf.backend();
    checkWasmInternals(backend);
    const memory = wasmMemory(backend);
    assert.ok(memory instanceof WebAssembly.Memory, 'wasm.asm.memory is a WebAssembly.Memory');
    assert.equal(heapU8(backend).buffer, memory.buffer, 'wasm.HEAPU8 views that memory');
    const t = tf.tensor1d([1.5, -2, 3.25]);
    const at = memoryOffset(backend, t);
    assert.ok(Number.isInteger(at) && at > 0, 'dataIdMap entries carry a byte memoryOffset');
    assert.deepEqual(Array.from(new Float32Array(memory.buffer, at, 3)), [1.5, -2, 3.25]);
    // A view made by makeOutput at an offset reads the same memory and is forgotten alone.
    const view = backend.makeOutput([2], 'float32', at + 4);
    assert.deepEqual(Array.from(backend.readSync(view.dataId) as Float32Array), [-2, 3.25]);
    forgetData(backend, view);
    assert.deepEqual(Array.from(t.dataSync()), [1.5, -2, 3.25], 'the tensor keeps its memory');
    t.dispose();
  });

  it('a backend without those fields fails with one line naming them', () => {
    assert.throws(
      () => checkWasmInternals({ wasm: { HEAPU8: new Uint8Array(1) }, makeOutput() {} }),
      /^BackendError: @tensorflow\/tfjs-core 4\.22\.0: the wasm backend lacks dataIdMap, dataIdMap\.get, dataIdMap\.delete, wasm\.tfjs, wasm\.tfjs\.disposeData, which this program reads; reinstall the version in package\.json$/,
    );
  });
});
