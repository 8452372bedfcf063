/**
 * The web app that `ftunet app` writes: a workbench to segment images with the built-in model
 * in this browser, review and correct the masks, and keep the work. Images come by the picker
 * (a button, or Enter on the drop zone), by drag-and-drop or as the sample; each gets a row in
 * the list and opens in the viewer. Options in the URL: `?backend=auto|webgpu|webgl|wasm|cpu`,
 * `&engine=auto|tfjs|onnxruntime`, `&threads=N` (`options.ts`). Every URL is relative to the
 * page, so the folder can be hosted under any path. Browser-only.
 *
 * The entry of the bundle, and the only module that does anything on import: it makes the
 * state (`state.ts`) with the remembered settings, connects the page's controls to the work
 * (`app.ts`) and the view (`view.ts`), and loads the built-in model.
 */
import {
  addFiles,
  addSample,
  cancel,
  clearAll,
  exportWork,
  openModelFiles,
  discardFineTuning,
  fineTune,
  offerInterrupted,
  rememberedSettings,
  resumeFineTuning,
  setAllSettings,
  setFineTuneSettings,
  stopFineTuning,
  switchModel,
  setImageSettings,
  start,
} from './app.js';
import { registerOffline } from './offline.js';
import { createState, type AppState } from './state.js';
import {
  byId,
  copyDiagnostics,
  imageSettingsOfControls,
  settingsOfControls,
  showDiagnostics,
  showNotice,
} from './view.js';

/** A button opens its hidden file input's picker; the chosen files go to `use`. */
function picker(buttonId: string, inputId: string, use: (files: File[]) => void): () => void {
  const input = byId<HTMLInputElement>(inputId);
  input.addEventListener('change', () => {
    if (input.files && input.files.length > 0) use(Array.from(input.files));
    input.value = '';
  });
  const open = (): void => input.click();
  byId(buttonId).addEventListener('click', open);
  return open;
}

function wire(state: AppState): void {
  const chooseImages = picker('choose', 'files', (files) => void addFiles(state, files));
  picker('import', 'import-files', (files) => void addFiles(state, files));
  picker('open-model', 'model-files', (files) => void openModelFiles(state, files));

  const drop = byId('drop');
  drop.addEventListener('click', chooseImages);
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      chooseImages();
    }
  });
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer?.files) void addFiles(state, Array.from(e.dataTransfer.files));
  });
  // Files dropped outside the drop zone must not make the browser open them.
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());

  byId('sample').addEventListener('click', () => {
    try {
      addSample(state);
    } catch (err) {
      showNotice(`The sample image could not be made: ${(err as Error).message}`);
    }
  });
  byId('export').addEventListener('click', () => {
    exportWork(state).catch((err: unknown) =>
      showNotice(`The export failed: ${(err as Error).message}`),
    );
  });
  byId('cancel').addEventListener('click', () => cancel(state));

  const dialog = byId<HTMLDialogElement>('clear-dialog');
  byId('clear').addEventListener('click', () => dialog.showModal());
  dialog.addEventListener('close', () => {
    if (dialog.returnValue === 'clear') clearAll(state);
    byId('clear').focus();
  });

  // The settings for all images: the threshold follows the slider while it moves.
  const settings = byId<HTMLFormElement>('settings');
  settings.addEventListener('submit', (e) => e.preventDefault());
  const threshold = byId<HTMLInputElement>('threshold');
  threshold.addEventListener('input', () => {
    byId('threshold-value').textContent = Number(threshold.value).toFixed(2);
    setAllSettings(state, settingsOfControls(state.settings));
  });
  for (const id of ['keep-largest', 'min-size', 'tta', 'spacing']) {
    byId(id).addEventListener('change', () =>
      setAllSettings(state, settingsOfControls(state.settings)),
    );
  }

  // The open image's own settings (the viewer's panel).
  byId<HTMLFormElement>('image-settings').addEventListener('submit', (e) => e.preventDefault());
  const imageSettings = (): void => {
    const image = state.images.find((i) => i.id === state.openId);
    if (image) setImageSettings(state, imageSettingsOfControls(image.settings));
  };
  const imageThreshold = byId<HTMLInputElement>('image-threshold');
  imageThreshold.addEventListener('input', () => {
    byId('image-threshold-value').textContent = Number(imageThreshold.value).toFixed(2);
    imageSettings();
  });
  for (const id of ['image-keep-largest', 'image-min-size', 'image-tta']) {
    byId(id).addEventListener('change', imageSettings);
  }

  // The fine-tune panel's settings.
  byId<HTMLFormElement>('ft-settings').addEventListener('submit', (e) => e.preventDefault());
  for (const id of ['ft-epochs', 'ft-rate', 'ft-augment', 'ft-freeze']) {
    byId(id).addEventListener('change', () => setFineTuneSettings(state));
  }
  byId('ft-start').addEventListener('click', () => void fineTune(state));
  byId('ft-cancel').addEventListener('click', stopFineTuning);
  byId('ft-switch').addEventListener('click', () => void switchModel(state));
  byId('ft-resume').addEventListener('click', () => void resumeFineTuning(state));
  byId('ft-discard').addEventListener('click', () => void discardFineTuning());

  byId('copy-diag').addEventListener('click', () => {
    showDiagnostics(state);
    void copyDiagnostics();
  });
  byId('diagnostics').addEventListener('toggle', () => showDiagnostics(state));
}

const state = createState(rememberedSettings());
wire(state);
// Offline use from the next visit on, once the engine's files are in the browser's cache.
// A fine-tuning that a reload interrupted is offered once the page is ready.
void start(state).then(() => {
  registerOffline();
  void offerInterrupted();
});
