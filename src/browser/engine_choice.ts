/**
 * Which engine runs the network in a browser, decided from the person's choice and what the
 * GPU is (see `engineCandidates`). Pure: no browser API, so it is tested in Node.
 */
import { UserError } from '../errors.js';

/** A backend of TensorFlow.js in the browser. */
export type BrowserBackend = 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export const BROWSER_BACKENDS: readonly BrowserBackend[] = ['webgpu', 'webgl', 'wasm', 'cpu'];
/** A backend choice: one of them, or the fastest that works. */
export type BrowserBackendChoice = BrowserBackend | 'auto';
export const BROWSER_BACKEND_CHOICES: readonly BrowserBackendChoice[] = [
  'auto',
  ...BROWSER_BACKENDS,
];

/** Which library runs the network. */
export type BrowserEngineName = 'tfjs' | 'onnxruntime';
export type BrowserEngineChoice = BrowserEngineName | 'auto';
export const BROWSER_ENGINE_CHOICES: readonly BrowserEngineChoice[] = [
  'auto',
  'tfjs',
  'onnxruntime',
];

/** One way to run the network: onnxruntime-web runs on wasm only. */
export interface EngineSpec {
  engine: BrowserEngineName;
  backend: BrowserBackend;
}

/** 'tfjs-webgl', 'onnxruntime-wasm'. */
export const specLabel = (s: EngineSpec): string => `${s.engine}-${s.backend}`;

/** Renderer names of software rasterisers, which make a GPU backend slower than the CPU. */
export const SOFTWARE_GPU = /swiftshader|llvmpipe|softpipe|software|basic render/i;

/** What this browser's GPU is, as WebGL and WebGPU report it. */
export interface GpuInfo {
  /** WebGL's unmasked renderer, or undefined without WebGL. */
  webglRenderer?: string;
  /** WebGPU's adapter (vendor, architecture, description), or undefined without one. */
  webgpuAdapter?: string;
  /** Whether WebGPU's adapter is a fallback (software) adapter. */
  webgpuFallback?: boolean;
}

/**
 * The engines to try, best first, for a choice of backend and engine on this browser's GPU.
 * Throws a `UserError` for a combination that cannot run (onnxruntime on a GPU backend).
 */
export function engineCandidates(
  backend: BrowserBackendChoice,
  engine: BrowserEngineChoice,
  gpu: GpuInfo,
): EngineSpec[] {
  if (!BROWSER_BACKEND_CHOICES.includes(backend)) {
    throw new UserError(
      `backend must be one of ${BROWSER_BACKEND_CHOICES.join(', ')}, got '${String(backend)}'`,
    );
  }
  if (!BROWSER_ENGINE_CHOICES.includes(engine)) {
    throw new UserError(
      `engine must be one of ${BROWSER_ENGINE_CHOICES.join(', ')}, got '${String(engine)}'`,
    );
  }
  if (engine === 'onnxruntime' && backend !== 'auto' && backend !== 'wasm') {
    throw new UserError(
      `engine 'onnxruntime' runs on the wasm backend only, not on '${backend}' (use engine tfjs)`,
    );
  }
  const hardwareWebgpu = hasHardwareWebgpu(gpu);
  const hardwareWebgl = gpu.webglRenderer !== undefined && !SOFTWARE_GPU.test(gpu.webglRenderer);
  const all: EngineSpec[] = [
    ...(hardwareWebgpu ? [{ engine: 'tfjs', backend: 'webgpu' } as const] : []),
    ...(hardwareWebgl ? [{ engine: 'tfjs', backend: 'webgl' } as const] : []),
    { engine: 'onnxruntime', backend: 'wasm' },
    { engine: 'tfjs', backend: 'wasm' },
    { engine: 'tfjs', backend: 'cpu' },
  ];
  let first: EngineSpec[];
  if (backend === 'auto') {
    first = engine === 'auto' ? [] : all.filter((s) => s.engine === engine).slice(0, 1);
  } else if (engine === 'onnxruntime' || (engine === 'auto' && backend === 'wasm')) {
    first = [{ engine: 'onnxruntime', backend: 'wasm' }];
  } else {
    first = [{ engine: 'tfjs', backend }];
  }
  const same = (a: EngineSpec, b: EngineSpec) => a.engine === b.engine && a.backend === b.backend;
  return [...first, ...all.filter((s) => !first.some((f) => same(f, s)))];
}

/** A backend that trains in a page: WebGL's lacks what training needs here. */
export type TrainingBackend = 'webgpu' | 'wasm' | 'cpu';
export type TrainingBackendChoice = TrainingBackend | 'auto';
export const TRAINING_BACKEND_CHOICES: readonly TrainingBackendChoice[] = [
  'auto',
  'webgpu',
  'wasm',
  'cpu',
];

/** Whether `gpu` has a hardware WebGPU adapter (not a software one such as SwiftShader). */
export function hasHardwareWebgpu(gpu: GpuInfo): boolean {
  return (
    gpu.webgpuAdapter !== undefined &&
    gpu.webgpuFallback === false &&
    !SOFTWARE_GPU.test(gpu.webgpuAdapter)
  );
}

/**
 * The backend fine-tuning runs on: the one asked for, or for 'auto' WebGPU on a hardware
 * adapter and wasm (the project's kernels, one thread per core) everywhere else.
 */
export function trainingBackend(choice: TrainingBackendChoice, gpu: GpuInfo): TrainingBackend {
  switch (choice) {
    case 'auto':
      return hasHardwareWebgpu(gpu) ? 'webgpu' : 'wasm';
    case 'webgpu':
    case 'wasm':
    case 'cpu':
      return choice;
    default:
      throw new UserError(
        `backend must be one of ${TRAINING_BACKEND_CHOICES.join(', ')}, got '${String(choice)}'`,
      );
  }
}
