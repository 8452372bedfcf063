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
import { logger, parse, View, Warn, type LoggerInterface } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { UserError } from '../errors.js';

export type { TopLevelSpec };

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

function warningLogger(onWarning: ((m: string) => void) | undefined): LoggerInterface {
  return logger(Warn, undefined, (_method: string, _level: string, input: readonly unknown[]) => {
    onWarning?.(input.map(String).join(' '));
  }) as LoggerInterface;
}

/** Compiles a Vega-Lite specification and renders it to an SVG string (see the module doc). */
export async function renderVegaLite(spec: TopLevelSpec, options: RenderOptions): Promise<string> {
  if (!/^[A-Za-z][\w-]*$/.test(options.id)) {
    throw new UserError(
      `renderVegaLite: id must start with a letter and hold letters, digits, '-' and '_', got '${options.id}'`,
    );
  }
  const log = warningLogger(options.onWarning);
  const vega = compile(spec, { logger: log }).spec;
  const view = new View(parse(vega), { renderer: 'none', logger: log });
  try {
    const svg = await view.toSVG();
    return scopeSvgIds(svg, options.id);
  } finally {
    view.finalize();
  }
}
