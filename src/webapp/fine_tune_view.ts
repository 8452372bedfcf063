/**
 * The DOM of the page's "Fine-tune" panel (`index.html`'s `#fine-tune`): its settings filled
 * from `FINE_TUNE_DEFAULTS` and the families they choose from (`AUGMENT_LEVELS`,
 * `FREEZE_PARTS`), the images it would learn from, the button and why it cannot start, the
 * progress bar and line, the curves (inline SVG, redrawn once per epoch; the progress line at
 * most every `PROGRESS_EVERY_MS`), the validation DSC before and after per held-out image, the
 * download link of the fine-tuned model, the switch between the models, and the prompt to
 * resume or discard a fine-tuning a reload interrupted. `body[data-fine-tuning]` says where it
 * stands. Draws what it is given; changes no state. Browser-only.
 */
import { AUGMENT_LEVELS } from '../data/augment.js';
import { FREEZE_PARTS } from '../models/freeze.js';
import type { FineTuneResult } from '../browser/fine_tune.js';
import type { FineTuneSettings } from '../browser/fine_tune_settings.js';
import {
  CURVE_BOX,
  blockedReason,
  curvePaths,
  curvesWords,
  nameList,
  progressWords,
  setWords,
  stepFraction,
  type CurvePoint,
  type FineTuneSet,
  type PanelContext,
  type StepReport,
} from './fine_tune_panel.js';
import { byId } from './view.js';

/** Where a fine-tuning stands (`body[data-fine-tuning]`; absent before the first). */
export type FineTunePhase = 'running' | 'done' | 'cancelled' | 'error';

/** The least time between two drawings of the progress line (ms): steps may come often. */
const PROGRESS_EVERY_MS = 250;

/** The words of each augmentation level and freeze part in the panel's menus (the help says more). */
const AUGMENT_WORDS: Record<(typeof AUGMENT_LEVELS)[number], string> = {
  none: 'none',
  light: 'light',
  default: 'default',
  heavy: 'heavy',
};
const FREEZE_WORDS: Record<(typeof FREEZE_PARTS)[number], string> = {
  none: 'none',
  encoder: 'encoder',
};

/** Fills the menus and shows `settings` in the controls. */
export function showFineTuneSettings(settings: FineTuneSettings): void {
  const fill = (id: string, values: readonly string[], words: Record<string, string>): void => {
    const select = byId<HTMLSelectElement>(id);
    if (select.options.length === 0) {
      for (const value of values) select.add(new Option(words[value] ?? value, value));
    }
  };
  fill('ft-augment', AUGMENT_LEVELS, AUGMENT_WORDS);
  fill('ft-freeze', FREEZE_PARTS, FREEZE_WORDS);
  byId<HTMLInputElement>('ft-epochs').value = String(settings.epochs);
  byId<HTMLInputElement>('ft-rate').value = String(settings.learningRate);
  byId<HTMLSelectElement>('ft-augment').value = settings.augment;
  byId<HTMLSelectElement>('ft-freeze').value = settings.freeze;
}

/**
 * The settings as the controls set them over `current`; a number out of its range is a
 * sentence that says what to give (the panel's notice), not a setting.
 */
export function fineTuneSettingsOfControls(
  current: FineTuneSettings,
): { settings: FineTuneSettings } | { problem: string } {
  const epochs = Number(byId<HTMLInputElement>('ft-epochs').value);
  const rate = Number(byId<HTMLInputElement>('ft-rate').value);
  if (!(Number.isInteger(epochs) && epochs >= 1 && epochs <= 1000)) {
    return { problem: 'Give the epochs as a whole number from 1 to 1000.' };
  }
  if (!(rate > 0 && rate <= 1)) {
    return { problem: 'Give the learning rate as a number above 0 and at most 1, e.g. 0.001.' };
  }
  return {
    settings: {
      ...current,
      epochs,
      learningRate: rate,
      augment: byId<HTMLSelectElement>('ft-augment').value as FineTuneSettings['augment'],
      freeze: byId<HTMLSelectElement>('ft-freeze').value as FineTuneSettings['freeze'],
    },
  };
}

/** The images the panel would learn from, and the button: enabled, or disabled with why. */
export function showFineTuneSet(set: FineTuneSet, context: PanelContext): void {
  byId('ft-set').textContent = setWords(set);
  const reason = blockedReason(set, context);
  const button = byId<HTMLButtonElement>('ft-start');
  button.disabled = reason !== undefined;
  byId('ft-reason').textContent = reason ?? '';
  for (const id of ['ft-epochs', 'ft-rate', 'ft-augment', 'ft-freeze']) {
    byId<HTMLInputElement>(id).disabled = context.running;
  }
}

/** Marks `body[data-fine-tuning]` (the tests and the benchmark wait on it). */
export function markFineTuning(phase: FineTunePhase): void {
  document.body.dataset.fineTuning = phase;
}

/** A sentence in the panel's live region (epochs ending, the outcome, a problem). */
export function showFineTuneStatus(text: string): void {
  byId('ft-status').textContent = text;
}

/** Shows the progress part (bar, line, cancel, curves) empty for a run of `epochs`. */
export function startFineTuneRun(epochs: number, from: readonly CurvePoint[] = []): void {
  byId('ft-run').hidden = false;
  byId('ft-result').hidden = true;
  byId<HTMLProgressElement>('ft-bar').value = 0;
  byId('ft-progress').textContent = 'Starting the training engine…';
  byId<HTMLButtonElement>('ft-cancel').disabled = false;
  lastProgress = 0;
  drawCurves(from, epochs);
}

/**
 * The run's end: its stop button goes off, and the focus, if it was there, moves to the
 * download link (or the button that starts a run).
 */
export function endFineTuneRun(): void {
  const stop = byId<HTMLButtonElement>('ft-cancel');
  const focused = document.activeElement === stop;
  stop.disabled = true;
  if (focused) (byId('ft-result').hidden ? byId('ft-start') : byId('ft-download')).focus();
}

/** The time the progress line was last drawn, and a step waiting to be drawn. */
let lastProgress = 0;
let waiting: StepReport | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;

/** The progress bar and line for a step, drawn at most every `PROGRESS_EVERY_MS`. */
export function showFineTuneProgress(p: StepReport): void {
  waiting = p;
  if (timer !== undefined) return;
  const wait = Math.max(0, lastProgress + PROGRESS_EVERY_MS - performance.now());
  timer = setTimeout(() => {
    timer = undefined;
    lastProgress = performance.now();
    if (!waiting) return;
    byId<HTMLProgressElement>('ft-bar').value = stepFraction(waiting);
    byId('ft-progress').textContent = progressWords(waiting);
    waiting = undefined;
  }, wait);
}

/** Words in the progress line now (the step waiting is dropped). */
export function showFineTuneLine(text: string, fraction?: number): void {
  waiting = undefined;
  byId('ft-progress').textContent = text;
  if (fraction !== undefined) byId<HTMLProgressElement>('ft-bar').value = fraction;
}

const SVG = 'http://www.w3.org/2000/svg';

function svgElement(name: string, attributes: Record<string, string | number>): SVGElement {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, String(v));
  return el;
}

/** Draws the loss and the validation DSC of `points` (one per epoch) on `epochs` epochs. */
export function drawCurves(points: readonly CurvePoint[], epochs: number): void {
  const svg = byId('ft-curves') as unknown as SVGSVGElement;
  const { width, height, pad } = CURVE_BOX;
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const c = curvePaths(points, epochs);
  const grid = [0, 0.5, 1].map((f) => {
    const y = pad + (height - 2 * pad) * (1 - f);
    return svgElement('line', { class: 'ft-grid', x1: pad, x2: width - pad, y1: y, y2: y });
  });
  svg.replaceChildren(
    ...grid,
    svgElement('path', { class: 'ft-loss', d: c.loss }),
    svgElement('path', { class: 'ft-dsc', d: c.dsc }),
    ...(c.best
      ? [svgElement('circle', { class: 'ft-best', cx: c.best.x, cy: c.best.y, r: 3 })]
      : []),
  );
  byId('ft-curves-text').textContent = curvesWords(points, epochs);
  byId('ft-key-loss').textContent =
    points.length > 0 ? `training loss (0 to ${c.lossMax.toPrecision(3)})` : 'training loss';
  byId('ft-key-epochs').textContent = `epochs 1 to ${epochs} from left to right`;
}

/** The figures before and after, per held-out image, the download link and the switch. */
export function showFineTuneResult(
  result: Pick<
    FineTuneResult,
    'before' | 'after' | 'validation' | 'bestEpoch' | 'logs' | 'cancelled'
  >,
  download: { url: string; name: string },
  trainedOn: string,
): void {
  const kept =
    result.bestEpoch === 0
      ? 'no epoch beat the model as it was, so it is kept unchanged'
      : `epoch ${result.bestEpoch} of ${result.logs.length} kept`;
  const scores = byId('ft-scores');
  scores.replaceChildren(
    `Validation DSC on the ${result.validation.length} held-out image${result.validation.length === 1 ? '' : 's'} (${nameList(result.validation)}): before `,
    dataElement('ft-before', result.before.dsc),
    ', after ',
    dataElement('ft-after', result.after.dsc),
    ` (${kept}${result.cancelled ? '; stopped early' : ''}). ${trainedOn}`,
  );
  const rows = result.validation.map((name, i) => {
    const tr = document.createElement('tr');
    tr.dataset.validation = name;
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = name;
    const td = (v: number | undefined): HTMLTableCellElement => {
      const cell = document.createElement('td');
      cell.textContent = v === undefined ? '-' : v.toFixed(3);
      return cell;
    };
    tr.append(th, td(result.before.images[i]?.dsc), td(result.after.images[i]?.dsc));
    return tr;
  });
  byId('ft-rows').replaceChildren(...rows);
  const link = byId<HTMLAnchorElement>('ft-download');
  link.href = download.url;
  link.download = download.name;
  byId('ft-result').hidden = false;
}

/** A `<data>` element: the figure to 3 decimals, its full value in `value` (for scripts). */
function dataElement(id: string, value: number): HTMLDataElement {
  const el = document.createElement('data');
  el.id = id;
  el.value = String(value);
  el.textContent = value.toFixed(3);
  return el;
}

/** The switch's words follow the model in use (`body[data-model]`); off while `disabled`. */
export function showModelSwitch(using: 'original' | 'fine-tuned', disabled: boolean): void {
  const button = byId<HTMLButtonElement>('ft-switch');
  button.textContent =
    using === 'fine-tuned' ? 'Use the original model' : 'Use the fine-tuned model';
  button.disabled = disabled;
  document.body.dataset.model = using;
}

/**
 * The prompt for a fine-tuning a reload interrupted (`text` says what it was), or none;
 * `body[data-interrupted]` says which ('offered', 'none') once the page has looked.
 */
export function showSavedFineTuning(text: string | undefined): void {
  document.body.dataset.interrupted = text === undefined ? 'none' : 'offered';
  const box = byId('ft-saved');
  box.hidden = text === undefined;
  byId('ft-saved-text').textContent = text ?? '';
}
