/**
 * The HTML page of a run's report, from what `collectRunReport` gathered. Sections (each a
 * `<section id=... data-section=...>`):
 *
 * - `summary`: the evaluation's mean ± std of each metric over the test images (original
 *   size), the ISIC score (thresholded Jaccard), HD95 and ASSD over the images where they are
 *   defined (with their count), the best epoch, the pixel-level average precision, lesion areas;
 * - `config`: every field of config.json;
 * - `training`: loss and DSC per epoch for train and validation, one chart per output
 *   (total, pred1..pred3, final), and the learning rate;
 * - `pr-curve`: the pixel-level precision-recall curve with the operating point;
 * - `cases`: the best, median and worst test images: image, ground truth, prediction,
 *   overlay and each attention gate's map, with their DSC, precision, recall, HD95 and ASSD;
 * - `per-image`: the histogram of per-image DSC and the sortable per-image table (HD95 and
 *   ASSD as — where undefined);
 * - `focal-tversky`: the focal Tversky loss against the Tversky index for the run's gamma and
 *   for gamma = 1 (the paper's Fig. 1).
 *
 * Pure JavaScript (plots through Vega).
 */
import { DEFAULT_ALPHA, DEFAULT_GAMMA } from '../losses/utils.js';
import { METRIC_NAMES } from '../eval/score.js';
import {
  SURFACE_METRIC_NAMES,
  type DefinedMeanStd,
  type EvaluationSummary,
  type MeanStd,
} from '../eval/evaluation_summary.js';
import type { DistanceUnit } from '../metrics/surface_policy.js';
import {
  formatMetric,
  METRICS,
  THRESHOLDED_METRIC_NAMES,
  type MetricName,
} from '../metrics/registry.js';
import { LOSSES, type LossName } from '../losses/registry.js';
import { formatPercent } from '../util/stats.js';
import { listWords } from '../util/messages.js';
import {
  cards,
  dataTable,
  html,
  keyValueGrid,
  plotFigure,
  renderPage,
  type PageSection,
  type SafeHtml,
  type TableCell,
} from './html.js';
import { OVERLAY_COLORS } from './images.js';
import { bestEpoch } from '../run/log.js';
import {
  dscHistogramSpec,
  focalTverskySpec,
  formatGamma,
  learningRateSpec,
  precisionRecallSpec,
  trainingCurvesSpec,
} from './plots.js';
import type { MetricsCsvRow } from './metrics_csv.js';
import type { RunReportData } from './run_data.js';
import { plottingVersions, renderVegaLite } from './vega.js';

/** The section ids of a run report, in page order. */
export const RUN_REPORT_SECTIONS = [
  'summary',
  'config',
  'training',
  'pr-curve',
  'cases',
  'per-image',
  'focal-tversky',
] as const;

/** Options of `renderRunReport`. */
export interface RenderRunReportOptions {
  /** The program that wrote the report, for the footer. Default: none. */
  generator?: string;
  /** The time shown as "generated". Default: now. */
  now?: Date;
  /** Receives the plotting library's warnings. Default: none. */
  onWarning?: (message: string) => void;
}

/** What an undefined surface distance (an empty prediction or ground truth) shows. */
const UNDEFINED_CELL = '—';

const f3 = (v: number): string => (Number.isFinite(v) ? v.toFixed(3) : '—');
const f4 = (v: number): string => (Number.isFinite(v) ? v.toFixed(4) : '—');
const meanStd = (m: MeanStd): string => `${f3(m.mean)} ± ${f3(m.std)}`;
/** A metric's value with its decimals (`detail`: as per image), or the undefined cell. */
const fm = (m: MetricName, v: number | null | undefined, detail = false): string =>
  v === null || v === undefined ? UNDEFINED_CELL : formatMetric(m, v, detail);
/** "thresholded Jaccard (IoU < 0.65 counts 0)" as a card's note: "... Jaccard: IoU < 0.65 ...". */
const cardNote = (description: string): string => description.replace(/ \((.*)\)$/, ': $1');
const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

interface LossConfig {
  name: LossName;
  alpha: number;
  gamma: number;
}

/** The run's loss settings, where config.json has them (runs written by `ftunet train` do). */
function lossConfig(data: RunReportData): LossConfig | undefined {
  const l = data.config.loss as Partial<LossConfig> | undefined;
  if (l === undefined || typeof l.name !== 'string' || !Object.hasOwn(LOSSES, l.name))
    return undefined;
  return { name: l.name, alpha: l.alpha ?? DEFAULT_ALPHA, gamma: l.gamma ?? DEFAULT_GAMMA };
}

/**
 * Which loss trained each output, as training recorded it in log.jsonl (`losses` of the last
 * epoch); empty for a log written before it was recorded.
 */
function lossPerOutput(data: RunReportData): Array<[string, LossName]> {
  const recorded = [...data.logs].reverse().find((l) => l.losses !== undefined)?.losses;
  return recorded === undefined ? [] : Object.entries(recorded);
}

/** "key.sub" → text, for every leaf of config.json except format and version. */
export function flattenConfig(value: unknown, prefix = ''): Array<[string, string]> {
  if (value === null || typeof value !== 'object') return [[prefix, String(value)]];
  if (Array.isArray(value)) {
    return value.every((v) => v === null || typeof v !== 'object')
      ? [[prefix, value.map(String).join(' × ')]]
      : value.flatMap((v, i) => flattenConfig(v, `${prefix}[${i}]`));
  }
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(value)) {
    if (prefix === '' && (k === 'format' || k === 'version')) continue;
    const key = prefix === '' ? k : `${prefix}.${k}`;
    if (typeof v === 'number')
      out.push([key, Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)))]);
    else out.push(...flattenConfig(v, key));
  }
  return out;
}

function summarySection(data: RunReportData): SafeHtml {
  const s = data.summary;
  const metricCards = METRIC_NAMES.map((m) => ({
    label: `${METRICS[m].label} (mean)`,
    value: f3(s[m].mean),
    note: `± ${f3(s[m].std)} std`,
  }));
  const best = bestEpoch(data.logs);
  const bestLog = data.logs.find((l) => l.epoch === best);
  const op = data.pr.operatingPoint;
  const scoring = [
    ...THRESHOLDED_METRIC_NAMES.flatMap((m) => {
      const v = s[m];
      const { label, description } = METRICS[m];
      if (v === undefined) return [];
      return [{ label, value: fm(m, v), note: cardNote(description ?? '') }];
    }),
    ...SURFACE_METRIC_NAMES.flatMap((m) => {
      const d: DefinedMeanStd | undefined = s[m];
      if (d === undefined) return [];
      const { label, unit } = METRICS[m];
      return [
        {
          label: `${label} (mean${unit !== '' ? `, ${distanceUnitOf(s)}` : ''})`,
          value: fm(m, d.mean),
          note: `± ${fm(m, d.std)} std · ${d.count} of ${s.count} images`,
        },
      ];
    }),
  ];
  const more = [
    ...(bestLog !== undefined
      ? [
          {
            label: 'best epoch',
            value: `${best} / ${data.logs[data.logs.length - 1].epochs}`,
            note: `${bestLog.val !== undefined ? 'validation' : 'train'} DSC ${f3(bestLog.score)}`,
          },
        ]
      : []),
    {
      label: 'pixel average precision',
      value: data.pr.averagePrecision === null ? '—' : f3(data.pr.averagePrecision),
      note: `pooled F1 ${op.f1 === null ? '—' : f3(op.f1)} at p > ${op.threshold}`,
    },
    {
      label: 'lesion area (truth)',
      value: formatPercent(s.lesionArea?.truth.mean ?? Number.NaN, 1),
      note: `predicted ${formatPercent(s.lesionArea?.prediction.mean ?? Number.NaN, 1)}`,
    },
  ];
  const inputSize = s.atInputSize;
  return html`<p class="note">
      ${count(s.count, 'test image')} of fold ${String(s.fold ?? '—')}, lesion where p &gt;
      ${s.threshold}, each image scored at its original size after a nearest-neighbour resize of the
      prediction (as the reference code); mean ± population std over the images.
    </p>
    ${cards(metricCards)} ${scoring.length > 0 ? cards(scoring) : ''} ${surfaceNote(data)}
    ${cards(more)}
    ${
      inputSize !== undefined
        ? dataTable(
            [
              { label: 'metric' },
              { label: 'original size', numeric: true },
              { label: `input size ${inputSize.size.join('×')}`, numeric: true },
            ],
            METRIC_NAMES.map((m) => ({
              cells: [METRICS[m].label, meanStd(s[m]), meanStd(inputSize[m])],
            })),
          )
        : ''
    }`;
}

/**
 * Over which images the surface metrics' means run: "HD95 (...) and ASSD (their mean) in pixels
 * at the original size, over the 1 of 3 test images where both masks have a lesion; the other 2
 * (an empty prediction or ground truth) have none, shown as —, and are left out of the means."
 * Nothing for a summary without them (written before they existed).
 */
function surfaceNote(data: RunReportData): SafeHtml | '' {
  const s = data.summary;
  const present = SURFACE_METRIC_NAMES.filter((m) => s[m] !== undefined);
  if (present.length === 0) return '';
  const defined = s[present[0]]!.count;
  const undefinedCount = s.count - defined;
  const described = (ms: readonly MetricName[]): string =>
    ms
      .map((m) => `${METRICS[m].label} (${METRICS[m].description ?? METRICS[m].label})`)
      .join(' and ');
  const inPixels = present.filter((m) => METRICS[m].unit === 'px');
  const others = present.filter((m) => METRICS[m].unit !== 'px');
  const what = [
    ...(inPixels.length > 0
      ? [`${described(inPixels)} ${unitWords(distanceUnitOf(s))} at the original size`]
      : []),
    ...others.map((m) => described([m])),
  ].join(', and ');
  const policy = s.surface?.emptyDistance ?? 'skip';
  if (policy !== 'skip') {
    // Under nan or penalty:N an image with an empty mask has values too (see `--empty-distance`).
    return html`<p class="note" data-surface-count="${defined}">
      ${what}; images with an empty mask are scored as --empty-distance ${policy} says, and the
      means run over ${defined} of ${count(s.count, 'test image')}.
    </p>`;
  }
  return html`<p class="note" data-surface-count="${defined}">
    ${what}, over the ${defined} of ${count(s.count, 'test image')} where both the prediction and
    the ground truth have a
    lesion${
      undefinedCount > 0
        ? `; the other ${undefinedCount} (an empty mask) ${undefinedCount === 1 ? 'has' : 'have'} none, shown as ${UNDEFINED_CELL}, and ${undefinedCount === 1 ? 'is' : 'are'} left out of the means`
        : ''
    }.
  </p>`;
}

function configSection(data: RunReportData): SafeHtml {
  return html`<p class="note">
      config.json of ${data.runDir}; split: fold ${data.split.fold} with
      ${count(data.split.train, 'training image')}, ${data.split.val} validation and
      ${data.split.test} test. Model: ${data.model.name},
      ${data.model.params.toLocaleString('en-US')} parameters.
    </p>
    ${keyValueGrid(flattenConfig(data.config))}`;
}

async function trainingSection(data: RunReportData, warn: (m: string) => void): Promise<SafeHtml> {
  if (data.logs.length === 0) {
    return html`<p class="note" data-empty="true">
      The run has no log.jsonl: no epoch has finished.
    </p>`;
  }
  const best = bestEpoch(data.logs);
  const outputs = Object.keys(data.logs[0].train.outputs);
  const ds = outputs.length > 1;
  const loss = lossConfig(data);
  const perOutput = lossPerOutput(data);
  const lossText = perOutput.map(([o, l]) => `${o}: ${l.toUpperCase()}`).join(', ');
  const [lossSvg, dscSvg, lrSvg] = await Promise.all([
    renderVegaLite(trainingCurvesSpec(data.logs, 'loss'), { id: 'plot-loss', onWarning: warn }),
    renderVegaLite(trainingCurvesSpec(data.logs, 'dsc'), { id: 'plot-dsc', onWarning: warn }),
    renderVegaLite(learningRateSpec(data.logs), { id: 'plot-lr', onWarning: warn }),
  ]);
  const first = data.logs[0].learningRate;
  const last = data.logs[data.logs.length - 1].learningRate;
  return html`<p class="note">
      ${count(data.logs.length, 'epoch')}. Train: the mean over the epoch's batches while the
      weights changed; validation: after the epoch.
      ${
        ds
          ? `Each deep-supervision output is drawn: pred1 (1/8 of the input size), pred2 (1/4), pred3 (1/2) and final (full size, the prediction)${perOutput.length > 0 ? `; losses ${lossText}` : ''}; total is their weighted sum.`
          : `One output (final)${loss !== undefined ? `, trained with the ${LOSSES[loss.name].label}` : ''}.`
      }
      The dashed line marks the best epoch (${best}), chosen on the
      ${data.logs[0].val !== undefined ? 'validation' : 'training'} DSC of final.
    </p>
    <h3>Loss</h3>
    ${plotFigure('loss', lossSvg)}
    <h3>DSC</h3>
    ${plotFigure('dsc', dscSvg, 'Soft DSC of the probabilities against the (sub-sampled) ground truth over each batch, as the trainer logs it; not thresholded.')}
    <h3>Learning rate</h3>
    ${plotFigure('learning-rate', lrSvg, `At the end of each epoch: ${first.toPrecision(6)} after epoch 1, ${last.toPrecision(6)} after epoch ${data.logs[data.logs.length - 1].epoch}.`)}`;
}

async function prSection(data: RunReportData, warn: (m: string) => void): Promise<SafeHtml> {
  const pr = data.pr;
  const op = pr.operatingPoint;
  const [h, w] = data.config.dataset.inputSize;
  if (pr.points.length === 0) {
    return html`<p class="note" data-empty="true">
      The test images have no lesion pixels at the input size: recall, and so the curve, is
      undefined.
    </p>`;
  }
  const svg = await renderVegaLite(precisionRecallSpec(pr.points, op), {
    id: 'plot-pr',
    onWarning: warn,
  });
  const fmt = (v: number | null): string => (v === null ? '—' : f3(v));
  return html`<div class="row">
      ${plotFigure('pr-curve', svg)}
      <div>
        ${cards([
          { label: 'average precision', value: fmt(pr.averagePrecision) },
          { label: `precision at p > ${op.threshold}`, value: fmt(op.precision) },
          { label: `recall at p > ${op.threshold}`, value: fmt(op.recall) },
          { label: 'F1 (pooled pixel DSC)', value: fmt(op.f1) },
        ])}
        ${dataTable(
          [
            { label: `at p > ${op.threshold}` },
            { label: 'predicted lesion', numeric: true },
            { label: 'predicted background', numeric: true },
          ],
          [
            {
              cells: [
                'lesion pixels',
                op.tp.toLocaleString('en-US'),
                op.fn.toLocaleString('en-US'),
              ],
            },
            {
              cells: [
                'background pixels',
                op.fp.toLocaleString('en-US'),
                op.tn.toLocaleString('en-US'),
              ],
            },
          ],
        )}
      </div>
    </div>
    <p class="note">
      Every pixel of the ${count(data.split.test, 'test image')} at the network's input size
      (${h}×${w}), pooled: ${pr.positives.toLocaleString('en-US')} lesion and
      ${pr.negatives.toLocaleString('en-US')} background pixels. The curve comes from a histogram of
      the probabilities of the final output in ${pr.bins} bins (one point per 1/${pr.bins} of
      threshold); the red dot is the threshold evaluation uses, counted exactly. Pooled precision
      and recall weigh large lesions more than the per-image means of the summary do.
    </p>`;
}

function casesSection(data: RunReportData): SafeHtml {
  const n = data.rows.length;
  const gateCols = data.cases.flatMap((g) => g.cases).find(() => true)?.panels.attention ?? [];
  const heads = [
    'image',
    'ground truth',
    'prediction',
    'overlay',
    ...gateCols.map((a, k) => `gate ${k + 1} attention (${a.mapSize.join('×')})`),
  ];
  const columns = heads.length + 1;
  const img = (uri: string, size: [number, number], alt: string, kind: string): SafeHtml =>
    html`<img
      src="${uri}"
      width="${size[1]}"
      height="${size[0]}"
      alt="${alt}"
      data-panel="${kind}"
    />`;
  const groupTitle = { best: 'Best', median: 'Median', worst: 'Worst' } as const;
  const body = data.cases.map((g) => {
    const header = html`<tr class="group">
      <th colspan="${columns}">${groupTitle[g.group]} (${count(g.cases.length, 'image')})</th>
    </tr>`;
    if (g.cases.length === 0) return header;
    return html`${header}${g.cases.map((c) => {
      const m = c.row.metrics;
      const p = c.panels;
      return html`<tr data-case="${g.group}" data-name="${c.row.name}">
        <td class="who">
          <span class="tag ${g.group}">${g.group}</span> <span class="name">${c.row.name}</span
          ><br />
          DSC <b>${f3(m.dsc)}</b> · rank ${c.rank}/${n}<br />precision ${f3(m.precision)} · recall
          ${f3(m.recall)}${
            c.row.surface !== undefined
              ? html`<br /><span data-surface="${c.row.name}"
                    >${surfaceText(c.row, distanceUnitOf(data.summary))}</span
                  >`
              : ''
          }
        </td>
        <td>${img(p.image, p.size, `${c.row.name}: image`, 'image')}</td>
        <td>${img(p.truth, p.size, `${c.row.name}: ground truth`, 'truth')}</td>
        <td>${img(p.prediction, p.size, `${c.row.name}: prediction`, 'prediction')}</td>
        <td>${img(p.overlay, p.size, `${c.row.name}: overlay`, 'overlay')}</td>
        ${p.attention.map((a, k) => html`<td>${img(a.uri, p.size, `${c.row.name}: attention gate ${k + 1}`, 'attention')}</td>`)}
      </tr>`;
    })}`;
  });
  const rgb = (c: readonly number[]): string => `rgb(${c.join(',')})`;
  const gatesNote =
    data.gates.length > 0
      ? `Attention maps: each gate's coefficients (0 dark purple to 1 yellow, viridis) at the gate's resolution, enlarged; gate 1 is the deepest.`
      : `${data.model.name} has no attention gates.`;
  return html`<p class="note legend">
      By DSC at the original size among the ${count(n, 'test image')}. Overlay:
      <span class="sw" style="background:${rgb(OVERLAY_COLORS.truth)}"></span>ground truth (outline)
      <span class="sw" style="background:${rgb(OVERLAY_COLORS.prediction)}"></span>prediction (tint,
      p &gt; ${data.summary.threshold}). ${gatesNote}
    </p>
    <div class="scroll-x">
      <table class="cases">
        <thead>
          <tr>
            <th></th>
            ${heads.map((h) => html`<th>${h}</th>`)}
          </tr>
        </thead>
        <tbody>
          ${body}
        </tbody>
      </table>
    </div>`;
}

async function perImageSection(data: RunReportData, warn: (m: string) => void): Promise<SafeHtml> {
  const dscs = data.rows.map((r) => r.metrics.dsc);
  const svg = await renderVegaLite(dscHistogramSpec(dscs), {
    id: 'plot-dsc-hist',
    onWarning: warn,
  });
  const sorted = [...dscs].sort((a, b) => a - b);
  const median =
    sorted.length % 2 === 1
      ? sorted[(sorted.length - 1) / 2]
      : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  const below = dscs.filter((d) => d < 0.5).length;
  const pictured = new Map<string, string>();
  for (const g of data.cases) for (const c of g.cases) pictured.set(c.row.name, g.group);
  const withInput = data.rows.every((r) => r.atInputSize !== undefined);
  const withSurface = data.rows.every((r) => r.surface !== undefined);
  // The surface metrics every row has (older files lack the newer metrics' columns).
  const surfaceColumns = withSurface
    ? SURFACE_METRIC_NAMES.filter((m) => data.rows.every((r) => r.surface?.[m] !== undefined))
    : [];
  const columns = [
    { label: 'image' },
    ...METRIC_NAMES.map((m) => ({ label: METRICS[m].label, numeric: true })),
    ...surfaceColumns.map((m) => {
      const { label, unit } = METRICS[m];
      const shown = unit === '' ? label : `${label} ${distanceUnitOf(data.summary)}`;
      return { label: shown, numeric: true };
    }),
    { label: 'lesion (truth)', numeric: true },
    { label: 'lesion (predicted)', numeric: true },
    ...(withInput ? [{ label: 'DSC at input size', numeric: true }] : []),
  ];
  const num = (v: number, text: string): TableCell => ({ value: v, text });
  // An undefined distance: an empty cell's value, which sorts after every number.
  const surfaceCell = (m: MetricName, v: number | null | undefined): TableCell =>
    num(v ?? Number.NaN, fm(m, v, true));
  const rows = data.rows.map((r) => {
    const group = pictured.get(r.name);
    const name =
      group !== undefined
        ? html`${r.name} <span class="tag ${group}">${group}</span>`
        : html`${r.name}`;
    return {
      cells: [
        name,
        ...METRIC_NAMES.map((m) => num(r.metrics[m], fm(m, r.metrics[m], true))),
        ...surfaceColumns.map((m) => surfaceCell(m, r.surface![m])),
        num(r.truthArea, formatPercent(r.truthArea)),
        num(r.predictedArea, formatPercent(r.predictedArea)),
        ...(withInput ? [num(r.atInputSize!.dsc, f4(r.atInputSize!.dsc))] : []),
      ],
      attrs: { 'data-name': r.name },
    };
  });
  return html`<div class="row">
      ${plotFigure(
        'dsc-histogram',
        svg,
        `${count(dscs.length, 'image')}: median ${f3(median)}, min ${f3(sorted[0])}, max ${f3(sorted[sorted.length - 1])}; ${below} below 0.5.`,
      )}
    </div>
    <p class="note">
      One row per test image (metrics.csv); click a column's name to sort by
      it${
        withSurface
          ? `. ${pixelMetrics(surfaceColumns)} ${unitWords(distanceUnitOf(data.summary))}; ${UNDEFINED_CELL} where the prediction or the ground truth is empty (${undefinedSurfaces(data)} of ${count(data.rows.length, 'image')}), sorted last`
          : ''
      }.
    </p>
    <div class="scroll">${dataTable(columns, rows, { sortable: true, id: 'metrics-table' })}</div>`;
}

/**
 * An image's surface metrics for its case: "HD95 12.00 · ASSD 3.10 px", the metrics without a
 * unit after them ("· NSD 0.5000").
 */
function surfaceText(row: MetricsCsvRow, unit: DistanceUnit): string {
  const present = SURFACE_METRIC_NAMES.filter((m) => row.surface?.[m] !== undefined);
  const part = (m: (typeof SURFACE_METRIC_NAMES)[number]): string =>
    `${METRICS[m].label} ${fm(m, row.surface![m], true)}`;
  const inPixels = present.filter((m) => METRICS[m].unit === 'px').map(part);
  const others = present.filter((m) => METRICS[m].unit !== 'px').map(part);
  return [...(inPixels.length > 0 ? [`${inPixels.join(' · ')} ${unit}`] : []), ...others].join(
    ' · ',
  );
}

/** The unit of a summary's surface distances: 'mm' with a pixel spacing, else 'px'. */
function distanceUnitOf(s: EvaluationSummary): DistanceUnit {
  return s.surface?.unit ?? 'px';
}

/** "in pixels" or "in mm". */
function unitWords(unit: DistanceUnit): string {
  return unit === 'px' ? 'in pixels' : 'in mm';
}

/** "HD95 and ASSD": the surface metrics in pixels among `ms` (METRICS). */
function pixelMetrics(ms: readonly MetricName[]): string {
  return listWords(ms.filter((m) => METRICS[m].unit === 'px').map((m) => METRICS[m].label));
}

/** How many rows have no surface distances (an empty prediction or ground truth). */
function undefinedSurfaces(data: RunReportData): number {
  return data.rows.filter((r) => SURFACE_METRIC_NAMES.some((m) => r.surface?.[m] === null)).length;
}

async function focalTverskySection(
  data: RunReportData,
  warn: (m: string) => void,
): Promise<SafeHtml> {
  const loss = lossConfig(data) ?? {
    name: 'ftl' as LossName,
    alpha: DEFAULT_ALPHA,
    gamma: DEFAULT_GAMMA,
  };
  const svg = await renderVegaLite(focalTverskySpec(loss.gamma), {
    id: 'plot-ftl',
    onWarning: warn,
  });
  const g = formatGamma(loss.gamma);
  const used =
    lossConfig(data) === undefined
      ? `config.json records no loss; the curve uses the defaults (α = ${DEFAULT_ALPHA}, γ = ${formatGamma(DEFAULT_GAMMA)}).`
      : loss.name === 'ftl' && lossPerOutput(data).length > 0
        ? `This run: ${lossPerOutput(data)
            .map(([o, l]) => `${o} ${l.toUpperCase()}`)
            .join(', ')}.`
        : `This run trained with the ${LOSSES[loss.name].label}; the curve shows the FTL for its α and γ for comparison.`;
  const atHalf = 0.5 ** (1 / loss.gamma);
  return html`<div class="row">
    ${plotFigure('focal-tversky', svg)}
    <p class="note">
      FTL = (1 − TI)<sup>1/γ</sup> with γ = ${g} (the reference code's form; γ = 1 is the Tversky
      loss TL = 1 − TI), where TI = (TP + 1) / (TP + α·FN + (1 − α)·FP + 1) with α =
      ${String(loss.alpha)} weighing false negatives (the paper's α; MONAI and
      segmentation_models.pytorch call this weight beta). At TI = 0.5 the FTL is ${f3(atHalf)}
      against the TL's 0.500; the FTL is the larger at every TI below 1, and its slope grows as TI
      approaches 1. ${used}
    </p>
  </div>`;
}

/** The whole page (see the module doc). */
export async function renderRunReport(
  data: RunReportData,
  options: RenderRunReportOptions = {},
): Promise<string> {
  const warn = (m: string): void => options.onWarning?.(m);
  const c = data.config;
  const loss = lossConfig(data);
  const now = options.now ?? new Date();
  const runName =
    data.runDir
      .split(/[\\/]/)
      .filter((p) => p !== '')
      .pop() ?? data.runDir;
  const lossText =
    loss === undefined
      ? ''
      : loss.name === 'ftl'
        ? `FTL (α ${loss.alpha}, γ ${formatGamma(loss.gamma)})`
        : loss.name === 'tl'
          ? `TL (α ${loss.alpha})`
          : loss.name.toUpperCase();
  const subtitle = [
    `${data.model.name}${lossText !== '' ? ` + ${lossText}` : ''}`,
    `${c.dataset.kind} at ${c.model.inputShape.join('×')}`,
    `fold ${data.split.fold}: ${data.split.train} train / ${data.split.val} validation / ${data.split.test} test images`,
    `test DSC ${meanStd(data.summary.dsc)}`,
  ].join(' · ');
  const sections: PageSection[] = [
    { id: 'summary', title: 'Summary', body: summarySection(data) },
    { id: 'config', title: 'Configuration', body: configSection(data) },
    { id: 'training', title: 'Training curves', body: await trainingSection(data, warn) },
    { id: 'pr-curve', title: 'Precision-recall', body: await prSection(data, warn) },
    { id: 'cases', title: 'Best, median and worst test images', body: casesSection(data) },
    { id: 'per-image', title: 'Per-image metrics', body: await perImageSection(data, warn) },
    {
      id: 'focal-tversky',
      title: "Focal Tversky loss (the paper's Fig. 1)",
      body: await focalTverskySection(data, warn),
    },
  ];
  const versions = await plottingVersions();
  const footer = html`Generated ${now.toISOString().replace('T', ' ').slice(0, 19)}
  UTC${options.generator !== undefined ? ` by ${options.generator}` : ''} from ${data.runDir}.
  Self-contained: plots are SVG (Vega-Lite ${versions.vegaLite} rendered by Vega ${versions.vega}),
  pictures are PNG; the page loads nothing from outside this file.`;
  return renderPage({ title: `Run report: ${runName}`, subtitle, sections, footer, kind: 'run' });
}
