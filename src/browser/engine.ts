/**
 * What runs the network in a browser: TensorFlow.js on one of its backends (WebGPU, WebGL,
 * wasm with XNNPACK, plain JavaScript), or onnxruntime-web's wasm provider on the model
 * converted to ONNX in the page (`toOnnx`: with its threads, the in-browser bench measured it
 * 1.7x faster than tfjs-wasm on a CPU, see the README). Each engine returns the `final` probabilities and, when
 * asked, each attention gate's map in one run. Browser-only.
 *
 * Which engines are tried, in which order, is decided in engine_choice.ts (`engineCandidates`):
 * 'auto' tries TensorFlow.js on WebGPU, then on WebGL, only on
 * a hardware GPU (a software rasteriser such as SwiftShader is far slower than the CPU), then
 * onnxruntime-web on wasm, then tfjs on wasm, then tfjs on the cpu backend. A forced backend
 * or engine goes first, and the others stay behind it as fallbacks.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type * as tfl from '@tensorflow/tfjs-layers';
import type * as ort from 'onnxruntime-web/wasm';
import {
  SOFTWARE_GPU,
  type BrowserBackend,
  type EngineSpec,
  type GpuInfo,
} from './engine_choice.js';
import { finalOutputModel } from '../eval/evaluate.js';
import { webglContext } from '../kernels/tfjs_internals.js';
import { attentionGateNames, withAttentionMaps } from '../models/build.js';

/**
 * Loads the code of a backend of TensorFlow.js (which registers it) the first time it is
 * asked for: a page (or its worker) loads only the engine it runs. The cpu backend is always
 * there (models load onto it).
 */
async function loadTfjsBackend(backend: BrowserBackend): Promise<void> {
  switch (backend) {
    case 'webgpu':
      await import('@tensorflow/tfjs-backend-webgpu');
      return;
    case 'webgl':
      await import('@tensorflow/tfjs-backend-webgl');
      return;
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      return;
    case 'cpu':
      return;
    default:
      throw new Error(`unknown backend '${String(backend)}' (webgpu, webgl, wasm, cpu)`);
  }
}

/** One gate's attention coefficients at the gate's resolution. */
export interface GateMap {
  gate: string;
  data: Float32Array;
  height: number;
  width: number;
}

/** What one run gives. */
export interface EngineOutput {
  /** The `final` probabilities of the one image, row-major, at the input size. */
  final: Float32Array;
  /** Each gate's map, deepest first (empty without attention). */
  attention: GateMap[];
}

/** A network ready to run on one engine. */
export interface BrowserEngine {
  readonly spec: EngineSpec;
  /** Threads the engine computes with (1 for GPU backends and the cpu backend). */
  readonly threads: number;
  /** Runs one image (NHWC float32 in [0, 1], [1, rows, cols, channels]). */
  run(x: Float32Array, shape: [number, number, number, number]): Promise<EngineOutput>;
  dispose(): Promise<void>;
}

/** Where the wasm binaries are, and how many threads to ask for. */
export interface EngineEnvironment {
  /**
   * The URL of the folder holding the wasm binaries of tfjs-backend-wasm
   * (`tfjs-backend-wasm*.wasm`) and onnxruntime-web (`ort-wasm-simd-threaded.{mjs,wasm}`),
   * ending in '/'. `ftunet app` puts them in its `wasm/` folder.
   */
  wasmPath: string;
  /**
   * Threads for wasm. Default: one per core (`navigator.hardwareConcurrency`) when the page is
   * cross-origin isolated (threads need SharedArrayBuffer), else 1.
   */
  threads?: number;
}

/** The threads wasm gets in this page by default (see `EngineEnvironment.threads`). */
export function defaultWasmThreads(): number {
  const isolated = typeof crossOriginIsolated !== 'undefined' && crossOriginIsolated;
  return isolated ? Math.max(1, navigator.hardwareConcurrency || 1) : 1;
}

/** Asks WebGL and WebGPU what they run on. Never throws. */
export async function probeGpu(): Promise<GpuInfo> {
  const info: GpuInfo = {};
  try {
    const canvas = new OffscreenCanvas(1, 1);
    const gl = canvas.getContext('webgl2') ?? canvas.getContext('webgl');
    if (gl) {
      const ext = gl.getExtension('WEBGL_debug_renderer_info');
      info.webglRenderer = String(
        gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? '',
      );
      gl.getExtension('WEBGL_lose_context')?.loseContext();
    }
  } catch {
    // no WebGL
  }
  try {
    const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
    const adapter = gpu ? await gpu.requestAdapter() : null;
    if (adapter) {
      const a = adapter as GPUAdapter & {
        isFallbackAdapter?: boolean;
        info?: { vendor?: string; architecture?: string; description?: string };
      };
      const i = a.info ?? {};
      info.webgpuAdapter =
        [i.vendor, i.architecture, i.description].filter(Boolean).join(' ') || 'unknown';
      info.webgpuFallback = a.isFallbackAdapter === true || SOFTWARE_GPU.test(info.webgpuAdapter);
    }
  } catch {
    // no WebGPU
  }
  return info;
}

/** Starts an engine for `model` (which the engine shares, not owns). */
export async function startEngine(
  spec: EngineSpec,
  model: tfl.LayersModel,
  options: EngineEnvironment & { attention: boolean },
): Promise<BrowserEngine> {
  const net =
    options.attention && attentionGateNames(model).length > 0
      ? withAttentionMaps(model)
      : finalOutputModel(model);
  const gates = net.outputs.length > 1 ? attentionGateNames(model) : [];
  const threads = options.threads ?? defaultWasmThreads();
  return spec.engine === 'onnxruntime'
    ? OrtEngine.start(net, gates, options.wasmPath, threads)
    : TfjsEngine.start(spec.backend, net, gates, options.wasmPath, threads);
}

/** Outputs [final, gate maps...] of one image into `EngineOutput`. */
function collect(values: Float32Array[], shapes: number[][], gates: string[]): EngineOutput {
  return {
    final: values[0],
    attention: gates.map((gate, k) => ({
      gate,
      data: values[k + 1],
      height: shapes[k + 1][1],
      width: shapes[k + 1][2],
    })),
  };
}

/** Whether `tfjs-backend-wasm` was already set up in this page (it can be only once). */
let wasmConfigured: number | undefined;
/** tfjs-backend-wasm's thread count, once it is loaded. */
let wasmThreads: (() => number) | undefined;

class TfjsEngine implements BrowserEngine {
  private lost = false;
  /** Rejects the prediction under way when the WebGL context is lost. */
  private onLost: (() => void) | undefined;

  private constructor(
    readonly spec: EngineSpec,
    readonly threads: number,
    private readonly net: tfl.LayersModel,
    private readonly gates: string[],
    canvas: HTMLCanvasElement | OffscreenCanvas | undefined,
  ) {
    canvas?.addEventListener('webglcontextlost', () => {
      this.lost = true;
      this.onLost?.();
    });
  }

  static async start(
    backend: BrowserBackend,
    net: tfl.LayersModel,
    gates: string[],
    wasmPath: string,
    threads: number,
  ): Promise<TfjsEngine> {
    const used = await startTfjsBackend(backend, wasmPath, threads);
    const gl = backend === 'webgl' ? webglContext(tf.backend()) : undefined;
    const engine = new TfjsEngine({ engine: 'tfjs', backend }, used, net, gates, gl?.canvas);
    return engine;
  }

  async run(x: Float32Array, shape: [number, number, number, number]): Promise<EngineOutput> {
    const gl = this.spec.backend === 'webgl' ? webglContext(tf.backend()) : undefined;
    if (this.lost || gl?.isContextLost()) {
      this.lost = true;
      throw new Error('the WebGL context was lost');
    }
    const outputs = tf.tidy(() => {
      const out = this.net.predict(tf.tensor4d(x, shape, 'float32'));
      return Array.isArray(out) ? out : [out];
    });
    // A read from a lost context may never finish: the context's loss ends the wait.
    const lost = new Promise<never>((_, reject) => {
      this.onLost = () => reject(new Error('the WebGL context was lost during the prediction'));
    });
    try {
      const values = (await Promise.race([
        Promise.all(outputs.map((t) => t.data())),
        lost,
      ])) as Float32Array[];
      // A lost WebGL context may also read back zeros without an error: check it afterwards.
      if (this.lost || gl?.isContextLost()) {
        this.lost = true;
        throw new Error('the WebGL context was lost during the prediction');
      }
      return collect(
        values,
        outputs.map((t) => t.shape),
        this.gates,
      );
    } finally {
      this.onLost = undefined;
      if (!this.lost) tf.dispose(outputs);
    }
  }

  async dispose(): Promise<void> {
    // The model's weights belong to the caller; nothing else is held.
  }
}

/**
 * Makes `backend` TensorFlow.js's backend in this page (or worker): its code loaded, and for
 * wasm (once per page) the binaries' folder, `threads` threads and the project's kernels.
 * Resolves to the threads it computes with (1 but for wasm); throws when it cannot start.
 */
export async function startTfjsBackend(
  backend: BrowserBackend,
  wasmPath: string,
  threads: number,
): Promise<number> {
  await loadTfjsBackend(backend);
  if (backend === 'wasm' && wasmConfigured === undefined) {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const kernels = await import('../kernels/wasm/register.js');
    wasm.setWasmPaths(wasmPath);
    wasm.setThreadsCount(threads);
    // The project's kernels (Winograd convolutions and others, as in Node.js), compiled
    // asynchronously: a page's main thread may not compile them synchronously.
    kernels.registerWasmKernels();
    await kernels.prepareWasmKernels();
    wasmConfigured = threads;
    wasmThreads = wasm.getThreadsCount;
  }
  let ok: boolean;
  try {
    ok = await tf.setBackend(backend);
  } catch (err) {
    throw new Error(`TensorFlow.js could not start ${backend}: ${describe(err)}`);
  }
  if (!ok || tf.getBackend() !== backend) {
    throw new Error(`TensorFlow.js could not start the ${backend} backend in this browser`);
  }
  await tf.ready();
  return backend === 'wasm' ? safeThreads() : 1;
}

function safeThreads(): number {
  try {
    return wasmThreads?.() ?? 1;
  } catch {
    return 1;
  }
}

class OrtEngine implements BrowserEngine {
  readonly spec: EngineSpec = { engine: 'onnxruntime', backend: 'wasm' };

  private constructor(
    readonly threads: number,
    private readonly session: ort.InferenceSession,
    private readonly outputNames: string[],
    private readonly gates: string[],
    private readonly Tensor: typeof ort.Tensor,
  ) {}

  static async start(
    net: tfl.LayersModel,
    gates: string[],
    wasmPath: string,
    threads: number,
  ): Promise<OrtEngine> {
    const [ort, { toOnnx }] = await Promise.all([
      import('onnxruntime-web/wasm'),
      import('../export/onnx.js'),
    ]);
    const onnx = toOnnx(net, { outputs: 'all' });
    ort.env.wasm.wasmPaths = wasmPath;
    ort.env.wasm.numThreads = threads;
    ort.env.logLevel = 'error';
    const session = await ort.InferenceSession.create(onnx.bytes, {
      executionProviders: ['wasm'],
      graphOptimizationLevel: 'all',
    });
    return new OrtEngine(threads, session, onnx.outputs, gates, ort.Tensor);
  }

  async run(x: Float32Array, shape: [number, number, number, number]): Promise<EngineOutput> {
    const input = new this.Tensor('float32', x, shape);
    const out = await this.session.run({ [this.session.inputNames[0]]: input });
    try {
      // Copies: the probabilities are kept (re-thresholding), and a later run may reuse the
      // memory the outputs' data lie in.
      const values = this.outputNames.map((n) => (out[n].data as Float32Array).slice());
      const shapes = this.outputNames.map((n) => out[n].dims.map(Number));
      return collect(values, shapes, this.gates);
    } finally {
      input.dispose();
      for (const n of this.outputNames) out[n].dispose();
    }
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
