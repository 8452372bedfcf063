/**
 * What the browser tests of the web app do with its page as a person would: wait until the
 * list has its rows and the work is done, and clear the work an earlier test left in the
 * browser (it comes back on load) with the button and the dialog's confirmation; and what
 * axe-core finds on it.
 */
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import type { TestBrowser } from '../chromium.js';

/**
 * Waits until the list has `n` rows, none waiting or being predicted, no mask being remade or
 * compared with its ground truth.
 */
export async function settled(page: Page, n: number, timeout = 60_000): Promise<void> {
  await page.waitForFunction(
    (n) =>
      document.querySelectorAll('[data-file]').length === n &&
      document.querySelectorAll('[data-status="waiting"], [data-status="predicting"]').length ===
        0 &&
      document.body.dataset.busy === 'false' &&
      document.body.dataset.remasking !== 'true' &&
      document.body.dataset.scoring !== 'true',
    n,
    { timeout },
  );
}

/** Clears the work shown (the viewer closed first), confirmed in the dialog. */
export async function clearWork(page: Page): Promise<void> {
  if (await page.isVisible('#viewer')) await page.click('#viewer .viewer-close');
  if ((await page.$$('[data-file]')).length === 0) return;
  await page.click('#clear');
  await page.click('#clear-dialog button[value="clear"]');
  await settled(page, 0);
}

/** A new page of the app at `url`, ready, without the work an earlier test left. */
export async function openWorkbench(browser: TestBrowser, url: string): Promise<Page> {
  const page = await browser.page();
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
  await clearWork(page);
  return page;
}

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
/** The rules axe runs: WCAG 2.0/2.1 A and AA, and its best practices. */
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];

/** axe-core's violations on the page as it is (rule id: the elements' selectors). */
export async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE });
  return page.evaluate(async (tags) => {
    const axe = (window as unknown as { axe: { run: (...a: unknown[]) => Promise<unknown> } }).axe;
    const r = (await axe.run(document, { runOnly: { type: 'tag', values: tags } })) as {
      violations: { id: string; nodes: { target: string[] }[] }[];
    };
    return r.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  }, AXE_TAGS);
}

/**
 * Records the main-thread tasks of 50 ms or more (PerformanceObserver 'longtask') of every page
 * `browser` opens from now on, in `window.longTasks` (their durations in ms), which a test
 * empties before the work it measures.
 */
export async function recordLongTasks(browser: TestBrowser): Promise<void> {
  await browser.context.addInitScript(() => {
    const w = window as unknown as { longTasks: number[] };
    w.longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.longTasks.push(e.duration);
    }).observe({ type: 'longtask', buffered: true });
  });
}
