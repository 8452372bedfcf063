/**
 * The page's work: starting the pipeline of a model, predicting the queued images one after
 * another (with progress and cancel), making masks again when the settings change (for all
 * images or one), the sample image, opening another model, exporting the work and clearing it,
 * and fine-tuning the model on the reviewed masks (`fine_tuner.ts`, loaded when first used),
 * then switching between the original and the fine-tuned model. Each step changes the state
 * (`state.ts`) and then has the view (`view.ts`, `fine_tune_view.ts`) draw it.
 * Browser-only; nothing runs on import (`main.ts` starts it).
 */
import { encodeImagePng, encodeMaskPng } from '../browser/png.js';
import { generatePair } from '../data/synthetic/generate.js';
import { Pipeline, PipelineError } from './pipeline.js';
import { maskScores } from './mask_scores.js';
import { memoryStore, openStore } from './store.js';
import { readWork, workZipEntries } from './work_zip.js';
import { pageOptions } from './options.js';
import {
  addFailure,
  addFallback,
  addImage,
  clearWork,
  enqueue,
  imageById,
  lesionPixels,
  newId,
  recordedSettings,
  readSettings,
  SETTINGS_KEY,
  type AppState,
  type PageSettings,
  type ModelSource,
  type QueuedImage,
  type WorkPipeline,
} from './state.js';
import * as view from './view.js';
import * as ftView from './fine_tune_view.js';
import { blockedReason, fineTuneSet } from './fine_tune_panel.js';
import type {
  FineTuneCallbacks,
  FineTuneEpoch,
  FineTuneImage,
  FineTuneOutcome,
  FineTuner,
  SavedFineTuning,
} from './fine_tuner.js';
import { TRAINING_BACKEND_CHOICES, type TrainingBackendChoice } from '../browser/engine_choice.js';
import { UserError } from '../errors.js';
import type { RawImage } from '../util/raster.js';
import { Viewer, type ViewerImage } from './viewer.js';
import { currentMask, type MaskSettings, type StoredMask, type WorkImage } from './work.js';

/** The package's version, set by the app's build (scripts/build_app.ts). */
declare const FTUNET_APP_VERSION: string | undefined;
/** The app's version as the work zip records it. */
const APP_VERSION = typeof FTUNET_APP_VERSION === 'string' ? FTUNET_APP_VERSION : 'unknown';

/** The session key of the image open in the viewer. */
const OPEN_KEY = 'open';

/** The built-in model, beside the page. */
export const MODEL_URL = 'model/model.json';

/** The least time between two remasks while the threshold slider moves (ms). */
const REMASK_EVERY_MS = 120;

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What an image's failure says: the pipeline's reason for the file, else what went wrong. */
function failureReason(err: unknown): string {
  return err instanceof PipelineError ? err.message : `the prediction failed: ${describe(err)}`;
}

/** The settings remembered in this browser, over the model's defaults. */
export function rememberedSettings(): PageSettings {
  let text: string | null = null;
  try {
    text = localStorage.getItem(SETTINGS_KEY);
  } catch {
    // Storage refused (a private window's policy): the defaults.
  }
  return readSettings(text, { mask: recordedSettings(undefined) });
}

/** Remembers the settings in this browser. */
function rememberSettings(settings: PageSettings): void {
  try {
    localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings));
  } catch {
    view.showNotice('This browser does not let the page remember its settings.');
  }
}

/** The page's handlers for the view. */
export function handlers(state: AppState): view.RowHandlers {
  return {
    open: (id) => void openImage(state, id),
  };
}

/**
 * Each image's DSC and IoU of the model's mask against its ground truth, for the masks they
 * were computed on.
 */
const scores = new Map<string, { mask: StoredMask; truth: StoredMask; scores: view.Scores }>();

/** Draws an image's row, with the model's scores when they are known for its mask. */
function draw(state: AppState, image: WorkImage): void {
  const known = scores.get(image.id);
  const mask = image.modelMask;
  const fresh = known && known.mask === mask && known.truth === image.truth;
  view.showImage(image, state, handlers(state), fresh ? known.scores : undefined);
  if (image.id === state.openId && view.viewerShown()) {
    view.showPanel(image, state, fresh ? known.scores : undefined);
  }
  if (!fresh && image.truth && mask) void score(state, image, mask, image.truth);
  showFineTunePanel(state);
}

/** Whether the fine-tune panel is to be drawn at the end of this task. */
let panelQueued = false;

/**
 * Draws the fine-tune panel from the state (the images it would learn from, its button) once,
 * after the changes of this task (images drawn one by one call it often).
 */
export function showFineTunePanel(state: AppState): void {
  if (panelQueued) return;
  panelQueued = true;
  setTimeout(() => {
    panelQueued = false;
    const busy = state.busy || remaking;
    ftView.showFineTuneSet(fineTuneSet(state.images, state.fineTune.settings), {
      model: state.pipeline !== undefined,
      busy,
      running: state.fineTune.running,
    });
    if (state.fineTune.fineTuned) {
      // Pressed while images are predicted, it says to wait (disabled, it would drop the focus).
      ftView.showModelSwitch(state.fineTune.using, state.fineTune.running);
    }
  }, 0);
}

/** Scores the model's mask against the ground truth (decoded by the pipeline), then draws it. */
async function score(
  state: AppState,
  image: WorkImage,
  mask: StoredMask,
  truth: StoredMask,
): Promise<void> {
  if (!state.pipeline) return;
  if (scoring++ === 0) view.markPage('scoring', 'true');
  try {
    const [m, t] = await Promise.all([
      state.pipeline.decodeMask(mask),
      state.pipeline.decodeMask(truth),
    ]);
    scores.set(image.id, { mask, truth, scores: maskScores(m, t) });
    if (image.modelMask === mask) draw(state, image);
  } catch (err) {
    view.showNotice(`${image.name} could not be compared with its ground truth: ${describe(err)}`);
  } finally {
    if (--scoring === 0) view.markPage('scoring', 'false');
  }
}

/** How many masks are being compared with their ground truth now (`score`). */
let scoring = 0;

/** Saves an image's work; a store that fails says so once, and the work goes on in memory. */
function save(state: AppState, image: WorkImage): void {
  state.store?.put(image).catch((err: unknown) => storeFailed(err));
}

/** The session value `key` saved; a failure is said as for `save`. */
function saveSession(state: AppState, key: string, value: unknown): void {
  state.store?.putSession(key, value).catch((err: unknown) => storeFailed(err));
}

function storeFailed(err: unknown): void {
  view.showNotice(describe(err));
}

/**
 * Opens the browser's store and brings the work in it back: every image's row, and the image
 * that was open. Without a store (a private window), the work is kept in memory and the page
 * says so.
 */
async function openWork(state: AppState): Promise<void> {
  try {
    state.store = await openStore();
  } catch (err) {
    state.store = memoryStore();
    view.showNotice(describe(err));
    return;
  }
  try {
    const images = await state.store.all();
    for (const image of images) {
      if (!state.images.some((i) => i.id === image.id)) state.images.push(image);
      draw(state, image);
    }
    view.showCount(state);
    const open = await state.store.getSession<string>(OPEN_KEY);
    if (open !== undefined && images.some((i) => i.id === open)) state.openId = open;
    if (images.length > 0) {
      view.showProgress(
        `Your work is back: ${images.length} image${images.length === 1 ? '' : 's'}.`,
        null,
      );
    }
  } catch (err) {
    view.showNotice(describe(err));
  }
}

/** Loads the built-in model, or says that it did not load and waits for one to be opened. */
export async function start(state: AppState): Promise<void> {
  view.showSettings(state.settings);
  ftView.showFineTuneSettings(state.fineTune.settings);
  showFineTunePanel(state);
  await openWork(state);
  try {
    await usePipeline(state, { url: MODEL_URL });
  } catch (err) {
    view.showModel(undefined);
    view.showNotice(
      `The built-in model did not load: ${describe(err)}. Open a model with the button.`,
    );
    view.showProgress('');
    view.markPage('ready', 'error');
    view.showWaiting(state.queue.length);
  }
}

/** Starts the pipeline of a model; the previous one goes; the queue drains. */
async function usePipeline(state: AppState, model: ModelSource): Promise<void> {
  view.showProgress('Starting the engine…');
  const { options, notices } = pageOptions(location.search);
  for (const notice of notices) view.showNotice(notice);
  const pipeline: WorkPipeline = await Pipeline.start(model, {
    wasmPath: new URL('wasm/', location.href).href,
    ...options,
    onFallback: (failed, reason, next) => {
      addFallback(state, { failed, reason, next });
      view.showNotice(`The ${failed} engine failed (${reason}); switched to ${next}.`);
      if (state.pipeline) view.showEngine(state.pipeline.model);
    },
  });
  const previous = state.pipeline;
  state.pipeline = pipeline;
  state.model = model;
  await previous?.dispose();
  view.showModel(pipeline.model);
  view.showEngine(pipeline.model);
  view.showProgress('Ready: choose images, drop them here, or try the sample.');
  view.showDiagnostics(state);
  showFineTunePanel(state);
  // Scores wait for a pipeline to decode the masks.
  for (const image of state.images) draw(state, image);
  // The page is ready once it is back where it was: the image open before a reload reopens
  // first (it makes the rest of the page inert while it shows).
  if (state.openId !== undefined && previous === undefined) await openImage(state, state.openId);
  view.markPage('ready', 'true');
  if (state.queue.length > 0) void drain(state);
}

/** A mask file given with images (`<stem>_mask.png`, `<stem>_segmentation.png`). */
const MASK_NAME = /_(mask|segmentation)\.[^./\\]+$/i;

/**
 * Queues chosen or dropped files and predicts them: images alone, or (imported) a work zip, a
 * data set's zip or images with their `<stem>_mask.png` files (`readWork`).
 */
export async function addFiles(state: AppState, files: readonly File[]): Promise<void> {
  const imported = files.some(
    (f) => f.name.toLowerCase().endsWith('.zip') || MASK_NAME.test(f.name),
  );
  if (!imported) {
    addQueued(
      state,
      files.map((file) => ({ id: newId(), file })),
    );
    return;
  }
  try {
    view.showProgress('Reading the files…');
    const pipeline = state.pipeline;
    // Masks are decoded and encoded in the worker (a photo-sized mask takes half a second).
    const work = await readWork(
      files,
      pipeline
        ? {
            decodeMask: (file) => pipeline.decodeMask({ png: file, pixels: 0 }),
            encodeMask: (m) => pipeline.encodeMask(m),
          }
        : {},
    );
    addQueued(
      state,
      work.images.map((i) => ({
        id: newId(),
        file: i.file,
        status: i.status,
        ...(i.truth ? { truth: i.truth } : {}),
        ...(i.correction ? { correction: i.correction } : {}),
        ...(i.settings ? { settings: i.settings } : {}),
        ...(i.added !== undefined ? { added: i.added } : {}),
      })),
    );
    const what = { work: 'work', dataset: 'data set', files: 'images and masks' }[work.kind];
    const n = work.images.length;
    const skipped = work.skipped.length;
    view.showNotice(
      `Imported the ${what}: ${n} image${n === 1 ? '' : 's'}.` +
        (skipped > 0
          ? ` ${skipped} file${skipped === 1 ? ' was' : 's were'} skipped (outside images/ and masks/): ${work.skipped.slice(0, 5).join(', ')}${skipped > 5 ? ', …' : ''}.`
          : ''),
    );
  } catch (err) {
    view.showProgress('');
    view.showNotice(`Nothing was imported: ${describe(err)}`);
  }
}

function addQueued(state: AppState, items: QueuedImage[]): void {
  if (items.length === 0) return;
  enqueue(state, items);
  for (const item of items) view.showQueued(item, handlers(state));
  view.showCount(state);
  void drain(state);
}

/**
 * A queued image leaves the queue unpredicted: a new one leaves the list, one of the work
 * (queued to be predicted again by another model) keeps its row as it was.
 */
function unqueue(state: AppState, id: string): void {
  const image = imageById(state, id);
  if (image) draw(state, image);
  else view.removeRow(id);
}

/** The controller of the images being predicted now (cancel aborts it). */
let running: AbortController | undefined;

/** Cancels the images being predicted and those waiting; the finished ones stay. */
export function cancel(state: AppState): void {
  running?.abort();
  for (const item of state.queue) unqueue(state, item.id);
  const dropped = state.queue.length;
  state.queue = [];
  view.showCount(state);
  if (dropped > 0 || running) view.showProgress('Cancelled.');
}

/**
 * Predicts the queued images one after another. Images chosen while no pipeline is ready (the
 * built-in model loading, its engine starting, or another model being opened) stay queued, and
 * the pipeline's arrival drains them (`usePipeline`).
 */
async function drain(state: AppState): Promise<void> {
  if (state.busy) return;
  if (!state.pipeline) {
    view.showWaiting(state.queue.length);
    return;
  }
  state.busy = true;
  const controller = new AbortController();
  running = controller;
  view.markPage('busy', 'true');
  let done = 0;
  const started = performance.now();
  try {
    while (state.queue.length > 0 && state.pipeline && !controller.signal.aborted) {
      const pipeline = state.pipeline;
      const total = done + state.queue.length;
      const item = state.queue.shift()!;
      const settings = { ...(item.settings ?? state.settings.mask) };
      view.showRowStatus(item.id, 'predicting');
      const label = `Image ${done + 1} of ${total}: ${item.file.name}`;
      view.showProgress(`${label}, decoding…`, done / total);
      try {
        const predicted = await pipeline.predict(item.file, item.file.name, settings, {
          signal: controller.signal,
          onStage: (stage, fraction) => {
            const part = { decode: 0.1, network: 0.5, post: 0.9 }[stage];
            const words = { decode: 'decoding', network: 'the network', post: 'making the mask' };
            view.showProgress(`${label}, ${words[stage]}…`, (done + (fraction ?? part)) / total);
          },
        });
        const image = addImage(state, item, predicted, settings);
        save(state, image);
        draw(state, image);
      } catch (err) {
        if (controller.signal.aborted) {
          // Cancelled: the image leaves the list, as the queued ones do.
          unqueue(state, item.id);
          break;
        }
        const kept = imageById(state, item.id);
        if (kept) {
          // An image of the work predicted again keeps what it had.
          view.showNotice(`${kept.name} kept its earlier mask: ${failureReason(err)}.`);
          draw(state, kept);
          done++;
          continue;
        }
        const failure = addFailure(state, {
          id: item.id,
          name: item.file.name,
          message: failureReason(err),
        });
        view.showFailure(failure);
      }
      done++;
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    view.showProgress(
      controller.signal.aborted
        ? `Cancelled after ${done} image${done === 1 ? '' : 's'}.`
        : `Done: ${done} image${done === 1 ? '' : 's'} in ${seconds} s.`,
      undefined,
    );
  } finally {
    if (running === controller) running = undefined;
    state.busy = false;
    view.markPage('busy', 'false');
    view.showCount(state);
    view.showDiagnostics(state);
    showFineTunePanel(state);
  }
  // Images queued after a cancel start again.
  if (state.queue.length > 0) void drain(state);
}

/** The sample: a synthetic image (and its true mask) of the kind the model takes. */
export function addSample(state: AppState): void {
  const channels = state.pipeline?.model.metadata.predict.inputShape[2] ?? 1;
  const kind = channels === 3 ? 'isic' : 'bus';
  const pair = generatePair(kind, 0, { seed: 1 });
  const name = kind === 'bus' ? 'sample-ultrasound.png' : 'sample-dermoscopy.png';
  const png = encodeImagePng(pair.image);
  const truth = encodeMaskPng(pair.mask);
  addQueued(state, [
    {
      id: newId(),
      file: new File([png as BlobPart], name, { type: 'image/png' }),
      truth: {
        png: new Blob([truth as BlobPart], { type: 'image/png' }),
        pixels: lesionPixels(pair.mask),
      },
    },
  ]);
}

/** Pending remakes of masks, by image id (the latest settings win). */
const pending = new Map<string, MaskSettings>();
let remaking = false;
let lastRemask = 0;

/**
 * Makes the masks of `images` again at their settings (no network): the slider's moves come
 * often, so each image's latest settings are remade, at most every `REMASK_EVERY_MS`.
 */
function remask(state: AppState, images: readonly WorkImage[]): void {
  for (const image of images) pending.set(image.id, { ...image.settings });
  void remakeAll(state);
}

async function remakeAll(state: AppState): Promise<void> {
  if (remaking) return;
  remaking = true;
  try {
    while (pending.size > 0) {
      const wait = lastRemask + REMASK_EVERY_MS - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      lastRemask = performance.now();
      const [id, settings] = pending.entries().next().value!;
      pending.delete(id);
      const image = imageById(state, id);
      if (!image || !image.prediction || !state.pipeline) continue;
      try {
        const made = await state.pipeline.remask(
          { ...image, prediction: image.prediction },
          settings,
        );
        image.modelMask = made.modelMask;
        if (made.qc) image.qc = made.qc;
        else delete image.qc;
        if (made.prediction) image.prediction = made.prediction;
        save(state, image);
        draw(state, image);
        if (
          image.id === state.openId &&
          !image.correction &&
          viewer &&
          openPixels?.id === image.id
        ) {
          // The model's mask is in force and changed: the viewer shows it (and resets to it).
          viewer.open(await viewerImage(state.pipeline, image, openPixels.image));
        }
      } catch (err) {
        view.showNotice(
          `The mask of ${image.name} could not be made again: ${failureReason(err)}.`,
        );
      }
    }
  } finally {
    remaking = false;
    view.markPage('remasking', 'false');
    showFineTunePanel(state);
  }
}

/**
 * The fine-tune panel's controls changed: the settings of the next fine-tuning (and the images
 * it holds out) follow; a value out of range says what to give and keeps the last good one.
 */
export function setFineTuneSettings(state: AppState): void {
  const read = ftView.fineTuneSettingsOfControls(state.fineTune.settings);
  if ('problem' in read) {
    ftView.showFineTuneStatus(read.problem);
    return;
  }
  ftView.showFineTuneStatus('');
  state.fineTune.settings = read.settings;
  showFineTunePanel(state);
}

/** The mask settings for all images changed: every image takes them, its mask made again. */
export function setAllSettings(state: AppState, settings: PageSettings): void {
  const maskChanged = JSON.stringify(settings.mask) !== JSON.stringify(state.settings.mask);
  state.settings = settings;
  rememberSettings(settings);
  if (maskChanged) {
    for (const image of state.images) image.settings = { ...settings.mask };
    view.markPage('remasking', 'true');
    remask(state, state.images);
  }
  for (const image of state.images) draw(state, image);
}

/** The viewer (made on the first opening) and what it holds of the image open. */
let viewer: Viewer | undefined;
/** The open image's full-size pixels (released when the viewer closes). */
let openPixels: { id: string; image: RawImage } | undefined;
/** The open image's mask changes, in the order the viewer made them. */
let edits: Promise<void> = Promise.resolve();

function theViewer(state: AppState): Viewer {
  viewer ??= new Viewer(view.byId('viewer-mount'), {
    onMask: (mask) => {
      const id = state.openId;
      edits = edits.then(async () => {
        const image = imageById(state, id);
        if (!image || !state.pipeline) return;
        image.correction = await state.pipeline.encodeMask(mask);
        save(state, image);
        draw(state, image);
      });
    },
    onStatus: (status) => {
      const id = state.openId;
      edits = edits.then(() => {
        const image = imageById(state, id);
        if (!image) return;
        image.status = status;
        // Back to the model's mask: the correction is gone.
        if (status === 'unreviewed') delete image.correction;
        save(state, image);
        draw(state, image);
      });
    },
    onClose: () => closeImage(state),
  });
  return viewer;
}

/** The masks the viewer shows of `image`, decoded by the pipeline. */
async function viewerImage(
  pipeline: WorkPipeline,
  image: WorkImage,
  pixels: RawImage,
): Promise<ViewerImage> {
  const mask = currentMask(image);
  const [current, model, truth] = await Promise.all([
    mask ? pipeline.decodeMask(mask) : undefined,
    image.modelMask ? pipeline.decodeMask(image.modelMask) : undefined,
    image.truth ? pipeline.decodeMask(image.truth) : undefined,
  ]);
  const p = image.prediction;
  return {
    id: image.id,
    name: image.name,
    image: pixels,
    mask: current ?? {
      data: new Uint8Array(pixels.width * pixels.height),
      height: pixels.height,
      width: pixels.width,
    },
    ...(model ? { modelMask: model } : {}),
    ...(truth ? { truth } : {}),
    ...(p
      ? { probabilities: { data: p.probabilities, height: p.inputSize[0], width: p.inputSize[1] } }
      : {}),
    attention: p?.attention ?? [],
    status: image.status,
  };
}

/** Opens an image in the viewer (a row was chosen, or the page reopens where it was). */
export async function openImage(state: AppState, id: string): Promise<void> {
  const image = imageById(state, id);
  if (!image) return;
  state.openId = id;
  saveSession(state, OPEN_KEY, id);
  // Without a pipeline yet, it opens once one starts (`usePipeline`).
  if (!state.pipeline) return;
  try {
    view.showProgress(`Opening ${image.name}…`);
    if (openPixels?.id !== id) {
      openPixels = undefined;
      openPixels = { id, image: await state.pipeline.decodeImage(image.file, image.name) };
    }
    const shown = await viewerImage(state.pipeline, image, openPixels.image);
    if (state.openId !== id) return;
    const v = theViewer(state);
    v.open(shown);
    view.showViewer(image, state, scores.get(id)?.scores);
    view.showProgress(`${image.name} is open in the viewer.`, null);
    view.byId('viewer').querySelector<HTMLElement>('.viewer-canvas')?.focus();
  } catch (err) {
    view.showNotice(`${image.name} could not be opened: ${failureReason(err)}.`);
    closeImage(state);
  }
}

/** Closes the viewer: its buffers are released, the image's row has the focus. */
export function closeImage(state: AppState): void {
  const id = state.openId;
  viewer?.close();
  openPixels = undefined;
  delete state.openId;
  saveSession(state, OPEN_KEY, null);
  view.hideViewer(id);
}

/** The open image's own settings changed (its panel): its mask is made again. */
export function setImageSettings(state: AppState, settings: MaskSettings): void {
  const image = imageById(state, state.openId);
  if (!image) return;
  image.settings = settings;
  view.markPage('remasking', 'true');
  remask(state, [image]);
}

/**
 * The work as one zip download (`work_zip.ts`: the layout `ftunet train --dataset folder`
 * reads, with the manifest), packed by the pipeline.
 */
export async function exportWork(state: AppState): Promise<void> {
  if (!state.pipeline || state.images.length === 0) {
    view.showNotice('There is nothing to export yet: choose images first.');
    return;
  }
  view.showProgress('Packing the work…');
  const model = state.pipeline.model;
  const entries = await workZipEntries(state.images, {
    appVersion: APP_VERSION,
    model: { name: model.metadata.model, ...(model.hash ? { hash: model.hash } : {}) },
  });
  const zip = await state.pipeline.zip(entries);
  view.download(zip, 'work.zip', 'application/zip');
  view.showProgress(
    `Exported ${state.images.length} image${state.images.length === 1 ? '' : 's'} as work.zip.`,
    null,
  );
}

/** Removes every image and its work from the page. */
export function clearAll(state: AppState): void {
  if (state.openId !== undefined) closeImage(state);
  cancel(state);
  clearWork(state);
  scores.clear();
  pending.clear();
  state.store?.clear().catch((err: unknown) => storeFailed(err));
  view.clearRows();
  view.showCount(state);
  showFineTunePanel(state);
  view.showProgress('Cleared: the page holds no image.', undefined);
}

/** Opens a model the person picked as files; the model in use stays when it cannot. */
export async function openModelFiles(state: AppState, files: readonly File[]): Promise<void> {
  if (state.busy) {
    view.showNotice('Wait until the images being predicted are done, then open another model.');
    return;
  }
  try {
    view.showProgress('Loading the model…');
    await usePipeline(state, { files: [...files] });
    view.showNotice(`Opened ${state.pipeline!.model.source}: the next images use it.`);
  } catch (err) {
    view.showNotice(`Could not open that model: ${describe(err)}`);
    view.showProgress(state.pipeline ? 'Ready.' : 'No model is loaded.');
    if (!state.pipeline) view.markPage('ready', 'error');
    view.showWaiting(state.queue.length);
  }
}

/** The stop of the fine-tuning running now (a stop before its worker is up stops it at once). */
let tuning: AbortController | undefined;
/** The fine-tuning a reload interrupted, while the page offers to resume it. */
let interrupted: SavedFineTuning | undefined;
/** The object URL of the fine-tuned model's zip that the panel offers. */
let zipUrl: string | undefined;

/** The fine-tuning client, loaded on first use (its worker and tfjs only when it starts). */
function fineTunerModule(): Promise<typeof import('./fine_tuner.js')> {
  return import('./fine_tuner.js');
}

/**
 * The "Fine-tune" button: trains the model in use on the images with a mask to learn from (in
 * the work's order, so the panel's held-out images are those held out), in a worker.
 */
export async function fineTune(state: AppState): Promise<void> {
  const set = fineTuneSet(state.images, state.fineTune.settings);
  const reason = blockedReason(set, {
    model: state.pipeline !== undefined,
    busy: state.busy || remaking,
    running: state.fineTune.running,
  });
  if (reason !== undefined) {
    ftView.showFineTuneStatus(reason);
    return;
  }
  const images: FineTuneImage[] = set.images.map((image) => ({
    id: image.id,
    name: image.name,
    file: image.file,
    mask: currentMask(image)!.png,
  }));
  const settings = { ...state.fineTune.settings };
  ftView.showFineTuneStatus(
    `Fine-tuning on ${images.length} images (${set.validation.length} held out) for ${settings.epochs} epochs…`,
  );
  await runFineTuning(state, settings.epochs, [], (tuner, callbacks) =>
    tuner.run(images, settings, callbacks),
  );
}

/** Stops the fine-tuning after its step under way; the best epoch so far is kept. */
export function stopFineTuning(): void {
  if (!tuning || tuning.signal.aborted) return;
  tuning.abort();
  ftView.showFineTuneLine('Stopping after the step under way…');
}

/**
 * Runs a fine-tuning (`go`: a new one or the resumed one) of `epochs` epochs, `logs` of them
 * already done, and shows it: progress, curves, the outcome; then the page uses the fine-tuned
 * model and makes every image's model mask again with it.
 */
async function runFineTuning(
  state: AppState,
  epochs: number,
  logs: readonly FineTuneEpoch[],
  go: (tuner: FineTuner, callbacks: FineTuneCallbacks) => Promise<FineTuneOutcome>,
): Promise<void> {
  const source = state.model;
  if (!source) return;
  state.fineTune.running = true;
  ftView.markFineTuning('running');
  ftView.startFineTuneRun(epochs, logs);
  showFineTunePanel(state);
  // The button pressed is off while it runs: the focus goes to the stop button.
  view.byId('ft-cancel').focus();
  const stop = new AbortController();
  tuning = stop;
  let tuner: FineTuner | undefined;
  try {
    const { FineTuner } = await fineTunerModule();
    const { options } = pageOptions(location.search);
    tuner = await FineTuner.start(source, {
      wasmPath: new URL('wasm/', location.href).href,
      ...(TRAINING_BACKEND_CHOICES.includes(options.backend as TrainingBackendChoice)
        ? { backend: options.backend as TrainingBackendChoice }
        : {}),
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
    });
    const backend = tuner.backendLabel;
    ftView.showFineTuneLine(`Training on ${backend}…`);
    const points = [...logs];
    const outcome = await go(tuner, {
      signal: stop.signal,
      onProgress: (p) => ftView.showFineTuneProgress(p),
      onEpoch: (e) => {
        points.push(e);
        ftView.drawCurves(points, e.epochs);
        ftView.showFineTuneStatus(
          `Epoch ${e.epoch} of ${e.epochs}: loss ${e.loss.toFixed(3)}` +
            (e.valDsc !== undefined ? `, validation DSC ${e.valDsc.toFixed(3)}` : '') +
            (e.best ? ' (the best so far).' : '.'),
        );
      },
      onNotice: (message) => view.showNotice(message),
    });
    await tuner.dispose();
    tuner = undefined;
    const { result } = outcome;
    if (zipUrl !== undefined) URL.revokeObjectURL(zipUrl);
    zipUrl = URL.createObjectURL(outcome.zip);
    ftView.showFineTuneLine(
      result.cancelled
        ? `Stopped after ${result.logs.length} of ${epochs} epochs.`
        : `Done: ${result.logs.length} epochs.`,
      result.cancelled ? undefined : 1,
    );
    const batch = result.settings.batchSize;
    ftView.showFineTuneResult(
      result,
      { url: zipUrl, name: outcome.zipName },
      `Trained on ${backend}, in batches of ${batch} image${batch === 1 ? '' : 's'}` +
        (outcome.batch?.limit !== undefined ? ` (${outcome.batch.limit})` : '') +
        '.',
    );
    // The model to go back to: the one in use, unless that is an earlier fine-tuned one.
    if (state.fineTune.using !== 'fine-tuned' || !state.fineTune.original) {
      state.fineTune.original = source;
    }
    state.fineTune.fineTuned = { files: outcome.modelFiles };
    state.fineTune.running = false;
    ftView.showModelSwitch(state.fineTune.using, false);
    ftView.showFineTuneStatus(
      `${result.cancelled ? 'Stopped' : 'Done'}: the page now uses the fine-tuned model and makes the masks of all images again.`,
    );
    await useModel(state, 'fine-tuned');
    ftView.markFineTuning(result.cancelled ? 'cancelled' : 'done');
  } catch (err) {
    ftView.markFineTuning('error');
    ftView.showFineTuneLine('');
    const message =
      err instanceof UserError
        ? `Fine-tuning stopped: ${err.message}.`
        : `Fine-tuning failed: ${describe(err)}. Your images and masks are kept; try again, or with fewer epochs, or reload the page.`;
    ftView.showFineTuneStatus(message);
    view.showNotice(message);
  } finally {
    if (tuning === stop) tuning = undefined;
    await tuner?.dispose();
    state.fineTune.running = false;
    ftView.endFineTuneRun();
    showFineTunePanel(state);
  }
}

/**
 * Makes the model of `which` the one in use and every image's model mask again with it: a
 * correction stays the mask in force, and an accepted mask of the model is kept as the
 * person's (it was theirs to accept), so no review is lost.
 */
async function useModel(state: AppState, which: 'original' | 'fine-tuned'): Promise<void> {
  const source = which === 'fine-tuned' ? state.fineTune.fineTuned : state.fineTune.original;
  if (!source) return;
  if (state.busy) {
    view.showNotice('Wait until the images being predicted are done, then switch the model.');
    return;
  }
  try {
    await usePipeline(state, source);
  } catch (err) {
    view.showNotice(`Could not switch to the ${which} model: ${describe(err)}`);
    return;
  }
  state.fineTune.using = which;
  const items: QueuedImage[] = state.images.map((image) => {
    if (image.status === 'accepted' && !image.correction && image.modelMask) {
      image.correction = image.modelMask;
    }
    return {
      id: image.id,
      file: new File([image.file], image.name, { type: image.file.type }),
      status: image.status,
      settings: { ...image.settings },
      added: image.added,
      ...(image.truth ? { truth: image.truth } : {}),
      ...(image.correction ? { correction: image.correction } : {}),
    };
  });
  view.showNotice(
    `Now using the ${which} model: the model's masks of ${items.length} image${items.length === 1 ? '' : 's'} are made again; corrections and accepted masks stay.`,
  );
  addQueued(state, items);
  showFineTunePanel(state);
}

/** "Use the original model" / "Use the fine-tuned model". */
export async function switchModel(state: AppState): Promise<void> {
  await useModel(state, state.fineTune.using === 'fine-tuned' ? 'original' : 'fine-tuned');
}

/**
 * After the page loads: a fine-tuning that a reload interrupted (kept in the browser) is
 * offered to resume or discard.
 */
export async function offerInterrupted(): Promise<void> {
  try {
    const { FineTuner } = await fineTunerModule();
    const saved = await FineTuner.saved();
    if (!saved) {
      ftView.showSavedFineTuning(undefined);
      return;
    }
    interrupted = saved;
    const started = new Date(saved.started).toLocaleString();
    ftView.showSavedFineTuning(
      `A fine-tuning on ${saved.images} images, started ${started}, was interrupted after epoch ${saved.epoch} of ${saved.epochs}. Resume it, or discard it?`,
    );
    view.showNotice(
      'A fine-tuning was interrupted when the page closed: resume or discard it in the Fine-tune panel.',
    );
  } catch (err) {
    view.showNotice(`An interrupted fine-tuning could not be read: ${describe(err)}`);
  }
}

/** Resumes the interrupted fine-tuning. */
export async function resumeFineTuning(state: AppState): Promise<void> {
  const saved = interrupted;
  if (!saved || state.fineTune.running) return;
  if (!state.pipeline) {
    ftView.showFineTuneStatus('Wait until the model is loaded, then resume.');
    return;
  }
  interrupted = undefined;
  ftView.showSavedFineTuning(undefined);
  ftView.showFineTuneStatus(`Resuming the fine-tuning after epoch ${saved.epoch}…`);
  await runFineTuning(state, saved.epochs, saved.logs, (tuner, callbacks) =>
    tuner.resume(callbacks),
  );
}

/** Deletes the interrupted fine-tuning. */
export async function discardFineTuning(): Promise<void> {
  try {
    const { FineTuner } = await fineTunerModule();
    await FineTuner.discard();
    interrupted = undefined;
    ftView.showSavedFineTuning(undefined);
    ftView.showFineTuneStatus('The interrupted fine-tuning was discarded.');
    view.byId('ft-start').focus();
  } catch (err) {
    view.showNotice(`The interrupted fine-tuning could not be discarded: ${describe(err)}`);
  }
}
