/**
 * The page's work: loading a model and starting its engine, predicting the queued images one
 * after another (the page drawing between them), re-thresholding a result, opening another
 * model. Each step changes the state (`state.ts`) and then has the view (`view.ts`) draw it.
 * Browser-only; nothing runs on import (`main.ts` starts it).
 */
import { masksZip } from './export.js';
import { pageOptions } from './options.js';
import { Pipeline } from './pipeline.js';
import {
  addFailure,
  addFallback,
  addResult,
  enqueue,
  recordedSettings,
  setEngine,
  setMask,
  type AppState,
  type Engine,
  type ImageResult,
} from './state.js';
import * as view from './view.js';

/** The built-in model, beside the page. */
export const MODEL_URL = 'model/model.json';

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const isAbort = (err: unknown): boolean => err instanceof DOMException && err.name === 'AbortError';

/** Loads the built-in model, or says that it did not load and waits for one to be opened. */
export async function start(state: AppState): Promise<void> {
  try {
    await useModel(state, { url: MODEL_URL });
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

/**
 * Loads a model in the worker and starts its engine (`Pipeline.start`); once it runs, it
 * replaces the previous one (which stays in use until then) and the queue drains.
 */
async function useModel(
  state: AppState,
  model: { url: string } | { files: File[] },
): Promise<void> {
  view.showProgress(
    state.engine ? 'Opening the model…' : 'Loading the model and starting the engine…',
  );
  const { options, notices } = pageOptions(location.search);
  for (const notice of notices) view.showNotice(notice);
  const pipeline = await Pipeline.start(model, {
    wasmPath: 'wasm/',
    ...options,
    onFallback: (failed, reason, next) => {
      addFallback(state, { failed, reason, next });
      view.showNotice(`The ${failed} engine failed (${reason}); switched to ${next}.`);
      view.showEngine(state.engine);
    },
  });
  const previous = setEngine(state, pipeline);
  await previous?.dispose();
  view.showModel(pipeline.model);
  view.showEngine(pipeline);
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
 * Predicts the queued images one after another, in the worker. Images chosen while no engine
 * is ready (the built-in model loading, its engine starting) stay queued, and the engine's
 * arrival drains them (`useModel`).
 */
async function drain(state: AppState): Promise<void> {
  if (state.busy) return;
  if (!state.engine) {
    view.showWaiting(state.queue.length);
    return;
  }
  state.busy = true;
  view.markPage('busy', 'true');
  const cancel = new AbortController();
  cancelling = cancel;
  view.showCancel(true);
  let done = 0;
  try {
    while (state.queue.length > 0 && state.engine && !cancel.signal.aborted) {
      const engine = state.engine;
      const total = done + state.queue.length;
      const file = state.queue.shift()!;
      const line = `Predicting ${done + 1} of ${total}: ${file.name}`;
      view.showProgress(line);
      await predictFile(state, file, engine, cancel.signal, (stage) =>
        view.showProgress(`${line} (${STAGE_WORDS[stage]})`),
      );
      if (!cancel.signal.aborted) done++;
    }
    view.showProgress(
      cancel.signal.aborted
        ? `Cancelled after ${done} file${done === 1 ? '' : 's'}.`
        : `Done: ${done} file${done === 1 ? '' : 's'}.`,
    );
  } finally {
    cancelling = undefined;
    view.showCancel(false);
    state.busy = false;
    view.markPage('busy', 'false');
    view.resetZip(state.results.length);
    view.showDiagnostics(state);
  }
}

/** Cancels the work under way: the image being predicted and the images queued. */
let cancelling: AbortController | undefined;

/**
 * Stops the predictions: the queued images are dropped and the image under way is abandoned
 * (the worker stops it at its next stage); the engine stays ready for the next images.
 */
export function cancelWork(state: AppState): void {
  state.queue.length = 0;
  cancelling?.abort();
}

const STAGE_WORDS = { decode: 'decoding', network: 'the network', post: 'the mask' } as const;

async function predictFile(
  state: AppState,
  file: File,
  engine: Engine,
  signal: AbortSignal,
  onStage: (stage: keyof typeof STAGE_WORDS) => void,
): Promise<void> {
  const settings = recordedSettings(engine.model);
  let png: Uint8Array;
  let result: Awaited<ReturnType<Engine['predict']>>;
  try {
    result = await engine.predict(file, file.name, settings, {
      preview: view.DISPLAY_MAX,
      onStage,
      signal,
    });
    png = new Uint8Array(await result.modelMask.png.arrayBuffer());
  } catch (err) {
    if (isAbort(err)) return;
    addFailure(state, file.name, describe(err));
    view.showFailure(file.name, describe(err));
    return;
  }
  const added = addResult(state, {
    name: file.name,
    file,
    settings,
    result: { ...result, preview: result.preview! },
    png,
  });
  view.showResult(added, (r, threshold) => void changeThreshold(state, r, threshold));
}

/** The reader set a result's threshold: the worker makes its mask again; the zip follows. */
async function changeThreshold(
  state: AppState,
  result: ImageResult,
  threshold: number,
): Promise<void> {
  const engine = state.engine;
  if (engine === undefined) return;
  const settings = { ...result.settings, threshold };
  // Downloads of this result wait for `work` (which never rejects), then take the new mask.
  const work = (async () => {
    try {
      const made = await engine.remask(result, settings, { preview: view.DISPLAY_MAX });
      const png = new Uint8Array(await made.modelMask.png.arrayBuffer());
      if (made.prediction) result.prediction = made.prediction;
      setMask(result, settings, {
        png,
        pixels: made.modelMask.pixels,
        ...(made.qc ? { qc: made.qc } : {}),
        preview: made.preview!.mask,
      });
      view.drawResults([result]);
      view.resetZip(state.results.length);
    } catch (err) {
      view.showNotice(`The new mask of ${result.name} could not be made: ${describe(err)}`);
    }
  })();
  result.pending = work;
  await work;
  if (result.pending === work) delete result.pending;
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
    await useModel(state, { files: [...files] });
    view.showNotice(`Opened ${state.model!.source}: the next images use it.`);
  } catch (err) {
    view.showNotice(`Could not open that model: ${describe(err)}`);
    view.showProgress(state.engine ? 'Ready.' : 'No model is loaded.');
    if (!state.engine) view.markPage('ready', 'error');
    view.showWaiting(state.queue.length);
  }
}
