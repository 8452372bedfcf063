/**
 * Corrections of a binary mask, as the viewer's tools make them: a round brush (or eraser)
 * dragged along a path, a fill of the non-lesion region enclosed by an outline, a reset to
 * another mask (the model's), and undo/redo of each of these as one step.
 *
 * Pixel (x, y) covers [x, x + 1) x [y, y + 1) in image coordinates; its centre is
 * (x + 0.5, y + 0.5). A brush of size s (in image pixels) drawn from point a to point b sets
 * every pixel whose centre lies within s / 2 of the segment ab (a disc when a = b): size 1 at a
 * pixel's centre is that pixel alone, size 3 the 3x3 block around it.
 *
 * The history keeps diffs, not masks: since a mask is binary, an edit is the set of pixels it
 * flipped, stored as runs (start index, length) along rows, and undoing or redoing it flips
 * them again. A stroke's runs are gathered while it paints (no pass over the mask at its end). Its memory is bounded by `historyBytes` (undo and redo together): the oldest
 * steps are forgotten first, and an edit larger than the whole bound is not kept (it cannot be
 * undone; the editor says so). Pure; no DOM.
 */
import type { BinaryMask } from '../util/raster.js';

/** A half-open rectangle of pixels: columns [x0, x1), rows [y0, y1). */
export interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The smallest rectangle holding both (either may be absent). */
export function unionRect(a: Rect | undefined, b: Rect | undefined): Rect | undefined {
  if (!a) return b;
  if (!b) return a;
  return {
    x0: Math.min(a.x0, b.x0),
    y0: Math.min(a.y0, b.y0),
    x1: Math.max(a.x1, b.x1),
    y1: Math.max(a.y1, b.y1),
  };
}

/** One undoable step: the pixels it flipped, as (start, length) runs of row-major indices. */
export interface Edit {
  kind: EditKind;
  runs: Uint32Array;
  /** The rectangle that holds every flipped pixel. */
  rect: Rect;
  /** Lesion pixels gained by doing the edit (negative when it removed lesion). */
  gained: number;
}

/** What made an edit. */
export type EditKind = 'stroke' | 'fill' | 'reset';

/** The default bound of the history's memory: 16 MiB (2 million runs). */
export const DEFAULT_HISTORY_BYTES = 16 * 2 ** 20;

/** The bytes an edit takes in the history (its runs). */
function editBytes(edit: Edit): number {
  return edit.runs.byteLength;
}

/**
 * Sets the pixels of `mask` within `size / 2` of the segment from (ax, ay) to (bx, by) (image
 * coordinates) to `value`; returns the rectangle of the pixels it looked at, clipped to the
 * image (undefined when the brush lies outside it), and how many pixels changed.
 */
export function paintSegment(
  mask: BinaryMask,
  from: { x: number; y: number },
  to: { x: number; y: number },
  size: number,
  value: 0 | 1,
  changes?: RunBuilder,
): { rect: Rect; changed: number } | undefined {
  const { data, width, height } = mask;
  const r = Math.max(size, 0) / 2;
  const r2 = r * r;
  // Pixel centres within r of the segment: x + 0.5 in [min - r, max + r].
  const x0 = Math.max(0, Math.ceil(Math.min(from.x, to.x) - r - 0.5));
  const x1 = Math.min(width, Math.floor(Math.max(from.x, to.x) + r - 0.5) + 1);
  const y0 = Math.max(0, Math.ceil(Math.min(from.y, to.y) - r - 0.5));
  const y1 = Math.min(height, Math.floor(Math.max(from.y, to.y) + r - 0.5) + 1);
  if (x0 >= x1 || y0 >= y1) return undefined;
  const dx = to.x - from.x;
  const dy = to.y - from.y;
  const len2 = dx * dx + dy * dy;
  let changed = 0;
  for (let y = y0; y < y1; y++) {
    const cy = y + 0.5;
    const row = y * width;
    for (let x = x0; x < x1; x++) {
      const cx = x + 0.5;
      // The nearest point of the segment to the centre, at parameter t in [0, 1].
      let t = len2 > 0 ? ((cx - from.x) * dx + (cy - from.y) * dy) / len2 : 0;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = cx - (from.x + t * dx);
      const ey = cy - (from.y + t * dy);
      if (ex * ex + ey * ey <= r2 && data[row + x] !== value) {
        data[row + x] = value;
        changed++;
        changes?.push(row + x);
      }
    }
  }
  return { rect: { x0, y0, x1, y1 }, changed };
}

/**
 * Pixel indices gathered into runs (start, length) as they come: an index right after the
 * last run extends it. A brush visits pixels row by row, left to right, so a stroke's changes
 * arrive as runs along rows.
 */
export class RunBuilder {
  private data = new Uint32Array(64);
  private n = 0;

  push(index: number): void {
    const { n } = this;
    if (n > 0 && this.data[n - 2] + this.data[n - 1] === index) {
      this.data[n - 1]++;
      return;
    }
    if (n + 2 > this.data.length) {
      const grown = new Uint32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[n] = index;
    this.data[n + 1] = 1;
    this.n = n + 2;
  }

  get length(): number {
    return this.n / 2;
  }

  /** The runs, as a copy of their exact length. */
  runs(): Uint32Array {
    return this.data.slice(0, this.n);
  }
}

/** What a fill found where it was asked to start. */
export type FillResult =
  /** The enclosed region was filled: its runs (start, length) and rectangle. */
  | { kind: 'filled'; runs: Uint32Array; rect: Rect; pixels: number }
  /** The start pixel is lesion already (nothing to fill). */
  | { kind: 'lesion' }
  /** The region reaches the image's border: it is not enclosed (nothing was changed). */
  | { kind: 'open' }
  /** The start lies outside the image. */
  | { kind: 'outside' };

/**
 * The non-lesion region of `mask` that holds pixel (x, y), 4-connected (the complement of the
 * 8-connected lesion components that `util/components.ts` labels: a diagonal gap in an outline
 * does not let the fill through), set to lesion — unless the region touches the image's
 * border, where it is not enclosed by any outline: then nothing changes ('open'). Scanline
 * flood fill, stopped at the first border pixel; `scratch` (one byte a pixel, zeroed on
 * return) spares an allocation per fill.
 */
export function fillEnclosed(
  mask: BinaryMask,
  x: number,
  y: number,
  scratch?: Uint8Array,
): FillResult {
  const { data, width, height } = mask;
  x = Math.floor(x);
  y = Math.floor(y);
  if (x < 0 || y < 0 || x >= width || y >= height) return { kind: 'outside' };
  if (data[y * width + x]) return { kind: 'lesion' };
  const seen =
    scratch && scratch.length >= width * height ? scratch : new Uint8Array(width * height);
  const spans: number[] = []; // start index, length
  const stack: number[] = [y * width + x];
  let open = false;
  const rect: Rect = { x0: x, y0: y, x1: x + 1, y1: y + 1 };
  while (stack.length > 0 && !open) {
    const i = stack.pop()!;
    if (seen[i] || data[i]) continue;
    const sy = Math.floor(i / width);
    const row = sy * width;
    let a = i - row;
    let b = a;
    while (a > 0 && !data[row + a - 1] && !seen[row + a - 1]) a--;
    while (b < width - 1 && !data[row + b + 1] && !seen[row + b + 1]) b++;
    seen.fill(1, row + a, row + b + 1);
    spans.push(row + a, b - a + 1);
    if (a === 0 || b === width - 1 || sy === 0 || sy === height - 1) {
      open = true;
      break;
    }
    if (a < rect.x0) rect.x0 = a;
    if (b + 1 > rect.x1) rect.x1 = b + 1;
    if (sy < rect.y0) rect.y0 = sy;
    if (sy + 1 > rect.y1) rect.y1 = sy + 1;
    for (const ny of [sy - 1, sy + 1]) {
      const nrow = ny * width;
      // One seed per stretch of fillable pixels in the neighbouring row.
      let inside = false;
      for (let nx = a; nx <= b; nx++) {
        const free = !data[nrow + nx] && !seen[nrow + nx];
        if (free && !inside) stack.push(nrow + nx);
        inside = free;
      }
    }
  }
  for (let k = 0; k < spans.length; k += 2) seen.fill(0, spans[k], spans[k] + spans[k + 1]);
  if (open) return { kind: 'open' };
  let pixels = 0;
  for (let k = 0; k < spans.length; k += 2) {
    data.fill(1, spans[k], spans[k] + spans[k + 1]);
    pixels += spans[k + 1];
  }
  return { kind: 'filled', runs: Uint32Array.from(spans), rect, pixels };
}

/**
 * The runs (start, length) of pixels where `a` and `b` differ within `rect`, row by row, and
 * how many lesion pixels `b` has more than `a` there.
 */
export function diffRuns(
  a: Uint8Array,
  b: Uint8Array,
  width: number,
  rect: Rect,
): { runs: Uint32Array; gained: number } {
  const runs: number[] = [];
  let gained = 0;
  for (let y = rect.y0; y < rect.y1; y++) {
    const row = y * width;
    let start = -1;
    for (let x = rect.x0; x < rect.x1; x++) {
      const i = row + x;
      if (a[i] !== b[i]) {
        gained += b[i] ? 1 : -1;
        if (start < 0) start = i;
      } else if (start >= 0) {
        runs.push(start, i - start);
        start = -1;
      }
    }
    if (start >= 0) runs.push(start, row + rect.x1 - start);
  }
  return { runs: Uint32Array.from(runs), gained };
}

/** Flips the pixels of `runs` in each of `targets`. */
function flipRuns(runs: Uint32Array, targets: Uint8Array[]): void {
  for (let k = 0; k < runs.length; k += 2) {
    const end = runs[k] + runs[k + 1];
    for (const t of targets) for (let i = runs[k]; i < end; i++) t[i] ^= 1;
  }
}

/**
 * Makes every non-zero byte of `data` 1 and returns how many there are. Four bytes at a time
 * (a 3000x2000 mask in a few milliseconds, so that opening one is not a long task): a word
 * whose bytes are all 0 or 1 holds their sum in its top byte once multiplied by 0x01010101.
 */
export function binarize(data: Uint8Array): number {
  const words = data.byteOffset % 4 === 0 ? Math.floor(data.length / 4) : 0;
  const w32 = words > 0 ? new Uint32Array(data.buffer, data.byteOffset, words) : new Uint32Array(0);
  let n = 0;
  for (let k = 0; k < words; k++) {
    const w = w32[k];
    if (w === 0) continue;
    if ((w & 0xfefefefe) === 0) {
      n += Math.imul(w, 0x01010101) >>> 24;
      continue;
    }
    for (let i = 4 * k; i < 4 * k + 4; i++) {
      if (data[i]) {
        data[i] = 1;
        n++;
      }
    }
  }
  for (let i = 4 * words; i < data.length; i++) {
    if (data[i]) {
      data[i] = 1;
      n++;
    }
  }
  return n;
}

/** Lesion pixels of a mask. */
export function lesionArea(data: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (data[i]) n++;
  return n;
}

export interface MaskEditorOptions {
  /** The most bytes the history (undo and redo) keeps. Default `DEFAULT_HISTORY_BYTES`. */
  historyBytes?: number;
}

/**
 * A mask being corrected, with its history. Strokes are painted with `paint` (each call a
 * piece of the path) and become one step at `endStroke`; `fill`, `reset`, `undo` and `redo`
 * are steps of their own. Each returns the rectangle that changed, for the caller to redraw.
 */
export class MaskEditor {
  /** The edited mask (a copy of the one given). */
  readonly mask: BinaryMask;
  /** Lesion pixels of `mask`. */
  area: number;
  /** The bound of the history's memory. */
  readonly historyBytes: number;
  /** The pixels the stroke in progress flipped (each at most once: a stroke paints one value). */
  private changes = new RunBuilder();
  /** Lesion pixels the stroke in progress gained. */
  private strokeGained = 0;
  private undos: Edit[] = [];
  private redos: Edit[] = [];
  private bytes = 0;
  /** The rectangle the stroke in progress has touched. */
  private stroke: Rect | undefined;
  private strokeValue: 0 | 1 = 1;
  private scratch: Uint8Array | undefined;
  /** Whether the last step was too large to keep in the history. */
  forgotten = false;

  constructor(mask: BinaryMask, options: MaskEditorOptions = {}) {
    if (mask.data.length !== mask.width * mask.height) {
      throw new Error(
        `a ${mask.height}x${mask.width} mask needs ${mask.width * mask.height} values`,
      );
    }
    const data = mask.data.slice();
    this.area = binarize(data);
    this.mask = { data, width: mask.width, height: mask.height };
    this.historyBytes = options.historyBytes ?? DEFAULT_HISTORY_BYTES;
  }

  get canUndo(): boolean {
    return this.undos.length > 0;
  }

  get canRedo(): boolean {
    return this.redos.length > 0;
  }

  /** The bytes the history holds now. */
  get historyUsed(): number {
    return this.bytes;
  }

  /** The steps that can be undone and redone. */
  get depth(): { undo: number; redo: number } {
    return { undo: this.undos.length, redo: this.redos.length };
  }

  /**
   * Paints (value 1) or erases (0) a piece of a stroke; see `paintSegment`. A stroke paints
   * one value: a piece of the other value ends the stroke first.
   */
  paint(
    from: { x: number; y: number },
    to: { x: number; y: number },
    size: number,
    value: 0 | 1,
  ): Rect | undefined {
    if (this.stroke && this.strokeValue !== value) this.endStroke();
    this.strokeValue = value;
    const done = paintSegment(this.mask, from, to, size, value, this.changes);
    if (!done) return undefined;
    const gained = value ? done.changed : -done.changed;
    this.area += gained;
    this.strokeGained += gained;
    this.stroke = unionRect(this.stroke, done.rect);
    return done.rect;
  }

  /** Ends the stroke in progress: it becomes one step (none when it changed nothing). */
  endStroke(): Edit | undefined {
    const rect = this.stroke;
    const { changes, strokeGained } = this;
    this.stroke = undefined;
    this.changes = new RunBuilder();
    this.strokeGained = 0;
    if (!rect || changes.length === 0) return undefined;
    return this.record({ kind: 'stroke', runs: changes.runs(), rect, gained: strokeGained });
  }

  /** Takes the stroke in progress back out (as a second finger turns a stroke into a pinch). */
  cancelStroke(): Rect | undefined {
    const rect = this.stroke;
    const { changes, strokeGained } = this;
    this.stroke = undefined;
    this.changes = new RunBuilder();
    this.strokeGained = 0;
    if (!rect) return undefined;
    flipRuns(changes.runs(), [this.mask.data]);
    this.area -= strokeGained;
    return rect;
  }

  /** Fills the enclosed region at (x, y) (see `fillEnclosed`); a fill is one step. */
  fill(x: number, y: number): FillResult {
    this.endStroke();
    const { width, height } = this.mask;
    this.scratch ??= new Uint8Array(width * height);
    const result = fillEnclosed(this.mask, x, y, this.scratch);
    if (result.kind === 'filled') {
      this.area += result.pixels;
      this.record({ kind: 'fill', runs: result.runs, rect: result.rect, gained: result.pixels });
    }
    return result;
  }

  /** Makes the mask equal `to` (same size) as one step; undefined when it was equal. */
  reset(to: BinaryMask): Edit | undefined {
    this.endStroke();
    const { width, height } = this.mask;
    if (to.width !== width || to.height !== height) {
      throw new Error(
        `a ${height}x${width} mask cannot be reset to a ${to.height}x${to.width} one`,
      );
    }
    const target = new Uint8Array(to.data.length);
    for (let i = 0; i < target.length; i++) target[i] = to.data[i] ? 1 : 0;
    const rect = { x0: 0, y0: 0, x1: width, y1: height };
    const { runs, gained } = diffRuns(this.mask.data, target, width, rect);
    if (runs.length === 0) return undefined;
    flipRuns(runs, [this.mask.data]);
    this.area += gained;
    return this.record({ kind: 'reset', runs, rect: boundsOfRuns(runs, width), gained });
  }

  /** Undoes the last step; returns it (undefined when there is none). */
  undo(): Edit | undefined {
    this.endStroke();
    const edit = this.undos.pop();
    if (!edit) return undefined;
    flipRuns(edit.runs, [this.mask.data]);
    this.area -= edit.gained;
    this.redos.push(edit);
    return edit;
  }

  /** Redoes the last undone step; returns it (undefined when there is none). */
  redo(): Edit | undefined {
    this.endStroke();
    const edit = this.redos.pop();
    if (!edit) return undefined;
    flipRuns(edit.runs, [this.mask.data]);
    this.area += edit.gained;
    this.undos.push(edit);
    return edit;
  }

  /** Drops the history and the buffers (the editor is not used after). */
  release(): void {
    this.undos = [];
    this.redos = [];
    this.bytes = 0;
    this.scratch = undefined;
    this.changes = new RunBuilder();
  }

  /** Keeps a new step: the redo steps go, and the oldest steps while over the bound. */
  private record(edit: Edit): Edit {
    this.redos = [];
    this.bytes = this.undos.reduce((n, e) => n + editBytes(e), 0);
    const size = editBytes(edit);
    if (size > this.historyBytes) {
      // Too large to keep: the history before it no longer leads to this mask either.
      this.undos = [];
      this.bytes = 0;
      this.forgotten = true;
      return edit;
    }
    this.forgotten = false;
    this.undos.push(edit);
    this.bytes += size;
    while (this.bytes > this.historyBytes) this.bytes -= editBytes(this.undos.shift()!);
    return edit;
  }
}

/** The rectangle of the pixels of `runs` (runs may wrap rows: then whole rows). */
function boundsOfRuns(runs: Uint32Array, width: number): Rect {
  let x0 = width;
  let x1 = 0;
  let y0 = Infinity;
  let y1 = 0;
  for (let k = 0; k < runs.length; k += 2) {
    const first = runs[k];
    const last = runs[k] + runs[k + 1] - 1;
    const ya = Math.floor(first / width);
    const yb = Math.floor(last / width);
    y0 = Math.min(y0, ya);
    y1 = Math.max(y1, yb + 1);
    if (ya === yb) {
      x0 = Math.min(x0, first - ya * width);
      x1 = Math.max(x1, last - ya * width + 1);
    } else {
      x0 = 0;
      x1 = width;
    }
  }
  return { x0, y0, x1, y1 };
}
