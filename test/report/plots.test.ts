/**
 * The plots: the data each specification is made of (worked by hand), and each specification
 * rendered to SVG by Vega without a warning, with its axis titles and marks in the SVG.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildAblationTable } from '../../src/ablation/table.js';
import { bestEpoch } from '../../src/run/log.js';
import { ablationBoxPlotSpec, ablationPlotRows } from '../../src/ablation/boxplot.js';
import {
  curveOutputs,
  dscHistogramSpec,
  focalTverskyCurve,
  focalTverskySpec,
  formatGamma,
  learningRateSpec,
  precisionRecallSpec,
  trainingCurveRows,
  trainingCurvesSpec,
} from '../../src/report/plots.js';
import { PrecisionRecallAccumulator } from '../../src/report/pr_curve.js';
import { renderVegaLite, scopeSvgIds, type TopLevelSpec } from '../../src/report/vega.js';
import { fixtureResult, FIXTURE_FOLDS } from '../ablation/fixtures.js';
import { expectClose } from '../helpers.js';
import { ATTN_OUTPUTS, handLogs } from './fixtures.js';

const LOGS = handLogs([...ATTN_OUTPUTS], 3);

describe('training curve data', () => {
  test('long rows: epochs x phases x outputs, total first for the loss', () => {
    assert.deepEqual(curveOutputs(LOGS, 'loss'), ['total', ...ATTN_OUTPUTS]);
    assert.deepEqual(curveOutputs(LOGS, 'dsc'), [...ATTN_OUTPUTS]);
    const loss = trainingCurveRows(LOGS, 'loss');
    assert.equal(loss.length, 3 * 2 * 5);
    // Epoch 2, train, pred2 (k = 1): 1/3 + 0.1.
    const r = loss.find((x) => x.epoch === 2 && x.phase === 'train' && x.output === 'pred2')!;
    expectClose(r.value, 1 / 3 + 0.1, { rtol: 0, atol: 1e-12 });
    // The total is the logged weighted sum: 4/3 + 0.6 at epoch 2.
    const t = loss.find((x) => x.epoch === 2 && x.phase === 'train' && x.output === 'total')!;
    expectClose(t.value, 4 / 3 + 0.6, { rtol: 0, atol: 1e-12 });
    // DSC of validation, final (k = 3) at epoch 3: 3/4 + 0.03 - 0.05.
    const d = trainingCurveRows(LOGS, 'dsc').find(
      (x) => x.epoch === 3 && x.phase === 'validation' && x.output === 'final',
    )!;
    expectClose(d.value, 0.75 + 0.03 - 0.05, { rtol: 0, atol: 1e-12 });
  });

  test('the best epoch is the last flagged one, marked once per output', () => {
    assert.equal(bestEpoch(LOGS), 2);
    const marked = trainingCurveRows(LOGS, 'dsc').filter((r) => r.best);
    assert.deepEqual(
      marked.map((r) => `${r.epoch}/${r.phase}/${r.output}`),
      ATTN_OUTPUTS.map((o) => `2/train/${o}`),
    );
  });

  test('one output: no total; epochs without validation and non-finite values are left out', () => {
    const logs = handLogs(['final'], 2);
    delete logs[0].val;
    logs[1].train.outputs.final.loss = Number.NaN;
    assert.deepEqual(curveOutputs(logs, 'loss'), ['final']);
    assert.deepEqual(
      trainingCurveRows(logs, 'loss').map((r) => `${r.epoch}/${r.phase}`),
      ['1/train', '2/validation'],
    );
  });
});

describe('focal Tversky curve', () => {
  test('(1 - TI)^(1/gamma), and gamma = 1 is the Tversky loss', () => {
    const points = focalTverskyCurve([4 / 3, 1], 4);
    assert.deepEqual([...new Set(points.map((p) => p.curve))], ['FTL, γ = 4/3', 'TL (γ = 1)']);
    // TI = 0, 0.25, 0.5, 0.75, 1: 0.75^0.75 = 0.80592744886, 0.5^0.75 = 0.59460355750,
    // 0.25^0.75 = 0.35355339059.
    expectClose(
      points.slice(0, 5).map((p) => p.loss),
      [1, 0.80592744886, 0.5946035575, 0.35355339059, 0],
      { rtol: 1e-10, atol: 0 },
      'FTL',
    );
    expectClose(
      points.slice(5).map((p) => p.loss),
      [1, 0.75, 0.5, 0.25, 0],
      { rtol: 0, atol: 1e-15 },
      'TL',
    );
  });

  test('formatGamma: simple fractions as fractions', () => {
    assert.deepEqual([4 / 3, 1, 2, 2.5, 0.75, 1.2345678].map(formatGamma), [
      '4/3',
      '1',
      '2',
      '5/2',
      '3/4',
      '1.235',
    ]);
  });
});

describe('ablation plot data', () => {
  test("per-fold DSC of the finished units and the paper's means", () => {
    const table = buildAblationTable({
      dataset: 'bus',
      folds: FIXTURE_FOLDS,
      result: fixtureResult,
    });
    const rows = ablationPlotRows(table);
    const ours = rows.filter((r) => r.source === 'ours (one fold)');
    assert.deepEqual(
      ours.map((r) => `${r.label}: ${r.dsc}`),
      [
        'U-Net + DL: 0.5',
        'U-Net + DL: 0.6',
        'U-Net + DL: 0.7',
        'Attn U-Net + Multi-Input + FTL: 0.8',
        'Attn U-Net + Multi-Input + FTL: 0.84',
      ],
    );
    const paper = rows.filter((r) => r.source === 'paper (mean)');
    assert.equal(paper.length, 7);
    assert.equal(paper[6].dsc, 0.804);
    const folder = buildAblationTable({
      dataset: 'folder',
      folds: FIXTURE_FOLDS,
      result: fixtureResult,
    });
    assert.equal(ablationPlotRows(folder).filter((r) => r.source === 'paper (mean)').length, 0);
  });
});

describe('rendering to SVG', () => {
  const acc = new PrecisionRecallAccumulator(0.5, 100);
  acc.add([0.1, 0.3, 0.6, 0.9, 0.95, 0.5, 0.2], [0, 1, 0, 1, 1, 1, 0]);
  const curve = acc.curve();
  const table = buildAblationTable({ dataset: 'bus', folds: FIXTURE_FOLDS, result: fixtureResult });
  const cases: Array<[string, TopLevelSpec, string[]]> = [
    [
      'loss',
      trainingCurvesSpec(LOGS, 'loss'),
      ['epoch', 'loss', 'total', 'pred1', 'final', 'validation'],
    ],
    ['dsc', trainingCurvesSpec(LOGS, 'dsc'), ['DSC (soft, batch)', 'pred3']],
    ['lr', learningRateSpec(LOGS), ['learning rate']],
    [
      'pr',
      precisionRecallSpec(curve.points, curve.operatingPoint),
      ['precision', 'recall', 'threshold 0.5: precision 0.667, recall 0.500'],
    ],
    ['hist', dscHistogramSpec([0.1, 0.5, 0.52, 0.9]), ['images', 'mean 0.505']],
    ['ftl', focalTverskySpec(4 / 3), ['Tversky index (TI)', 'FTL, γ = 4/3', 'TL (γ = 1)']],
    [
      'box',
      ablationBoxPlotSpec(table),
      ['U-Net + DL', 'Attn U-Net + Multi-Input + FTL', 'paper (mean)'],
    ],
  ];
  for (const [id, spec, texts] of cases) {
    test(`${id}: an SVG with its texts and marks, no warning`, async () => {
      const warnings: string[] = [];
      const svg = await renderVegaLite(spec, { id: `t-${id}`, onWarning: (w) => warnings.push(w) });
      assert.deepEqual(warnings, []);
      assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      assert.match(svg, /<path /);
      for (const t of texts) {
        assert.ok(svg.includes(`>${t.replace(/&/g, '&amp;')}<`), `${id}: no text '${t}'`);
      }
      // Every id carries the prefix and every reference points at an id of this SVG.
      const ids = [...svg.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
      // The precision-recall line is clipped to the plot: its clip path has an id.
      if (id === 'pr') assert.ok(ids.length > 0, 'pr: no clip path id');
      assert.ok(
        ids.every((x) => x.startsWith(`t-${id}-`)),
        ids.join(' '),
      );
      for (const m of svg.matchAll(/url\(#([^)]+)\)/g)) assert.ok(ids.includes(m[1]), m[1]);
    });
  }

  test('a warning reaches onWarning', async () => {
    const warnings: string[] = [];
    const spec = {
      data: { values: [{ a: 1 }] },
      mark: 'point',
      encoding: { x: { field: 'a', type: 'quantitative' }, size: { field: 'a', type: 'nominal' } },
    } as TopLevelSpec;
    await renderVegaLite(spec, { id: 'warn', onWarning: (w) => warnings.push(w) });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /size/i);
  });

  test('scopeSvgIds prefixes ids and references; a bad id is an error', async () => {
    assert.equal(
      scopeSvgIds('<clipPath id="clip1"/><g clip-path="url(#clip1)"/><use href="#clip1"/>', 'p'),
      '<clipPath id="p-clip1"/><g clip-path="url(#p-clip1)"/><use href="#p-clip1"/>',
    );
    await assert.rejects(
      renderVegaLite(learningRateSpec(LOGS), { id: '1 bad' }),
      /^UserError: a plot's id must start with a letter and hold letters, digits, '-' and '_', got '1 bad'$/,
    );
  });
});
