/**
 * The large view of one image, and the tools that correct its mask. It fills its host: zoom
 * (wheel or ctrl+wheel around the cursor, two-finger pinch, + and - keys and buttons, fit),
 * pan (drag, arrow keys), layers shown and blended (the image; the mask as an outline or a
 * fill; the probability map and each attention gate in viridis; the ground truth's outline)
 * with a legend and a colour bar, a read-out of the pixel under the cursor, window/level for
 * grey images; a brush and an eraser with a size, a fill of an enclosed region, undo/redo, a
 * reset to the model's mask, and the review status (not reviewed, accepted, corrected).
 *
 * Outlines are vector paths (`outline.ts`) stroked at device pixels (the canvas is
 * `devicePixelRatio` times its CSS size), so they stay one crisp line at every zoom. Painting
 * touches only the rectangle a brush covers (mask, fill layer, outline tiles), so a stroke on a
 * 3000x2000 mask keeps each task short; the outline's tiles are recomputed a few milliseconds
 * per frame. The viewer edits a copy of the mask it is given and tells its owner of each
 * finished step (`onMask`, with a copy) and of the status (`onStatus`); `close` drops every
 * buffer. Everything works from the keyboard (see `KEY_HELP`). Browser-only.
 */
import { toImageData } from '../browser/image.js';
import { heatmapImage, VIRIDIS } from '../predict/colormap.js';
import { nearestIndices, type BinaryMask, type RawImage } from '../util/raster.js';
import { MaskEditor, type Rect } from './mask_edit.js';
import { TiledOutline } from './outline.js';
import {
  DEFAULT_WINDOW_LEVEL,
  greyToRgba,
  isGrey,
  WINDOW_RANGE,
  windowLevelLut,
  type WindowLevel,
} from './window_level.js';
import type { ReviewStatus, StoredGate } from './work.js';

/** What the viewer shows of an image. */
export interface ViewerImage {
  id: string;
  name: string;
  /** The image at full size. */
  image: RawImage;
  /** The mask in force (the viewer edits its own copy). */
  mask: BinaryMask;
  /** The model's mask, for "reset to the model's mask". */
  modelMask?: BinaryMask;
  /** A ground truth given with the image. */
  truth?: BinaryMask;
  /** The `final` probabilities at the network's input size, row-major. */
  probabilities?: { data: Float32Array; height: number; width: number };
  attention: StoredGate[];
  status: ReviewStatus;
}

export interface ViewerCallbacks {
  /** After each finished stroke, fill, undo, redo and reset: a copy of the mask, the caller's. */
  onMask(mask: BinaryMask): void;
  /** When the status changes (an edit makes it 'corrected'; Accept makes it 'accepted'). */
  onStatus(status: ReviewStatus): void;
  /** When the person closes the viewer (its Close button or Escape). */
  onClose?(): void;
}

/** The correction tools; 'pan' moves the view. */
export type Tool = 'pan' | 'brush' | 'eraser' | 'fill';
export const TOOLS: readonly Tool[] = ['pan', 'brush', 'eraser', 'fill'];

/** How the mask is drawn. */
export type MaskStyle = 'outline' | 'fill' | 'both';
export const MASK_STYLES: readonly MaskStyle[] = ['outline', 'fill', 'both'];

/** The view: `zoom` CSS pixels per image pixel; the image's origin at (x, y) CSS pixels. */
export interface ViewState {
  zoom: number;
  x: number;
  y: number;
}

/** The mask's colour (outline and fill) and the ground truth's, as RGB. */
export const MASK_COLOUR: readonly [number, number, number] = [255, 59, 48];
export const TRUTH_COLOUR: readonly [number, number, number] = [0, 200, 255];
/** The outlines' width in device pixels. */
export const OUTLINE_WIDTH = 2;

const ZOOM_STEP = 1.25;
const MAX_ZOOM = 64;
/** Arrow keys pan by this many CSS pixels (four times with Shift). */
const PAN_STEP = 48;
const BRUSH_RANGE: readonly [number, number] = [1, 200];
const DEFAULT_BRUSH = 12;
/** The side of the mask layer's tiles, in image pixels. */
const LAYER_TILE = 512;
/** Pixels drawn into a layer per band (a few milliseconds' work). */
const BAND_PIXELS = 2 ** 19;
/** Milliseconds of layer drawing per task. */
const JOB_BUDGET_MS = 24;
/** Milliseconds of outline recomputation per frame. */
const OUTLINE_BUDGET_MS = 6;
const WINDOW_KEY_STEP = 10;
const LEVEL_KEY_STEP = 5;
const STATUS_WORDS: Record<ReviewStatus, string> = {
  unreviewed: 'not reviewed',
  accepted: 'accepted',
  corrected: 'corrected',
};

/** The viewer's keys, as `aria-keyshortcuts` spells them, and the help line. */
export const KEYS = {
  zoomIn: '+ =',
  zoomOut: '-',
  fit: '0',
  pan: 'ArrowLeft ArrowRight ArrowUp ArrowDown',
  hand: 'H',
  brush: 'B',
  eraser: 'E',
  fill: 'F',
  smaller: '[',
  bigger: ']',
  act: 'Space Enter',
  /** Space held while the arrow keys move the cursor draws a line. */
  undo: 'Control+Z',
  redo: 'Control+Shift+Z Control+Y',
  accept: 'A',
  mask: 'M',
  window: 'W Shift+W',
  level: 'L Shift+L',
  close: 'Escape',
} as const;

export const KEY_HELP =
  'Keys: + / − zoom, 0 fit, arrows pan (with a drawing tool they move the cursor; Shift: ×10), ' +
  'H hand, B brush, E eraser, F fill, [ ] brush size, Space or Enter paint or fill at the cursor ' +
  '(hold Space and move to draw a line), ' +
  'Ctrl+Z undo, Ctrl+Shift+Z or Ctrl+Y redo, A accept, M mask on/off, W / Shift+W window, ' +
  'L / Shift+L level, Esc close.';

/** One heat layer: the probability map or an attention gate. */
interface HeatLayer {
  key: string;
  label: string;
  shown: boolean;
  canvas: HTMLCanvasElement;
  /**
   * The probability map: `canvas` is at the image's size, drawn (in bands, when first shown)
   * by the recipe's nearest rule; attention maps are small and smoothed when drawn.
   */
  exact?: { prepare(): void; prepared: boolean };
  box?: HTMLInputElement;
}

/** A square piece of a layer at the image's size: its canvas covers [x0, x1) x [y0, y1). */
interface LayerTile extends Rect {
  canvas: HTMLCanvasElement;
}

/** Everything held for the open image; dropped at `close`. */
interface Opened {
  source: ViewerImage;
  image: RawImage;
  grey: boolean;
  editor: MaskEditor;
  outline: TiledOutline;
  truthOutline?: TiledOutline;
  /** The image as shown (through window/level), at its size. */
  base: HTMLCanvasElement;
  /** The mask's fill layer, at the image's size. */
  maskTiles: LayerTile[];
  heat: HeatLayer[];
  /** For the read-out: the probability's source column and row of each image column and row. */
  probCols?: Int32Array;
  probRows?: Int32Array;
  status: ReviewStatus;
}

type Attrs = Record<string, string | number | boolean | undefined>;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'class') e.className = String(v);
    else if (k === 'text') e.textContent = String(v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  e.append(...children);
  return e;
}

const rgb = (c: readonly number[], alpha = 1): string =>
  alpha === 1 ? `rgb(${c[0]}, ${c[1]}, ${c[2]})` : `rgba(${c[0]}, ${c[1]}, ${c[2]}, ${alpha})`;

/** An RGB image's pixels as opaque RGBA words, in the platform's byte order (as ImageData). */
function packRgba(image: RawImage): Uint32Array {
  const n = image.height * image.width;
  const bytes = new Uint8ClampedArray(n * 4);
  for (let i = 0, s = 0; i < n; i++, s += image.channels) {
    bytes[4 * i] = image.data[s];
    bytes[4 * i + 1] = image.data[s + 1];
    bytes[4 * i + 2] = image.data[s + 2];
    bytes[4 * i + 3] = 255;
  }
  return new Uint32Array(bytes.buffer);
}

let viewerCount = 0;

export class Viewer {
  private root: HTMLElement;
  private stage: HTMLElement;
  private canvas: HTMLCanvasElement;
  private ctx: CanvasRenderingContext2D;
  private title: HTMLElement;
  private zoomText: HTMLElement;
  private layersBox: HTMLElement;
  private wlBox: HTMLElement;
  private windowInput: HTMLInputElement;
  private levelInput: HTMLInputElement;
  private toolButtons = new Map<Tool, HTMLButtonElement>();
  private sizeInput: HTMLInputElement;
  private sizeText: HTMLElement;
  private undoButton: HTMLButtonElement;
  private redoButton: HTMLButtonElement;
  private resetButton: HTMLButtonElement;
  private acceptButton: HTMLButtonElement;
  private statusText: HTMLElement;
  private legend: HTMLElement;
  private colourBar: HTMLElement;
  private readout: HTMLElement;
  private message: HTMLElement;
  private resizeObserver: ResizeObserver | undefined;
  private frame = 0;
  private jobs = new Map<string, () => boolean>();
  /** The layers a stroke leaves alone, drawn at the view (see `render`), and what they show. */
  private staticCanvas = document.createElement('canvas');
  private staticKey = '';
  private staticDirty = true;
  private jobTimer: ReturnType<typeof setTimeout> | 0 = 0;
  private opened: Opened | undefined;

  private view: ViewState = { zoom: 1, x: 0, y: 0 };
  /** Whether the person moved the view (else a resize fits the image again). */
  private moved = false;
  private tool: Tool = 'pan';
  private brush = DEFAULT_BRUSH;
  private wl: WindowLevel = { ...DEFAULT_WINDOW_LEVEL };
  private showImage = true;
  private showMask = true;
  private maskStyle: MaskStyle = 'outline';
  private fillOpacity = 0.4;
  private showTruth = true;
  private heatOpacity = 0.5;
  /** The keyboard's cursor (image pixel), and the pointer's position over the image. */
  private cursor = { x: 0, y: 0 };
  private keyboardCursor = false;
  private hover: { x: number; y: number } | undefined;
  private pointers = new Map<number, { x: number; y: number }>();
  private drag:
    | { kind: 'pan'; x: number; y: number }
    | { kind: 'stroke'; value: 0 | 1; last: { x: number; y: number }; keyboard?: boolean }
    | { kind: 'pinch'; distance: number; mid: { x: number; y: number } }
    | undefined;
  private listeners: Array<[EventTarget, string, EventListener, AddEventListenerOptions?]> = [];

  constructor(
    host: HTMLElement,
    private callbacks: ViewerCallbacks,
  ) {
    const n = ++viewerCount;
    const id = (s: string) => `viewer${n}-${s}`;
    const button = (label: string, keys: string | undefined, text: string, cls = '') =>
      el('button', {
        type: 'button',
        class: `viewer-button ${cls}`.trim(),
        'aria-label': label,
        'aria-keyshortcuts': keys,
        title: keys ? `${label} (${keys.split(' ')[0]})` : label,
        text,
      });

    this.title = el('h2', { class: 'viewer-title', id: id('title') });
    const zoomOut = button('Zoom out', KEYS.zoomOut, '−');
    const zoomIn = button('Zoom in', KEYS.zoomIn, '+');
    const fit = button('Fit to the window', KEYS.fit, 'Fit');
    this.zoomText = el('span', { class: 'viewer-zoom', 'aria-hidden': 'true' });
    const close = button('Close the viewer', KEYS.close, 'Close', 'viewer-close');
    this.layersBox = el('div', { class: 'viewer-layers', role: 'group', 'aria-label': 'Layers' });

    this.windowInput = el('input', {
      type: 'range',
      min: WINDOW_RANGE[0],
      max: WINDOW_RANGE[1],
      step: 1,
      id: id('window'),
      'aria-keyshortcuts': KEYS.window,
    });
    this.levelInput = el('input', {
      type: 'range',
      min: 0,
      max: 255,
      step: 0.5,
      id: id('level'),
      'aria-keyshortcuts': KEYS.level,
    });
    const wlReset = button(
      'Reset contrast: the window and level back to the whole grey range',
      undefined,
      'Reset contrast',
    );
    this.wlBox = el(
      'div',
      { class: 'viewer-wl', role: 'group', 'aria-label': 'Window and level' },
      el('label', { for: id('window'), text: 'Contrast (window)' }),
      this.windowInput,
      el('label', { for: id('level'), text: 'Brightness (level)' }),
      this.levelInput,
      wlReset,
    );

    const tools = el('div', { class: 'viewer-tools', role: 'group', 'aria-label': 'Tool' });
    const toolInfo: Record<Tool, [string, string, string]> = {
      pan: ['Hand: drag to pan', KEYS.hand, 'Hand'],
      brush: ['Brush: paint lesion', KEYS.brush, 'Brush'],
      eraser: ['Eraser: erase lesion', KEYS.eraser, 'Eraser'],
      fill: ['Fill: fill the region enclosed by an outline', KEYS.fill, 'Fill'],
    };
    for (const t of TOOLS) {
      const b = button(...toolInfo[t]);
      b.dataset.tool = t;
      b.addEventListener('click', () => this.setTool(t));
      this.toolButtons.set(t, b);
      tools.append(b);
    }
    this.sizeInput = el('input', {
      type: 'range',
      min: BRUSH_RANGE[0],
      max: BRUSH_RANGE[1],
      step: 1,
      id: id('size'),
      'aria-keyshortcuts': `${KEYS.smaller} ${KEYS.bigger}`,
    });
    this.sizeText = el('output', { for: id('size'), class: 'viewer-size' });
    this.undoButton = button('Undo', KEYS.undo, 'Undo');
    this.redoButton = button('Redo', KEYS.redo, 'Redo');
    this.resetButton = button("Reset to the model's mask", undefined, "Model's mask");
    this.acceptButton = button('Accept the mask', KEYS.accept, 'Accept', 'viewer-accept');
    this.statusText = el('span', { class: 'viewer-status', role: 'status' });

    this.canvas = el('canvas', {
      class: 'viewer-canvas',
      role: 'img',
      tabindex: 0,
      'aria-keyshortcuts': Object.values(KEYS).join(' '),
      'aria-describedby': id('help'),
    });
    this.ctx = this.canvas.getContext('2d')!;
    this.legend = el('ul', { class: 'viewer-legend', 'aria-label': 'Legend' });
    this.colourBar = this.makeColourBar();
    this.stage = el(
      'div',
      { class: 'viewer-stage' },
      this.canvas,
      el('div', { class: 'viewer-key' }, this.legend, this.colourBar),
    );
    // Read aloud when the keyboard moves the cursor, not at every move of a mouse.
    this.readout = el('span', { class: 'viewer-readout', 'aria-live': 'off' });
    this.message = el('span', { class: 'viewer-message', role: 'status' });

    this.root = el(
      'section',
      { class: 'viewer', 'aria-labelledby': id('title'), hidden: true },
      el(
        'div',
        { class: 'viewer-bar', role: 'toolbar', 'aria-label': 'View' },
        this.title,
        zoomOut,
        this.zoomText,
        zoomIn,
        fit,
        this.layersBox,
        this.wlBox,
        close,
      ),
      el(
        'div',
        { class: 'viewer-bar', role: 'toolbar', 'aria-label': 'Correction' },
        tools,
        el('label', { for: id('size'), text: 'Brush size' }),
        this.sizeInput,
        this.sizeText,
        this.undoButton,
        this.redoButton,
        this.resetButton,
        this.acceptButton,
        this.statusText,
      ),
      this.stage,
      el(
        'div',
        { class: 'viewer-foot' },
        this.readout,
        this.message,
        el('p', { class: 'viewer-help', id: id('help'), text: KEY_HELP }),
      ),
    );
    host.append(this.root);

    this.on(zoomIn, 'click', () => this.zoomBy(ZOOM_STEP));
    this.on(zoomOut, 'click', () => this.zoomBy(1 / ZOOM_STEP));
    this.on(fit, 'click', () => this.fit());
    this.on(close, 'click', () => this.closeByPerson());
    this.on(this.windowInput, 'input', () =>
      this.setWindowLevel({ ...this.wl, window: Number(this.windowInput.value) }),
    );
    this.on(this.levelInput, 'input', () =>
      this.setWindowLevel({ ...this.wl, level: Number(this.levelInput.value) }),
    );
    this.on(wlReset, 'click', () => this.setWindowLevel({ ...DEFAULT_WINDOW_LEVEL }));
    this.on(this.sizeInput, 'input', () => this.setBrush(Number(this.sizeInput.value)));
    this.on(this.undoButton, 'click', () => this.undo());
    this.on(this.redoButton, 'click', () => this.redo());
    this.on(this.resetButton, 'click', () => this.resetToModel());
    this.on(this.acceptButton, 'click', () => this.accept());
    this.on(this.root, 'keydown', (e) => this.onKey(e as KeyboardEvent));
    this.on(this.root, 'keyup', (e) => {
      if ((e as KeyboardEvent).key === ' ' && this.drag?.kind === 'stroke' && this.drag.keyboard) {
        this.endStroke();
      }
    });
    this.on(this.canvas, 'blur', () => {
      if (this.drag?.kind === 'stroke' && this.drag.keyboard) this.endStroke();
    });
    this.on(this.canvas, 'pointerdown', (e) => this.onPointerDown(e as PointerEvent));
    this.on(this.canvas, 'pointermove', (e) => this.onPointerMove(e as PointerEvent));
    this.on(this.canvas, 'pointerup', (e) => this.onPointerUp(e as PointerEvent));
    this.on(this.canvas, 'pointercancel', (e) => this.onPointerUp(e as PointerEvent));
    this.on(this.canvas, 'pointerleave', () => {
      this.hover = undefined;
      this.updateReadout();
      this.requestRender();
    });
    this.on(this.canvas, 'wheel', (e) => this.onWheel(e as WheelEvent), { passive: false });
    this.on(this.canvas, 'focus', () => this.requestRender());
    this.on(this.canvas, 'blur', () => this.requestRender());
    if (typeof ResizeObserver !== 'undefined') {
      this.resizeObserver = new ResizeObserver(() => this.resize());
      this.resizeObserver.observe(this.stage);
    }
    this.setTool('pan');
    this.setBrush(DEFAULT_BRUSH);
  }

  /** Shows an image (closing the one shown). */
  open(image: ViewerImage): void {
    this.close();
    const { width, height } = image.image;
    const same = (m: BinaryMask | undefined, what: string): void => {
      if (m && (m.width !== width || m.height !== height || m.data.length !== width * height)) {
        throw new Error(
          `${image.name}: the ${what} is ${m.height}x${m.width}, the image ${height}x${width}`,
        );
      }
    };
    same(image.mask, 'mask');
    same(image.modelMask, "model's mask");
    same(image.truth, 'ground truth');
    const editor = new MaskEditor(image.mask);
    const grey = isGrey(image.image);
    const base = el('canvas', { width, height });
    const maskTiles: LayerTile[] = [];
    for (let y0 = 0; y0 < height; y0 += LAYER_TILE) {
      for (let x0 = 0; x0 < width; x0 += LAYER_TILE) {
        const w = Math.min(LAYER_TILE, width - x0);
        const h = Math.min(LAYER_TILE, height - y0);
        maskTiles.push({
          canvas: el('canvas', { width: w, height: h }),
          x0,
          y0,
          x1: x0 + w,
          y1: y0 + h,
        });
      }
    }
    const opened: Opened = {
      source: image,
      image: image.image,
      grey,
      editor,
      outline: new TiledOutline(editor.mask),
      truthOutline: image.truth ? new TiledOutline(image.truth) : undefined,
      base,
      maskTiles,
      heat: [],
      status: image.status,
    };
    this.opened = opened;
    this.drawBase();
    this.drawMaskLayer({ x0: 0, y0: 0, x1: width, y1: height });

    const p = image.probabilities;
    if (p) {
      const colours = heatmapImage(p, [p.height, p.width]);
      opened.probCols = nearestIndices(p.width, width);
      opened.probRows = nearestIndices(p.height, height);
      // Each image pixel takes the colour of the probability the recipe's nearest rule reads
      // for it, so the layer lines up with the mask; made when the layer is first shown.
      const packed = packRgba(colours);
      const canvas = el('canvas', { width, height });
      const { probCols, probRows } = opened;
      const draw = (y0: number, y1: number): void => {
        const band = new ImageData(width, y1 - y0);
        const out = new Uint32Array(band.data.buffer);
        for (let y = y0, o = 0; y < y1; y++) {
          const row = probRows[y] * p.width;
          for (let x = 0; x < width; x++) out[o++] = packed[row + probCols[x]];
        }
        canvas.getContext('2d')!.putImageData(band, 0, y0);
      };
      const exact = {
        prepared: false,
        prepare: () => {
          if (exact.prepared) return;
          exact.prepared = true;
          this.bandJob('probability', { x0: 0, y0: 0, x1: width, y1: height }, draw);
        },
      };
      opened.heat.push({ key: 'probability', label: 'Probability', shown: false, canvas, exact });
    }
    image.attention.forEach((gate) => {
      const colours = heatmapImage(gate, [gate.height, gate.width]);
      const canvas = el('canvas', { width: gate.width, height: gate.height });
      canvas.getContext('2d')!.putImageData(toImageData(colours), 0, 0);
      opened.heat.push({
        key: `gate:${gate.gate}`,
        label: `Attention: ${gate.gate}`,
        shown: false,
        canvas,
      });
    });

    this.root.hidden = false;
    this.root.dataset.image = image.id;
    this.title.textContent = image.name;
    this.message.textContent = '';
    this.cursor = { x: Math.floor(width / 2), y: Math.floor(height / 2) };
    this.keyboardCursor = false;
    this.buildLayerControls();
    this.wlBox.hidden = !grey;
    this.resizeCanvas();
    this.moved = false;
    this.fit();
    this.updateControls();
  }

  /** Drops the image and every buffer held for it (the viewer can open another after). */
  close(): void {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    clearTimeout(this.jobTimer);
    this.jobTimer = 0;
    this.jobs.clear();
    const o = this.opened;
    if (!o) return;
    this.opened = undefined;
    this.drag = undefined;
    this.pointers.clear();
    o.editor.release();
    o.outline.release();
    o.truthOutline?.release();
    for (const c of [o.base, ...o.maskTiles.map((t) => t.canvas), ...o.heat.map((h) => h.canvas)]) {
      c.width = 0;
      c.height = 0;
    }
    o.heat = [];
    this.layersBox.replaceChildren();
    this.legend.replaceChildren();
    this.readout.textContent = '';
    this.root.hidden = true;
    delete this.root.dataset.image;
    this.canvas.width = 0;
    this.canvas.height = 0;
    this.staticCanvas.width = 0;
    this.staticCanvas.height = 0;
    this.staticKey = '';
  }

  /** Closes and removes the viewer's elements and listeners from the page. */
  dispose(): void {
    this.close();
    this.resizeObserver?.disconnect();
    for (const [target, type, fn, options] of this.listeners) {
      target.removeEventListener(type, fn, options);
    }
    this.listeners = [];
    this.root.remove();
  }

  /** The edited mask (the viewer's own; copy it to keep it), while an image is open. */
  get mask(): BinaryMask | undefined {
    return this.opened?.editor.mask;
  }

  /** The open image's review status. */
  get status(): ReviewStatus | undefined {
    return this.opened?.status;
  }

  /** The open image's lesion pixels. */
  get area(): number | undefined {
    return this.opened?.editor.area;
  }

  /** The view (zoom and the image's origin in CSS pixels of the canvas). */
  get viewState(): ViewState {
    return { ...this.view };
  }

  /** Whether the outline is drawn in full (its tiles are computed a few at a time). */
  get outlineFresh(): boolean {
    const o = this.opened;
    return !!o && o.outline.fresh && (o.truthOutline?.fresh ?? true) && this.jobs.size === 0;
  }

  /** The tool in use. */
  get currentTool(): Tool {
    return this.tool;
  }

  /** Sets the zoom, keeping the image point `at` (default: the view's centre) in place. */
  setZoom(zoom: number, at?: { x: number; y: number }): void {
    const { w, h } = this.cssSize();
    const point = at ? this.toScreen(at) : { x: w / 2, y: h / 2 };
    this.zoomAround(zoom / this.view.zoom, point);
  }

  /** Selects a tool. */
  setTool(tool: Tool): void {
    if (!TOOLS.includes(tool)) {
      throw new Error(`unknown tool '${String(tool)}': expected one of ${TOOLS.join(', ')}`);
    }
    this.endStroke();
    this.tool = tool;
    for (const [t, b] of this.toolButtons) b.setAttribute('aria-pressed', String(t === tool));
    this.root.dataset.tool = tool;
    this.canvas.style.cursor = tool === 'pan' ? 'grab' : 'crosshair';
    this.requestRender();
  }

  // ---- the view ----------------------------------------------------------------------------

  private cssSize(): { w: number; h: number } {
    return { w: this.stage.clientWidth || 1, h: this.stage.clientHeight || 1 };
  }

  private resize(): void {
    if (!this.opened) return;
    this.resizeCanvas();
    if (!this.moved) this.fit();
    else this.requestRender();
  }

  private resizeCanvas(): void {
    const dpr = window.devicePixelRatio || 1;
    const { w, h } = this.cssSize();
    const cw = Math.max(1, Math.round(w * dpr));
    const ch = Math.max(1, Math.round(h * dpr));
    if (this.canvas.width !== cw) this.canvas.width = cw;
    if (this.canvas.height !== ch) this.canvas.height = ch;
  }

  /** Fits the whole image in the view, centred. */
  fit(): void {
    const o = this.opened;
    if (!o) return;
    const { w, h } = this.cssSize();
    const zoom = Math.min(w / o.image.width, h / o.image.height);
    this.view = {
      zoom,
      x: (w - o.image.width * zoom) / 2,
      y: (h - o.image.height * zoom) / 2,
    };
    this.moved = false;
    this.viewChanged();
  }

  private zoomBy(factor: number): void {
    const { w, h } = this.cssSize();
    this.zoomAround(factor, { x: w / 2, y: h / 2 });
  }

  /** Zooms by `factor` keeping the CSS point `p` of the canvas over the same image point. */
  private zoomAround(factor: number, p: { x: number; y: number }): void {
    const o = this.opened;
    if (!o) return;
    const { w, h } = this.cssSize();
    const fitZoom = Math.min(w / o.image.width, h / o.image.height);
    const minZoom = Math.min(fitZoom, 1) / 4;
    const zoom = Math.min(MAX_ZOOM, Math.max(minZoom, this.view.zoom * factor));
    const f = zoom / this.view.zoom;
    this.view = { zoom, x: p.x - (p.x - this.view.x) * f, y: p.y - (p.y - this.view.y) * f };
    this.moved = true;
    this.viewChanged();
  }

  private panBy(dx: number, dy: number): void {
    this.view = { ...this.view, x: this.view.x + dx, y: this.view.y + dy };
    this.moved = true;
    this.viewChanged();
  }

  private viewChanged(): void {
    this.zoomText.textContent = `${Math.round(this.view.zoom * 100)}%`;
    this.root.dataset.zoom = this.view.zoom.toFixed(4);
    this.updateLabel();
    this.requestRender();
  }

  private toImage(p: { x: number; y: number }): { x: number; y: number } {
    return { x: (p.x - this.view.x) / this.view.zoom, y: (p.y - this.view.y) / this.view.zoom };
  }

  private toScreen(p: { x: number; y: number }): { x: number; y: number } {
    return { x: p.x * this.view.zoom + this.view.x, y: p.y * this.view.zoom + this.view.y };
  }

  private eventPoint(e: { clientX: number; clientY: number }): { x: number; y: number } {
    const r = this.canvas.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  }

  // ---- drawing -----------------------------------------------------------------------------

  private requestRender(): void {
    if (this.frame || !this.opened) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  /** The image rectangle the view shows (with a pixel of margin). */
  private visibleRect(): Rect {
    const { w, h } = this.cssSize();
    const a = this.toImage({ x: 0, y: 0 });
    const b = this.toImage({ x: w, y: h });
    return {
      x0: Math.floor(a.x) - 1,
      y0: Math.floor(a.y) - 1,
      x1: Math.ceil(b.x) + 1,
      y1: Math.ceil(b.y) + 1,
    };
  }

  private render(): void {
    const o = this.opened;
    if (!o) return;
    const ctx = this.ctx;
    const dpr = this.canvas.width / this.cssSize().w;
    const { zoom, x, y } = this.view;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.globalAlpha = 1;
    // The layers that a stroke does not change (the image, the maps) are drawn once per view
    // into a canvas of the view's size, and copied from it while painting.
    const key = [
      this.canvas.width,
      this.canvas.height,
      zoom,
      x,
      y,
      this.showImage,
      this.heatOpacity,
      ...o.heat.map((h) => h.shown),
    ].join();
    if (key !== this.staticKey || this.staticDirty) {
      this.drawStatic(o, dpr);
      this.staticKey = key;
      this.staticDirty = false;
    }
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.staticCanvas, 0, 0);
    const s = dpr * zoom;
    ctx.setTransform(s, 0, 0, s, dpr * x, dpr * y);
    if (this.showMask && this.maskStyle !== 'outline') {
      ctx.globalAlpha = this.fillOpacity;
      ctx.imageSmoothingEnabled = zoom < 1;
      const seen = this.visibleRect();
      for (const t of o.maskTiles) {
        if (t.x0 < seen.x1 && t.x1 > seen.x0 && t.y0 < seen.y1 && t.y1 > seen.y0) {
          ctx.drawImage(t.canvas, t.x0, t.y0);
        }
      }
    }
    ctx.globalAlpha = 1;
    ctx.setTransform(1, 0, 0, 1, 0, 0);

    const visible = this.visibleRect();
    const t0 = performance.now();
    const stop = () => performance.now() - t0 > OUTLINE_BUDGET_MS;
    let pending = !o.outline.refresh(stop, visible);
    if (o.truthOutline && this.showTruth) {
      pending = !o.truthOutline.refresh(stop, visible) || pending;
      this.strokeOutline(o.truthOutline, TRUTH_COLOUR, dpr, visible);
    }
    if (this.showMask && this.maskStyle !== 'fill') {
      this.strokeOutline(o.outline, MASK_COLOUR, dpr, visible);
    }
    this.drawCursor(dpr);
    if (pending) this.requestRender();
  }

  /** The background, the image and the maps, at the view, into `staticCanvas`. */
  private drawStatic(o: Opened, dpr: number): void {
    const c = this.staticCanvas;
    if (c.width !== this.canvas.width) c.width = this.canvas.width;
    if (c.height !== this.canvas.height) c.height = this.canvas.height;
    const ctx = c.getContext('2d')!;
    const { zoom, x, y } = this.view;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.globalAlpha = 1;
    ctx.fillStyle = '#15181f';
    ctx.fillRect(0, 0, c.width, c.height);
    const s = dpr * zoom;
    ctx.setTransform(s, 0, 0, s, dpr * x, dpr * y);
    // Magnified, pixels stay square; shrunk, the browser's smoothing averages them.
    ctx.imageSmoothingEnabled = zoom < 1;
    if (this.showImage) ctx.drawImage(o.base, 0, 0);
    for (const layer of o.heat) {
      if (!layer.shown) continue;
      ctx.globalAlpha = this.heatOpacity;
      if (layer.exact) {
        ctx.imageSmoothingEnabled = zoom < 1;
        ctx.drawImage(layer.canvas, 0, 0);
      } else {
        ctx.imageSmoothingEnabled = true;
        ctx.drawImage(layer.canvas, 0, 0, o.image.width, o.image.height);
      }
    }
  }

  /** Strokes an outline's segments with their ends on whole device pixels. */
  private strokeOutline(
    outline: TiledOutline,
    colour: readonly number[],
    dpr: number,
    visible: Rect,
  ): void {
    const ctx = this.ctx;
    const sx = dpr * this.view.zoom;
    const ox = dpr * this.view.x;
    const oy = dpr * this.view.y;
    ctx.beginPath();
    for (const segs of outline.segments(visible)) {
      for (let k = 0; k < segs.length; k += 4) {
        ctx.moveTo(Math.round(segs[k] * sx + ox), Math.round(segs[k + 1] * sx + oy));
        ctx.lineTo(Math.round(segs[k + 2] * sx + ox), Math.round(segs[k + 3] * sx + oy));
      }
    }
    ctx.lineWidth = OUTLINE_WIDTH;
    ctx.lineCap = 'square';
    ctx.strokeStyle = rgb(colour);
    ctx.stroke();
  }

  /** The brush's circle at the pointer, or the keyboard's cursor. */
  private drawCursor(dpr: number): void {
    if (this.tool === 'pan') return;
    const focused = document.activeElement === this.canvas;
    const at =
      this.hover ?? (focused || this.keyboardCursor ? this.centre(this.cursor) : undefined);
    if (!at) return;
    const ctx = this.ctx;
    const c = this.toScreen(at);
    const r = this.tool === 'fill' ? 6 / this.view.zoom : this.brush / 2;
    ctx.save();
    ctx.lineWidth = Math.max(1, Math.round(dpr));
    for (const [style, dash] of [
      ['#000', []],
      ['#fff', [4 * dpr, 4 * dpr]],
    ] as const) {
      ctx.setLineDash([...dash]);
      ctx.strokeStyle = style;
      ctx.beginPath();
      ctx.arc(c.x * dpr, c.y * dpr, Math.max(3, r * this.view.zoom) * dpr, 0, 2 * Math.PI);
      ctx.stroke();
      if (!this.hover) {
        // The keyboard's cursor also shows a cross on its pixel.
        const arm = Math.max(6, this.view.zoom) * dpr;
        ctx.beginPath();
        ctx.moveTo(c.x * dpr - arm, c.y * dpr);
        ctx.lineTo(c.x * dpr + arm, c.y * dpr);
        ctx.moveTo(c.x * dpr, c.y * dpr - arm);
        ctx.lineTo(c.x * dpr, c.y * dpr + arm);
        ctx.stroke();
      }
    }
    ctx.restore();
  }

  private centre(p: { x: number; y: number }): { x: number; y: number } {
    return { x: p.x + 0.5, y: p.y + 0.5 };
  }

  /**
   * The image through window/level into the base canvas, a band of rows per job (so a large
   * image's first drawing, and each new window/level, spreads over short tasks).
   */
  private drawBase(): void {
    const o = this.opened;
    if (!o) return;
    const { width, height, channels } = o.image;
    const lut = o.grey ? windowLevelLut(this.wl) : undefined;
    const ctx = o.base.getContext('2d')!;
    this.bandJob('base', { x0: 0, y0: 0, x1: width, y1: height }, (y0, y1) => {
      const rows: RawImage = {
        data: o.image.data.subarray(y0 * width * channels, y1 * width * channels),
        height: y1 - y0,
        width,
        channels,
      };
      let band: ImageData;
      if (lut) {
        band = new ImageData(width, y1 - y0);
        greyToRgba(rows, lut, band.data);
      } else {
        band = toImageData(rows);
      }
      ctx.putImageData(band, 0, y0);
    });
  }

  /** The mask's fill layer within `rect` (in bands of rows when it is large). */
  private drawMaskLayer(rect: Rect): void {
    const o = this.opened;
    if (!o) return;
    const { data, width } = o.editor.mask;
    const [r, g, b] = MASK_COLOUR;
    const draw = (y0: number, y1: number): void => {
      const w = rect.x1 - rect.x0;
      const out = new ImageData(w, y1 - y0);
      const px = out.data;
      for (let y = y0, p = 0; y < y1; y++) {
        for (let i = y * width + rect.x0, end = i + w; i < end; i++, p += 4) {
          if (!data[i]) continue;
          px[p] = r;
          px[p + 1] = g;
          px[p + 2] = b;
          px[p + 3] = 255;
        }
      }
      // Into each tile the band meets (a tile, not one image-sized canvas, is what the
      // browser copies again when it draws a layer that changed).
      for (const t of o.maskTiles) {
        const x0 = Math.max(t.x0, rect.x0);
        const x1 = Math.min(t.x1, rect.x1);
        const ya = Math.max(t.y0, y0);
        const yb = Math.min(t.y1, y1);
        if (x0 >= x1 || ya >= yb) continue;
        t.canvas
          .getContext('2d')!
          .putImageData(out, rect.x0 - t.x0, y0 - t.y0, x0 - rect.x0, ya - y0, x1 - x0, yb - ya);
      }
    };
    if ((rect.x1 - rect.x0) * (rect.y1 - rect.y0) <= BAND_PIXELS) draw(rect.y0, rect.y1);
    else this.bandJob(`mask ${rect.x0},${rect.y0},${rect.x1},${rect.y1}`, rect, draw);
  }

  /**
   * Runs `draw(y0, y1)` over the rows of `rect` in bands of about `BAND_PIXELS`, as jobs of a
   * few milliseconds between frames; a job of the same key is replaced.
   */
  private bandJob(key: string, rect: Rect, draw: (y0: number, y1: number) => void): void {
    const rows = Math.max(1, Math.floor(BAND_PIXELS / Math.max(1, rect.x1 - rect.x0)));
    let y = rect.y0;
    this.jobs.delete(key);
    this.jobs.set(key, () => {
      const y1 = Math.min(rect.y1, y + rows);
      draw(y, y1);
      y = y1;
      return y >= rect.y1;
    });
    if (!this.jobTimer) this.jobTimer = setTimeout(this.runJobs, 0);
  }

  /** Runs queued jobs for up to `JOB_BUDGET_MS`, then yields (and draws) and goes on. */
  private runJobs = (): void => {
    this.jobTimer = 0;
    const t0 = performance.now();
    for (const [key, job] of this.jobs) {
      while (performance.now() - t0 < JOB_BUDGET_MS) {
        if (job()) {
          this.jobs.delete(key);
          break;
        }
      }
      if (performance.now() - t0 >= JOB_BUDGET_MS) break;
    }
    if (this.jobs.size > 0) this.jobTimer = setTimeout(this.runJobs, 0);
    // (The base and the probability layer are drawn by jobs; the mask's big changes too.)
    this.staticDirty = true;
    this.requestRender();
  };

  /** Whether the image's and the mask's layers are drawn in full. */
  get layersReady(): boolean {
    return this.jobs.size === 0;
  }

  /** Redraws what a change of the mask within `rect` moved. */
  private maskChanged(rect: Rect): void {
    this.drawMaskLayer(rect);
    this.opened!.outline.invalidate(rect);
    this.requestRender();
  }

  private setWindowLevel(wl: WindowLevel): void {
    this.wl = {
      window: Math.min(WINDOW_RANGE[1], Math.max(WINDOW_RANGE[0], wl.window)),
      level: Math.min(255, Math.max(0, wl.level)),
    };
    this.windowInput.value = String(this.wl.window);
    this.levelInput.value = String(this.wl.level);
    this.windowInput.setAttribute('aria-valuetext', `window ${this.wl.window}`);
    this.levelInput.setAttribute('aria-valuetext', `level ${this.wl.level}`);
    this.drawBase();
    this.updateLegend();
    this.requestRender();
  }

  // ---- layers, legend, read-out ------------------------------------------------------------

  private buildLayerControls(): void {
    const o = this.opened!;
    const box = this.layersBox;
    box.replaceChildren();
    const check = (
      key: string,
      label: string,
      checked: boolean,
      onChange: (v: boolean) => void,
    ) => {
      const input = el('input', { type: 'checkbox', 'data-layer': key });
      input.checked = checked;
      this.on(input, 'change', () => {
        onChange(input.checked);
        this.updateLegend();
        this.requestRender();
      });
      box.append(el('label', { class: 'viewer-layer' }, input, ` ${label}`));
      return input;
    };
    check('image', 'Image', this.showImage, (v) => (this.showImage = v));
    const maskBox = check('mask', 'Mask', this.showMask, (v) => (this.showMask = v));
    maskBox.setAttribute('aria-keyshortcuts', KEYS.mask);
    const style = el('select', { 'aria-label': 'Mask drawn as', 'data-layer': 'mask-style' });
    for (const [v, t] of [
      ['outline', 'outline'],
      ['fill', 'fill'],
      ['both', 'outline and fill'],
    ]) {
      style.append(el('option', { value: v, text: t }));
    }
    style.value = this.maskStyle;
    this.on(style, 'change', () => {
      this.maskStyle = style.value as MaskStyle;
      this.updateLegend();
      this.requestRender();
    });
    const fillOpacity = this.slider('Mask fill opacity', this.fillOpacity, (v) => {
      this.fillOpacity = v;
    });
    box.append(style, fillOpacity);
    if (o.truthOutline) {
      check('truth', 'Ground truth', this.showTruth, (v) => (this.showTruth = v));
    }
    for (const layer of o.heat) {
      layer.box = check(layer.key, layer.label, layer.shown, (v) => {
        layer.shown = v;
        if (v) layer.exact?.prepare();
      });
    }
    if (o.heat.length > 0) {
      box.append(this.slider('Map opacity', this.heatOpacity, (v) => (this.heatOpacity = v)));
    }
    this.updateLegend();
  }

  private slider(label: string, value: number, set: (v: number) => void): HTMLElement {
    const input = el('input', {
      type: 'range',
      min: 0,
      max: 1,
      step: 0.05,
      'aria-label': label,
    });
    input.value = String(value);
    this.on(input, 'input', () => {
      set(Number(input.value));
      this.requestRender();
    });
    return el('label', { class: 'viewer-layer' }, `${label.replace(/ opacity$/, '')} `, input);
  }

  private makeColourBar(): HTMLElement {
    const bar = el('canvas', {
      width: 256,
      height: 1,
      class: 'viewer-colourbar-ramp',
      'aria-hidden': 'true',
    });
    const ctx = bar.getContext('2d');
    if (ctx) {
      const img = new ImageData(256, 1);
      for (let v = 0; v < 256; v++) {
        img.data.set([VIRIDIS[3 * v], VIRIDIS[3 * v + 1], VIRIDIS[3 * v + 2], 255], 4 * v);
      }
      ctx.putImageData(img, 0, 0);
    }
    const ticks = el('div', { class: 'viewer-ticks', 'aria-hidden': 'true' });
    for (const t of [0, 0.25, 0.5, 0.75, 1]) {
      ticks.append(el('span', { style: `left: ${t * 100}%`, text: String(t) }));
    }
    return el(
      'figure',
      {
        class: 'viewer-colourbar',
        role: 'img',
        'aria-label':
          'Colour bar: viridis from 0 (dark purple) to 1 (yellow), ticks at 0, 0.25, 0.5, 0.75 and 1',
      },
      bar,
      ticks,
    );
  }

  private updateLegend(): void {
    const o = this.opened;
    if (!o) return;
    const items: HTMLElement[] = [];
    const item = (swatch: string, text: string) =>
      el('li', {}, el('span', { class: `viewer-swatch ${swatch}`, 'aria-hidden': 'true' }), text);
    if (this.showImage) {
      const wl = o.grey
        ? this.wl.window === DEFAULT_WINDOW_LEVEL.window &&
          this.wl.level === DEFAULT_WINDOW_LEVEL.level
          ? ' (grey)'
          : ` (grey, window ${this.wl.window}, level ${this.wl.level})`
        : ' (colour)';
      items.push(item('image', `Image${wl}`));
    }
    if (this.showMask) {
      const how = { outline: 'outline', fill: 'fill', both: 'outline and fill' }[this.maskStyle];
      items.push(item(`mask ${this.maskStyle}`, `Mask (${how})`));
    }
    if (o.truthOutline && this.showTruth) items.push(item('truth', 'Ground truth (outline)'));
    const heat = o.heat.filter((h) => h.shown);
    for (const h of heat) items.push(item('heat', `${h.label} (0 to 1)`));
    this.legend.replaceChildren(...items);
    this.colourBar.hidden = heat.length === 0;
  }

  private updateReadout(): void {
    const o = this.opened;
    if (!o) return;
    const p = this.hover ?? (this.keyboardCursor ? this.centre(this.cursor) : undefined);
    if (!p) {
      this.readout.textContent = '';
      return;
    }
    const x = Math.floor(p.x);
    const y = Math.floor(p.y);
    const { width, height, channels, data } = o.image;
    if (x < 0 || y < 0 || x >= width || y >= height) {
      this.readout.textContent = '';
      return;
    }
    const i = y * width + x;
    const s = i * channels;
    const parts = [`x ${x}, y ${y}`];
    parts.push(
      o.grey || channels < 3
        ? `grey ${data[s]}`
        : `R,G,B ${data[s]}, ${data[s + 1]}, ${data[s + 2]}`,
    );
    const prob = o.source.probabilities;
    if (prob && o.probCols && o.probRows) {
      parts.push(`probability ${prob.data[o.probRows[y] * prob.width + o.probCols[x]].toFixed(3)}`);
    }
    parts.push(`mask ${o.editor.mask.data[i]}`);
    if (o.source.truth) parts.push(`truth ${o.source.truth.data[i] ? 1 : 0}`);
    this.readout.textContent = parts.join(' · ');
  }

  /** The canvas's text alternative, and the controls' states. */
  private updateLabel(): void {
    const o = this.opened;
    if (!o) return;
    const { width, height } = o.image;
    const area = o.editor.area;
    const pct = ((100 * area) / (width * height)).toFixed(2);
    this.canvas.setAttribute(
      'aria-label',
      `${o.source.name}, ${width}x${height} pixels, zoom ${Math.round(this.view.zoom * 100)}%, ` +
        `lesion area ${area} pixels (${pct}%), status ${STATUS_WORDS[o.status]}`,
    );
  }

  private updateControls(): void {
    const o = this.opened;
    if (!o) return;
    const { depth } = o.editor;
    this.undoButton.disabled = depth.undo === 0;
    this.redoButton.disabled = depth.redo === 0;
    this.resetButton.disabled = !o.source.modelMask;
    this.statusText.textContent = `Status: ${STATUS_WORDS[o.status]}`;
    this.root.dataset.status = o.status;
    this.acceptButton.setAttribute('aria-pressed', String(o.status === 'accepted'));
    this.windowInput.value = String(this.wl.window);
    this.levelInput.value = String(this.wl.level);
    this.updateLabel();
  }

  // ---- editing -----------------------------------------------------------------------------

  private setBrush(size: number): void {
    this.brush = Math.min(BRUSH_RANGE[1], Math.max(BRUSH_RANGE[0], Math.round(size)));
    this.sizeInput.value = String(this.brush);
    this.sizeText.textContent = `${this.brush} px`;
    this.root.dataset.brush = String(this.brush);
    this.requestRender();
  }

  /** Tells the owner of a finished step and makes the status 'corrected' (or `status`). */
  private stepDone(status: ReviewStatus = 'corrected'): void {
    const o = this.opened!;
    this.callbacks.onMask({ ...o.editor.mask, data: o.editor.mask.data.slice() });
    this.setStatus(status);
    if (o.editor.forgotten) {
      this.say('That change is too large to keep in the history: it cannot be undone.');
    }
    this.updateControls();
    this.updateReadout();
  }

  private setStatus(status: ReviewStatus): void {
    const o = this.opened!;
    if (o.status === status) return;
    o.status = status;
    this.updateControls();
    this.callbacks.onStatus(status);
  }

  private say(text: string): void {
    this.message.textContent = text;
  }

  private endStroke(): void {
    if (this.drag?.kind !== 'stroke') return;
    this.drag = undefined;
    const o = this.opened;
    if (o && o.editor.endStroke()) this.stepDone();
  }

  /** Paints (or erases) a dab of the brush at the keyboard's cursor, one step. */
  private dab(): void {
    this.penDown();
    this.endStroke();
  }

  /**
   * Starts a stroke at the keyboard's cursor (Space held): the arrow keys draw it on, and
   * letting Space go ends it, one step.
   */
  private penDown(): void {
    const o = this.opened;
    if (!o) return;
    this.endStroke();
    const c = this.centre(this.cursor);
    const value = this.tool === 'eraser' ? 0 : 1;
    this.drag = { kind: 'stroke', value, last: c, keyboard: true };
    const rect = o.editor.paint(c, c, this.brush, value);
    if (rect) this.maskChanged(rect);
  }

  private fillAt(p: { x: number; y: number }): void {
    const o = this.opened;
    if (!o) return;
    const result = o.editor.fill(p.x, p.y);
    switch (result.kind) {
      case 'filled':
        this.maskChanged(result.rect);
        this.say(`Filled ${result.pixels} pixels.`);
        this.stepDone();
        return;
      case 'open':
        this.say(
          'Not filled: this region reaches the image’s border, so no outline closes it. ' +
            'Close the outline with the brush, then fill inside it.',
        );
        return;
      case 'lesion':
        this.say('Not filled: this pixel is lesion already. Fill inside an outline.');
        return;
      case 'outside':
        this.say('Not filled: that point is outside the image.');
        return;
      default:
        throw new Error(`unknown fill result: ${JSON.stringify(result)}`);
    }
  }

  undo(): void {
    const o = this.opened;
    if (!o) return;
    this.endStroke();
    const edit = o.editor.undo();
    if (!edit) return this.say('Nothing to undo.');
    this.maskChanged(edit.rect);
    this.say(`Undid the ${edit.kind}.`);
    this.stepDone();
  }

  redo(): void {
    const o = this.opened;
    if (!o) return;
    this.endStroke();
    const edit = o.editor.redo();
    if (!edit) return this.say('Nothing to redo.');
    this.maskChanged(edit.rect);
    this.say(`Redid the ${edit.kind}.`);
    this.stepDone();
  }

  /** Makes the mask the model's again (one undoable step); the status becomes 'unreviewed'. */
  resetToModel(): void {
    const o = this.opened;
    if (!o) return;
    if (!o.source.modelMask) return this.say('There is no model mask to return to.');
    this.endStroke();
    const edit = o.editor.reset(o.source.modelMask);
    if (!edit) {
      this.say("The mask is the model's already.");
      return;
    }
    this.maskChanged(edit.rect);
    this.say("The mask is the model's again (Ctrl+Z brings the correction back).");
    this.stepDone('unreviewed');
  }

  /** Marks the mask as reviewed and right. */
  accept(): void {
    if (!this.opened) return;
    this.endStroke();
    this.setStatus('accepted');
    this.say('Accepted.');
  }

  private closeByPerson(): void {
    this.close();
    this.callbacks.onClose?.();
  }

  // ---- input -------------------------------------------------------------------------------

  private on(
    target: EventTarget,
    type: string,
    fn: EventListener,
    options?: AddEventListenerOptions,
  ): void {
    target.addEventListener(type, fn, options);
    this.listeners.push([target, type, fn, options]);
  }

  private onWheel(e: WheelEvent): void {
    if (!this.opened) return;
    e.preventDefault();
    const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1;
    // ctrl+wheel is a trackpad's pinch: small steps, each worth more.
    const k = e.ctrlKey ? 0.01 : 0.002;
    const factor = Math.exp(-e.deltaY * unit * k);
    this.zoomAround(factor, this.eventPoint(e));
  }

  private onPointerDown(e: PointerEvent): void {
    const o = this.opened;
    if (!o) return;
    this.canvas.focus({ preventScroll: true });
    try {
      this.canvas.setPointerCapture(e.pointerId);
    } catch {
      // (a pointer the browser does not track, as a synthetic one: no capture needed)
    }
    const p = this.eventPoint(e);
    this.pointers.set(e.pointerId, p);
    this.keyboardCursor = false;
    if (this.pointers.size === 2) {
      // A second finger makes the first one's touch a pinch, not a stroke.
      if (this.drag?.kind === 'stroke') {
        const rect = o.editor.cancelStroke();
        if (rect) this.maskChanged(rect);
      }
      const [a, b] = [...this.pointers.values()];
      this.drag = {
        kind: 'pinch',
        distance: Math.hypot(a.x - b.x, a.y - b.y) || 1,
        mid: { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 },
      };
      return;
    }
    if (this.pointers.size > 2) return;
    const q = this.toImage(p);
    if (e.button === 1 || this.tool === 'pan') {
      this.drag = { kind: 'pan', x: p.x, y: p.y };
      this.canvas.style.cursor = 'grabbing';
    } else if (e.button !== 0) {
      return;
    } else if (this.tool === 'fill') {
      this.fillAt(q);
    } else {
      const value = this.tool === 'eraser' ? 0 : 1;
      this.drag = { kind: 'stroke', value, last: q };
      const rect = o.editor.paint(q, q, this.brush, value);
      if (rect) this.maskChanged(rect);
    }
  }

  private onPointerMove(e: PointerEvent): void {
    const o = this.opened;
    if (!o) return;
    const p = this.eventPoint(e);
    if (this.pointers.has(e.pointerId)) this.pointers.set(e.pointerId, p);
    this.hover = this.toImage(p);
    this.readout.setAttribute('aria-live', 'off');
    const drag = this.drag;
    if (drag?.kind === 'pinch' && this.pointers.size >= 2) {
      const [a, b] = [...this.pointers.values()];
      const distance = Math.hypot(a.x - b.x, a.y - b.y) || 1;
      const mid = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
      this.panBy(mid.x - drag.mid.x, mid.y - drag.mid.y);
      this.zoomAround(distance / drag.distance, mid);
      this.drag = { kind: 'pinch', distance, mid };
    } else if (drag?.kind === 'pan') {
      this.panBy(p.x - drag.x, p.y - drag.y);
      this.drag = { kind: 'pan', x: p.x, y: p.y };
    } else if (drag?.kind === 'stroke') {
      const q = this.hover;
      const rect = o.editor.paint(drag.last, q, this.brush, drag.value);
      drag.last = q;
      if (rect) this.maskChanged(rect);
    } else if (this.tool !== 'pan') {
      this.requestRender();
    }
    this.updateReadout();
  }

  private onPointerUp(e: PointerEvent): void {
    this.pointers.delete(e.pointerId);
    const drag = this.drag;
    if (drag?.kind === 'stroke') this.endStroke();
    else if (drag?.kind === 'pinch') {
      // The finger left on the glass pans from here.
      const rest = [...this.pointers.values()][0];
      this.drag = rest ? { kind: 'pan', x: rest.x, y: rest.y } : undefined;
      return;
    } else this.drag = undefined;
    this.canvas.style.cursor = this.tool === 'pan' ? 'grab' : 'crosshair';
  }

  private onKey(e: KeyboardEvent): void {
    const o = this.opened;
    if (!o) return;
    const target = e.target as HTMLElement;
    const tag = target.tagName;
    const inControl = tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA';
    const onButton = tag === 'BUTTON';
    const key = e.key;
    const ctrl = e.ctrlKey || e.metaKey;
    if (ctrl && !e.altKey) {
      const k = key.toLowerCase();
      if ((k === 'z' && e.shiftKey) || k === 'y') this.redo();
      else if (k === 'z') this.undo();
      else return;
      e.preventDefault();
      return;
    }
    if (e.altKey || ctrl) return;
    // Controls keep their own keys (a slider's arrows, a button's Space and Enter).
    const controlKeys = [
      'ArrowLeft',
      'ArrowRight',
      'ArrowUp',
      'ArrowDown',
      ' ',
      'Enter',
      'Home',
      'End',
      'PageUp',
      'PageDown',
    ];
    if ((inControl || onButton) && controlKeys.includes(key)) return;
    if (inControl && tag !== 'INPUT') return;
    const drawing = this.tool !== 'pan';
    const arrow: Record<string, [number, number]> = {
      ArrowLeft: [-1, 0],
      ArrowRight: [1, 0],
      ArrowUp: [0, -1],
      ArrowDown: [0, 1],
    };
    if (key in arrow) {
      const [dx, dy] = arrow[key];
      if (drawing) this.moveCursor(dx * (e.shiftKey ? 10 : 1), dy * (e.shiftKey ? 10 : 1));
      else this.panBy(-dx * PAN_STEP * (e.shiftKey ? 4 : 1), -dy * PAN_STEP * (e.shiftKey ? 4 : 1));
      e.preventDefault();
      return;
    }
    switch (key) {
      case '+':
      case '=':
        this.zoomBy(ZOOM_STEP);
        break;
      case '-':
      case '_':
        this.zoomBy(1 / ZOOM_STEP);
        break;
      case '0':
        this.fit();
        break;
      case 'h':
      case 'H':
        this.setTool('pan');
        break;
      case 'b':
      case 'B':
        this.setTool('brush');
        this.keyboardCursor = true;
        break;
      case 'e':
      case 'E':
        this.setTool('eraser');
        this.keyboardCursor = true;
        break;
      case 'f':
      case 'F':
        this.setTool('fill');
        this.keyboardCursor = true;
        break;
      case '[':
        this.setBrush(this.brush < 10 ? this.brush - 1 : this.brush / 1.25);
        break;
      case ']':
        this.setBrush(this.brush < 10 ? this.brush + 1 : this.brush * 1.25);
        break;
      case ' ':
      case 'Enter':
        if (e.repeat) break;
        if (this.tool === 'fill') this.fillAt(this.centre(this.cursor));
        else if (drawing && key === ' ') this.penDown();
        else if (drawing) this.dab();
        else return;
        this.keyboardCursor = true;
        break;
      case 'a':
      case 'A':
        this.accept();
        break;
      case 'm':
      case 'M': {
        this.showMask = !this.showMask;
        const box = this.layersBox.querySelector<HTMLInputElement>('input[data-layer="mask"]');
        if (box) box.checked = this.showMask;
        this.updateLegend();
        this.requestRender();
        break;
      }
      case 'w':
      case 'W':
        if (!o.grey) return;
        this.setWindowLevel({
          ...this.wl,
          window: this.wl.window + (e.shiftKey ? -1 : 1) * WINDOW_KEY_STEP,
        });
        break;
      case 'l':
      case 'L':
        if (!o.grey) return;
        this.setWindowLevel({
          ...this.wl,
          level: this.wl.level + (e.shiftKey ? -1 : 1) * LEVEL_KEY_STEP,
        });
        break;
      case 'Escape':
        this.closeByPerson();
        break;
      default:
        return;
    }
    e.preventDefault();
  }

  /** Moves the keyboard's cursor by whole pixels, keeping it in the image and in view. */
  private moveCursor(dx: number, dy: number): void {
    const o = this.opened!;
    this.keyboardCursor = true;
    this.hover = undefined;
    this.cursor = {
      x: Math.min(o.image.width - 1, Math.max(0, this.cursor.x + dx)),
      y: Math.min(o.image.height - 1, Math.max(0, this.cursor.y + dy)),
    };
    const drag = this.drag;
    if (drag?.kind === 'stroke' && drag.keyboard) {
      const to = this.centre(this.cursor);
      const rect = o.editor.paint(drag.last, to, this.brush, drag.value);
      drag.last = to;
      if (rect) this.maskChanged(rect);
    }
    const c = this.toScreen(this.centre(this.cursor));
    const { w, h } = this.cssSize();
    const margin = Math.min(40, w / 4, h / 4);
    let px = 0;
    let py = 0;
    if (c.x < margin) px = margin - c.x;
    if (c.x > w - margin) px = w - margin - c.x;
    if (c.y < margin) py = margin - c.y;
    if (c.y > h - margin) py = h - margin - c.y;
    if (px || py) this.panBy(px, py);
    this.root.dataset.cursor = `${this.cursor.x},${this.cursor.y}`;
    this.readout.setAttribute('aria-live', 'polite');
    this.updateReadout();
    this.requestRender();
  }
}
