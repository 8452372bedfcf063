/**
 * A mask's outline as vector segments, for drawing crisp at any zoom: the boundary edges
 * between a lesion pixel and a non-lesion one (pixels outside the image count as non-lesion),
 * in image coordinates (pixel (x, y) covers [x, x + 1) x [y, y + 1)), with neighbouring edges
 * along a line merged into runs. The viewer strokes them after mapping their ends to device
 * pixels, so a line is as sharp at 37% as at 430%, never a scaled raster.
 *
 * `TiledOutline` keeps the segments per tile so that an edit recomputes only the tiles it
 * touched, a little at a time, and a view draws only the tiles it shows. Pure; no DOM.
 */
import type { BinaryMask } from '../util/raster.js';
import type { Rect } from './mask_edit.js';

/**
 * The outline's segments whose edges lie in `region` (default: the whole mask), as a flat list
 * x0, y0, x1, y1, ... (integers: pixel corners). Horizontal edges at rows y in [y0, y1) (and
 * y = height when y1 = height) and columns [x0, x1); vertical edges at columns x in [x0, x1)
 * (and x = width when x1 = width) and rows [y0, y1). Runs are merged within the region only,
 * so the regions of a partition together give every edge once.
 */
export function outlineSegments(mask: BinaryMask, region?: Rect): Int32Array {
  const { data, width, height } = mask;
  const r = region ?? { x0: 0, y0: 0, x1: width, y1: height };
  const out: number[] = [];
  const at = (x: number, y: number): number =>
    x >= 0 && y >= 0 && x < width && y < height ? data[y * width + x] : 0;
  // Horizontal edges: edge row e lies between pixel rows e - 1 and e.
  const eyEnd = r.y1 === height ? height + 1 : r.y1;
  for (let e = r.y0; e < eyEnd; e++) {
    let start = -1;
    for (let x = r.x0; x < r.x1; x++) {
      const edge = (at(x, e - 1) ? 1 : 0) !== (at(x, e) ? 1 : 0);
      if (edge && start < 0) start = x;
      else if (!edge && start >= 0) {
        out.push(start, e, x, e);
        start = -1;
      }
    }
    if (start >= 0) out.push(start, e, r.x1, e);
  }
  // Vertical edges: edge column e lies between pixel columns e - 1 and e.
  const exEnd = r.x1 === width ? width + 1 : r.x1;
  for (let e = r.x0; e < exEnd; e++) {
    let start = -1;
    for (let y = r.y0; y < r.y1; y++) {
      const edge = (at(e - 1, y) ? 1 : 0) !== (at(e, y) ? 1 : 0);
      if (edge && start < 0) start = y;
      else if (!edge && start >= 0) {
        out.push(e, start, e, y);
        start = -1;
      }
    }
    if (start >= 0) out.push(e, start, e, r.y1);
  }
  return Int32Array.from(out);
}

/** The default tile side of `TiledOutline`, in image pixels. */
export const OUTLINE_TILE = 128;

/**
 * A mask's outline kept per square tile. `invalidate` marks the tiles whose edges a change of
 * pixels can move; `refresh` recomputes stale tiles until told to stop (so a large mask's first
 * outline spreads over several tasks); `segments` lists the fresh tiles' segments in a view.
 */
export class TiledOutline {
  readonly cols: number;
  readonly rows: number;
  private tiles: (Int32Array | undefined)[];
  private stale: Set<number>;

  constructor(
    private mask: BinaryMask,
    readonly tile = OUTLINE_TILE,
  ) {
    this.cols = Math.max(1, Math.ceil(mask.width / tile));
    this.rows = Math.max(1, Math.ceil(mask.height / tile));
    this.tiles = new Array<Int32Array | undefined>(this.cols * this.rows).fill(undefined);
    this.stale = new Set(this.tiles.keys());
  }

  /** Whether every tile is up to date. */
  get fresh(): boolean {
    return this.stale.size === 0;
  }

  /** Marks the tiles whose edges the pixels of `rect` border (the edges right and below too). */
  invalidate(rect: Rect): void {
    const { tile, cols, rows } = this;
    const tx0 = Math.min(cols - 1, Math.max(0, Math.floor(rect.x0 / tile)));
    const ty0 = Math.min(rows - 1, Math.max(0, Math.floor(rect.y0 / tile)));
    const tx1 = Math.min(cols - 1, Math.floor(rect.x1 / tile));
    const ty1 = Math.min(rows - 1, Math.floor(rect.y1 / tile));
    for (let ty = ty0; ty <= ty1; ty++) {
      for (let tx = tx0; tx <= tx1; tx++) this.stale.add(ty * cols + tx);
    }
  }

  /**
   * Recomputes stale tiles, those in `first` (a view's rectangle) before the others, until
   * `stop()` says so (asked after each tile); returns whether all are fresh.
   */
  refresh(stop: () => boolean, first?: Rect): boolean {
    const order = [...this.stale];
    if (first) {
      const inView = (k: number): number => (this.intersects(k, first) ? 0 : 1);
      order.sort((a, b) => inView(a) - inView(b));
    }
    for (const k of order) {
      this.tiles[k] = outlineSegments(this.mask, this.tileRect(k));
      this.stale.delete(k);
      if (stop()) break;
    }
    return this.stale.size === 0;
  }

  /** The segments of the computed tiles that meet `view` (image coordinates). */
  segments(view: Rect): Int32Array[] {
    const out: Int32Array[] = [];
    this.tiles.forEach((t, k) => {
      if (t && t.length > 0 && this.intersects(k, view)) out.push(t);
    });
    return out;
  }

  /** Forgets the tiles (the outline is not used after). */
  release(): void {
    this.tiles = [];
    this.stale.clear();
  }

  private tileRect(k: number): Rect {
    const tx = k % this.cols;
    const ty = Math.floor(k / this.cols);
    return {
      x0: tx * this.tile,
      y0: ty * this.tile,
      x1: Math.min(this.mask.width, (tx + 1) * this.tile),
      y1: Math.min(this.mask.height, (ty + 1) * this.tile),
    };
  }

  /** Whether tile k (with its right and bottom edge lines) meets `r`. */
  private intersects(k: number, r: Rect): boolean {
    const t = this.tileRect(k);
    return t.x0 <= r.x1 && t.x1 >= r.x0 && t.y0 <= r.y1 && t.y1 >= r.y0;
  }
}
