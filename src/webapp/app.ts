/**
 * The page's work: loading a model and starting its engine, predicting the queued images one
 * after another (the page drawing between them), re-thresholding a result, opening another
 * model. Each step changes the state (`state.ts`) and then has the view (`view.ts`) draw it.
 * Browser-only; nothing runs on import (`main.ts` starts it).
 */
import { BrowserImageError, decodeImageFile } from '../browser/image.js';
import { loadBrowserModel, type LoadedModel } from '../browser/model.js';
import { Segmenter, type Segmentation } from '../browser/segmenter.js';
import type { RawImage } from '../util/raster.js';
import { masksZip } from './export.js';
import { imageNotes } from './notes.js';
import { pageOptions } from './options.js';
import {
  addFailure,
  addFallback,
  addResult,
  enqueue,
  setEngine,
  setModel,
  setThreshold,
  type AppState,
  type Engine,
  type ImageResult,
} from './state.js';
import * as view from './view.js';

/** The built-in model, beside the page. */
export const MODEL_URL = 'model/model.json';
/** Images whose header gives more pixels than this are refused (as `--max-pixels`). */
const MAX_PIXELS = 100_000_000;

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Loads the built-in model, or says that it did not load and waits for one to be opened. */
export async function start(state: AppState): Promise<void> {
  try {
    await useModel(state, await loadBrowserModel(MODEL_URL));
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

/** Puts `loaded` in use: the previous engine and model go, its engine starts, the queue drains. */
async function useModel(state: AppState, loaded: LoadedModel): Promise<void> {
  const previous = setModel(state, loaded);
  await previous.engine?.dispose();
  previous.model?.model.dispose();
  view.showModel(loaded);
  view.showProgress('Starting the engine…');
  const { options, notices } = pageOptions(location.search);
  for (const notice of notices) view.showNotice(notice);
  const engine = await Segmenter.create(loaded, {
    wasmPath: new URL('wasm/', location.href).href,
    ...options,
    onFallback: (failed, reason, next) => {
      addFallback(state, { failed, reason, next });
      view.showNotice(`The ${failed} engine failed (${reason}); switched to ${next}.`);
      view.showEngine(state.engine);
    },
  });
  setEngine(state, engine);
  view.showEngine(engine);
  view.showProgress('Ready: drop images or choose them.');
  view.markPage('ready', 'true');
  view.showDiagnostics(state);
  if (state.queue.length > 0) void drain(state);
}

/** Queues picked or dropped images and predicts them. */
export function addImages(state: AppState, files: Iterable<File>): void {
  enqueue(state, files);
  void drain(state);
}

/**
 * Predicts the queued images one after another. Images chosen while no engine is ready (the
 * built-in model loading, its engine starting, or another model being opened) stay queued,
 * and the engine's arrival drains them (`useModel`).
 */
async function drain(state: AppState): Promise<void> {
  if (state.busy) return;
  if (!state.engine) {
    view.showWaiting(state.queue.length);
    return;
  }
  state.busy = true;
  view.markPage('busy', 'true');
  let done = 0;
  try {
    while (state.queue.length > 0 && state.engine) {
      const engine = state.engine;
      const total = done + state.queue.length;
      const file = state.queue.shift()!;
      view.showProgress(`Predicting ${done + 1} of ${total}: ${file.name}`);
      // Let the page draw before the work of this image starts.
      await new Promise((resolve) => setTimeout(resolve, 0));
      await predictFile(state, file, engine);
      done++;
    }
    view.showProgress(`Done: ${done} file${done === 1 ? '' : 's'}.`);
  } finally {
    state.busy = false;
    view.markPage('busy', 'false');
    view.resetZip(state.results.length);
    view.showDiagnostics(state);
  }
}

async function predictFile(state: AppState, file: File, engine: Engine): Promise<void> {
  const fail = (message: string): void => {
    addFailure(state, file.name, message);
    view.showFailure(file.name, message);
  };
  let image: RawImage;
  try {
    image = (await decodeImageFile(file, { maxPixels: MAX_PIXELS })).image;
  } catch (err) {
    fail(err instanceof BrowserImageError ? err.reason : describe(err));
    return;
  }
  let prediction: Segmentation;
  try {
    prediction = await engine.predict(image);
  } catch (err) {
    fail(`the prediction failed: ${describe(err)}`);
    return;
  }
  const notes = imageNotes(engine, image);
  const result = addResult(state, engine, { name: file.name, image, prediction, notes });
  view.showResult(result, (r, threshold) => changeThreshold(state, r, threshold));
}

/** The reader set a result's threshold: its mask is made again, the zip too. */
function changeThreshold(state: AppState, result: ImageResult, threshold: number): void {
  setThreshold(state, result, threshold);
  view.drawResults([result]);
  view.resetZip(state.results.length);
}

/** The zip of every mask, as the zip link's address. */
export function zipHref(state: AppState): string | undefined {
  return state.results.length === 0 ? undefined : view.zipHref(() => masksZip(state.results));
}

/** Opens a model the reader picked as files; the model in use stays when it cannot. */
export async function openModelFiles(state: AppState, files: readonly File[]): Promise<void> {
  if (state.busy) {
    view.showNotice('Wait until the images being predicted are done, then open another model.');
    return;
  }
  try {
    view.showProgress('Loading the model…');
    await useModel(state, await loadBrowserModel(files));
    view.showNotice(`Opened ${state.model!.source}: the next images use it.`);
  } catch (err) {
    view.showNotice(`Could not open that model: ${describe(err)}`);
    view.showProgress(state.engine ? 'Ready.' : 'No model is loaded.');
    if (!state.engine) view.markPage('ready', 'error');
    view.showWaiting(state.queue.length);
  }
}
