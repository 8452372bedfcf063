/**
 * The page's options in its address: `?backend=auto|webgpu|webgl|wasm|cpu`,
 * `&engine=auto|tfjs|onnxruntime`, `&threads=N`. An unknown value is replaced by `auto` with a
 * notice for the reader. Pure.
 */
import {
  BROWSER_BACKEND_CHOICES,
  BROWSER_ENGINE_CHOICES,
  type BrowserBackendChoice,
  type BrowserEngineChoice,
} from '../browser/engine_choice.js';

/** The engine options the address asks for. */
export interface PageOptions {
  backend: BrowserBackendChoice;
  engine: BrowserEngineChoice;
  /** Wasm threads, when the address gives a number from 1. */
  threads?: number;
}

/** The options of `search` (`location.search`), and a notice for each value not known. */
export function pageOptions(search: string): { options: PageOptions; notices: string[] } {
  const q = new URLSearchParams(search);
  const backend = (q.get('backend') ?? 'auto') as BrowserBackendChoice;
  const engine = (q.get('engine') ?? 'auto') as BrowserEngineChoice;
  const threads = q.get('threads');
  const notices: string[] = [];
  if (!BROWSER_BACKEND_CHOICES.includes(backend)) {
    notices.push(`Unknown backend '${backend}' in the address; using auto.`);
  }
  if (!BROWSER_ENGINE_CHOICES.includes(engine)) {
    notices.push(`Unknown engine '${engine}' in the address; using auto.`);
  }
  return {
    options: {
      backend: BROWSER_BACKEND_CHOICES.includes(backend) ? backend : 'auto',
      engine: BROWSER_ENGINE_CHOICES.includes(engine) ? engine : 'auto',
      ...(threads !== null && Number(threads) >= 1 ? { threads: Math.floor(Number(threads)) } : {}),
    },
    notices,
  };
}
