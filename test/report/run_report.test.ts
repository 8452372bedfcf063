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
 *
 * Surface distances at the original size 30x45 (MONAI's edges: the mask minus its erosion by
 * the cross, border pixels included). Item 1: truth rows 0-7 x cols 0-19; the prediction is
 * the input-size mask rows 0-8 x cols 0-14 resized back (row y takes floor(32y/30) <= 8, so
 * y <= 8; column x takes floor(32x/45) <= 14, so x <= 21): rows 0-8 x cols 0-21 (DSC
 * (2*160+1)/(198+160+1) = 321/359). Truth edges (52): row 0 and col 0 (27 pixels) lie on the
 * prediction's edges, distance 0; row 7 cols 1-19 are 1 from row 8 (19), (1,19) is 1 from row
 * 0, (2..6,19) are 2 from col 21 or rows 0/8 (5). Prediction edges (58): row 0 cols 0-19 and
 * col 0 rows 1-7: 0 (27); (0,20): 1, (0,21): 2; row 8 cols 0-19: 1 (20), (8,20): √2, (8,21):
 * √5 (to (7,19)); col 21 rows 1-7: 2 (7). Sorted, numpy's 95th percentiles at positions
 * 0.95*51 = 48.45 (truth: positions 47-51 are 2) and 0.95*57 = 54.15 (prediction: positions
 * 49-56 are 2) are both 2, so HD95 = 2; ASSD = (19 + 1 + 5*2 + 1 + 2 + 20 + √2 + √5 + 7*2) /
 * 110 = (67 + √2 + √5) / 110. Item 2's prediction is empty (black image) and item 3's masks
 * are both empty: no surface distance, so the means run over 1 of 3 images. ISIC score: IoU
 * 161/199 (item 1, >= 0.65), 1/51 (item 2, counts 0), 1 (item 3): (161/199 + 0 + 1) / 3.
 */
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { collectRunReport, type RunReportData } from '../../src/report/run_data.js';
import { renderRunReport, RUN_REPORT_SECTIONS } from '../../src/report/run_html.js';
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
          `run ${bare} has no evaluation to report (evaluate it first: npx ftunet evaluate --run ${bare}): ` +
            `${path.join(bare, 'eval', 'summary.json')} not found`,
    );
    await makeEvaluatedRun(root, 'bare', 'threshold', 1);
    await writeFile(path.join(bare, 'eval', 'summary.json'), '{"dsc": {"mean": 1}}');
    await assert.rejects(
      collectRunReport({ run: bare }),
      new RegExp(`^UserError: ${path.join(bare, 'eval', 'summary.json')}: "dsc.std" is missing$`),
    );
    await assert.rejects(
      collectRunReport({ run: thresholdRun, casesPerGroup: 0 }),
      /^UserError: casesPerGroup must be an integer from 1 to 50, got 0$/,
    );
  });
});

describe('HD95, ASSD and the ISIC score in the report', () => {
  let data: RunReportData;
  let page: string;
  const ASSD_1 = (67 + Math.SQRT2 + Math.sqrt(5)) / 110;
  before(async () => {
    data = await collectRunReport({ run: thresholdRun, casesPerGroup: 1 });
    page = squash(await renderRunReport(data));
  });

  test('metrics.csv and summary.json hold the values worked by hand', () => {
    assert.deepEqual(
      data.rows.map((r) => [r.name, r.surface?.hd95, r.surface?.assd !== null]),
      [
        ['000001.png', 2, true],
        ['000002.png', null, false],
        ['000003.png', null, false],
      ],
    );
    expectClose(data.rows[0].surface!.assd!, ASSD_1, { rtol: 1e-12, atol: 0 }, 'ASSD item 1');
    assert.deepEqual(data.summary.hd95, { mean: 2, std: 0, count: 1 });
    expectClose(data.summary.assd!.mean!, ASSD_1, { rtol: 1e-12, atol: 0 }, 'ASSD mean');
    expectClose(data.summary.thresholdedJaccard!, (161 / 199 + 1) / 3, { rtol: 1e-12, atol: 0 });
    // NSD at 2 px: of the 110 edge distances (67 ones, √2, √5, the rest 0) all but √5 agree.
    assert.deepEqual(
      data.rows.map((r) => r.surface?.nsd),
      [109 / 110, null, null],
    );
    assert.deepEqual(data.summary.nsd, { mean: 109 / 110, std: 0, count: 1 });
  });

  test('summary: the ISIC score, HD95 and ASSD over the 1 of 3 images where they are defined', () => {
    const card = (label: string) =>
      new RegExp(
        `<div class="label">${label}</div><div class="value">([^<]*)</div><div class="std">([^<]*)</div>`,
      )
        .exec(page)
        ?.slice(1);
    // (161/199 + 1) / 3 = 0.60301..., (67 + √2 + √5) / 110 = 0.64227...
    assert.deepEqual(card('ISIC score'), ['0.603', 'thresholded Jaccard: IoU &lt; 0.65 counts 0']);
    assert.deepEqual(card('HD95 \\(mean, px\\)'), ['2.00', '± 0.00 std · 1 of 3 images']);
    assert.deepEqual(card('ASSD \\(mean, px\\)'), ['0.64', '± 0.00 std · 1 of 3 images']);
    assert.match(
      page,
      /<p class="note" data-surface-count="1">HD95 .* over the 1 of 3 test images where both the prediction and the ground truth have a lesion; the other 2 \(an empty mask\) have none, shown as —, and are left out of the means\.<\/p>/,
    );
  });

  test('per-image table: HD95 and ASSD columns, empty cells for the undefined ones', () => {
    assert.match(
      page,
      /<th class="num"><button type="button">HD95 px<\/button><\/th><th class="num"><button type="button">ASSD px<\/button><\/th>/,
    );
    const cells = (name: string) =>
      [
        ...(new RegExp(`<tr data-name="${name}">(.*?)</tr>`).exec(page)?.[1] ?? '').matchAll(
          /<td class="num"[^>]*>[^<]*<\/td>/g,
        ),
      ].map((m) => m[0]);
    // The numeric cells: 5 metrics, then HD95 and ASSD.
    assert.deepEqual(cells('000001.png').slice(5, 7), [
      '<td class="num" data-value="2">2.00</td>',
      `<td class="num" data-value="${ASSD_1}">0.64</td>`,
    ]);
    for (const name of ['000002.png', '000003.png']) {
      assert.deepEqual(cells(name).slice(5, 7), [
        '<td class="num" data-value="">—</td>',
        '<td class="num" data-value="">—</td>',
      ]);
    }
    assert.match(
      page,
      /; — where the prediction or the ground truth is empty \(2 of 3 images\), sorted last\./,
    );
  });

  test('best, median and worst cases show their HD95 and ASSD, — where undefined', () => {
    const lines = [...page.matchAll(/<span data-surface="([^"]*)">([^<]*)<\/span>/g)].map(
      (m) => `${m[1]}: ${m[2]}`,
    );
    // One per group: best 000003 (DSC 1), median 000001, worst 000002.
    assert.deepEqual(lines, [
      '000003.png: HD95 — · ASSD — px · NSD —',
      '000001.png: HD95 2.00 · ASSD 0.64 px · NSD 0.9909',
      '000002.png: HD95 — · ASSD — px · NSD —',
    ]);
  });

  test('a summary of damaged surface fields is refused in one line', async () => {
    const run = await makeEvaluatedRun(root, 'damaged-surface', 'threshold', 1);
    const file = path.join(run, 'eval', 'summary.json');
    const summary = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    await writeFile(file, JSON.stringify({ ...summary, hd95: { mean: 'x', count: 1 } }));
    await assert.rejects(
      collectRunReport({ run }),
      (err: Error) =>
        err.name === 'UserError' &&
        err.message === `${file}: "hd95.mean" must be a number or null, got "x"`,
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
