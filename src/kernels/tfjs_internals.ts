/**
 * The private parts of TensorFlow.js this project relies on, in one place: the engine's
 * gradient tape (walked by `train/gradients.ts` to free memory during the backward pass) and
 * the wasm backend's bookkeeping (where a tensor lies in the module's memory, the memory
 * itself), which the kernels of `kernels/wasm/` read to run on tensors where they lie.
 * tfjs exports none of it, so it may change in any release: everything else reaches it only
 * through the functions here, which check at start (`checkTfjsVersion`,
 * `checkEngineInternals`, `checkWasmInternals`) that the version is the one these shapes were
 * read from and that the shapes are there, and fail with one line otherwise.
 * `test/kernels/tfjs_internals.test.ts` pins each shape so that an upgrade fails there first.
 *
 * Read from @tensorflow/tfjs-core 4.22.0 (engine.ts `Engine.state`, `startTape`, `endTape`;
 * tape.ts `TapeNode`), @tensorflow/tfjs-backend-wasm 4.22.0 (backend_wasm.ts `BackendWasm`:
 * `dataIdMap` of `TensorData {id, memoryOffset}`, `wasm.HEAPU8`, `wasm.tfjs.disposeData`,
 * `wasm.asm.memory` of the single-threaded build) and @tensorflow/tfjs-backend-webgl 4.22.0
 * (`MathBackendWebGL.gpgpu.gl`, which the web app watches for a lost context). No Node-only
 * API: runs in browsers too.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DataId, TensorInfo } from '@tensorflow/tfjs-core';
import { BackendError } from '../errors.js';

/** The tfjs versions whose private shapes are the ones declared here. */
export const SUPPORTED_TFJS_VERSIONS: readonly string[] = ['4.22.0'];

/** A node of the engine's tape (tfjs-core tape.ts `TapeNode`). */
export interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  /** Null in `dys` for an output off the path to the result (the engine then uses zeros). */
  gradient?: (dys: Array<tf.Tensor | null>) => Record<string, () => tf.Tensor>;
  saved?: tf.Tensor[];
}

/** The engine's private tape handling (tfjs-core engine.ts `Engine`). */
export interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  startTape(): void;
  endTape(): void;
}

/** Bookkeeping the wasm backend keeps per data id (tfjs-backend-wasm's `TensorData`). */
interface WasmTensorData {
  id: number;
  memoryOffset: number;
}

/**
 * The part of tfjs-backend-wasm's `BackendWasm` the kernels use, declared structurally so
 * that they do not depend on the package's internal typings. `makeOutput` and `disposeData`
 * are the backend's public methods; read the rest through the functions below.
 */
export interface WasmBackend {
  wasm: { HEAPU8: Uint8Array; tfjs: { disposeData(id: number): void }; asm?: unknown };
  dataIdMap: { get(dataId: DataId): WasmTensorData; delete(dataId: DataId): boolean };
  makeOutput(shape: number[], dtype: 'float32', memoryOffset?: number): TensorInfo;
  disposeData(dataId: DataId, force?: boolean): boolean;
  incRef(dataId: DataId): void;
}

/** Throws one line when `version` is not one whose private shapes are declared here. */
export function checkTfjsVersion(version: string = tf.version_core): void {
  if (!SUPPORTED_TFJS_VERSIONS.includes(version)) {
    throw new BackendError(
      `@tensorflow/tfjs-core ${version} is not supported: this program reads private parts ` +
        `of TensorFlow.js checked against ${SUPPORTED_TFJS_VERSIONS.join(', ')}; install ` +
        `@tensorflow/tfjs-core@${SUPPORTED_TFJS_VERSIONS[SUPPORTED_TFJS_VERSIONS.length - 1]}`,
    );
  }
}

/** The names of the fields `shape` asks for that `value` lacks, or has of another type. */
function missing(value: unknown, shape: Record<string, string>, prefix: string): string[] {
  const object = value as Record<string, unknown> | null | undefined;
  return Object.entries(shape)
    .filter(([key, type]) => {
      const field = object?.[key];
      return type === 'object'
        ? typeof field !== 'object' && typeof field !== 'function'
        : typeof field !== type;
    })
    .map(([key]) => `${prefix}${key}`);
}

function changed(what: string, fields: string[]): BackendError {
  return new BackendError(
    `@tensorflow/tfjs-core ${tf.version_core}: ${what} lacks ${fields.join(', ')}, which ` +
      'this program reads; reinstall the version in package.json',
  );
}

let engineChecked = false;

/** Checks the version and the engine's tape fields once; throws one line when they differ. */
export function checkEngineInternals(): void {
  if (engineChecked) return;
  checkTfjsVersion();
  const engine = tf.engine() as unknown as Record<string, unknown>;
  const lacks = [
    ...missing(engine, { state: 'object', startTape: 'function', endTape: 'function' }, ''),
    ...missing(engine.state, { gradientDepth: 'number' }, 'state.'),
  ];
  // Set by startTape, null or absent otherwise.
  const tape = (engine.state as { activeTape?: unknown } | undefined)?.activeTape;
  if (tape !== undefined && tape !== null && !Array.isArray(tape)) lacks.push('state.activeTape');
  if (lacks.length > 0) throw changed('the engine', lacks);
  engineChecked = true;
}

/** The engine with its tape, checked (see `checkEngineInternals`). */
export function tapeEngine(): EngineInternals {
  checkEngineInternals();
  return tf.engine() as unknown as EngineInternals;
}

/**
 * Checks that `backend` has the wasm backend's fields the kernels read, the version too;
 * throws one line when it does not. The memory may still be unreachable (a multi-threaded
 * build shares it): `wasmMemory` then gives undefined and the kernels use their other paths.
 */
export function checkWasmInternals(backend: unknown): asserts backend is WasmBackend {
  checkTfjsVersion();
  const b = backend as Record<string, unknown>;
  const wasm = b?.wasm as Record<string, unknown> | undefined;
  const lacks = [
    ...missing(b, { wasm: 'object', dataIdMap: 'object', makeOutput: 'function' }, ''),
    ...missing(b?.dataIdMap, { get: 'function', delete: 'function' }, 'dataIdMap.'),
    ...missing(wasm, { HEAPU8: 'object', tfjs: 'object' }, 'wasm.'),
    ...missing(wasm?.tfjs, { disposeData: 'function' }, 'wasm.tfjs.'),
  ];
  if (lacks.length > 0) throw changed('the wasm backend', lacks);
}

/** The byte address of a tensor's first element in the wasm memory. */
export function memoryOffset(backend: WasmBackend, info: TensorInfo): number {
  return backend.dataIdMap.get(info.dataId).memoryOffset;
}

/** The wasm memory as bytes (valid until the next allocation: growth replaces the buffer). */
export function heapU8(backend: WasmBackend): Uint8Array {
  return backend.wasm.HEAPU8;
}

/** Forgets a tensor's entry without freeing the memory it names (a view made by makeOutput). */
export function forgetData(backend: WasmBackend, info: TensorInfo): void {
  const data = backend.dataIdMap.get(info.dataId);
  backend.wasm.tfjs.disposeData(data.id);
  backend.dataIdMap.delete(info.dataId);
}

/**
 * The backend's memory where generated kernels can run on it: a plain (non-shared)
 * WebAssembly.Memory exported as `wasm.asm.memory`, as in tfjs-backend-wasm 4.x's
 * single-threaded builds; else undefined.
 */
export function wasmMemory(backend: WasmBackend): WebAssembly.Memory | undefined {
  const memory = (backend.wasm as { asm?: { memory?: unknown } }).asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return undefined;
  if (typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer) {
    return undefined;
  }
  return memory;
}

/**
 * The WebGL context of tfjs's webgl backend (`gpgpu.gl`), if `backend` is one; undefined
 * otherwise, and where the field moved (the page then cannot notice a lost context early).
 */
export function webglContext(backend: object): WebGLRenderingContext | undefined {
  const gl = (backend as { gpgpu?: { gl?: unknown } }).gpgpu?.gl;
  return typeof gl === 'object' && gl !== null ? (gl as WebGLRenderingContext) : undefined;
}

/** The private fields of tfjs-layers' `BatchNormalization` that training reads (normalization.ts). */
export interface BatchNormFields {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: { read(): tf.Tensor } | null;
  beta: { read(): tf.Tensor } | null;
  movingMean: { read(): tf.Tensor; write(t: tf.Tensor): void };
  movingVariance: { read(): tf.Tensor; write(t: tf.Tensor): void };
  /** False for a frozen layer (`--freeze`): it normalises with its moving statistics. */
  readonly trainable: boolean;
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
}

/**
 * The fields of a built tfjs-layers `BatchNormalization` layer, checked; throws one line when
 * a tfjs upgrade renamed them. `layer.call` may be replaced through the result (it is the
 * layer itself).
 */
export function batchNormFields(layer: object): BatchNormFields {
  const lacks = missing(
    layer,
    {
      axis: 'number',
      momentum: 'number',
      epsilon: 'number',
      center: 'boolean',
      scale: 'boolean',
      movingMean: 'object',
      movingVariance: 'object',
      call: 'function',
    },
    '',
  );
  if (lacks.length > 0) throw changed('a BatchNormalization layer of tfjs-layers', lacks);
  return layer as BatchNormFields;
}
