/**
 * The web app that `ftunet app` writes: segment images with the built-in model in this
 * browser. Files come by the picker or by drag-and-drop and are predicted one after another,
 * the page updating between them; each gets the overlay, the probability map, the attention
 * maps, the lesion's area, the time taken, a threshold slider that re-thresholds the kept
 * probabilities, and the mask as a PNG to download (equal to `ftunet predict`'s at the
 * recorded threshold). Options in the URL: `?backend=auto|webgpu|webgl|wasm|cpu`,
 * `&engine=auto|tfjs|onnxruntime`, `&threads=N` (`options.ts`). Every URL is relative to the
 * page, so the folder can be hosted under any path. Browser-only.
 *
 * The entry of the bundle, and the only module that does anything on import: it makes the
 * state (`state.ts`), connects the page's controls to the work (`app.ts`) and the view
 * (`view.ts`), and loads the built-in model.
 */
import { addImages, cancelWork, openModelFiles, start, zipHref } from './app.js';
import { registerOffline } from './offline.js';
import { createState, type AppState } from './state.js';
import { byId, copyDiagnostics, drawResults, showDiagnostics } from './view.js';

function wire(state: AppState): void {
  const input = byId<HTMLInputElement>('files');
  input.addEventListener('change', () => {
    if (input.files) addImages(state, Array.from(input.files));
    input.value = '';
  });
  const drop = byId('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer?.files) addImages(state, Array.from(e.dataTransfer.files));
  });
  // Files dropped outside the drop zone must not make the browser open them.
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());
  byId('cancel').addEventListener('click', () => cancelWork(state));
  byId('style').addEventListener('change', () => drawResults(state.results));
  byId('opacity').addEventListener('change', () => drawResults(state.results));
  byId('copy-diag').addEventListener('click', () => {
    showDiagnostics(state);
    void copyDiagnostics();
  });
  const zip = byId<HTMLAnchorElement>('zip');
  zip.addEventListener('click', (e) => {
    const href = zipHref(state);
    if (href === undefined) e.preventDefault();
    else zip.href = href;
  });
  byId('diagnostics').addEventListener('toggle', () => showDiagnostics(state));
  const modelFiles = byId<HTMLInputElement>('model-files');
  modelFiles.addEventListener('change', () => {
    if (modelFiles.files && modelFiles.files.length > 0) {
      void openModelFiles(state, Array.from(modelFiles.files));
    }
    modelFiles.value = '';
  });
}

const state = createState();
wire(state);
// Offline use from the next visit on, once the engine's files are in the browser's cache.
void start(state).then(() => registerOffline());
