/**
 * The text of the page's Diagnostics panel, for a bug report: the engine, the GPU, the model
 * and its recipe, the browser, and the recent images (timings, fallbacks, the last error).
 * Pure: what it needs of the browser comes in a `PageEnvironment`.
 */
import type { AppState } from './state.js';

/** What the diagnostics report of the browser itself. */
export interface PageEnvironment {
  crossOriginIsolated: boolean;
  /** `navigator.hardwareConcurrency`. */
  cores: number;
  userAgent: string;
  /** Chromium's `performance.memory`, where the browser reports it. */
  memory?: { usedJSHeapSize: number; jsHeapSizeLimit: number };
}

/** The diagnostics, one fact a line. */
export function diagnosticsText(state: AppState, env: PageEnvironment): string {
  const s = state.pipeline?.model;
  const m = s?.metadata;
  const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);
  const lastError = state.failures.at(-1);
  const lines = [
    `engine: ${s?.engineLabel ?? 'not started'}`,
    `threads: ${s?.threads ?? '-'} (cross-origin isolated: ${String(env.crossOriginIsolated)}, cores: ${env.cores})`,
    `WebGL renderer: ${s?.gpu.webglRenderer ?? 'none'}`,
    `WebGPU adapter: ${s?.gpu.webgpuAdapter ?? 'none'}${s?.gpu.webgpuFallback ? ' (fallback/software)' : ''}`,
    `model: ${m ? `${m.model} from ${s!.source}` : '-'}${s?.hash ? ` (${s.hash.slice(0, 12)})` : ''}`,
    `input: ${m ? m.predict.inputShape.join('x') : '-'}, interpolation ${m?.predict.interpolation ?? '-'}, threshold ${m?.predict.threshold ?? '-'}`,
    `weights: ${m?.quantization ?? '-'}; producer: ${m?.producer ?? '-'}${s && !s.exported ? ' (no export metadata: defaults used)' : ''}`,
    ...(m?.training ? [`training: ${JSON.stringify(m.training)}`] : []),
    `browser memory: ${env.memory ? `${mib(env.memory.usedJSHeapSize)} MiB used of ${mib(env.memory.jsHeapSizeLimit)} MiB` : 'not reported by this browser'}`,
    `user agent: ${env.userAgent}`,
    `images: ${state.images.length} in the work, ${state.queue.length} waiting, ${state.failures.length} not processed`,
    ...(state.fallbacks.length
      ? [
          'fallbacks:',
          ...state.fallbacks.map((f) => `  ${f.failed} failed (${f.reason}); now ${f.next}`),
        ]
      : []),
    ...(lastError ? [`last error: ${lastError.name}: ${lastError.message}`] : []),
    ...(state.timings.length
      ? [
          'timings:',
          ...state.timings.map(
            (t) =>
              `  ${t.name}: ${t.width}x${t.height}, decode ${t.decodeMs.toFixed(0)} ms, ` +
              `network ${t.networkMs.toFixed(0)} ms, mask ${t.postMs.toFixed(0)} ms, ` +
              `total ${t.totalMs.toFixed(0)} ms (${t.engine})`,
          ),
        ]
      : []),
  ];
  return lines.join('\n');
}
