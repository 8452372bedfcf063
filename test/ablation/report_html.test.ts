/**
 * The ablation page on the hand-made 3-fold study of the ablation tests
 * (test/ablation/fixtures.ts: unet-dl DSC 0.5/0.6/0.7, attn-mi-ftl 0.80/0.84, the rest
 * unfinished), through the real `ablationReport`.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ablationReport } from '../../src/ablation/table_files.js';
import { buildAblationTable, EXTRA_ROW_NOTE } from '../../src/ablation/table.js';
import {
  ABLATION_HTML_FILE,
  ABLATION_REPORT_SECTIONS,
  renderAblationHtml,
  writeAblationHtml,
} from '../../src/ablation/report_html.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { FIXTURE_FOLDS, writeFixtureStudy } from './fixtures.js';
import { squash } from '../report/fixtures.js';

let root: string;
before(async () => {
  root = await makeTemp('ftunet-ablation-html-');
});
after(() => removeTemp(root));

/** The text of each cell of the results table's body, row by row. */
function tableCells(page: string): string[][] {
  const table = page.slice(page.indexOf('<table id="ablation-table-rows"'));
  const body = table.slice(table.indexOf('<tbody>'), table.indexOf('</tbody>'));
  return [...body.matchAll(/<tr[^>]*>(.*?)<\/tr>/g)].map((row) =>
    [...row[1].matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((c) => c[1].replace(/<[^>]+>/g, '')),
  );
}

describe('writeAblationHtml', () => {
  test("BUS: our mean ± std beside the paper's Table 1, the difference, a box plot", async () => {
    const dir = path.join(root, 'bus-study');
    await writeFixtureStudy(dir, 'bus');
    const report = await ablationReport(dir);
    const file = await writeAblationHtml({ studyDir: dir, table: report.table, generator: 'test' });
    assert.equal(file, path.join(dir, 'report', ABLATION_HTML_FILE));
    const page = squash(await readFile(file, 'utf8'));
    for (const id of ABLATION_REPORT_SECTIONS) {
      assert.ok(page.includes(`<section id="${id}" data-section="${id}">`), id);
    }
    const rows = tableCells(page);
    assert.equal(rows.length, 7);
    assert.deepEqual(rows[0], [
      'U-Net + DL',
      'unet-dl',
      '0.600 ± 0.082',
      '0.800 ± 0.000',
      '0.500 ± 0.294',
      '3/3',
      '0.547',
      '0.653',
      '0.658',
      '+0.053',
    ]);
    assert.deepEqual(rows[1], [
      'U-Net + TL',
      'unet-tl',
      '—',
      '—',
      '—',
      '0/3',
      '0.657',
      '0.732',
      '0.723',
      '—',
    ]);
    assert.deepEqual(rows[6], [
      'Attn U-Net + Multi-Input + FTL',
      'attn-mi-ftl',
      '0.820 ± 0.020',
      '0.800 ± 0.100',
      '0.800 ± 0.050',
      '2/3',
      '0.804 ± 0.024',
      '0.829',
      '0.817',
      '+0.016',
    ]);
    // Our best DSC is bold; the missing units are listed.
    assert.ok(page.includes('<b>0.820 ± 0.020</b>'));
    assert.match(page, /data-missing="16">Missing units \(16\): unet-tl\/fold-0, /);
    assert.match(
      page,
      /data-paper="Table 1">Paper columns: .*Table 1 \(BUS 2017 dataset B, 40 test images per fold\)/,
    );
    // The box plot: an SVG with the variants, the paper's diamonds in the legend.
    assert.match(page, /<figure class="plot" data-plot="ablation-boxplot"><svg /);
    assert.ok(page.includes('>Attn U-Net + Multi-Input + FTL<'));
    assert.ok(page.includes('>paper (mean)<'));
    // Per-fold numbers: fold 1 of attn-mi-ftl is missing.
    assert.ok(page.includes('<td class="num" data-value="0.84">0.840 (12 images)</td>'));
    for (const m of page.matchAll(/\b(?:href|src)="([^"]*)"/g)) assert.match(m[1], /^(#|data:)/);
  });

  test('a data set the paper did not use: no paper columns', async () => {
    const table = buildAblationTable({
      dataset: 'folder',
      folds: FIXTURE_FOLDS,
      result: (u) =>
        u.variant === 'unet-dl'
          ? { fold: u.fold, dsc: 0.5, precision: 0.5, recall: 0.5, count: 4 }
          : undefined,
    });
    const page = squash(await renderAblationHtml(table));
    assert.equal(tableCells(page)[0].length, 6);
    assert.match(page, /The paper did not use this data set/);
    assert.doesNotMatch(page, />paper \(mean\)</);
  });

  test('--metrics: HD95, ASSD and the ISIC score as columns; the paper columns stay its three', async () => {
    const dir = path.join(root, 'bus-extras');
    await writeFixtureStudy(dir, 'bus');
    const report = await ablationReport(dir, {
      metrics: ['dsc', 'hd95', 'assd', 'thresholdedJaccard'],
    });
    const page = squash(await renderAblationHtml(report.table));
    const heads = [...page.matchAll(/<th class="num">([^<]*)<\/th>/g)].map((m) => m[1]);
    assert.deepEqual(heads.slice(0, 9), [
      'DSC (ours)',
      'HD95 (px) (ours)',
      'ASSD (px) (ours)',
      'ISIC score (ours)',
      'Folds',
      'DSC (paper)',
      'Precision (paper)',
      'Recall (paper)',
      'Δ DSC',
    ]);
    // Worked in test/ablation/fixtures.ts.
    assert.deepEqual(tableCells(page)[0].slice(2, 7), [
      '0.600 ± 0.082',
      '5.00 ± 1.00 (2 of 3 folds)',
      '1.50 ± 0.50 (2 of 3 folds)',
      '0.600 ± 0.082',
      '3/3',
    ]);
    assert.deepEqual(tableCells(page)[1].slice(2, 6), ['—', '—', '—', '—']);
    assert.match(page, /HD95 and ASSD in pixels at the original size: each fold&#39;s mean/);
    assert.match(page, /ISIC score: the ISIC 2018 thresholded Jaccard \(IoU &lt; 0\.65 counts 0\)/);
  });

  test('nothing finished yet: the box plot section says so', async () => {
    const table = buildAblationTable({ dataset: 'isic2018', folds: 2, result: () => undefined });
    const page = squash(await renderAblationHtml(table, { name: 'empty' }));
    assert.match(page, /<title>Ablation report: empty<\/title>/);
    assert.match(page, /data-empty="true">No unit has finished/);
    assert.doesNotMatch(page, /<svg /);
    // The paper's Table 2 numbers are still shown.
    assert.ok(tableCells(page)[6].includes('0.856 ± 0.007'));
  });
});

describe('extra rows in the ablation page', () => {
  test("a study's extra rows follow the paper's, marked † and explained, without paper numbers", async () => {
    const table = buildAblationTable({
      dataset: 'bus',
      folds: FIXTURE_FOLDS,
      variants: ['unet-dl', 'attn-mi-ftl', 'attn-mi-ftl+poly'],
      result: (unit) =>
        unit.variant === 'attn-mi-ftl+poly'
          ? { fold: unit.fold, dsc: 0.7, precision: 0.7, recall: 0.7, count: 2 }
          : undefined,
    });
    const page = squash(await renderAblationHtml(table));
    const rows = tableCells(page);
    assert.deepEqual(
      rows.map((r) => r[0]),
      [
        'U-Net + DL',
        'Attn U-Net + Multi-Input + FTL',
        'Attn U-Net + Multi-Input + FTL, poly schedule †',
      ],
    );
    assert.ok(page.includes('data-paper-row="false"'));
    // The note, as the page escapes it (the apostrophe).
    const note = EXTRA_ROW_NOTE.replace("'", '&#39;');
    assert.ok(page.includes(`<p class="note" data-extra-rows="true">${note}</p>`), 'the note');
    // The extra row has our numbers and no paper numbers.
    assert.equal(rows[2][2], '0.700 ± 0.000');
    assert.ok(rows[2].slice(-4).every((c) => c === '—'));
  });
});
