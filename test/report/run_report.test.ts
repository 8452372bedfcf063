/**
 * A run's report end to end on hand-made evaluated runs (test/report/fixtures.ts): what
 * `collectRunReport` gathers, with the precision-recall curve of the threshold network worked
 * by hand, and the page `writeRunReport` writes. Runs on the cpu backend (the models are tiny;
 * the numeric parts of the report are pure JavaScript); the curve is checked on wasm too.
 *
 * The threshold network's curve. At the input size 32x32 (nearest resize of the 30x45
 * originals: row y takes row floor(30y/32), column x column floor(45x/32)):
 *   item 1, lesion = white = rows 0-7 x cols 0-19: rows 0-8 x cols 0-14, 9 x 15 = 135 pixels;
 *   item 2, black image, lesion rows 10-14 x cols 10-19: rows 11-15 x cols 8-14, 5 x 7 = 35;
 *   item 3, black and empty.
 * 3 x 1024 = 3072 pixels: 170 lesion, 2902 background. White pixels get p = sigmoid(2) =
 * 0.881 (bin 880 of 1000), black ones sigmoid(-2) = 0.119 (bin 119). So thresholds 0.880 down
 * to 0.120 give TP 135, FP 0 (precision 1, recall 135/170), 761 points; 0.119 down to 0
 * give TP 170, FP 2902 (precision 170/3072, recall 1), 120 points.
 * AP = 135/170 + (35/170)(170/3072) = 135/170 + 35/3072.
 * Operating point p > 0.5: TP 135, FP 0, FN 35, TN 2902.
 */
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { collectRunReport, type RunReportData } from '../../src/report/run_data.js';
import { RUN_REPORT_SECTIONS } from '../../src/report/run_html.js';
import { RUN_REPORT_FILE, writeRunReport } from '../../src/report/run_report.js';
import { resizeMask } from '../../src/util/raster.js';
import { makeTemp, rectMask, removeTemp } from '../data/fixtures.js';
import { expectClose, useBackend } from '../helpers.js';
import { makeEvaluatedRun, squash } from './fixtures.js';

let root: string;
let thresholdRun: string;
let attentionRun: string;
before(async () => {
  await useBackend('cpu');
  root = await makeTemp('ftunet-report-');
  thresholdRun = await makeEvaluatedRun(root, 'threshold-run', 'threshold');
  attentionRun = await makeEvaluatedRun(root, 'attention-run', 'attention');
});
after(() => removeTemp(root));

/** The lesion pixels of a 30x45 rectangle mask at the input size 32x32. */
const atInput = (rect: [number, number, number, number]): number =>
  resizeMask({ data: rectMask(30, 45, rect), height: 30, width: 45 }, [32, 32]).data.reduce(
    (a, b) => a + b,
    0,
  );

describe('collectRunReport', () => {
  let data: RunReportData;
  before(async () => {
    data = await collectRunReport({ run: thresholdRun });
  });

  test('the pixel counts of the fixture at the input size are the worked ones', () => {
    assert.deepEqual([atInput([0, 8, 0, 20]), atInput([10, 15, 10, 20])], [135, 35]);
  });

  test('precision-recall curve of the threshold network, worked by hand', () => {
    const pr = data.pr;
    assert.deepEqual([pr.bins, pr.positives, pr.negatives], [1000, 170, 2902]);
    const op = pr.operatingPoint;
    assert.deepEqual([op.threshold, op.tp, op.fp, op.fn, op.tn], [0.5, 135, 0, 35, 2902]);
    assert.equal(pr.points.length, 761 + 120);
    assert.deepEqual(pr.points[0], { threshold: 0.88, precision: 1, recall: 135 / 170 });
    assert.deepEqual(pr.points[760], { threshold: 0.12, precision: 1, recall: 135 / 170 });
    assert.deepEqual(pr.points[761], { threshold: 0.119, precision: 170 / 3072, recall: 1 });
    expectClose(pr.averagePrecision!, 135 / 170 + 35 / 3072, { rtol: 1e-12, atol: 0 }, 'AP');
  });

  test('the same curve on the wasm backend', async () => {
    await useBackend('wasm');
    try {
      const pr = (await collectRunReport({ run: thresholdRun, casesPerGroup: 1 })).pr;
      assert.deepEqual(pr.operatingPoint, data.pr.operatingPoint);
      assert.deepEqual(pr.points, data.pr.points);
    } finally {
      await useBackend('cpu');
    }
  });

  test('logs, evaluation rows, split and model as the run folder holds them', () => {
    assert.equal(data.logs.length, 3);
    assert.deepEqual(
      data.rows.map((r) => r.name),
      ['000001.png', '000002.png', '000003.png'],
    );
    // DSC of items 1-3 (test/cli/evaluate.test.ts): 321/359, 1/51, 1.
    expectClose(
      data.rows.map((r) => r.metrics.dsc),
      [321 / 359, 1 / 51, 1],
      { rtol: 1e-12, atol: 0 },
    );
    assert.deepEqual(data.split, { fold: 0, train: 1, val: 0, test: 3 });
    assert.deepEqual(data.model, { name: 'threshold_net', params: 2 });
    assert.deepEqual(data.gates, []);
  });

  test('cases: 3 test images, 2 per group: best two, worst one, no median', () => {
    assert.deepEqual(
      data.cases.map(
        (g) => `${g.group}: ${g.cases.map((c) => `${c.row.name}#${c.rank}`).join(' ')}`,
      ),
      ['best: 000003.png#1 000001.png#2', 'median: ', 'worst: 000002.png#3'],
    );
    // Pictures at the original aspect ratio (30x45 -> 93x140, 17x23 -> 103x140), no
    // attention maps.
    assert.deepEqual(
      data.cases.flatMap((g) =>
        g.cases.map((c) => [c.row.name, c.panels.size, c.panels.attention]),
      ),
      [
        ['000003.png', [103, 140], []],
        ['000001.png', [93, 140], []],
        ['000002.png', [93, 140], []],
      ],
    );
  });

  test('an attention model: one map per gate, at 1/16, 1/8 and 1/4 of the input', async () => {
    const d = await collectRunReport({ run: attentionRun, casesPerGroup: 1 });
    assert.equal(d.gates.length, 3);
    const c = d.cases[0].cases[0];
    assert.deepEqual(
      c.panels.attention.map((a) => a.mapSize),
      [
        [2, 2],
        [4, 4],
        [8, 8],
      ],
    );
    assert.ok(c.panels.attention.every((a) => a.uri.startsWith('data:image/png;base64,')));
  });

  test('a run without an evaluation, a damaged summary, a bad count: one-line errors', async () => {
    const bare = path.join(root, 'bare');
    await makeEvaluatedRun(root, 'bare', 'threshold', 1);
    await rm(path.join(bare, 'eval'), { recursive: true });
    await assert.rejects(
      collectRunReport({ run: bare }),
      (err: Error) =>
        err.name === 'UserError' &&
        err.message ===
          `run ${bare} has no evaluation to report (evaluate it first: ftunet evaluate --run ${bare}): ` +
            `${path.join(bare, 'eval', 'summary.json')} not found`,
    );
    await makeEvaluatedRun(root, 'bare', 'threshold', 1);
    await writeFile(path.join(bare, 'eval', 'summary.json'), '{"dsc": {"mean": 1}}');
    await assert.rejects(
      collectRunReport({ run: bare }),
      new RegExp(
        `^UserError: ${path.join(bare, 'eval', 'summary.json')}: expected "dsc": \\{"mean": <number>, "std": <number>\\}$`,
      ),
    );
    await assert.rejects(
      collectRunReport({ run: thresholdRun, casesPerGroup: 0 }),
      /^UserError: collectRunReport: casesPerGroup must be an integer from 1 to 50, got 0$/,
    );
  });
});

describe('writeRunReport', () => {
  test('RUN_DIR/report.html: every section, every picture a data URI, nothing from outside', async () => {
    const result = await writeRunReport({ run: attentionRun, generator: 'test' });
    assert.equal(result.file, path.join(attentionRun, RUN_REPORT_FILE));
    const text = await readFile(result.file, 'utf8');
    assert.equal(result.bytes, Buffer.byteLength(text));
    const page = squash(text);
    for (const id of RUN_REPORT_SECTIONS) {
      assert.ok(page.includes(`<section id="${id}" data-section="${id}">`), id);
    }
    for (const plot of [
      'loss',
      'dsc',
      'learning-rate',
      'pr-curve',
      'dsc-histogram',
      'focal-tversky',
    ]) {
      assert.match(page, new RegExp(`<figure class="plot" data-plot="${plot}"><svg `), plot);
    }
    // 3 cases (best 2, worst 1) x (image, truth, prediction, overlay, 3 gates).
    const images = [...page.matchAll(/<img src="([^"]*)"/g)].map((m) => m[1]);
    assert.equal(images.length, 3 * 7);
    assert.ok(images.every((src) => src.startsWith('data:image/png;base64,')));
    // No reference leaves the file: links are in-page, the only URLs are SVG namespaces.
    for (const m of page.matchAll(/\b(?:href|src)="([^"]*)"/g)) assert.match(m[1], /^(#|data:)/);
    const urls = [...page.matchAll(/https?:\/\/[^\s"')<]+/g)].map((m) => m[0]);
    assert.deepEqual([...new Set(urls)].sort(), [
      'http://www.w3.org/1999/xlink',
      'http://www.w3.org/2000/svg',
    ]);
    // The per-image table: one row per test image, sortable.
    assert.match(page, /<table id="metrics-table" class="sortable">/);
    assert.equal([...page.matchAll(/<tr data-name="/g)].length, 3);
    // The focal Tversky section uses the run's alpha and gamma.
    assert.match(page, /with γ = 4\/3 \(the reference code's form/);
    assert.match(page, /with α = 0\.7 weighing false negatives/);
  });

  test('--out elsewhere, and a second write replaces the first', async () => {
    const out = path.join(root, 'elsewhere', 'r.html');
    const first = await writeRunReport({ run: thresholdRun, out, casesPerGroup: 1 });
    const second = await writeRunReport({ run: thresholdRun, out, casesPerGroup: 1 });
    assert.equal(first.file, out);
    assert.equal(second.file, out);
    const page = squash(await readFile(out, 'utf8'));
    assert.equal([...page.matchAll(/<img src=/g)].length, 3 * 4);
    assert.match(page, /threshold_net has no attention gates/);
  });
});
