/**
 * Plots as SVG text, without a browser: a Vega-Lite specification is compiled to Vega
 * (`vega-lite`'s `compile`) and rendered by a headless Vega view (`View.toSVG()`; renderer
 * 'none', so neither a canvas nor a DOM is needed). The SVG is self-contained: inline data,
 * no fonts or images to load. Its element ids (clip paths, gradients) are prefixed with the
 * plot's id so that several SVGs can share one HTML page.
 *
 * Warnings of Vega-Lite and Vega (an empty scale, an unknown field) go to `onWarning`; nothing
 * is printed. Pure JavaScript (Vega runs in Node and in browsers).
 */
import type { LoggerInterface } from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import { UserError } from '../errors.js';

export type { TopLevelSpec };

interface Plotting {
  vega: typeof import('vega');
  vegaLite: typeof import('vega-lite');
}

let plotting: Promise<Plotting> | undefined;

/**
 * Vega and Vega-Lite, imported on first use: they take a few hundred milliseconds to load,
 * which every command of the CLI would otherwise pay at start-up.
 */
function loadPlotting(): Promise<Plotting> {
  plotting ??= Promise.all([import('vega'), import('vega-lite')]).then(([vega, vegaLite]) => ({
    vega,
    vegaLite,
  }));
  return plotting;
}

/** The versions of Vega and Vega-Lite that render the plots (for a page's footer). */
export async function plottingVersions(): Promise<{ vega: string; vegaLite: string }> {
  const { vega, vegaLite } = await loadPlotting();
  return { vega: vega.version, vegaLite: vegaLite.version };
}

/** Options of `renderVegaLite`. */
export interface RenderOptions {
  /**
   * A prefix for the SVG's element ids, unique within the page: letters, digits, '-' and '_'.
   * Required.
   */
  id: string;
  /** Receives each warning of the compiler and the renderer. Default: none (dropped). */
  onWarning?: (message: string) => void;
}

/** Prefixes every `id="..."` of an SVG and every reference to it (`url(#...)`, `href="#..."`). */
export function scopeSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_, id: string) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${prefix}-${id})`)
    .replace(/href="#([^"]+)"/g, (_, id: string) => `href="#${prefix}-${id}"`);
}

function warningLogger(
  vega: Plotting['vega'],
  onWarning: ((m: string) => void) | undefined,
): LoggerInterface {
  const handler = (_method: string, _level: string, input: readonly unknown[]): void => {
    onWarning?.(input.map(String).join(' '));
  };
  return vega.logger(vega.Warn, undefined, handler) as LoggerInterface;
}

/** Compiles a Vega-Lite specification and renders it to an SVG string (see the module doc). */
export async function renderVegaLite(spec: TopLevelSpec, options: RenderOptions): Promise<string> {
  if (!/^[A-Za-z][\w-]*$/.test(options.id)) {
    throw new UserError(
      `a plot's id must start with a letter and hold letters, digits, '-' and '_', got '${options.id}'`,
    );
  }
  const { vega, vegaLite } = await loadPlotting();
  const log = warningLogger(vega, options.onWarning);
  const compiled = vegaLite.compile(spec, { logger: log }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logger: log });
  try {
    const svg = await view.toSVG();
    return scopeSvgIds(svg, options.id);
  } finally {
    view.finalize();
  }
}
