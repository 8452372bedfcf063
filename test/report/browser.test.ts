/**
 * The report pages in a real browser: Debian's Chromium (`/usr/bin/chromium`, installed by
 * `.ci/run` when missing) driven by playwright-core, which brings no browser of its own.
 * Each page is opened from its file; the test checks that every section rendered (non-empty
 * SVG plots, decoded pictures), that the per-image table sorts, that the console stayed free
 * of errors and that no request left the file (only `file:` and `data:` URLs; anything else
 * is also aborted, so nothing reaches a network). Screenshots of the whole pages are written
 * to `dist/test-artifacts/report.png` and `dist/test-artifacts/ablation.png` (ignored by git;
 * open them to look at the pages).
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { ablationReport } from '../../src/ablation/table_files.js';
import { ABLATION_REPORT_SECTIONS, writeAblationHtml } from '../../src/ablation/report_html.js';
import { RUN_REPORT_SECTIONS } from '../../src/report/run_html.js';
import { writeRunReport } from '../../src/report/run_report.js';
import { writeFixtureStudy } from '../ablation/fixtures.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { useBackend } from '../helpers.js';
import { ARTIFACTS, launchChromium, requireChromium, type TestBrowser } from '../chromium.js';
import { makeEvaluatedRun } from './fixtures.js';

let root: string;
let browser: TestBrowser;
let runPage: string;
let thresholdPage: string;
let ablationPage: string;

before(async () => {
  requireChromium();
  await useBackend('cpu');
  root = await makeTemp('ftunet-browser-');
  const run = await makeEvaluatedRun(root, 'run', 'attention');
  runPage = (await writeRunReport({ run, generator: 'the browser test' })).file;
  // The threshold network's run: HD95 2 for image 1, undefined for 2 and 3 (run_report.test.ts).
  const threshold = await makeEvaluatedRun(root, 'threshold-run', 'threshold');
  thresholdPage = (await writeRunReport({ run: threshold, casesPerGroup: 1 })).file;
  const study = path.join(root, 'study');
  await writeFixtureStudy(study, 'bus');
  ablationPage = await writeAblationHtml({
    studyDir: study,
    table: (await ablationReport(study)).table,
    generator: 'the browser test',
  });
  // Nothing but the file itself and data URIs is fetched, whatever a page asks for.
  browser = await launchChromium((url) => /^(file|data):/.test(url), {
    viewport: { width: 1280, height: 900 },
  });
});

after(async () => {
  await browser?.close();
  if (root !== undefined) await removeTemp(root);
});

/** What a page did while it loaded: console errors, uncaught errors, requests outside. */
interface Visit {
  page: Page;
  errors: string[];
  outside: string[];
}

async function visit(load: (page: Page) => Promise<unknown>): Promise<Visit> {
  const page = await browser.context.newPage();
  const v: Visit = { page, errors: [], outside: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') v.errors.push(m.text());
  });
  page.on('pageerror', (e) => v.errors.push(e.message));
  page.on('request', (r) => {
    if (!/^(file|data):/.test(r.url())) v.outside.push(r.url());
  });
  await load(page);
  await page.waitForLoadState('load');
  return v;
}

/** Width and height of every element matching `selector`. */
const boxes = (page: Page, selector: string): Promise<Array<[number, number]>> =>
  page.$$eval(selector, (els) =>
    els.map((e) => {
      const r = e.getBoundingClientRect();
      return [r.width, r.height] as [number, number];
    }),
  );

describe('the report pages in Chromium', { timeout: 120_000 }, () => {
  test('the checks see errors and requests outside the file (they can fail)', async () => {
    const v = await visit((page) =>
      page.setContent(
        '<img src="http://example.invalid/x.png"><script>console.error("boom")</script>',
      ),
    );
    await v.page.close();
    assert.deepEqual(v.outside, ['http://example.invalid/x.png']);
    assert.ok(v.errors.includes('boom'), v.errors.join(' | '));
  });

  test('run report: every section, plots and pictures rendered; sortable; offline', async () => {
    const v = await visit((page) => page.goto(pathToFileURL(runPage).href));
    const { page } = v;
    try {
      for (const id of RUN_REPORT_SECTIONS) {
        const [box] = await boxes(page, `section#${id}[data-section="${id}"]`);
        assert.ok(box !== undefined && box[0] > 0 && box[1] > 0, `section ${id}`);
      }
      const plots = await page.$$eval('figure.plot', (figs) =>
        figs.map((f) => ({
          id: f.getAttribute('data-plot'),
          marks: f.querySelectorAll('svg path, svg line, svg rect').length,
          width: f.querySelector('svg')?.getBoundingClientRect().width ?? 0,
          height: f.querySelector('svg')?.getBoundingClientRect().height ?? 0,
        })),
      );
      assert.deepEqual(
        plots.map((p) => p.id),
        ['loss', 'dsc', 'learning-rate', 'pr-curve', 'dsc-histogram', 'focal-tversky'],
      );
      for (const p of plots)
        assert.ok(p.marks > 0 && p.width > 100 && p.height > 100, JSON.stringify(p));
      // 3 cases x (image, truth, prediction, overlay, 3 attention maps), all decoded.
      const images = await page.$$eval('#cases img', (imgs) =>
        imgs.map((i) => ({
          panel: i.getAttribute('data-panel'),
          ok: (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0,
        })),
      );
      assert.equal(images.length, 21);
      assert.ok(
        images.every((i) => i.ok),
        JSON.stringify(images),
      );
      assert.equal(images.filter((i) => i.panel === 'attention').length, 9);

      // Sorting by DSC: ascending, then descending.
      const dscs = (): Promise<number[]> =>
        page.$$eval('#metrics-table tbody tr', (rows) =>
          rows.map((r) => Number((r as HTMLTableRowElement).cells[1].getAttribute('data-value'))),
        );
      const button = page.locator('#metrics-table thead th:nth-child(2) button');
      await button.click();
      const up = await dscs();
      assert.deepEqual(
        up,
        [...up].sort((a, b) => a - b),
      );
      await button.click();
      const down = await dscs();
      assert.deepEqual(down, [...up].reverse());
      assert.notDeepEqual(up, down);
      assert.equal(
        await page.getAttribute('#metrics-table thead th:nth-child(2)', 'data-sort'),
        'desc',
      );
      await button.click(); // back to ascending for the screenshot
      // The navigation bar sticks to the top of the window: scroll back so that it is drawn
      // at the top of the full-page screenshot.
      await page.evaluate(() => window.scrollTo(0, 0));

      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'report.png'), fullPage: true });
      assert.deepEqual(v.errors, []);
      assert.deepEqual(v.outside, []);
    } finally {
      await page.close();
    }
  });

  test('run report: HD95 and ASSD shown; undefined cells sort last both ways', async () => {
    const v = await visit((page) => page.goto(pathToFileURL(thresholdPage).href));
    const { page } = v;
    try {
      const heads = await page.$$eval('#metrics-table thead th', (ths) =>
        ths.map((t) => t.textContent?.trim()),
      );
      const col = heads.indexOf('HD95 px') + 1;
      assert.ok(col > 0 && heads[col] === 'ASSD px', heads.join(' | '));
      const hd95 = (): Promise<string[]> =>
        page.$$eval(`#metrics-table tbody td:nth-child(${col})`, (tds) =>
          tds.map((t) => `${t.getAttribute('data-value')}:${t.textContent}`),
        );
      const button = page.locator(`#metrics-table thead th:nth-child(${col}) button`);
      await button.click();
      assert.deepEqual(await hd95(), ['2:2.00', ':—', ':—']);
      await button.click();
      assert.deepEqual(await hd95(), ['2:2.00', ':—', ':—']);
      const cards = await page.$$eval('#summary .card .label', (ls) =>
        ls.map((l) => l.textContent),
      );
      for (const label of ['ISIC score', 'HD95 (mean, px)', 'ASSD (mean, px)']) {
        assert.ok(cards.includes(label), cards.join(' | '));
      }
      assert.deepEqual(v.errors, []);
      assert.deepEqual(v.outside, []);
    } finally {
      await page.close();
    }
  });

  test('ablation report: table, box plot and per-fold numbers rendered; offline', async () => {
    const v = await visit((page) => page.goto(pathToFileURL(ablationPage).href));
    const { page } = v;
    try {
      for (const id of ABLATION_REPORT_SECTIONS) {
        const [box] = await boxes(page, `section#${id}[data-section="${id}"]`);
        assert.ok(box !== undefined && box[0] > 0 && box[1] > 0, `section ${id}`);
      }
      assert.equal(await page.locator('#ablation-table-rows tbody tr').count(), 7);
      const [svg] = await boxes(page, 'figure[data-plot="ablation-boxplot"] svg');
      assert.ok(svg[0] > 200 && svg[1] > 200, JSON.stringify(svg));
      // Box plot marks: the variants' labels and the paper's diamonds are drawn.
      const texts = await page.$$eval('figure[data-plot="ablation-boxplot"] svg text', (ts) =>
        ts.map((t) => t.textContent),
      );
      assert.ok(texts.includes('Attn U-Net + Multi-Input + FTL'), texts.join(' | '));
      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'ablation.png'), fullPage: true });
      assert.deepEqual(v.errors, []);
      assert.deepEqual(v.outside, []);
    } finally {
      await page.close();
    }
  });
});
