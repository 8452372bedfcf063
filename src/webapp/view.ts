/**
 * The page's DOM (`index.html`): the model and engine lines, the progress and notice lines,
 * one card per image (the overlay, the probability map, the attention maps, the lesion's area,
 * the time taken, the threshold slider and the mask's download), the zip link and the
 * Diagnostics panel. It draws what `state.ts` holds and tells `app.ts` of the slider through a
 * callback; it changes no state. Browser-only.
 */
import { toImageData } from '../browser/image.js';
import { heatmapImage, VIRIDIS } from '../predict/colormap.js';
import { overlayMask, type OverlayStyle } from '../predict/overlay.js';
import type { RawImage } from '../util/raster.js';
import { formatVerdict } from '../eval/quality.js';
import { diagnosticsText } from './diagnostics.js';
import { maskFileName } from './export.js';
import type { PipelineModel } from './pipeline.js';
import type { AppState, Engine, ImageResult } from './state.js';

/**
 * The longest side of the pictures in the page: they are drawn at this size, not the image's
 * (a 3188x2166 dermoscopy image would take seconds per picture), from the preview the worker
 * makes; the masks stay full size.
 */
export const DISPLAY_MAX = 480;

/** Told when the reader sets a result's threshold with its slider. */
export type OnThreshold = (result: ImageResult, threshold: number) => void;

/** What the page keeps of a result's card between drawings. */
interface Card {
  element: HTMLElement;
  onThreshold: OnThreshold;
  /** Counts the drawings of the card: a drawing stops when a newer one starts. */
  drawing: number;
  /** The mask download's object URL, made on its first click, and the mask it holds. */
  url?: { href: string; mask: ImageResult['mask'] };
}

const cards = new WeakMap<ImageResult, Card>();
/** The zip's object URL, made on the zip link's first click after the results changed. */
let zipUrl: string | undefined;

/** The element of the page with this id. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`the page has no #${id}`);
  return el as T;
}

/** Shows a notice for the reader (replacing the previous one). */
export function showNotice(text: string): void {
  const el = byId('notice');
  el.textContent = text;
  el.hidden = false;
}

/** The progress line. */
export function showProgress(text: string): void {
  byId('progress').textContent = text;
}

/** Shows the cancel button while images are being predicted. */
export function showCancel(shown: boolean): void {
  byId('cancel').hidden = !shown;
}

/** The model line: what the model is, or that none could be loaded. */
export function showModel(loaded: Pick<PipelineModel, 'metadata'> | undefined): void {
  if (loaded === undefined) {
    byId('model-line').textContent = 'No model could be loaded.';
    return;
  }
  const m = loaded.metadata;
  const [h, w, c] = m.predict.inputShape;
  const trained = m.training?.dataset ? `, trained on ${m.training.dataset}` : '';
  byId('model-line').textContent =
    `Model: ${m.model} (${h}x${w}, ${c === 1 ? 'grey' : 'RGB'}${trained}).`;
}

/** The engine line, and `data-engine` on the body (the tests read it). */
export function showEngine(engine: Engine | undefined): void {
  if (!engine) return;
  const { threads, engineLabel } = engine.model;
  byId('engine-line').textContent =
    `Engine: ${engineLabel}${threads > 1 ? `, ${threads} threads` : ''}`;
  document.body.dataset.engine = engineLabel;
}

/**
 * Marks the page for the reader's scripts and the tests: `data-ready` ('true' once an engine
 * runs, 'error' when no model is loaded) and `data-busy` on the body.
 */
export function markPage(key: 'ready' | 'busy', value: string): void {
  document.body.dataset[key] = value;
}

/** Whether the page is marked as having no model (`markPage('ready', 'error')`). */
export function noModel(): boolean {
  return document.body.dataset.ready === 'error';
}

/** Says that `waiting` queued images wait for a model (one loading, or one to be opened). */
export function showWaiting(waiting: number): void {
  if (waiting === 0) return;
  const images = `${waiting} image${waiting === 1 ? '' : 's'}`;
  showProgress(
    noModel()
      ? `No model is loaded: ${images} will be processed once one is opened.`
      : `Waiting for the model to load: ${images} will be processed once it is ready.`,
  );
}

/** A card for an image that was not processed. */
export function showFailure(name: string, message: string): void {
  const card = document.createElement('article');
  card.className = 'card error';
  card.dataset.file = name;
  const h = document.createElement('h2');
  h.textContent = name;
  const p = document.createElement('p');
  p.className = 'message';
  p.textContent = `Not processed: ${message}.`;
  card.append(h, p);
  byId('results').append(card);
}

/** Adds the card of a new result. */
export function showResult(result: ImageResult, onThreshold: OnThreshold): void {
  const element = document.createElement('article');
  element.className = 'card';
  element.dataset.file = result.name;
  cards.set(result, { element, onThreshold, drawing: 0 });
  drawResult(result);
  byId('results').append(element);
}

/** Draws every result's card again (the overlay's style or opacity changed). */
export function drawResults(results: readonly ImageResult[]): void {
  for (const r of results) drawResult(r);
}

function canvasOf(image: RawImage): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.getContext('2d')!.putImageData(toImageData(image), 0, 0);
  return canvas;
}

function figure(canvas: HTMLCanvasElement, caption: string, extra?: HTMLElement): HTMLElement {
  const fig = document.createElement('figure');
  const cap = document.createElement('figcaption');
  cap.textContent = caption;
  fig.append(canvas, ...(extra ? [extra] : []), cap);
  return fig;
}

/** A viridis colour bar from 0 (left) to 1 (right). */
function colorBar(): HTMLCanvasElement {
  const data = new Uint8Array(256 * 3);
  data.set(VIRIDIS.subarray(0, 256 * 3));
  const canvas = canvasOf({ data, height: 1, width: 256, channels: 3 });
  canvas.className = 'colorbar';
  canvas.title = '0 (left) to 1 (right)';
  return canvas;
}

/** `heat` (viridis-coloured) blended half and half over `image`. */
function blendOver(image: RawImage, heat: RawImage): RawImage {
  const n = image.width * image.height;
  const out = new Uint8Array(n * 3);
  const c = image.channels;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 3; k++) {
      const v = c >= 3 ? image.data[i * c + k] : image.data[i * c];
      out[i * 3 + k] = Math.round(0.5 * v + 0.5 * heat.data[i * 3 + k]);
    }
  }
  return { data: out, height: image.height, width: image.width, channels: 3 };
}

/** The overlay's style and opacity, as the controls set them. */
function overlayStyle(): { style: OverlayStyle; opacity: number } {
  return {
    style: byId<HTMLSelectElement>('style').value as OverlayStyle,
    opacity: Number(byId<HTMLInputElement>('opacity').value),
  };
}

function drawResult(r: ImageResult): void {
  const card = cards.get(r)!;
  const { element } = card;
  const { prediction, mask } = r;
  const display = r.preview.image;
  // A download made at another threshold is stale.
  if (card.url && card.url.mask !== mask) {
    URL.revokeObjectURL(card.url.href);
    delete card.url;
  }
  const size: [number, number] = [display.height, display.width];
  element.replaceChildren();
  const h = document.createElement('h2');
  h.textContent = r.name;
  const figures = document.createElement('div');
  figures.className = 'figures';
  const { style, opacity } = overlayStyle();
  // Each picture is drawn in a task of its own, the page answering between them: a card's
  // five pictures in one task took longer than 100 ms on a slow machine.
  const pictures: (() => HTMLElement)[] = [
    () => {
      const overlay = canvasOf(overlayMask(display, r.preview.mask, { style, opacity }));
      overlay.className = 'overlay';
      return figure(overlay, `mask (${style})`);
    },
    () => {
      const prob = heatmapImage(
        {
          data: prediction.probabilities,
          height: prediction.inputSize[0],
          width: prediction.inputSize[1],
        },
        size,
      );
      return figure(canvasOf(prob), 'probability (0 to 1)', colorBar());
    },
    ...prediction.attention.map((map, k) => () => {
      const heat = heatmapImage(map, size);
      return figure(
        canvasOf(blendOver(display, heat)),
        `attention gate ${k + 1} (${map.height}x${map.width}; 0 to 1)`,
        colorBar(),
      );
    }),
  ];
  const drawing = ++card.drawing;
  void (async () => {
    for (const picture of pictures) {
      if (card.drawing !== drawing) return;
      figures.append(picture());
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  })();

  const stats = document.createElement('div');
  stats.className = 'stats';
  const pixels = mask.pixels;
  const area = document.createElement('span');
  area.className = 'area';
  area.textContent = `lesion: ${((100 * pixels) / (r.width * r.height)).toFixed(2)}% (${pixels} px)`;
  const qc = document.createElement('span');
  qc.className = `qc qc-${r.qc.verdict}`;
  qc.textContent = `qc: ${formatVerdict(r.qc)}`;
  qc.title =
    'quality control: the image against the training images, the lesion area, the confidence inside it, the mask of the mirrored image';
  const time = document.createElement('span');
  time.textContent = `time: ${r.timing.totalMs.toFixed(0)} ms`;
  time.title = `decode ${r.timing.decodeMs.toFixed(0)} ms, network ${r.timing.networkMs.toFixed(0)} ms, post-processing ${r.timing.postMs.toFixed(0)} ms`;
  const slider = document.createElement('label');
  slider.textContent = 'threshold ';
  const input = document.createElement('input');
  input.type = 'range';
  input.min = '0.01';
  input.max = '0.99';
  input.step = '0.01';
  input.value = String(r.threshold);
  input.className = 'threshold';
  const shown = document.createElement('output');
  shown.textContent = r.threshold.toFixed(2);
  input.addEventListener('change', () => card.onThreshold(r, Number(input.value)));
  input.addEventListener('input', () => {
    shown.textContent = Number(input.value).toFixed(2);
  });
  slider.append(input, ' ', shown);
  const link = document.createElement('a');
  link.className = 'button download';
  // The PNG is made on the first click: the link's address is set before the browser follows it.
  link.href = card.url?.href ?? '#';
  link.addEventListener('click', (e) => {
    if (r.pending) {
      // A new mask is being made: the download follows once it is there.
      e.preventDefault();
      void r.pending.then(() => element.querySelector<HTMLAnchorElement>('a.download')?.click());
      return;
    }
    card.url ??= {
      href: URL.createObjectURL(new Blob([mask.png as BlobPart], { type: 'image/png' })),
      mask,
    };
    link.href = card.url.href;
  });
  link.download = maskFileName(r);
  link.textContent = `Download ${link.download}`;
  stats.append(area, qc, time, slider, link);
  element.append(h);
  if (r.notes.length > 0) {
    const note = document.createElement('p');
    note.className = 'note';
    note.textContent = r.notes.join(' ');
    element.append(note);
  }
  element.append(figures, stats);
}

/**
 * The results changed: the zip is made again on its next click (`zipHref`); the link is
 * enabled once there are results.
 */
export function resetZip(results: number): void {
  const link = byId<HTMLAnchorElement>('zip');
  if (zipUrl) URL.revokeObjectURL(zipUrl);
  zipUrl = undefined;
  if (results === 0) return;
  link.href = '#';
  link.classList.remove('disabled');
  link.removeAttribute('aria-disabled');
}

/** The zip link's address: the zip `make` gives, made once until `resetZip`. */
export function zipHref(make: () => Uint8Array): string {
  zipUrl ??= URL.createObjectURL(new Blob([make() as BlobPart], { type: 'application/zip' }));
  return zipUrl;
}

/** Writes the Diagnostics panel from `state` and what this browser reports. */
export function showDiagnostics(state: AppState): void {
  const memory = (
    performance as Performance & { memory?: { usedJSHeapSize: number; jsHeapSizeLimit: number } }
  ).memory;
  byId('diag-text').textContent = diagnosticsText(state, {
    crossOriginIsolated,
    cores: navigator.hardwareConcurrency,
    userAgent: navigator.userAgent,
    ...(memory ? { memory } : {}),
  });
}

/** Copies the Diagnostics panel's text, or selects it where the browser refuses the clipboard. */
export async function copyDiagnostics(): Promise<void> {
  const text = byId('diag-text').textContent ?? '';
  try {
    await navigator.clipboard.writeText(text);
    byId('copy-state').textContent = 'copied';
  } catch {
    const range = document.createRange();
    range.selectNodeContents(byId('diag-text'));
    const sel = getSelection();
    sel?.removeAllRanges();
    sel?.addRange(range);
    byId('copy-state').textContent = 'selected: press Ctrl+C (the browser refused the clipboard)';
  }
}
