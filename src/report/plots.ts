/**
 * The Vega-Lite specifications of the report's plots, each with the small data shaping it
 * needs: training curves, learning rate, precision-recall curve, histogram of per-image DSC,
 * focal Tversky curve and the ablation box plot. Render them with `renderVegaLite` (vega.ts).
 * Pure: specifications are plain objects with their data inline.
 */
import { bestEpoch } from '../run/log.js';
import type { EpochLog } from '../train/trainer.js';
import type { OperatingPoint, PrecisionRecallPoint } from './pr_curve.js';
import type { TopLevelSpec } from './vega.js';

/** The schema every specification names (Vega-Lite 6). */
export const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Shared look: the page's font, no chart border, quiet grid. */
export const CONFIG = {
  font: 'Helvetica, Arial, sans-serif',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 11 },
  header: { labelFontSize: 12, labelFontWeight: 'bold' },
  title: { fontSize: 13, anchor: 'start', fontWeight: 'normal' },
} as const;

/** Colours of the two phases (Tableau 10 blue and orange). */
const PHASE_COLORS = { train: '#4c78a8', validation: '#f58518' } as const;

/** The quantities of the training curves. */
export type CurveMetric = 'loss' | 'dsc';
export const CURVE_METRICS: readonly CurveMetric[] = ['loss', 'dsc'];

/** One value of the training curves in long form. */
export interface TrainingCurveRow {
  epoch: number;
  phase: 'train' | 'validation';
  /** 'total' (the weighted sum of the outputs' losses) or an output's name. */
  output: string;
  value: number;
  /** True on one row per output: the train row of the best epoch (for its marker). */
  best: boolean;
}

/** The output names of the logs in their order ('total' first for the loss of a multi-output model). */
export function curveOutputs(logs: readonly EpochLog[], metric: CurveMetric): string[] {
  if (logs.length === 0) return [];
  const outputs = Object.keys(logs[0].train.outputs);
  return metric === 'loss' && outputs.length > 1 ? ['total', ...outputs] : outputs;
}

/**
 * The logs in long form for `metric`: one row per epoch, phase (train, and validation where
 * logged) and output. Non-finite values are left out (Vega-Lite cannot draw them).
 */
export function trainingCurveRows(
  logs: readonly EpochLog[],
  metric: CurveMetric,
): TrainingCurveRow[] {
  const outputs = curveOutputs(logs, metric);
  const best = bestEpoch(logs);
  const rows: TrainingCurveRow[] = [];
  for (const log of logs) {
    for (const [phase, m] of [
      ['train', log.train],
      ['validation', log.val],
    ] as const) {
      if (m === undefined) continue;
      for (const output of outputs) {
        const value =
          output === 'total'
            ? m.loss
            : metric === 'loss'
              ? m.outputs[output]?.loss
              : m.outputs[output]?.dsc;
        if (value === undefined || !Number.isFinite(value)) continue;
        rows.push({
          epoch: log.epoch,
          phase,
          output,
          value,
          best: phase === 'train' && log.epoch === best,
        });
      }
    }
  }
  return rows;
}

/**
 * Loss or DSC per epoch, one small chart per output (drawn side by side: 'total', then the
 * deep-supervision outputs pred1..pred3, then `final`), train and validation in two colours,
 * the best epoch as a dashed rule. Loss charts have their own y scale each; DSC charts share
 * 0 to 1.
 */
export function trainingCurvesSpec(logs: readonly EpochLog[], metric: CurveMetric): TopLevelSpec {
  const outputs = curveOutputs(logs, metric);
  const title = metric === 'loss' ? 'loss' : 'DSC (soft, batch)';
  const points = logs.length <= 40;
  return {
    $schema: SCHEMA,
    config: CONFIG,
    data: { values: trainingCurveRows(logs, metric) },
    facet: {
      column: { field: 'output', type: 'nominal', sort: outputs, title: null },
    },
    spec: {
      width: outputs.length > 3 ? 150 : 220,
      height: 130,
      layer: [
        {
          mark: { type: 'line', strokeWidth: 1.8, ...(points ? { point: { size: 18 } } : {}) },
          encoding: {
            x: {
              field: 'epoch',
              type: 'quantitative',
              title: 'epoch',
              axis: { tickMinStep: 1, format: 'd' },
            },
            y: {
              field: 'value',
              type: 'quantitative',
              title,
              scale: metric === 'dsc' ? { domain: [0, 1] } : { zero: false },
            },
            color: {
              field: 'phase',
              type: 'nominal',
              title: null,
              scale: {
                domain: ['train', 'validation'],
                range: [PHASE_COLORS.train, PHASE_COLORS.validation],
              },
              legend: { orient: 'top' },
            },
          },
        },
        {
          transform: [{ filter: 'datum.best' }],
          mark: { type: 'rule', strokeDash: [4, 3], color: '#777' },
          encoding: { x: { field: 'epoch', type: 'quantitative' } },
        },
      ],
    },
    resolve: { scale: { y: metric === 'loss' ? 'independent' : 'shared' } },
  } as TopLevelSpec;
}

/** The learning rate at the end of each epoch. */
export function learningRateSpec(logs: readonly EpochLog[]): TopLevelSpec {
  return {
    $schema: SCHEMA,
    config: CONFIG,
    width: 320,
    height: 130,
    data: {
      values: logs
        .filter((l) => Number.isFinite(l.learningRate))
        .map((l) => ({ epoch: l.epoch, learningRate: l.learningRate })),
    },
    mark: { type: 'line', color: '#54a24b', point: logs.length <= 40 ? { size: 18 } : false },
    encoding: {
      x: {
        field: 'epoch',
        type: 'quantitative',
        title: 'epoch',
        axis: { tickMinStep: 1, format: 'd' },
      },
      y: {
        field: 'learningRate',
        type: 'quantitative',
        title: 'learning rate',
        axis: { format: '~g' },
      },
    },
  } as TopLevelSpec;
}

/**
 * The precision-recall curve with its operating point (a red dot labelled with the threshold,
 * precision and recall). `points` as `PrecisionRecallAccumulator.curve()` gives them.
 */
export function precisionRecallSpec(
  points: readonly PrecisionRecallPoint[],
  operating: OperatingPoint,
): TopLevelSpec {
  const layers: unknown[] = [
    {
      data: { values: points.map((p, i) => ({ ...p, order: i })) },
      mark: {
        type: 'line',
        color: '#4c78a8',
        strokeWidth: 2,
        interpolate: 'step-after',
        clip: true,
      },
      encoding: {
        x: { field: 'recall', type: 'quantitative', title: 'recall', scale: { domain: [0, 1] } },
        y: {
          field: 'precision',
          type: 'quantitative',
          title: 'precision',
          scale: { domain: [0, 1] },
        },
        order: { field: 'order', type: 'quantitative' },
        tooltip: [
          { field: 'threshold', type: 'quantitative', format: '.3f' },
          { field: 'precision', type: 'quantitative', format: '.3f' },
          { field: 'recall', type: 'quantitative', format: '.3f' },
        ],
      },
    },
  ];
  if (operating.precision !== null && operating.recall !== null) {
    const datum = {
      recall: operating.recall,
      precision: operating.precision,
      label:
        `threshold ${operating.threshold}: precision ${operating.precision.toFixed(3)}, ` +
        `recall ${operating.recall.toFixed(3)}`,
    };
    layers.push(
      {
        data: { values: [datum] },
        mark: { type: 'point', filled: true, size: 90, color: '#e45756' },
        encoding: {
          x: { field: 'recall', type: 'quantitative' },
          y: { field: 'precision', type: 'quantitative' },
        },
      },
      {
        data: { values: [datum] },
        mark: {
          type: 'text',
          align: operating.recall > 0.5 ? 'right' : 'left',
          dx: operating.recall > 0.5 ? -8 : 8,
          dy: 14,
          fontSize: 11,
          color: '#b0302e',
        },
        encoding: {
          x: { field: 'recall', type: 'quantitative' },
          y: { field: 'precision', type: 'quantitative' },
          text: { field: 'label' },
        },
      },
    );
  }
  return {
    $schema: SCHEMA,
    config: CONFIG,
    width: 340,
    height: 300,
    layer: layers,
  } as TopLevelSpec;
}

/** Per-image DSC in 20 bins of 0.05 on [0, 1], with the mean as a dashed rule. */
export function dscHistogramSpec(dscs: readonly number[]): TopLevelSpec {
  const finite = dscs.filter((d) => Number.isFinite(d));
  const mean = finite.reduce((a, b) => a + b, 0) / Math.max(finite.length, 1);
  return {
    $schema: SCHEMA,
    config: CONFIG,
    width: 340,
    height: 220,
    layer: [
      {
        data: { values: finite.map((dsc) => ({ dsc })) },
        mark: { type: 'bar', color: '#4c78a8', binSpacing: 1 },
        encoding: {
          x: {
            field: 'dsc',
            type: 'quantitative',
            bin: { extent: [0, 1], step: 0.05 },
            title: 'DSC per image (original size)',
            scale: { domain: [0, 1] },
          },
          y: {
            aggregate: 'count',
            type: 'quantitative',
            title: 'images',
            axis: { tickMinStep: 1 },
          },
        },
      },
      {
        data: { values: finite.length > 0 ? [{ mean, label: `mean ${mean.toFixed(3)}` }] : [] },
        layer: [
          {
            mark: { type: 'rule', color: '#e45756', strokeDash: [5, 3], strokeWidth: 1.5 },
            encoding: { x: { field: 'mean', type: 'quantitative' } },
          },
          {
            mark: { type: 'text', color: '#b0302e', align: 'right', dx: -4, y: 8, fontSize: 11 },
            encoding: { x: { field: 'mean', type: 'quantitative' }, text: { field: 'label' } },
          },
        ],
      },
    ],
  } as TopLevelSpec;
}

/** Gamma as text: a simple fraction when it is one (4/3), else up to 4 significant digits. */
export function formatGamma(gamma: number): string {
  for (let d = 1; d <= 6; d++) {
    const n = Math.round(gamma * d);
    if (Math.abs(gamma - n / d) < 1e-9) return d === 1 ? String(n) : `${n}/${d}`;
  }
  return String(Number(gamma.toPrecision(4)));
}

/** One point of the focal Tversky curve. */
export interface FocalTverskyPoint {
  /** The Tversky index, 0 to 1. */
  ti: number;
  loss: number;
  /** The curve's label, e.g. "FTL, γ = 4/3". */
  curve: string;
}

/**
 * The focal Tversky loss against the Tversky index, FTL = (1 - TI)^(1/gamma) (the reference
 * code's form; gamma = 1 is the Tversky loss 1 - TI), at `steps + 1` evenly spaced indices,
 * for each gamma given.
 */
export function focalTverskyCurve(gammas: readonly number[], steps = 200): FocalTverskyPoint[] {
  const out: FocalTverskyPoint[] = [];
  for (const gamma of gammas) {
    const curve = gamma === 1 ? 'TL (γ = 1)' : `FTL, γ = ${formatGamma(gamma)}`;
    for (let k = 0; k <= steps; k++) {
      const ti = k / steps;
      out.push({ ti, loss: (1 - ti) ** (1 / gamma), curve });
    }
  }
  return out;
}

/**
 * The paper's Fig. 1 for a run: FTL against the Tversky index for the run's gamma and for
 * gamma = 1, with TI = 0.5 marked (the paper: hard examples lie below it).
 */
export function focalTverskySpec(gamma: number): TopLevelSpec {
  const gammas = gamma === 1 ? [1] : [gamma, 1];
  const data = focalTverskyCurve(gammas);
  const labels = [...new Set(data.map((d) => d.curve))];
  return {
    $schema: SCHEMA,
    config: CONFIG,
    width: 340,
    height: 260,
    layer: [
      {
        data: { values: [{ ti: 0.5, label: 'TI = 0.5' }] },
        layer: [
          {
            mark: { type: 'rule', color: '#999', strokeDash: [4, 3] },
            encoding: { x: { field: 'ti', type: 'quantitative' } },
          },
          {
            mark: { type: 'text', color: '#666', align: 'left', dx: 4, y: 8, fontSize: 11 },
            encoding: {
              x: { field: 'ti', type: 'quantitative' },
              text: { value: 'hard ← TI 0.5 → easy' },
            },
          },
        ],
      },
      {
        data: { values: data },
        mark: { type: 'line', strokeWidth: 2 },
        encoding: {
          x: {
            field: 'ti',
            type: 'quantitative',
            title: 'Tversky index (TI)',
            scale: { domain: [0, 1] },
          },
          y: {
            field: 'loss',
            type: 'quantitative',
            title: 'loss',
            scale: { domain: [0, 1] },
          },
          color: {
            field: 'curve',
            type: 'nominal',
            title: null,
            sort: labels,
            scale: { domain: labels, range: ['#e45756', '#4c78a8'] },
            legend: { orient: 'bottom-left' },
          },
          strokeDash: {
            field: 'curve',
            type: 'nominal',
            sort: labels,
            scale: {
              domain: labels,
              range: [
                [1, 0],
                [6, 3],
              ],
            },
          },
        },
      },
    ],
  } as TopLevelSpec;
}
