import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { engineCandidates, specLabel, type GpuInfo } from '../../src/browser/engine_choice.js';

const labels = (
  backend: Parameters<typeof engineCandidates>[0],
  engine: Parameters<typeof engineCandidates>[1],
  gpu: GpuInfo,
) => engineCandidates(backend, engine, gpu).map(specLabel);

const SWIFTSHADER: GpuInfo = {
  webglRenderer: 'ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), SwiftShader driver)',
};
const HARDWARE: GpuInfo = {
  webglRenderer: 'ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11 vs_5_0 ps_5_0, D3D11)',
  webgpuAdapter: 'nvidia ampere',
  webgpuFallback: false,
};
const CPU_ONLY = ['onnxruntime-wasm', 'tfjs-wasm', 'tfjs-cpu'];

describe('engineCandidates', () => {
  test('auto on a software GPU (SwiftShader) or none: onnxruntime-wasm first, no GPU backend', () => {
    assert.deepEqual(labels('auto', 'auto', SWIFTSHADER), CPU_ONLY);
    assert.deepEqual(labels('auto', 'auto', {}), CPU_ONLY);
    assert.deepEqual(
      labels('auto', 'auto', { webgpuAdapter: 'google swiftshader', webgpuFallback: true }),
      CPU_ONLY,
    );
  });

  test('auto on a hardware GPU: WebGPU, then WebGL, then the CPU engines', () => {
    assert.deepEqual(labels('auto', 'auto', HARDWARE), ['tfjs-webgpu', 'tfjs-webgl', ...CPU_ONLY]);
    assert.deepEqual(labels('auto', 'auto', { webglRenderer: HARDWARE.webglRenderer }), [
      'tfjs-webgl',
      ...CPU_ONLY,
    ]);
  });

  test('a forced backend goes first, even on a software GPU; the others stay as fallbacks', () => {
    assert.deepEqual(labels('webgl', 'auto', SWIFTSHADER), ['tfjs-webgl', ...CPU_ONLY]);
    assert.deepEqual(labels('webgpu', 'tfjs', {}), ['tfjs-webgpu', ...CPU_ONLY]);
    assert.deepEqual(labels('wasm', 'auto', HARDWARE), [
      'onnxruntime-wasm',
      'tfjs-webgpu',
      'tfjs-webgl',
      'tfjs-wasm',
      'tfjs-cpu',
    ]);
    assert.deepEqual(labels('wasm', 'tfjs', {}), ['tfjs-wasm', 'onnxruntime-wasm', 'tfjs-cpu']);
    assert.deepEqual(labels('cpu', 'auto', {}), ['tfjs-cpu', 'onnxruntime-wasm', 'tfjs-wasm']);
    assert.deepEqual(labels('auto', 'tfjs', SWIFTSHADER), [
      'tfjs-wasm',
      'onnxruntime-wasm',
      'tfjs-cpu',
    ]);
    assert.deepEqual(labels('auto', 'onnxruntime', HARDWARE)[0], 'onnxruntime-wasm');
  });

  test('bad choices are refused with the allowed values', () => {
    assert.throws(() => engineCandidates('webgl', 'onnxruntime', {}), {
      name: 'UserError',
      message:
        "engine 'onnxruntime' runs on the wasm backend only, not on 'webgl' (use engine tfjs)",
    });
    assert.throws(() => engineCandidates('gpu' as never, 'auto', {}), {
      message: "backend must be one of auto, webgpu, webgl, wasm, cpu, got 'gpu'",
    });
    assert.throws(() => engineCandidates('auto', 'ort' as never, {}), {
      message: "engine must be one of auto, tfjs, onnxruntime, got 'ort'",
    });
  });
});
