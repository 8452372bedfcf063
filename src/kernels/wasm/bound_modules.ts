/**
 * Generated WebAssembly modules compiled once and bound to the wasm backend's memory once per
 * memory: the one cache behind `simdKernels` and `winogradKernels`.
 *
 * A module that cannot run here is not the same as a module that is wrong. `compileGenerated`
 * answers null only when the engine lacks what the module needs (SIMD, or relaxed SIMD: tiny
 * probe modules say which) or refuses to compile WebAssembly (a content security policy); the
 * callers then use their other paths. A generated module that fails validation where the
 * engine has its features is a bug of the generator and throws `GeneratedModuleError`, so that
 * a test sees it instead of a silent fall back to the slower path. No Node-only API.
 */
import { wasmMemory, type WasmBackend } from '../tfjs_internals.js';
import { body, ins, moduleOf } from './wasm_writer.js';

/** What a generated module needs of the engine. */
export type WasmFeature = 'simd' | 'relaxed-simd';

/** A generated module failed validation on an engine that has the features it needs. */
export class GeneratedModuleError extends Error {
  override name = 'GeneratedModuleError';
}

const DROP = [0x1a];

/** Modules that validate exactly where the engine has the feature. */
const PROBES: Record<WasmFeature, () => Uint8Array<ArrayBuffer>> = {
  simd: () => moduleOf([{ name: 'f', params: 0, body: body(0, 0, [...ins.vzero, ...DROP]) }]),
  'relaxed-simd': () =>
    moduleOf([
      {
        name: 'f',
        params: 0,
        body: body(0, 0, [...ins.vzero, ...ins.vzero, ...ins.vzero, ...ins.fmadd, ...DROP]),
      },
    ]),
};

const supported = new Map<WasmFeature, boolean>();

/** Whether this engine validates modules that use `feature`. */
export function hasFeature(feature: WasmFeature): boolean {
  let has = supported.get(feature);
  if (has === undefined) {
    has = WebAssembly.validate(PROBES[feature]());
    supported.set(feature, has);
  }
  return has;
}

/** Why `bytes` does not validate where the engine has `feature` (the engine's own words). */
function invalid(what: string, bytes: Uint8Array<ArrayBuffer>): GeneratedModuleError {
  let why = 'it does not validate';
  try {
    new WebAssembly.Module(bytes);
  } catch (err) {
    why = err instanceof Error ? err.message : String(err);
  }
  return new GeneratedModuleError(`the generated wasm module ${what} is invalid: ${why}`);
}

/** Whether `bytes` validate: false where the engine lacks `feature`, an error where it has it. */
function validated(bytes: Uint8Array<ArrayBuffer>, feature: WasmFeature, what: string): boolean {
  if (WebAssembly.validate(bytes)) return true;
  if (hasFeature(feature)) throw invalid(what, bytes);
  return false;
}

/**
 * The compiled module; null where the engine lacks `feature` or refuses to compile; throws
 * `GeneratedModuleError` where the module itself is wrong.
 */
export function compileGenerated(
  bytes: Uint8Array<ArrayBuffer>,
  feature: WasmFeature,
  what: string,
): WebAssembly.Module | null {
  if (!validated(bytes, feature, what)) return null;
  try {
    return new WebAssembly.Module(bytes);
  } catch {
    return null; // a policy forbids compiling WebAssembly here
  }
}

/**
 * As `compileGenerated`, asynchronously: browsers refuse to compile modules over 4 KB
 * synchronously on their main thread, so `prepareWasmKernels` (register.ts) compiles every
 * module this way once at start, and the synchronous one is only the fallback.
 */
export async function compileGeneratedAsync(
  bytes: Uint8Array<ArrayBuffer>,
  feature: WasmFeature,
  what: string,
): Promise<WebAssembly.Module | null> {
  if (!validated(bytes, feature, what)) return null;
  try {
    return await WebAssembly.compile(bytes);
  } catch {
    return null;
  }
}

/** How to make and bind the module of each key. */
export interface BoundModuleSpec<K, T> {
  /** The module's bytes (it imports `env.memory`). */
  bytes(key: K): Uint8Array<ArrayBuffer>;
  /** What it needs of the engine. */
  feature(key: K): WasmFeature;
  /** Its name in errors. */
  what(key: K): string;
  /** The typed kernels from an instance's exports. */
  bind(exports: WebAssembly.Exports, key: K): T;
}

/** Modules per key, compiled once, bound once per memory. */
export interface BoundModules<K, T> {
  /** Compiles the modules of `keys` ahead of their first use, asynchronously. */
  prepare(keys: readonly K[]): Promise<void>;
  /**
   * The kernels of `key` bound to `backend`'s memory, or undefined where they cannot run
   * (the engine lacks the feature, or the memory is shared or unreachable).
   */
  get(backend: WasmBackend, key: K): T | undefined;
}

/** The cache of `spec`'s modules (see the file comment). */
export function boundModules<K, T>(spec: BoundModuleSpec<K, T>): BoundModules<K, T> {
  const compiled = new Map<K, WebAssembly.Module | null>();
  const instances = new Map<K, WeakMap<WebAssembly.Memory, T>>();
  return {
    async prepare(keys) {
      for (const key of keys) {
        if (compiled.has(key)) continue;
        const module = await compileGeneratedAsync(
          spec.bytes(key),
          spec.feature(key),
          spec.what(key),
        );
        compiled.set(key, module);
      }
    },
    get(backend, key) {
      const memory = wasmMemory(backend);
      if (memory === undefined) return undefined;
      let module = compiled.get(key);
      if (module === undefined) {
        module = compileGenerated(spec.bytes(key), spec.feature(key), spec.what(key));
        compiled.set(key, module);
      }
      if (module === null) return undefined;
      let bound = instances.get(key);
      if (bound === undefined) {
        bound = new WeakMap();
        instances.set(key, bound);
      }
      let kernels = bound.get(memory);
      if (kernels === undefined) {
        const { exports } = new WebAssembly.Instance(module, { env: { memory } });
        kernels = spec.bind(exports, key);
        bound.set(memory, kernels);
      }
      return kernels;
    },
  };
}
