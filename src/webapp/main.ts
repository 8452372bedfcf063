/**
 * The web app that `ftunet app` writes: segment images with the built-in model in this
 * browser. Files come by the picker or by drag-and-drop and are predicted one after another,
 * the page updating between them; each gets the overlay, the probability map, the attention
 * maps, the lesion's area, the time taken, a threshold slider that re-thresholds the kept
 * probabilities, and the mask as a PNG to download (equal to `ftunet predict`'s at the
 * recorded threshold). Options in the URL: `?backend=auto|webgpu|webgl|wasm|cpu`,
 * `&engine=auto|tfjs|onnxruntime`, `&threads=N`. Every URL is relative to the page, so the
 * folder can be hosted under any path. Browser-only.
 */
import { zipSync } from 'fflate';
import {
  BROWSER_BACKEND_CHOICES,
  BROWSER_ENGINE_CHOICES,
  type BrowserBackendChoice,
  type BrowserEngineChoice,
} from '../browser/engine_choice.js';
import { BrowserImageError, decodeImageFile, toImageData } from '../browser/image.js';
import { loadBrowserModel, type LoadedModel } from '../browser/model.js';
import { maskEntryName, masksZipFiles } from '../browser/masks_zip.js';
import { encodeMaskPng } from '../browser/png.js';
import { Segmenter, type Segmentation } from '../browser/segmenter.js';
import {
  driftScore,
  DRIFT_Z,
  imageIntensity,
  inputStatisticsOf,
} from '../data/input_statistics.js';
import { heatmapImage, VIRIDIS } from '../predict/colormap.js';
import { overlayMask, type OverlayStyle } from '../predict/overlay.js';
import {
  convertChannels,
  resizeImage,
  resizeMask,
  type BinaryMask,
  type RawImage,
} from '../util/raster.js';

/** The built-in model, beside the page. */
const MODEL_URL = 'model/model.json';
/** Images whose header gives more pixels than this are refused (as `--max-pixels`). */
const MAX_PIXELS = 100_000_000;
/**
 * The longest side of the pictures in the page: they are drawn at this size, not the image's
 * (a 3188x2166 dermoscopy image would take seconds per picture); the masks stay full size.
 */
const DISPLAY_MAX = 480;
/** How many recent timings the diagnostics keep. */
const TIMINGS_KEPT = 20;

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`the page has no #${id}`);
  return el as T;
};

interface Result {
  name: string;
  stem: string;
  image: RawImage;
  prediction: Segmentation;
  threshold: number;
  mask: BinaryMask;
  /** The image at the size the page shows it (see `DISPLAY_MAX`), RGB. */
  display: RawImage;
  /** The mask's PNG, made when it is first downloaded (a large image takes a while). */
  png?: Uint8Array;
  card: HTMLElement;
  url?: string;
  /** How the image's channels were made to fit the model, when they did not already. */
  note?: string;
}

const state = {
  loaded: undefined as LoadedModel | undefined,
  segmenter: undefined as Segmenter | undefined,
  results: [] as Result[],
  queue: [] as File[],
  busy: false,
  timings: [] as string[],
  fallbacks: [] as string[],
  zipUrl: undefined as string | undefined,
  lastError: undefined as string | undefined,
};

function options(): {
  backend: BrowserBackendChoice;
  engine: BrowserEngineChoice;
  threads?: number;
} {
  const q = new URLSearchParams(location.search);
  const backend = (q.get('backend') ?? 'auto') as BrowserBackendChoice;
  const engine = (q.get('engine') ?? 'auto') as BrowserEngineChoice;
  const threads = q.get('threads');
  if (!BROWSER_BACKEND_CHOICES.includes(backend)) {
    notice(`Unknown backend '${backend}' in the address; using auto.`);
  }
  if (!BROWSER_ENGINE_CHOICES.includes(engine)) {
    notice(`Unknown engine '${engine}' in the address; using auto.`);
  }
  return {
    backend: BROWSER_BACKEND_CHOICES.includes(backend) ? backend : 'auto',
    engine: BROWSER_ENGINE_CHOICES.includes(engine) ? engine : 'auto',
    ...(threads !== null && Number(threads) >= 1 ? { threads: Math.floor(Number(threads)) } : {}),
  };
}

function notice(text: string): void {
  const el = $('notice');
  el.textContent = text;
  el.hidden = false;
}

function progress(text: string): void {
  $('progress').textContent = text;
}

async function useModel(loaded: LoadedModel): Promise<void> {
  const previous = state.segmenter;
  state.segmenter = undefined;
  await previous?.dispose();
  state.loaded?.model.dispose();
  state.loaded = loaded;
  const m = loaded.metadata;
  const [h, w, c] = m.predict.inputShape;
  const trained = m.training?.dataset ? `, trained on ${m.training.dataset}` : '';
  $('model-line').textContent =
    `Model: ${m.model} (${h}x${w}, ${c === 1 ? 'grey' : 'RGB'}${trained}).`;
  progress('Starting the engine…');
  const opts = options();
  state.segmenter = await Segmenter.create(loaded, {
    wasmPath: new URL('wasm/', location.href).href,
    backend: opts.backend,
    engine: opts.engine,
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    onFallback: (failed, reason, next) => {
      const line = `${failed} failed (${reason}); now ${next}`;
      state.fallbacks.push(line);
      notice(`The ${failed} engine failed (${reason}); switched to ${next}.`);
      showEngine();
    },
  });
  showEngine();
  progress('Ready: drop images or choose them.');
  document.body.dataset.ready = 'true';
  updateDiagnostics();
  if (state.queue.length > 0) void drain();
}

function showEngine(): void {
  const s = state.segmenter;
  if (!s) return;
  const threads = s.threads > 1 ? `, ${s.threads} threads` : '';
  $('engine-line').textContent = `Engine: ${s.engineLabel}${threads}`;
  document.body.dataset.engine = s.engineLabel;
}

function stemOf(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? name;
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

function enqueue(files: Iterable<File>): void {
  state.queue.push(...files);
  void drain();
}

/** Says that the queued images wait for a model (one loading, or one to be opened). */
function showWaiting(): void {
  const n = state.queue.length;
  if (n === 0) return;
  const images = `${n} image${n === 1 ? '' : 's'}`;
  progress(
    document.body.dataset.ready === 'error'
      ? `No model is loaded: ${images} will be processed once one is opened.`
      : `Waiting for the model to load: ${images} will be processed once it is ready.`,
  );
}

/**
 * Predicts the queued images one after another. Images chosen while no model is ready (the
 * built-in one loading, its engine starting, or another being opened) stay queued, and the
 * model's arrival drains them (`useModel`).
 */
async function drain(): Promise<void> {
  if (state.busy) return;
  if (!state.segmenter) {
    showWaiting();
    return;
  }
  state.busy = true;
  document.body.dataset.busy = 'true';
  let done = 0;
  try {
    while (state.queue.length > 0 && state.segmenter) {
      const segmenter = state.segmenter;
      const total = done + state.queue.length;
      const file = state.queue.shift()!;
      progress(`Predicting ${done + 1} of ${total}: ${file.name}`);
      // Let the page draw before the work of this image starts.
      await new Promise((resolve) => setTimeout(resolve, 0));
      await predictFile(file, segmenter);
      done++;
    }
    progress(`Done: ${done} file${done === 1 ? '' : 's'}.`);
  } finally {
    state.busy = false;
    document.body.dataset.busy = 'false';
    updateZip();
    updateDiagnostics();
  }
}

async function predictFile(file: File, segmenter: Segmenter): Promise<void> {
  let image: RawImage;
  try {
    image = (await decodeImageFile(file, { maxPixels: MAX_PIXELS })).image;
  } catch (err) {
    errorCard(file.name, err instanceof BrowserImageError ? err.reason : describe(err));
    return;
  }
  let prediction: Segmentation;
  try {
    prediction = await segmenter.predict(image);
  } catch (err) {
    errorCard(file.name, `the prediction failed: ${describe(err)}`);
    return;
  }
  const result = makeResult(file.name, image, prediction, segmenter.threshold);
  state.results.push(result);
  $('results').append(result.card);
  state.timings.push(
    `${file.name}: ${image.width}x${image.height}, preprocess ${prediction.timing.preprocessMs.toFixed(0)} ms, ` +
      `network ${prediction.timing.networkMs.toFixed(0)} ms (${prediction.engine})`,
  );
  if (state.timings.length > TIMINGS_KEPT) state.timings.shift();
}

function errorCard(name: string, message: string): void {
  const card = document.createElement('article');
  card.className = 'card error';
  card.dataset.file = name;
  const h = document.createElement('h2');
  h.textContent = name;
  const p = document.createElement('p');
  p.className = 'message';
  p.textContent = `Not processed: ${message}.`;
  card.append(h, p);
  $('results').append(card);
  state.lastError = `${name}: ${message}`;
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

/** `map` coloured with viridis, blended half and half over `image`. */
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

/** The mask's PNG (made once). */
function maskPng(r: Result): Uint8Array {
  r.png ??= encodeMaskPng(r.mask);
  return r.png;
}

/** `image` as RGB at the size the page shows it (longest side `DISPLAY_MAX` at most). */
function displayImage(image: RawImage): RawImage {
  const scale = Math.min(1, DISPLAY_MAX / Math.max(image.height, image.width));
  const size: [number, number] = [
    Math.max(1, Math.round(image.height * scale)),
    Math.max(1, Math.round(image.width * scale)),
  ];
  return resizeImage(convertChannels(image, 3), size, scale < 1 ? 'bilinear' : 'nearest');
}

function overlayStyle(): { style: OverlayStyle; opacity: number } {
  return {
    style: ($('style') as HTMLSelectElement).value as OverlayStyle,
    opacity: Number(($('opacity') as HTMLInputElement).value),
  };
}

function makeResult(
  name: string,
  image: RawImage,
  prediction: Segmentation,
  threshold: number,
): Result {
  const segmenter = state.segmenter!;
  const mask = segmenter.mask(prediction, threshold);
  const card = document.createElement('article');
  card.className = 'card';
  card.dataset.file = name;
  const result: Result = {
    name,
    stem: stemOf(name),
    image,
    prediction,
    threshold,
    mask,
    display: displayImage(image),
    card,
  };
  const notes = [
    channelNote(image, segmenter.loaded.metadata.predict.inputShape[2]),
    driftNote(segmenter, image),
  ].filter((n) => n !== undefined);
  if (notes.length > 0) result.note = notes.join(' ');
  renderCard(result);
  return result;
}

/** Whether an RGB(A) image has any pixel whose red, green and blue differ. */
function hasColour(image: RawImage): boolean {
  const c = image.channels;
  if (c < 3) return false;
  for (let i = 0; i < image.data.length; i += c) {
    if (image.data[i] !== image.data[i + 1] || image.data[i + 1] !== image.data[i + 2]) return true;
  }
  return false;
}

/**
 * A note when the image had to be converted to fit the model, as `ftunet predict` converts
 * it: a colour image for a grey model (BT.601 luma), a grey one for a colour model.
 */
function channelNote(image: RawImage, modelChannels: number): string | undefined {
  const colour = hasColour(image);
  if (modelChannels === 1 && colour) {
    return 'This is a colour image and the model takes grey images: it was converted to grey (luma) first, as ftunet predict does. Check that the model fits these images.';
  }
  if (modelChannels === 3 && !colour) {
    return 'This is a grey image and the model takes colour images: its grey was copied into red, green and blue, as ftunet predict does. Check that the model fits these images.';
  }
  return undefined;
}

/**
 * A note when the image does not look like the model's training images (their brightness and
 * contrast, recorded with the model by training), as `ftunet predict` warns.
 */
function driftNote(segmenter: Segmenter, image: RawImage): string | undefined {
  const stats = inputStatisticsOf(segmenter.loaded.model.getUserDefinedMetadata());
  if (stats === undefined || stats.channels !== segmenter.loaded.metadata.predict.inputShape[2]) {
    return undefined;
  }
  const seen = imageIntensity(segmenter.preprocess(image).data, stats.channels);
  if (driftScore(stats, seen) <= DRIFT_Z) return undefined;
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  return (
    `This image does not look like the model's ${stats.images} training images ` +
    `(brightness ${mean(seen.brightness).toFixed(0)}, ${mean(stats.brightness.mean).toFixed(0)} ± ` +
    `${mean(stats.brightness.std).toFixed(0)} in training; contrast ${mean(seen.contrast).toFixed(0)}, ` +
    `${mean(stats.contrast.mean).toFixed(0)} ± ${mean(stats.contrast.std).toFixed(0)}): its mask may be meaningless.`
  );
}

function renderCard(r: Result): void {
  const { display, prediction, mask } = r;
  const size: [number, number] = [display.height, display.width];
  const card = r.card;
  card.replaceChildren();
  const h = document.createElement('h2');
  h.textContent = r.name;
  const figures = document.createElement('div');
  figures.className = 'figures';
  const { style, opacity } = overlayStyle();
  const overlay = canvasOf(overlayMask(display, resizeMask(mask, size), { style, opacity }));
  overlay.className = 'overlay';
  figures.append(figure(overlay, `mask (${style})`));
  const prob = heatmapImage(
    {
      data: prediction.probabilities,
      height: prediction.inputSize[0],
      width: prediction.inputSize[1],
    },
    size,
  );
  figures.append(figure(canvasOf(prob), 'probability (0 to 1)', colorBar()));
  prediction.attention.forEach((map, k) => {
    const heat = heatmapImage(map, size);
    figures.append(
      figure(
        canvasOf(blendOver(display, heat)),
        `attention gate ${k + 1} (${map.height}x${map.width}; 0 to 1)`,
        colorBar(),
      ),
    );
  });

  const stats = document.createElement('div');
  stats.className = 'stats';
  let pixels = 0;
  for (let i = 0; i < mask.data.length; i++) pixels += mask.data[i];
  const area = document.createElement('span');
  area.className = 'area';
  area.textContent = `lesion: ${((100 * pixels) / mask.data.length).toFixed(2)}% (${pixels} px)`;
  const time = document.createElement('span');
  time.textContent = `time: ${prediction.timing.totalMs.toFixed(0)} ms`;
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
  input.addEventListener('change', () => {
    r.threshold = Number(input.value);
    r.mask = state.segmenter!.mask(r.prediction, r.threshold);
    delete r.png;
    if (r.url) URL.revokeObjectURL(r.url);
    delete r.url;
    renderCard(r);
    updateZip();
  });
  input.addEventListener('input', () => {
    shown.textContent = Number(input.value).toFixed(2);
  });
  slider.append(input, ' ', shown);
  const link = document.createElement('a');
  link.className = 'button download';
  // The PNG is made on the first click: the link's address is set before the browser follows it.
  link.href = r.url ?? '#';
  link.addEventListener('click', () => {
    r.url ??= URL.createObjectURL(new Blob([maskPng(r) as BlobPart], { type: 'image/png' }));
    link.href = r.url;
  });
  link.download = maskEntryName(r.stem, new Set());
  link.textContent = `Download ${link.download}`;
  stats.append(area, time, slider, link);
  card.append(h);
  if (r.note) {
    const note = document.createElement('p');
    note.className = 'note';
    note.textContent = r.note;
    card.append(note);
  }
  card.append(figures, stats);
}

/** The results changed: the zip is made again on its next click. */
function updateZip(): void {
  const link = $('zip') as HTMLAnchorElement;
  if (state.zipUrl) URL.revokeObjectURL(state.zipUrl);
  state.zipUrl = undefined;
  if (state.results.length === 0) return;
  link.href = '#';
  link.classList.remove('disabled');
  link.removeAttribute('aria-disabled');
}

/** Every mask and a CSV of the areas, as one zip (entry names made safe: masks_zip.ts). */
function makeZip(): Uint8Array {
  const masks = state.results.map((r) => {
    let pixels = 0;
    for (let i = 0; i < r.mask.data.length; i++) pixels += r.mask.data[i];
    const { name, stem, threshold } = r;
    return {
      name,
      stem,
      threshold,
      pixels,
      width: r.image.width,
      height: r.image.height,
      png: maskPng(r),
    };
  });
  return zipSync(masksZipFiles(masks), { level: 6 });
}

function rerenderAll(): void {
  for (const r of state.results) renderCard(r);
}

function updateDiagnostics(): void {
  const s = state.segmenter;
  const m = state.loaded?.metadata;
  const memory = (
    performance as Performance & { memory?: { usedJSHeapSize: number; jsHeapSizeLimit: number } }
  ).memory;
  const lines = [
    `engine: ${s?.engineLabel ?? 'not started'}`,
    `threads: ${s?.threads ?? '-'} (cross-origin isolated: ${String(crossOriginIsolated)}, cores: ${navigator.hardwareConcurrency})`,
    `WebGL renderer: ${s?.gpu.webglRenderer ?? 'none'}`,
    `WebGPU adapter: ${s?.gpu.webgpuAdapter ?? 'none'}${s?.gpu.webgpuFallback ? ' (fallback/software)' : ''}`,
    `model: ${m ? `${m.model} from ${state.loaded!.source}` : '-'}`,
    `input: ${m ? m.predict.inputShape.join('x') : '-'}, interpolation ${m?.predict.interpolation ?? '-'}, threshold ${m?.predict.threshold ?? '-'}`,
    `weights: ${m?.quantization ?? '-'}; producer: ${m?.producer ?? '-'}${state.loaded && !state.loaded.exported ? ' (no export metadata: defaults used)' : ''}`,
    ...(m?.training ? [`training: ${JSON.stringify(m.training)}`] : []),
    `browser memory: ${memory ? `${(memory.usedJSHeapSize / 2 ** 20).toFixed(0)} MiB used of ${(memory.jsHeapSizeLimit / 2 ** 20).toFixed(0)} MiB` : 'not reported by this browser'}`,
    `user agent: ${navigator.userAgent}`,
    `images: ${state.results.length} predicted`,
    ...(state.fallbacks.length ? ['fallbacks:', ...state.fallbacks.map((f) => `  ${f}`)] : []),
    ...(state.lastError ? [`last error: ${state.lastError}`] : []),
    ...(state.timings.length ? ['timings:', ...state.timings.map((t) => `  ${t}`)] : []),
  ];
  $('diag-text').textContent = lines.join('\n');
}

async function copyDiagnostics(): Promise<void> {
  updateDiagnostics();
  const text = $('diag-text').textContent ?? '';
  try {
    await navigator.clipboard.writeText(text);
    $('copy-state').textContent = 'copied';
  } catch {
    const range = document.createRange();
    range.selectNodeContents($('diag-text'));
    const sel = getSelection();
    sel?.removeAllRanges();
    sel?.addRange(range);
    $('copy-state').textContent = 'selected: press Ctrl+C (the browser refused the clipboard)';
  }
}

async function openModelFiles(files: FileList): Promise<void> {
  if (state.busy) {
    notice('Wait until the images being predicted are done, then open another model.');
    return;
  }
  try {
    progress('Loading the model…');
    await useModel(await loadBrowserModel(Array.from(files)));
    notice(`Opened ${state.loaded!.source}: the next images use it.`);
  } catch (err) {
    notice(`Could not open that model: ${describe(err)}`);
    progress(state.segmenter ? 'Ready.' : 'No model is loaded.');
    if (!state.segmenter) document.body.dataset.ready = 'error';
    showWaiting();
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function wire(): void {
  const input = $('files') as HTMLInputElement;
  input.addEventListener('change', () => {
    if (input.files) enqueue(Array.from(input.files));
    input.value = '';
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer?.files) enqueue(Array.from(e.dataTransfer.files));
  });
  // Files dropped outside the drop zone must not make the browser open them.
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());
  $('style').addEventListener('change', rerenderAll);
  $('opacity').addEventListener('change', rerenderAll);
  $('copy-diag').addEventListener('click', () => void copyDiagnostics());
  const zip = $('zip') as HTMLAnchorElement;
  zip.addEventListener('click', (e) => {
    if (state.results.length === 0) {
      e.preventDefault();
      return;
    }
    state.zipUrl ??= URL.createObjectURL(
      new Blob([makeZip() as BlobPart], { type: 'application/zip' }),
    );
    zip.href = state.zipUrl;
  });
  $('diagnostics').addEventListener('toggle', updateDiagnostics);
  const modelFiles = $('model-files') as HTMLInputElement;
  modelFiles.addEventListener('change', () => {
    if (modelFiles.files && modelFiles.files.length > 0) void openModelFiles(modelFiles.files);
    modelFiles.value = '';
  });
}

async function start(): Promise<void> {
  wire();
  try {
    await useModel(await loadBrowserModel(MODEL_URL));
  } catch (err) {
    $('model-line').textContent = 'No model could be loaded.';
    notice(`The built-in model did not load: ${describe(err)}. Open a model with the button.`);
    progress('');
    document.body.dataset.ready = 'error';
    showWaiting();
  }
}

void start();
