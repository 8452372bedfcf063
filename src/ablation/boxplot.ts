/**
 * The box plot of an ablation study's page (report_html.ts): each variant's per-fold DSC, and
 * the paper's mean DSC beside it. Pure (a Vega-Lite spec).
 */
import { CONFIG, SCHEMA } from '../report/plots.js';
import type { TopLevelSpec } from '../report/vega.js';
import type { AblationTable } from './table.js';

/** One value of the ablation box plot. */
export interface AblationPlotRow {
  label: string;
  dsc: number;
  source: 'ours (one fold)' | 'paper (mean)';
}

/** Per-fold DSC of each variant, and the paper's mean DSC where the table has one. */
export function ablationPlotRows(table: AblationTable): AblationPlotRow[] {
  const rows: AblationPlotRow[] = [];
  for (const r of table.rows) {
    for (const f of r.perFold) {
      if (Number.isFinite(f.dsc))
        rows.push({ label: r.label, dsc: f.dsc, source: 'ours (one fold)' });
    }
    if (r.paper !== undefined)
      rows.push({ label: r.label, dsc: r.paper.dsc.mean, source: 'paper (mean)' });
  }
  return rows;
}

/**
 * A horizontal box plot of the per-fold DSC of each variant (whiskers at min and max, every
 * fold as a dot), the variants in the paper's order, with the paper's mean DSC as a red
 * diamond beside ours when the table has the paper's numbers.
 */
export function ablationBoxPlotSpec(table: AblationTable): TopLevelSpec {
  const values = ablationPlotRows(table);
  const order = table.rows.map((r) => r.label);
  const sources = ['ours (one fold)', 'paper (mean)'].filter((s) =>
    values.some((v) => v.source === s),
  );
  const y = {
    field: 'label',
    type: 'nominal',
    title: null,
    sort: order,
    scale: { domain: order },
    axis: { labelLimit: 320 },
  };
  const xTitle = 'DSC (mean over the test images of one fold)';
  return {
    $schema: SCHEMA,
    config: CONFIG,
    width: 420,
    height: { step: 34 },
    data: { values },
    layer: [
      {
        transform: [{ filter: "datum.source === 'ours (one fold)'" }],
        mark: {
          type: 'boxplot',
          extent: 'min-max',
          size: 18,
          color: '#9ecae9',
          median: { color: '#1f4e79', strokeWidth: 2 },
          rule: { color: '#4c78a8' },
        },
        encoding: {
          y,
          x: { field: 'dsc', type: 'quantitative', title: xTitle, scale: { zero: false } },
        },
      },
      {
        mark: { type: 'point', filled: true, opacity: 0.9, size: 55 },
        encoding: {
          y,
          x: { field: 'dsc', type: 'quantitative', title: xTitle },
          color: {
            field: 'source',
            type: 'nominal',
            title: null,
            scale: {
              domain: sources,
              range: sources.map((s) => (s === 'paper (mean)' ? '#e45756' : '#1f4e79')),
            },
            legend: { orient: 'bottom' },
          },
          shape: {
            field: 'source',
            type: 'nominal',
            scale: {
              domain: sources,
              range: sources.map((s) => (s === 'paper (mean)' ? 'diamond' : 'circle')),
            },
          },
        },
      },
    ],
  } as TopLevelSpec;
}
