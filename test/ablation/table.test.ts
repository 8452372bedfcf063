/**
 * The merged table from hand-made fold results (test/ablation/fixtures.ts has the numbers
 * worked by hand): mean ± population std over folds, folds counted, missing units listed, the
 * paper's columns for the data sets it used and none for others.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ABLATION_CSV_HEADER,
  ablationCsv,
  ablationMarkdown,
  buildAblationTable,
  parseTableMetrics,
  EXTRA_ROW_NOTE,
} from '../../src/ablation/table.js';
import { ABLATION_VARIANT_IDS, ablationVariant } from '../../src/ablation/variants.js';
import { expectClose } from '../helpers.js';
import { FIXTURE_EXTRA_STATS, FIXTURE_FOLDS, FIXTURE_STATS, fixtureResult } from './fixtures.js';

const table = (dataset: Parameters<typeof buildAblationTable>[0]['dataset']) =>
  buildAblationTable({ dataset, folds: FIXTURE_FOLDS, result: fixtureResult });

// Means of a few numbers: the summation order may differ from the hand calculation.
const TOL = { rtol: 1e-12, atol: 1e-12 };

describe('buildAblationTable', () => {
  test('mean ± std over the finished folds, as worked by hand', () => {
    const t = table('synthetic-bus');
    for (const [variant, metric, mean, std] of FIXTURE_STATS) {
      const row = t.rows.find((r) => r.variant === variant)!;
      expectClose(row[metric]!.mean, mean, TOL, `${variant} ${metric} mean`);
      expectClose(row[metric]!.std, std, TOL, `${variant} ${metric} std`);
    }
  });

  test('folds counted, unfinished rows empty, missing units listed in study order', () => {
    const t = table('bus');
    assert.deepEqual(
      t.rows.map((r) => [r.variant, r.folds.done, r.folds.total]),
      [
        ['unet-dl', 3, 3],
        ['unet-tl', 0, 3],
        ['unet-ftl', 0, 3],
        ['attn-dl', 0, 3],
        ['attn-mi-dl', 0, 3],
        ['attn-mi-tl', 0, 3],
        ['attn-mi-ftl', 2, 3],
      ],
    );
    assert.equal(t.rows[1].dsc, null);
    assert.deepEqual(
      t.rows[6].perFold.map((f) => f.fold),
      [0, 2],
    );
    assert.deepEqual(t.units, { total: 21, finished: 5 });
    assert.equal(t.missing.length, 16);
    assert.deepEqual(t.missing.slice(0, 4), [
      'unet-tl/fold-0',
      'unet-tl/fold-1',
      'unet-tl/fold-2',
      'unet-ftl/fold-0',
    ]);
    assert.equal(t.missing[15], 'attn-mi-ftl/fold-1');
  });

  test("the paper's numbers beside ours: Table 1 for BUS, Table 2 for ISIC, none for folder", () => {
    const bus = table('bus');
    assert.equal(bus.paper?.table, 'Table 1');
    assert.equal(bus.paper?.forReferenceOnly, false);
    assert.deepEqual(bus.rows[0].paper, {
      dsc: { mean: 0.547 },
      precision: { mean: 0.653 },
      recall: { mean: 0.658 },
    });
    assert.deepEqual(bus.rows[6].paper?.dsc, { mean: 0.804, std: 0.024 });
    const isic = table('synthetic-isic');
    assert.equal(isic.paper?.table, 'Table 2');
    assert.equal(isic.paper?.forReferenceOnly, true);
    assert.deepEqual(isic.rows[6].paper, {
      dsc: { mean: 0.856, std: 0.007 },
      precision: { mean: 0.858 },
      recall: { mean: 0.897 },
    });
    const folder = table('folder');
    assert.equal(folder.paper, null);
    assert.ok(folder.rows.every((r) => r.paper === undefined));
  });
});

describe('ablationMarkdown', () => {
  test('rows to 3 decimals, folds, paper columns and the synthetic-data caveat', () => {
    const md = ablationMarkdown(table('synthetic-bus'));
    const lines = md.split('\n');
    assert.equal(lines[0], '## Ablation: synthetic-bus, 3-fold cross-validation');
    assert.ok(
      lines.includes(
        '| Variant | ID | DSC | Precision | Recall | Folds | Paper DSC | Paper Precision | Paper Recall |',
      ),
    );
    assert.ok(
      lines.includes(
        '| U-Net + DL | `unet-dl` | 0.600 ± 0.082 | 0.800 ± 0.000 | 0.500 ± 0.294 | 3/3 | 0.547 | 0.653 | 0.658 |',
      ),
    );
    assert.ok(
      lines.includes('| U-Net + TL | `unet-tl` | — | — | — | 0/3 | 0.657 | 0.732 | 0.723 |'),
    );
    assert.ok(
      lines.includes(
        '| Attn U-Net + Multi-Input + FTL | `attn-mi-ftl` | 0.820 ± 0.020 | 0.800 ± 0.100 | ' +
          '0.800 ± 0.050 | 2/3 | 0.804 ± 0.024 | 0.829 | 0.817 |',
      ),
    );
    assert.match(md, /Table 1 \(BUS 2017 dataset B, 40 test images per fold\)/);
    assert.match(
      md,
      /This study ran on synthetic data: the paper's numbers are for reference only/,
    );
    assert.match(
      md,
      /\nMissing units \(16\): unet-tl\/fold-0, unet-tl\/fold-1, .*, attn-mi-ftl\/fold-1\.\n$/,
    );
  });

  test('real BUS data: paper columns without the caveat; folder data: no paper columns', () => {
    const bus = ablationMarkdown(table('bus'));
    assert.match(bus, /\| Paper DSC \|/);
    assert.doesNotMatch(bus, /for reference only/);
    const folder = ablationMarkdown(table('folder'));
    assert.doesNotMatch(folder, /Paper/);
    assert.ok(folder.split('\n').includes('| U-Net + TL | `unet-tl` | — | — | — | 0/3 |'));
  });

  test('a complete study says no unit is missing', () => {
    const all = buildAblationTable({
      dataset: 'bus',
      folds: 2,
      result: (u) => ({ fold: u.fold, dsc: 0.5, precision: 0.5, recall: 0.5, count: 1 }),
    });
    assert.deepEqual(all.missing, []);
    assert.match(ablationMarkdown(all), /\nMissing units: none\.\n$/);
  });
});

describe('ablationCsv', () => {
  test('one row per variant, every digit, empty cells for unfinished rows', () => {
    const rows = ablationCsv(table('bus')).trimEnd().split('\n');
    assert.equal(rows.length, 8);
    assert.equal(rows[0], ABLATION_CSV_HEADER.join(','));
    assert.equal(
      rows[0],
      'variant,label,model,loss,folds_done,folds_total,dsc_mean,dsc_std,precision_mean,' +
        'precision_std,recall_mean,recall_std',
    );
    assert.equal(rows[2], 'unet-tl,U-Net + TL,unet,tl,0,3,,,,,,');
    const first = rows[1].split(',');
    assert.deepEqual(first.slice(0, 6), ['unet-dl', 'U-Net + DL', 'unet', 'dl', '3', '3']);
    expectClose(
      first.slice(6).map(Number),
      [0.6, 0.08164965809277261, 0.8, 0, 0.5, 0.29439202887759486],
      TOL,
    );
  });
});

describe('ablationCsv and spreadsheets', () => {
  test('a label a spreadsheet would run as a formula is neutralised; negative numbers stay numbers', () => {
    const t = table('bus');
    const row = { ...t.rows[0], label: '=cmd|"/c calc"!A1', dsc: { mean: -0.25, std: 0.5 } };
    const [, line] = ablationCsv({ ...t, rows: [row] }).split('\n');
    assert.match(line, /^unet-dl,"'=cmd\|""\/c calc""!A1",unet,dl,3,3,-0\.25,0\.5,/);
  });
});

describe('the extra columns: HD95, ASSD and the ISIC score', () => {
  const METRICS = ['dsc', 'hd95', 'assd', 'thresholdedJaccard'] as const;
  const withExtras = buildAblationTable({
    dataset: 'folder',
    folds: FIXTURE_FOLDS,
    result: fixtureResult,
    metrics: METRICS,
  });

  test('mean ± std over the finished folds that have them, as worked by hand', () => {
    for (const [variant, metric, mean, std, folds] of FIXTURE_EXTRA_STATS) {
      const v = withExtras.rows.find((r) => r.variant === variant)![metric]!;
      expectClose([v.mean, v.std], [mean, std], TOL, `${variant} ${metric}`);
      assert.equal(v.folds, folds, `${variant} ${metric} folds`);
    }
    // Rows without a finished fold have none; the default table computes them too (JSON).
    assert.equal(withExtras.rows[1].hd95, null);
    assert.equal(table('folder').rows[0].hd95?.mean, 5);
  });

  test('Markdown: the columns asked for, pixels to 2 decimals, folds that lack them noted', () => {
    const lines = ablationMarkdown(withExtras).split('\n');
    assert.ok(
      lines.includes('| Variant | ID | DSC | HD95 (px) | ASSD (px) | ISIC score | Folds |'),
      lines.join('\n'),
    );
    assert.ok(lines.includes('|:--|:--|--:|--:|--:|--:|--:|'));
    assert.ok(
      lines.includes(
        '| U-Net + DL | `unet-dl` | 0.600 ± 0.082 | 5.00 ± 1.00 (2 of 3 folds) | ' +
          '1.50 ± 0.50 (2 of 3 folds) | 0.600 ± 0.082 | 3/3 |',
      ),
    );
    assert.ok(
      lines.includes(
        '| Attn U-Net + Multi-Input + FTL | `attn-mi-ftl` | 0.820 ± 0.020 | 3.00 ± 0.00 (1 of 2 folds) | ' +
          '1.50 ± 0.00 (1 of 2 folds) | 0.800 ± 0.000 (1 of 2 folds) | 2/3 |',
      ),
    );
    assert.ok(lines.includes('| U-Net + TL | `unet-tl` | — | — | — | — | 0/3 |'));
    // The default table stays the paper's.
    assert.doesNotMatch(ablationMarkdown(table('folder')), /HD95|ASSD|ISIC/);
  });

  test('CSV: a mean, std and folds column per extra metric', () => {
    const rows = ablationCsv(withExtras).trimEnd().split('\n');
    assert.equal(
      rows[0],
      'variant,label,model,loss,folds_done,folds_total,dsc_mean,dsc_std,hd95_mean,hd95_std,' +
        'hd95_folds,assd_mean,assd_std,assd_folds,thresholded_jaccard_mean,' +
        'thresholded_jaccard_std,thresholded_jaccard_folds',
    );
    assert.equal(rows[2], 'unet-tl,U-Net + TL,unet,tl,0,3,,,,,0,,,0,,,0');
    expectClose(
      rows[1].split(',').slice(6).map(Number),
      [0.6, 0.08164965809277261, 5, 1, 2, 1.5, 0.5, 2, 0.6, 0.08164965809277261, 3],
      TOL,
    );
  });

  test('parseTableMetrics: the order given; case, - and _ ignored; bad lists in one line', () => {
    assert.deepEqual(parseTableMetrics('dsc,precision,recall,hd95,assd'), [
      'dsc',
      'precision',
      'recall',
      'hd95',
      'assd',
    ]);
    assert.deepEqual(parseTableMetrics(' HD95 , thresholded-jaccard,dsc'), [
      'hd95',
      'thresholdedJaccard',
      'dsc',
    ]);
    assert.throws(
      () => parseTableMetrics('dsc,hd99'),
      /^UserError: --metrics: unknown metric 'hd99'; expected a comma-separated list of dsc, precision, recall, hd95, assd, nsd, thresholded-jaccard, thresholded-jaccard-plain$/,
    );
    assert.throws(
      () => parseTableMetrics('dsc,DSC'),
      /^UserError: --metrics: 'DSC' is given twice$/,
    );
    assert.throws(() => parseTableMetrics(''), /^UserError: --metrics: unknown metric ''/);
  });
});

describe('extra rows beyond the paper', () => {
  test('a variant id says what it trains; its label says so in words', () => {
    const v = ablationVariant('attn-mi-ftl+aug-default+poly');
    assert.deepEqual(v, {
      id: 'attn-mi-ftl+aug-default+poly',
      label: 'Attn U-Net + Multi-Input + FTL, augment default, poly schedule',
      model: 'attn_reg',
      loss: 'ftl',
      paper: false,
      augment: 'default',
      schedule: 'poly',
      settings: { augment: 'default', schedule: 'poly' },
    });
    assert.equal(ablationVariant('attn-mi-ftl').paper, true);
  });

  test("extra rows follow the paper's, marked, without the paper's numbers", () => {
    const result: typeof fixtureResult = (unit) =>
      unit.variant === 'attn-mi-ftl+aug-default'
        ? { fold: unit.fold, dsc: 0.5, precision: 0.6, recall: 0.7, count: 4 }
        : fixtureResult(unit);
    const t = buildAblationTable({
      dataset: 'bus',
      folds: FIXTURE_FOLDS,
      variants: [...ABLATION_VARIANT_IDS, 'attn-mi-ftl+aug-default'],
      result,
    });
    assert.equal(t.rows.length, 8);
    assert.deepEqual(
      t.rows.map((r) => r.paperRow),
      [true, true, true, true, true, true, true, false],
    );
    assert.equal(t.rows[7].paper, undefined);
    assert.notEqual(t.rows[6].paper, undefined);
    assert.deepEqual(t.units, { total: 24, finished: 8 });
    const md = ablationMarkdown(t);
    assert.match(
      md,
      /\| Attn U-Net \+ Multi-Input \+ FTL, augment default † \| `attn-mi-ftl\+aug-default` \| 0\.500 ± 0\.000 \|/,
    );
    assert.match(md, /\| Attn U-Net \+ Multi-Input \+ FTL \| `attn-mi-ftl` \|/);
    assert.ok(md.includes(EXTRA_ROW_NOTE));
    assert.ok(
      !ablationMarkdown(table('bus')).includes(EXTRA_ROW_NOTE),
      'no note without extra rows',
    );
  });
});
