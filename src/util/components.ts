/**
 * Connected components of binary masks, and the two post-processing steps built on them:
 * keeping the largest component (nnU-Net's main post-processing for images with one lesion)
 * and dropping components under a size. Components are 8-connected (a pixel touches the eight
 * around it), as nnU-Net's and scikit-image's defaults for 2-D masks. Labelling is one raster
 * scan with union-find, linear in the pixels.
 *
 * Pure JavaScript on typed arrays (no tensors, no Node-only API).
 */
import { UserError } from '../errors.js';
import type { BinaryMask } from './raster.js';

/** The components of a mask: a label per pixel (0 background, 1..count) and their sizes. */
export interface ComponentLabels {
  /** Row-major, one label per pixel; 0 is background, components are 1 to `count`. */
  labels: Int32Array;
  /** Number of components. */
  count: number;
  /** `sizes[k]`: the pixels of component k (index 0, background, unused: 0). */
  sizes: number[];
}

function find(parent: Int32Array, a: number): number {
  while (parent[a] !== a) {
    parent[a] = parent[parent[a]];
    a = parent[a];
  }
  return a;
}

function union(parent: Int32Array, a: number, b: number): void {
  const ra = find(parent, a);
  const rb = find(parent, b);
  if (ra < rb) parent[rb] = ra;
  else if (rb < ra) parent[ra] = rb;
}

/**
 * Labels the 8-connected components of `mask` (non-zero pixels), numbered in raster order of
 * their first pixel.
 */
export function labelComponents(mask: BinaryMask): ComponentLabels {
  const { data, height, width } = mask;
  if (data.length !== height * width) {
    throw new UserError(
      `a ${height}x${width} mask needs ${height * width} values, got ${data.length}`,
    );
  }
  const labels = new Int32Array(height * width);
  // Provisional labels; at most one per pixel, so the table never grows past that.
  const parent = new Int32Array(Math.floor((height * width) / 2) + 2);
  let next = 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!data[i]) continue;
      // The four neighbours already visited: left, upper-left, up, upper-right.
      let label = 0;
      const look = (j: number): void => {
        const l = labels[j];
        if (l === 0) return;
        if (label === 0) label = l;
        else if (l !== label) union(parent, label, l);
      };
      if (x > 0) look(i - 1);
      if (y > 0) {
        if (x > 0) look(i - width - 1);
        look(i - width);
        if (x < width - 1) look(i - width + 1);
      }
      if (label === 0) {
        if (next >= parent.length) throw new Error('labelComponents: label table overflow');
        label = next++;
        parent[label] = label;
      }
      labels[i] = label;
    }
  }
  // Resolve the provisional labels to consecutive final ones, in order of first appearance.
  const final = new Int32Array(next);
  let count = 0;
  const sizes = [0];
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l === 0) continue;
    const root = find(parent, l);
    if (final[root] === 0) {
      final[root] = ++count;
      sizes.push(0);
    }
    const f = final[root];
    labels[i] = f;
    sizes[f] += 1;
  }
  return { labels, count, sizes };
}

/** Post-processing of a predicted mask. */
export interface PostprocessOptions {
  /**
   * Keep only the largest 8-connected component (ties: the first in raster order). Default
   * false.
   */
  keepLargest?: boolean;
  /** Drop 8-connected components of fewer pixels than this. Default 0 (keep all). */
  minSize?: number;
}

/** Whether `options` changes anything. */
export function postprocessEnabled(options: PostprocessOptions | undefined): boolean {
  return options !== undefined && (options.keepLargest === true || (options.minSize ?? 0) > 0);
}

/** Throws unless `minSize` is a non-negative integer; `name` names the option or flag. */
export function checkMinSize(minSize: number, name = 'minSize'): void {
  if (!(Number.isInteger(minSize) && minSize >= 0)) {
    throw new UserError(`${name} must be an integer >= 0, got ${minSize}`);
  }
}

/** Parses `--min-size N` (pixels). */
export function parseMinSize(text: string, flag = '--min-size'): number {
  const v = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(v)) {
    throw new UserError(`${flag}: expected a whole number of pixels >= 0, got '${text}'`);
  }
  return v;
}

/**
 * The mask after post-processing (0/1, a new array): components under `minSize` pixels are
 * dropped, then with `keepLargest` only the largest remains. An empty mask stays empty; with
 * neither option the mask is copied unchanged.
 */
export function postprocessMask(mask: BinaryMask, options: PostprocessOptions = {}): BinaryMask {
  const minSize = options.minSize ?? 0;
  checkMinSize(minSize);
  const { height, width } = mask;
  const data = new Uint8Array(height * width);
  if (!postprocessEnabled(options)) {
    for (let i = 0; i < data.length; i++) data[i] = mask.data[i] ? 1 : 0;
    return { data, height, width };
  }
  const { labels, count, sizes } = labelComponents(mask);
  const keep = new Uint8Array(count + 1);
  let largest = 0;
  for (let k = 1; k <= count; k++) {
    if (sizes[k] < minSize) continue;
    keep[k] = 1;
    if (largest === 0 || sizes[k] > sizes[largest]) largest = k;
  }
  if (options.keepLargest) {
    keep.fill(0);
    if (largest > 0) keep[largest] = 1;
  }
  for (let i = 0; i < data.length; i++) data[i] = keep[labels[i]];
  return { data, height, width };
}
