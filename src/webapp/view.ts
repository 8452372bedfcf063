/**
 * The page's DOM (`index.html`): the model and engine lines, the progress bar and notice, the
 * settings for all images, the list of images (one row each: a thumbnail with its text
 * alternative, name, status, lesion area, quality control, DSC/IoU against a ground truth, time)
 * and the Diagnostics panel. It draws what `state.ts` holds and tells `app.ts` of a row's
 * opening through handlers; it changes no state. Browser-only.
 */
import { formatVerdict } from '../eval/quality.js';
import { diagnosticsText } from './diagnostics.js';
import { areaWords, modelWords, pictureText, STATUS_WORDS } from './notes.js';
import {
  type AppState,
  type Failure,
  type PageSettings,
  type PipelineModel,
  type QueuedImage,
} from './state.js';
import { currentMask, type WorkImage } from './work.js';

/** The longest side of a row's thumbnail, in CSS pixels. */
const THUMB = 56;

/** What a row tells the page. */
export interface RowHandlers {
  open(id: string): void;
}

/** An image's scores against its ground truth, when it has one. */
export interface Scores {
  dsc: number;
  iou: number;
}

/** The element of the page with this id. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`the page has no #${id}`);
  return el as T;
}

/** Shows a notice for the person (replacing the previous one). */
export function showNotice(text: string): void {
  const el = byId('notice');
  el.textContent = text;
  el.hidden = false;
}

/**
 * The progress line, and the bar: `fraction` from 0 to 1 fills it; undefined leaves it as it
 * is, null empties and hides it.
 */
export function showProgress(text: string, fraction?: number | null): void {
  byId('progress').textContent = text;
  const bar = byId<HTMLProgressElement>('progress-bar');
  if (fraction === null || (fraction === undefined && document.body.dataset.busy !== 'true')) {
    bar.value = 0;
    bar.hidden = true;
  } else if (fraction !== undefined) {
    bar.hidden = false;
    bar.value = Math.min(1, Math.max(0, fraction));
  }
}

/** The model line: the model in words, or that none could be loaded. */
export function showModel(model: PipelineModel | undefined): void {
  byId('model-line').textContent =
    model === undefined ? 'No model could be loaded.' : modelWords(model);
}

/** The engine line, and `data-engine` on the body (the tests read it). */
export function showEngine(model: PipelineModel | undefined): void {
  if (!model) return;
  const threads = model.threads > 1 ? `, ${model.threads} threads` : '';
  byId('engine-line').textContent = `Engine: ${model.engineLabel}${threads}.`;
  document.body.dataset.engine = model.engineLabel;
}

/**
 * Marks the page for scripts and the tests: `data-ready` ('true' once an engine runs, 'error'
 * when no model is loaded), `data-busy`, `data-remasking` and `data-scoring` (masks being
 * compared with their ground truth) on the body.
 */
export function markPage(key: 'ready' | 'busy' | 'remasking' | 'scoring', value: string): void {
  document.body.dataset[key] = value;
  if (key === 'busy') byId<HTMLButtonElement>('cancel').disabled = value !== 'true';
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

/** The settings controls show `settings`. */
export function showSettings(settings: PageSettings): void {
  const m = settings.mask;
  byId<HTMLInputElement>('threshold').value = String(m.threshold);
  byId('threshold-value').textContent = m.threshold.toFixed(2);
  byId<HTMLInputElement>('keep-largest').checked = m.keepLargest;
  byId<HTMLInputElement>('min-size').value = String(m.minSize);
  byId<HTMLSelectElement>('tta').value = m.tta;
  byId<HTMLInputElement>('spacing').value =
    settings.spacing === undefined ? '' : String(settings.spacing);
}

/** The settings as the controls set them; a field left invalid keeps `current`'s value. */
export function settingsOfControls(current: PageSettings): PageSettings {
  const threshold = Number(byId<HTMLInputElement>('threshold').value);
  const minSize = Number(byId<HTMLInputElement>('min-size').value);
  const spacingText = byId<HTMLInputElement>('spacing').value.trim();
  const spacing = Number(spacingText);
  const tta = byId<HTMLSelectElement>('tta').value as PageSettings['mask']['tta'];
  return {
    mask: {
      threshold: threshold > 0 && threshold < 1 ? threshold : current.mask.threshold,
      keepLargest: byId<HTMLInputElement>('keep-largest').checked,
      minSize: Number.isSafeInteger(minSize) && minSize >= 0 ? minSize : current.mask.minSize,
      tta,
    },
    ...(spacingText !== '' && spacing > 0 && Number.isFinite(spacing) ? { spacing } : {}),
  };
}

/** The list's row of an image (by id), if shown. */
function rowOf(id: string): HTMLTableRowElement | undefined {
  return (
    byId('image-rows').querySelector<HTMLTableRowElement>(`tr[data-id="${CSS.escape(id)}"]`) ??
    undefined
  );
}

function cell(text = '', className?: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

/** A new row for `name` (cells empty but the name's), appended to the list. */
function newRow(id: string, name: string, handlers: RowHandlers): HTMLTableRowElement {
  const row = document.createElement('tr');
  row.dataset.id = id;
  row.dataset.file = name;
  const thumb = document.createElement('canvas');
  thumb.className = 'thumb';
  thumb.width = THUMB;
  thumb.height = THUMB;
  thumb.setAttribute('role', 'img');
  thumb.setAttribute('aria-label', `${name}: not processed yet`);
  const open = document.createElement('button');
  open.type = 'button';
  open.className = 'open';
  open.textContent = name;
  open.setAttribute('aria-label', `${name}: open in the viewer`);
  open.disabled = true;
  open.addEventListener('click', (e) => {
    e.stopPropagation();
    handlers.open(id);
  });
  const thumbCell = cell('', 'thumb-cell');
  thumbCell.append(thumb);
  const nameCell = cell('', 'name');
  nameCell.append(open);
  row.append(
    thumbCell,
    nameCell,
    cell('', 'status'),
    cell('', 'area'),
    cell('', 'qc'),
    cell('', 'dsc'),
    cell('', 'iou'),
    cell('', 'time'),
  );
  // A click anywhere on a finished image's row opens it (the name's button is the keyboard's way).
  row.addEventListener('click', () => {
    if (row.dataset.status !== 'waiting' && row.dataset.status !== 'predicting') handlers.open(id);
  });
  byId('image-rows').append(row);
  byId('images').hidden = false;
  byId('empty').hidden = true;
  return row;
}

function setCell(row: HTMLTableRowElement, name: string, text: string): HTMLTableCellElement {
  const td = row.querySelector<HTMLTableCellElement>(`td.${name}`)!;
  td.textContent = text;
  return td;
}

/** A queued image's row: waiting. */
export function showQueued(item: QueuedImage, handlers: RowHandlers): void {
  const row = rowOf(item.id) ?? newRow(item.id, item.file.name, handlers);
  showRowStatus(item.id, 'waiting');
  void row;
}

/** A row's status while the image is waiting or being predicted. */
export function showRowStatus(id: string, status: 'waiting' | 'predicting'): void {
  const row = rowOf(id);
  if (!row) return;
  row.dataset.status = status;
  setCell(row, 'status', status === 'waiting' ? 'waiting' : 'predicting…');
}

/** Removes a row (a cancelled image). */
export function removeRow(id: string): void {
  rowOf(id)?.remove();
  if (byId('image-rows').childElementCount === 0) {
    byId('images').hidden = true;
    byId('empty').hidden = false;
  }
}

/** Removes every row. */
export function clearRows(): void {
  byId('image-rows').replaceChildren();
  byId('images').hidden = true;
  byId('empty').hidden = false;
}

/** The row of an image that was not processed. */
export function showFailure(failure: Failure): void {
  const row = rowOf(failure.id) ?? newRow(failure.id, failure.name, { open: () => undefined });
  row.dataset.status = 'failed';
  row.classList.add('failed');
  setCell(row, 'status', `Not processed: ${failure.message}.`).className = 'status message';
  row.querySelector('canvas.thumb')!.setAttribute('aria-label', `${failure.name}: not processed`);
}

/** Draws a finished image's row (new or changed): thumbnail, status, area, qc, scores, time. */
export function showImage(
  image: WorkImage,
  state: Pick<AppState, 'settings'>,
  handlers: RowHandlers,
  scores?: Scores,
): void {
  const row = rowOf(image.id) ?? newRow(image.id, image.name, handlers);
  row.dataset.status = image.status;
  row.querySelector<HTMLButtonElement>('button.open')!.disabled = false;
  const spacing = state.settings.spacing;
  const mask = currentMask(image);
  setCell(row, 'status', STATUS_WORDS[image.status]);
  setCell(
    row,
    'area',
    mask === undefined ? '-' : areaWords(mask.pixels, image.width * image.height, spacing),
  );
  const qc = setCell(row, 'qc', image.qc ? formatVerdict(image.qc) : '-');
  qc.className = `qc${image.qc ? ` qc-${image.qc.verdict}` : ''}`;
  if (scores) {
    setCell(row, 'dsc', scores.dsc.toFixed(3));
    setCell(row, 'iou', scores.iou.toFixed(3));
  }
  setCell(row, 'time', image.timing ? `${(image.timing.totalMs / 1000).toFixed(2)} s` : '-').title =
    image.timing
      ? `decode ${image.timing.decodeMs.toFixed(0)} ms, network ${image.timing.networkMs.toFixed(0)} ms, mask ${image.timing.postMs.toFixed(0)} ms`
      : '';
  const nameCell = row.querySelector('td.name')!;
  nameCell.querySelector('.note')?.remove();
  if (image.notes.length > 0) {
    const note = document.createElement('p');
    note.className = 'note';
    note.textContent = image.notes.join(' ');
    nameCell.append(note);
  }
  const thumb = row.querySelector<HTMLCanvasElement>('canvas.thumb')!;
  thumb.setAttribute('aria-label', pictureText(image, spacing));
  void drawThumb(thumb, image);
}

/** The thumbnails being drawn, so that a later drawing of the same canvas wins. */
const drawing = new WeakMap<HTMLCanvasElement, number>();

/**
 * Draws the image small with its mask in force tinted over it, at the screen's pixel ratio
 * (decoded by the browser at that size, not from full-size pixels).
 */
async function drawThumb(canvas: HTMLCanvasElement, image: WorkImage): Promise<void> {
  const turn = (drawing.get(canvas) ?? 0) + 1;
  drawing.set(canvas, turn);
  const scale = THUMB / Math.max(image.width, image.height);
  const ratio = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(image.width * scale * ratio));
  const h = Math.max(1, Math.round(image.height * scale * ratio));
  const mask = currentMask(image);
  let picture: ImageBitmap | undefined;
  let maskBitmap: ImageBitmap | undefined;
  try {
    picture = await createImageBitmap(image.file, {
      resizeWidth: w,
      resizeHeight: h,
      resizeQuality: 'medium',
    });
    if (mask) {
      maskBitmap = await createImageBitmap(mask.png, {
        resizeWidth: w,
        resizeHeight: h,
        resizeQuality: 'pixelated',
      });
    }
  } catch {
    // The browser cannot make a picture of this file: the row's text says the result.
  }
  if (drawing.get(canvas) !== turn) return;
  canvas.width = w;
  canvas.height = h;
  canvas.style.width = `${w / ratio}px`;
  canvas.style.height = `${h / ratio}px`;
  const ctx = canvas.getContext('2d')!;
  if (picture) ctx.drawImage(picture, 0, 0);
  if (maskBitmap) {
    const tint = new OffscreenCanvas(w, h);
    const t = tint.getContext('2d')!;
    t.drawImage(maskBitmap, 0, 0);
    const px = t.getImageData(0, 0, w, h);
    for (let i = 0; i < px.data.length; i += 4) {
      const on = px.data[i] > 127;
      px.data[i] = 255;
      px.data[i + 1] = 40;
      px.data[i + 2] = 40;
      px.data[i + 3] = on ? 110 : 0;
    }
    t.putImageData(px, 0, 0);
    ctx.drawImage(tint, 0, 0);
  }
  picture?.close();
  maskBitmap?.close();
}

/** How many images the work holds; the export button follows. */
export function showCount(state: Pick<AppState, 'images' | 'queue'>): void {
  byId<HTMLButtonElement>('export').disabled = state.images.length === 0;
}

/** Hands `bytes` to the browser as a download named `name`. */
export function download(bytes: Uint8Array, name: string, type: string): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // The browser has taken the address once the click is handled.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
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

/** The page's parts that the viewer covers while it is open (made inert then). */
const UNDER_VIEWER = ['header', 'main'];

/** Shows the viewer's host over the page, its panel for `image`; the page under it is inert. */
export function showViewer(
  image: WorkImage,
  state: Pick<AppState, 'settings'>,
  scores?: Scores,
): void {
  for (const tag of UNDER_VIEWER) document.querySelector<HTMLElement>(tag)!.inert = true;
  byId('viewer').hidden = false;
  showPanel(image, state, scores);
}

/** Hides the viewer's host; the page is live again and the image's row has the focus. */
export function hideViewer(id: string | undefined): void {
  byId('viewer').hidden = true;
  for (const tag of UNDER_VIEWER) document.querySelector<HTMLElement>(tag)!.inert = false;
  if (id !== undefined) rowOf(id)?.querySelector<HTMLButtonElement>('button.open')?.focus();
}

/** Whether the viewer's host is shown. */
export function viewerShown(): boolean {
  return !byId('viewer').hidden;
}

/**
 * The panel of the image open: what it is (size, area, scores, status) and its own mask
 * settings, each control named for the image ("Threshold for a.png").
 */
export function showPanel(
  image: WorkImage,
  state: Pick<AppState, 'settings'>,
  scores?: Scores,
): void {
  const s = image.settings;
  const label = (id: string, words: string): void =>
    byId(id).setAttribute('aria-label', `${words} for ${image.name}`);
  byId('image-panel-heading').textContent = `Mask settings for ${image.name}`;
  const threshold = byId<HTMLInputElement>('image-threshold');
  // The slider being moved keeps its value (and the focus): only the others follow.
  if (document.activeElement !== threshold) threshold.value = String(s.threshold);
  byId('image-threshold-value').textContent = s.threshold.toFixed(2);
  label('image-threshold', 'Threshold');
  byId<HTMLInputElement>('image-keep-largest').checked = s.keepLargest;
  label('image-keep-largest', 'Keep the largest region only');
  byId<HTMLInputElement>('image-min-size').value = String(s.minSize);
  label('image-min-size', 'Drop regions smaller than (pixels)');
  byId<HTMLSelectElement>('image-tta').value = s.tta;
  label('image-tta', 'Test-time augmentation');
  const mask = currentMask(image);
  const facts = [
    `${image.width}x${image.height} pixels`,
    mask
      ? `lesion ${areaWords(mask.pixels, image.width * image.height, state.settings.spacing)}`
      : 'no mask yet',
    STATUS_WORDS[image.status],
    ...(scores
      ? [`DSC ${scores.dsc.toFixed(3)}, IoU ${scores.iou.toFixed(3)} against its ground truth`]
      : []),
  ];
  byId('image-facts').textContent = `${facts.join('; ')}.`;
  byId('image-settings-note').textContent = image.correction
    ? "Your correction is the mask in force: these settings remake the model's mask, which the viewer's \"Model's mask\" button brings back."
    : '';
}

/** The open image's settings as its panel's controls set them (invalid fields keep `current`'s). */
export function imageSettingsOfControls(current: WorkImage['settings']): WorkImage['settings'] {
  const threshold = Number(byId<HTMLInputElement>('image-threshold').value);
  const minSize = Number(byId<HTMLInputElement>('image-min-size').value);
  return {
    threshold: threshold > 0 && threshold < 1 ? threshold : current.threshold,
    keepLargest: byId<HTMLInputElement>('image-keep-largest').checked,
    minSize: Number.isSafeInteger(minSize) && minSize >= 0 ? minSize : current.minSize,
    tta: byId<HTMLSelectElement>('image-tta').value as WorkImage['settings']['tta'],
  };
}
