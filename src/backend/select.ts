/**
 * Picks and starts the TensorFlow.js backend.
 *
 * - `wasm` (default where `@tensorflow/tfjs-node` is absent): XNNPACK with SIMD, one thread,
 *   shipped inside the npm package. The project registers its own convolution gradient kernels
 *   for it (see `src/kernels/wasm`), without which it cannot train.
 * - `cpu`: plain JavaScript, slow, the numerical reference of the tests.
 * - `tensorflow`: libtensorflow through `@tensorflow/tfjs-node` or `@tensorflow/tfjs-node-gpu`,
 *   used only when the user installed one of them (their install downloads a binary from
 *   outside the npm registry, so they are never dependencies of this package).
 *
 * `auto` picks `tensorflow` when one of those packages loads, else `wasm`.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
// tfjs-core registers no gradients by itself; the tfjs-layers bundle registers all of them.
import '@tensorflow/tfjs-layers';
import { BackendError } from '../errors.js';
import { registerGradients } from '../kernels/gradients/fused_batch_norm.js';
import {
  CONV_ALGORITHMS,
  resolveNumerics,
  setBackendNumerics,
  type Numerics,
  type NumericsOptions,
} from '../kernels/numerics.js';
import { checkEngineInternals, checkWasmInternals } from '../kernels/tfjs_internals.js';
import { prepareWasmKernels, registerWasmKernels } from '../kernels/wasm/register.js';

export type BackendName = 'wasm' | 'cpu' | 'tensorflow';
export type BackendChoice = BackendName | 'auto';

export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'wasm', 'cpu', 'tensorflow'];

/** The environment variable read when no backend is passed explicitly. */
export const BACKEND_ENV_VAR = 'FTUNET_BACKEND';

/**
 * The environment variable that overrides the `convAlgorithm` of the numerics a backend starts
 * with (`auto`, `direct`, `winograd` or `winograd4`; see src/kernels/numerics.ts), so that a
 * benchmark compares them with `FTUNET_CONV_ALGORITHM=direct`. What ran is recorded.
 */
export const CONV_ALGORITHM_ENV_VAR = 'FTUNET_CONV_ALGORITHM';

/** The optional native packages, in order of preference. */
const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

export interface BackendOptions {
  /** Which backend to use. Default: the `FTUNET_BACKEND` environment variable, else `'auto'`. */
  backend?: string;
  /** Called once with a line saying which backend runs. Default: nothing is reported. */
  report?: (line: string) => void;
  /**
   * The wasm backend's numerics (convolution algorithm, relaxed SIMD, filter-gradient path).
   * Default `DEFAULT_NUMERICS`; `FTUNET_CONV_ALGORITHM` overrides the algorithm.
   */
  numerics?: NumericsOptions;
}

export interface BackendInfo {
  name: BackendName;
  /** For `wasm`: whether the SIMD build runs. */
  simd?: boolean;
  /** For `tensorflow`: the package that provided it. */
  nativePackage?: string;
  /** The numerics it runs with (the wasm backend's kernels read them; the others ignore them). */
  numerics: Numerics;
}

/** Parses a backend name, throwing a `BackendError` that lists the allowed values. */
export function parseBackendChoice(value: string, source = '--backend'): BackendChoice {
  const v = value.trim().toLowerCase();
  if ((BACKEND_CHOICES as readonly string[]).includes(v)) return v as BackendChoice;
  throw new BackendError(
    `${source}: unknown backend '${value}'; expected one of ${BACKEND_CHOICES.join(', ')}`,
  );
}

let nativeProbe: Promise<string | undefined> | undefined;

/** Loads the first optional native package that is installed; resolves to its name. */
async function loadNativePackage(): Promise<string | undefined> {
  nativeProbe ??= (async () => {
    for (const name of NATIVE_PACKAGES) {
      try {
        await import(name);
        return name;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') {
          throw new BackendError(`${name} is installed but failed to load: ${String(err)}`);
        }
      }
    }
    return undefined;
  })();
  return nativeProbe;
}

/** Whether `@tensorflow/tfjs-node` or `-gpu` is installed and registered its backend here. */
export async function nativeBackendAvailable(): Promise<boolean> {
  return (await loadNativePackage()) !== undefined && tf.findBackend('tensorflow') !== null;
}

let current: BackendInfo | undefined;

/**
 * Starts the chosen backend (once per process; later calls with the same choice return the
 * same info) and reports it through `options.report`.
 */
export async function initBackend(options: BackendOptions = {}): Promise<BackendInfo> {
  const raw = options.backend ?? process.env[BACKEND_ENV_VAR] ?? 'auto';
  const source = options.backend !== undefined ? '--backend' : BACKEND_ENV_VAR;
  const choice = parseBackendChoice(raw, source);
  const numerics = numericsWithOverride(options.numerics);
  checkEngineInternals();
  registerGradients();
  let info: BackendInfo;
  switch (choice) {
    case 'auto':
      info = (await nativeBackendAvailable())
        ? await startNative(numerics)
        : await startWasm(numerics);
      break;
    case 'tensorflow':
      info = await startNative(numerics);
      break;
    case 'wasm':
      info = await startWasm(numerics);
      break;
    case 'cpu':
      info = await startCpu(numerics);
      break;
    default:
      throw new BackendError(`unknown backend '${String(choice)}'; expected ${BACKEND_CHOICES}`);
  }
  // Held by the backend for its kernels, and read back by what records them (run, summary).
  setBackendNumerics(tf.backend(), numerics);
  if (current?.name !== info.name) options.report?.(describeBackend(info));
  current = info;
  return info;
}

/** `options` checked, defaults filled, with `FTUNET_CONV_ALGORITHM` over the algorithm. */
export function numericsWithOverride(options: NumericsOptions = {}): Numerics {
  const numerics = resolveNumerics(options);
  const algorithm = process.env[CONV_ALGORITHM_ENV_VAR]?.trim().toLowerCase();
  if (algorithm === undefined || algorithm === '') return numerics;
  if (!(CONV_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new BackendError(
      `${CONV_ALGORITHM_ENV_VAR}: unknown algorithm '${algorithm}'; expected one of ` +
        CONV_ALGORITHMS.join(', '),
    );
  }
  return { ...numerics, convAlgorithm: algorithm as Numerics['convAlgorithm'] };
}

/** One line naming the backend, for stderr. */
export function describeBackend(info: BackendInfo): string {
  switch (info.name) {
    case 'wasm':
      return `backend: wasm (${info.simd ? 'SIMD' : 'no SIMD'}, 1 thread)`;
    case 'cpu':
      return 'backend: cpu (plain JavaScript, slow)';
    case 'tensorflow':
      return `backend: tensorflow (${info.nativePackage ?? 'native'})`;
    default:
      throw new BackendError(`unknown backend '${String(info.name)}'`);
  }
}

async function startWasm(numerics: Numerics): Promise<BackendInfo> {
  registerWasmKernels();
  await prepareWasmKernels();
  await setBackendOrThrow('wasm');
  checkWasmInternals(tf.backend());
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return { name: 'wasm', simd: Boolean(simd), numerics };
}

async function startCpu(numerics: Numerics): Promise<BackendInfo> {
  // The cpu backend prints an "install tfjs-node" banner through tfjs's warn(), which is
  // silent in production mode; production mode only skips debug-time checks.
  tf.env().set('PROD', true);
  await setBackendOrThrow('cpu');
  return { name: 'cpu', numerics };
}

async function startNative(numerics: Numerics): Promise<BackendInfo> {
  const pkg = await loadNativePackage();
  if (pkg === undefined) {
    throw new BackendError(
      "backend 'tensorflow' needs @tensorflow/tfjs-node (or -gpu): run " +
        '`npm install @tensorflow/tfjs-node@4.22.0`, or choose --backend wasm',
    );
  }
  if (tf.findBackend('tensorflow') === null) {
    throw new BackendError(
      `${pkg} loaded but registered no 'tensorflow' backend with this copy of ` +
        `@tensorflow/tfjs-core ${tf.version_core}: install the same version (4.22.0)`,
    );
  }
  await setBackendOrThrow('tensorflow');
  return { name: 'tensorflow', nativePackage: pkg, numerics };
}

async function setBackendOrThrow(name: BackendName): Promise<void> {
  let ok = false;
  try {
    ok = await tf.setBackend(name);
  } catch (err) {
    throw new BackendError(`backend '${name}' failed to start: ${String(err)}`);
  }
  if (!ok) throw new BackendError(`backend '${name}' failed to start`);
  await tf.ready();
}
