/**
 * The viewer (src/webapp/viewer.ts) in Chromium, bundled alone on a harness page
 * (viewer_harness.ts) as a person uses it: zoom and pan with the wheel, keys, buttons, a drag
 * and a pinch; layers toggled and blended; the cursor's read-out; outlines crisp at 37% and at
 * 430% (a known vertical boundary sampled along its length: one unbroken line of the outline's
 * colour); a mask corrected with the mouse and with the keyboard alone (brush, eraser, fill of
 * an enclosed region and the refusal of an open one, undo, redo, reset, accept), each mask
 * given to `onMask` checked pixel by pixel against one worked out here; the longest main-thread
 * task while painting and zooming on a 3000x2000 mask; axe-core finds nothing; `close` drops
 * the buffers. Screenshots of the viewer and of the correction tools go to dist/test-artifacts/ (the
 * README's docs/viewer.png and docs/correction.png are copies of them).
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { serveStatic, type StaticServer } from '../../src/app/serve.js';
import { BROWSER_BUNDLE } from '../../scripts/build_app.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { ARTIFACTS, launchChromium, sameOrigin, type TestBrowser } from '../chromium.js';
import { VIRIDIS } from '../../src/predict/colormap.js';
import { greyAt, type Box, type Spec } from './viewer_harness.js';

const HARNESS = fileURLToPath(new URL('./viewer_harness.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const STYLE = path.join(ROOT, 'src', 'webapp', 'style.css');
const AXE = path.join(ROOT, 'node_modules', 'axe-core', 'axe.min.js');
const VIEWPORT = { width: 1100, height: 760 };
/** The mask's outline colour (viewer.ts MASK_COLOUR) and the canvas's background. */
const MASK_RGB = [255, 59, 48];
const BACKGROUND = [21, 24, 31];

let root: string;
let server: StaticServer;
let browser: TestBrowser;

before(async () => {
  root = await makeTemp('ftunet-viewer-');
  const page = path.join(root, 'page');
  await mkdir(page, { recursive: true });
  await build({
    ...BROWSER_BUNDLE,
    stdin: {
      contents: `export * from ${JSON.stringify(HARNESS)};\n`,
      resolveDir: ROOT,
      loader: 'js',
    },
    outfile: path.join(page, 'bundle.js'),
  });
  await writeFile(path.join(page, 'style.css'), await readFile(STYLE));
  await writeFile(path.join(page, 'axe.js'), await readFile(AXE));
  await writeFile(
    path.join(page, 'index.html'),
    '<!doctype html><html lang="en"><meta charset="utf-8"><title>Viewer</title>' +
      '<link rel="icon" href="data:,"><link rel="stylesheet" href="style.css">' +
      '<style>body { max-width: none; margin: 0; padding: 0 } ' +
      '#viewer { position: fixed; inset: 0 }</style>' +
      '<main><h1 class="visually-hidden">Viewer test</h1><div id="viewer"></div></main>' +
      '<script type="module">import * as h from "./bundle.js"; globalThis.h = h; ' +
      'document.body.dataset.ready = "true";</script>',
  );
  server = await serveStatic({ mounts: { '/': page } });
  browser = await launchChromium(sameOrigin(server.origin), { viewport: VIEWPORT });
});

after(async () => {
  await browser?.close();
  await server?.close();
  await removeTemp(root);
});

/** A hollow square: lesion in [60, 120) x [40, 100) except the inside [66, 114) x [46, 94). */
const RING: Pick<Spec, 'lesion' | 'holes'> = {
  lesion: [{ x0: 60, y0: 40, x1: 120, y1: 100 }],
  holes: [{ x0: 66, y0: 46, x1: 114, y1: 94 }],
};
const BASE: Spec = {
  width: 240,
  height: 160,
  ...RING,
  truth: [{ x0: 64, y0: 44, x1: 124, y1: 104 }],
  probabilities: [16, 24],
  gate: [4, 6],
};

/** A photo-sized image with a large lesion, a ground truth and the probabilities of 192x256. */
const LARGE: Spec = {
  width: 3000,
  height: 2000,
  lesion: [{ x0: 800, y0: 500, x1: 2200, y1: 1500 }],
  holes: [{ x0: 1200, y0: 800, x1: 1500, y1: 1100 }],
  truth: [{ x0: 850, y0: 520, x1: 2250, y1: 1520 }],
  probabilities: [192, 256],
};

/** A mask (0/1, row-major) of boxes, with holes cleared after. */
function boxMask(width: number, height: number, on: Box[], off: Box[] = []): number[] {
  const m = new Array<number>(width * height).fill(0);
  for (const [list, v] of [
    [on, 1],
    [off, 0],
  ] as const) {
    for (const b of list) {
      for (let y = b.y0; y < b.y1; y++) for (let x = b.x0; x < b.x1; x++) m[y * width + x] = v;
    }
  }
  return m;
}

async function openPage(spec: Spec): Promise<Page> {
  const page = await browser.page();
  await page.goto(`${server.origin}/index.html`);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  await page.evaluate((s) => (globalThis as unknown as H).h.open(s), spec);
  await settle(page);
  return page;
}

type H = {
  h: typeof import('./viewer_harness.js');
  viewerUnderTest: import('../../src/webapp/viewer.js').Viewer;
  log: import('./viewer_harness.js').Log;
};

/** Waits two frames (the viewer draws in animation frames). */
async function settle(page: Page): Promise<void> {
  await page.evaluate(
    () => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))),
  );
}

async function viewState(page: Page): Promise<{ zoom: number; x: number; y: number }> {
  return page.evaluate(() => (globalThis as unknown as H).viewerUnderTest.viewState);
}

/** The canvas's top-left corner in page CSS pixels. */
async function canvasOrigin(page: Page): Promise<{ x: number; y: number }> {
  const box = (await page.locator('.viewer-canvas').boundingBox())!;
  return { x: box.x, y: box.y };
}

/** The page point over image point (ix, iy). */
async function screenOf(page: Page, ix: number, iy: number): Promise<{ x: number; y: number }> {
  const v = await viewState(page);
  const o = await canvasOrigin(page);
  return { x: o.x + v.x + ix * v.zoom, y: o.y + v.y + iy * v.zoom };
}

/**
 * The canvas's RGB at the centre of image pixel (ix, iy) (device pixel ratio 1), once the
 * layers are drawn.
 */
async function canvasRgb(page: Page, ix: number, iy: number): Promise<number[]> {
  await page.waitForFunction(() => (globalThis as unknown as H).viewerUnderTest.layersReady);
  await settle(page);
  const v = await viewState(page);
  return page.evaluate(
    ([x, y]) => {
      const c = document.querySelector<HTMLCanvasElement>('.viewer-canvas')!;
      const d = c.getContext('2d')!.getImageData(x, y, 1, 1).data;
      return [d[0], d[1], d[2]];
    },
    [Math.floor(v.x + (ix + 0.5) * v.zoom), Math.floor(v.y + (iy + 0.5) * v.zoom)],
  );
}

describe('the viewer', () => {
  test('opens an image fitted to its host; screenshot', async () => {
    const page = await openPage(BASE);
    try {
      const v = await viewState(page);
      const box = (await page.locator('.viewer-canvas').boundingBox())!;
      const fitZoom = Math.min(box.width / 240, box.height / 160);
      assert.ok(Math.abs(v.zoom / fitZoom - 1) < 0.002, `zoom ${v.zoom} fits ${fitZoom}`);
      await page.screenshot({ path: path.join(root, 'first.png') });
      await page.screenshot({ path: '/tmp/viewer-first.png' });
      assert.deepEqual(browser.errors, []);
    } finally {
      await page.close();
    }
  });

  test('the brush and the eraser paint with the mouse; undo and redo; onMask and onStatus', async () => {
    const page = await openPage(BASE);
    try {
      await page.evaluate(() => {
        const v = (globalThis as unknown as H).viewerUnderTest;
        v.setTool('brush');
        v.setZoom(4, { x: 40, y: 30 });
      });
      await page.locator('button[data-tool="brush"]').click();
      // Size 5 (radius 2.5) from the centre of pixel (20, 30) to that of (60, 30).
      const size = page.locator('.viewer input[aria-keyshortcuts="[ ]"]');
      await size.fill('5');
      const a = await screenOf(page, 20.5, 30.5);
      const b = await screenOf(page, 60.5, 30.5);
      await page.mouse.move(a.x, a.y);
      await page.mouse.down();
      await page.mouse.move(b.x, b.y, { steps: 8 });
      await page.mouse.up();
      await settle(page);
      const expected = boxMask(240, 160, RING.lesion, RING.holes);
      // Pixel centres within 2.5 of the segment: rows 28-32; |dy| <= 1 reach 2 columns past
      // the ends (dx^2 <= 5.25), |dy| = 2 one column (dx^2 <= 2.25).
      for (let y = 28; y <= 32; y++) {
        const reach = Math.abs(y - 30) <= 1 ? 2 : 1;
        for (let x = 20 - reach; x <= 60 + reach; x++) expected[y * 240 + x] = 1;
      }
      const log = await page.evaluate(() => {
        const g = globalThis as unknown as H;
        return { masks: g.log.masks.length, statuses: g.log.statuses, last: g.h.lastMask() };
      });
      assert.equal(log.masks, 1, 'one stroke, one mask');
      assert.deepEqual(log.statuses, ['corrected']);
      assert.deepEqual(log.last, expected);
      // The eraser takes the stroke's middle back out: size 3 from (40, 30) to (44, 30).
      await page.locator('button[data-tool="eraser"]').click();
      await size.fill('3');
      const c = await screenOf(page, 40.5, 30.5);
      const d = await screenOf(page, 44.5, 30.5);
      await page.mouse.move(c.x, c.y);
      await page.mouse.down();
      await page.mouse.move(d.x, d.y, { steps: 3 });
      await page.mouse.up();
      const erased = expected.slice();
      for (let y = 29; y <= 31; y++) for (let x = 39; x <= 45; x++) erased[y * 240 + x] = 0;
      assert.deepEqual(
        await page.evaluate(() => (globalThis as unknown as H).h.lastMask()),
        erased,
      );
      await page.locator('.viewer-canvas').focus();
      await page.keyboard.press('Control+z');
      assert.deepEqual(
        await page.evaluate(() => (globalThis as unknown as H).h.lastMask()),
        expected,
      );
      await page.keyboard.press('Control+z');
      assert.deepEqual(
        await page.evaluate(() => (globalThis as unknown as H).h.lastMask()),
        boxMask(240, 160, RING.lesion, RING.holes),
      );
      await page.keyboard.press('Control+Shift+Z');
      assert.deepEqual(
        await page.evaluate(() => (globalThis as unknown as H).h.lastMask()),
        expected,
      );
      await page.keyboard.press('Control+y');
      assert.deepEqual(
        await page.evaluate(() => (globalThis as unknown as H).h.lastMask()),
        erased,
      );
      assert.deepEqual(browser.errors, []);
    } finally {
      await page.close();
    }
  });

  test('painting and zooming on a 3000x2000 mask with every layer: no main-thread task over 100 ms', async (t) => {
    const page = await browser.page();
    try {
      await page.goto(`${server.origin}/index.html`);
      await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
      const openMs = await page.evaluate((s) => (globalThis as unknown as H).h.open(s), LARGE);
      // Every layer shown: the mask filled and outlined, the probability map, the truth.
      await page.getByRole('combobox', { name: 'Mask drawn as' }).selectOption('both');
      await page.getByRole('checkbox', { name: 'Probability' }).check();
      await settle(page);
      // The outline's first computation spreads over frames: wait for it to end.
      await page.waitForFunction(() => (globalThis as unknown as H).viewerUnderTest.outlineFresh);
      // The observer sees a task of 70 ms made on purpose (so a silent observer cannot pass).
      const seen = await page.evaluate(async () => {
        const g = globalThis as unknown as { longest: number; tasks: number };
        g.longest = 0;
        g.tasks = 0;
        new PerformanceObserver((list) => {
          for (const e of list.getEntries()) {
            g.tasks++;
            g.longest = Math.max(g.longest, e.duration);
          }
        }).observe({ type: 'longtask' });
        await new Promise((r) => setTimeout(r, 0));
        const t0 = performance.now();
        while (performance.now() - t0 < 70);
        await new Promise((r) => setTimeout(r, 100));
        const out = { tasks: g.tasks, longest: g.longest };
        g.longest = 0;
        g.tasks = 0;
        return out;
      });
      assert.ok(seen.tasks >= 1 && seen.longest >= 70, `the observer saw ${JSON.stringify(seen)}`);
      await page.keyboard.press('Tab');
      await page.locator('.viewer-canvas').focus();
      await page.keyboard.press('b');
      for (let k = 0; k < 6; k++) await page.keyboard.press(']');
      assert.equal(await page.locator('.viewer').getAttribute('data-brush'), '48');
      // A stroke across the fitted image, then one magnified, then the wheel: a round. A task
      // over 100 ms in every one of up to three rounds fails; a shared machine's other work
      // can stretch one round's task (the least of the rounds' longest tasks is asserted).
      let strokes = 0;
      const rounds: number[] = [];
      for (let round = 0; round < 3 && !rounds.some((ms) => ms < 100); round++) {
        await page.keyboard.press('0');
        await settle(page);
        await page.evaluate(() => {
          const g = globalThis as unknown as { longest: number; tasks: number };
          g.longest = 0;
          g.tasks = 0;
        });
        for (const [from, to, zoom] of [
          [[700, 600], [2300, 1400], 0],
          [[1300, 1000], [1700, 900], 1.5],
        ] as const) {
          if (zoom) {
            await page.evaluate(
              (z) => (globalThis as unknown as H).viewerUnderTest.setZoom(z),
              zoom,
            );
          }
          const a = await screenOf(page, from[0], from[1]);
          const b = await screenOf(page, to[0], to[1]);
          await page.mouse.move(a.x, a.y);
          await page.mouse.down();
          await page.mouse.move(b.x, b.y, { steps: 40 });
          await page.mouse.up();
          strokes++;
          assert.equal(
            await page.evaluate(() => (globalThis as unknown as H).log.masks.length),
            strokes,
            `stroke ${strokes} from ${JSON.stringify(a)} to ${JSON.stringify(b)} gave its mask`,
          );
        }
        const box = (await page.locator('.viewer-canvas').boundingBox())!;
        await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
        for (let k = 0; k < 12; k++) {
          await page.mouse.wheel(0, k < 6 ? -120 : 120);
          await settle(page);
        }
        await page.keyboard.press('0');
        await settle(page);
        await page.waitForFunction(() => (globalThis as unknown as H).viewerUnderTest.outlineFresh);
        const r = await page.evaluate(() => {
          const g = globalThis as unknown as H & { longest: number; tasks: number };
          return { longest: g.longest, tasks: g.tasks, masks: g.log.masks.length };
        });
        t.diagnostic(
          `round ${round + 1}: open ${openMs.toFixed(0)} ms; longest task while painting and ` +
            `zooming ${r.longest.toFixed(0)} ms (${r.tasks} tasks over 50 ms)`,
        );
        assert.equal(r.masks, strokes, 'each stroke, one mask');
        rounds.push(r.longest);
      }
      assert.ok(
        rounds.some((ms) => ms < 100),
        `longest task of each round: ${rounds.map((ms) => ms.toFixed(0)).join(', ')} ms`,
      );
      assert.deepEqual(browser.errors, []);
    } finally {
      await page.close();
    }
  });

  test('zoom and pan: wheel and ctrl+wheel around the cursor, pinch, keys, buttons, drag', async () => {
    const page = await openPage(BASE);
    try {
      const o = await canvasOrigin(page);
      /** The image point under page point p. */
      const under = async (p: { x: number; y: number }) => {
        const v = await viewState(page);
        return { x: (p.x - o.x - v.x) / v.zoom, y: (p.y - o.y - v.y) / v.zoom };
      };
      const close = (a: { x: number; y: number }, b: { x: number; y: number }, what: string) =>
        assert.ok(
          Math.abs(a.x - b.x) < 1e-6 && Math.abs(a.y - b.y) < 1e-6,
          `${what}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`,
        );
      const fit = (await viewState(page)).zoom;
      // The wheel's deltas as the page gets them (Chromium scales a notch by its settings).
      await page.evaluate(() => {
        const g = globalThis as unknown as { wheel: number[] };
        g.wheel = [];
        addEventListener('wheel', (e) => g.wheel.push(e.deltaY), { capture: true });
      });
      const deltas = () =>
        page.evaluate(() => {
          const g = globalThis as unknown as { wheel: number[] };
          const sum = g.wheel.reduce((a, b) => a + b, 0);
          g.wheel = [];
          return sum;
        });
      // (Chromium gives pointer events whole CSS pixels: the test moves to whole ones.)
      const near50 = await screenOf(page, 50, 40);
      const s = { x: Math.round(near50.x), y: Math.round(near50.y) };
      const point = await under(s);
      await page.mouse.move(s.x, s.y);
      await settle(page);
      assert.equal((await viewState(page)).zoom, fit, 'the read-out does not move the layout');
      await page.mouse.wheel(0, -120);
      await settle(page);
      let v = await viewState(page);
      const d1 = await deltas();
      assert.ok(d1 < 0, 'the wheel turned towards the reader');
      // A wheel of delta d pixels zooms by exp(-d * 0.002).
      assert.ok(
        Math.abs(v.zoom / fit - Math.exp(-d1 * 0.002)) < 1e-9,
        `wheel zoom ${v.zoom} / ${fit} for delta ${d1}`,
      );
      close(await under(s), point, 'the point under the wheel stays');
      await page.keyboard.down('Control');
      await page.mouse.wheel(0, -10);
      await page.keyboard.up('Control');
      await settle(page);
      const z2 = (await viewState(page)).zoom;
      const d2 = await deltas();
      // ctrl+wheel (a trackpad's pinch): exp(-d * 0.01).
      assert.ok(Math.abs(z2 / v.zoom - Math.exp(-d2 * 0.01)) < 1e-9, 'ctrl+wheel zoom');
      close(await under(s), point, 'the point under ctrl+wheel stays');

      // Keys on the focused canvas, then the buttons.
      await page.locator('.viewer-canvas').focus();
      await page.keyboard.press('+');
      assert.ok(Math.abs((await viewState(page)).zoom / z2 - 1.25) < 1e-9, '+ zooms in');
      await page.keyboard.press('-');
      assert.ok(Math.abs((await viewState(page)).zoom / z2 - 1) < 1e-9, '- zooms out');
      await page.keyboard.press('0');
      assert.equal((await viewState(page)).zoom, fit, '0 fits');
      await page.getByRole('button', { name: 'Zoom in' }).click();
      assert.ok(Math.abs((await viewState(page)).zoom / fit - 1.25) < 1e-9, 'the Zoom in button');
      await page.getByRole('button', { name: 'Zoom out' }).click();
      await page.getByRole('button', { name: 'Zoom in' }).click();
      await page.getByRole('button', { name: 'Fit to the window' }).click();
      assert.equal((await viewState(page)).zoom, fit, 'the Fit button');

      // Arrow keys pan with the hand tool (48 CSS pixels; four times with Shift).
      await page.locator('.viewer-canvas').focus();
      v = await viewState(page);
      await page.keyboard.press('ArrowLeft');
      await page.keyboard.press('Shift+ArrowUp');
      const panned = await viewState(page);
      assert.deepEqual([panned.x - v.x, panned.y - v.y], [48, 192]);
      // A drag with the hand tool moves the image with the pointer.
      await page.mouse.move(o.x + 300, o.y + 300);
      await page.mouse.down();
      await page.mouse.move(o.x + 330, o.y + 320, { steps: 3 });
      await page.mouse.up();
      const dragged = await viewState(page);
      assert.deepEqual([dragged.x - panned.x, dragged.y - panned.y, dragged.zoom], [30, 20, fit]);

      /** Two touches `from` px either side of `m` (canvas CSS pixels) move to `to` px. */
      const pinch = (m: { x: number; y: number }, from: number, to: number) =>
        page.evaluate(
          ([m, from, to]) => {
            const c = document.querySelector('.viewer-canvas')!;
            const r = c.getBoundingClientRect();
            const send = (type: string, id: number, x: number) =>
              c.dispatchEvent(
                new PointerEvent(type, {
                  pointerId: id,
                  pointerType: 'touch',
                  clientX: r.left + x,
                  clientY: r.top + m.y,
                  button: 0,
                  buttons: 1,
                  bubbles: true,
                }),
              );
            send('pointerdown', 11, m.x - from);
            send('pointerdown', 12, m.x + from);
            send('pointermove', 11, m.x - to);
            send('pointermove', 12, m.x + to);
            send('pointerup', 11, m.x - to);
            send('pointerup', 12, m.x + to);
          },
          [m, from, to] as const,
        );
      // A pinch: two touches 100 px apart move to 400 px apart around the same middle.
      const mid = { x: 400, y: 300 };
      const before = await under({ x: o.x + mid.x, y: o.y + mid.y });
      await pinch(mid, 50, 200);
      const pinched = await viewState(page);
      assert.ok(Math.abs(pinched.zoom / fit - 4) < 1e-9, `pinch zoom ${pinched.zoom / fit}`);
      close(await under({ x: o.x + mid.x, y: o.y + mid.y }), before, 'the pinch keeps its middle');
      // With the brush, the first finger's dab is taken back when the second comes.
      await page.locator('.viewer-canvas').focus();
      await page.keyboard.press('0');
      await page.keyboard.press('b');
      const area = await page.evaluate(() => (globalThis as unknown as H).viewerUnderTest.area);
      await pinch(mid, 50, 100);
      const after = await page.evaluate(() => {
        const g = globalThis as unknown as H;
        return { area: g.viewerUnderTest.area, masks: g.log.masks.length };
      });
      assert.deepEqual(after, { area, masks: 0 }, 'a pinch with the brush paints nothing');
      assert.ok((await viewState(page)).zoom / fit > 1.9, 'and zooms');
      assert.deepEqual(browser.errors, []);
    } finally {
      await page.close();
    }
  });

  test('layers toggle and blend; legend and colour bar; the read-out; screenshot', async () => {
    const page = await openPage(BASE);
    try {
      const pixel = (ix: number, iy: number) => canvasRgb(page, ix, iy);
      const near = (a: number[], b: number[], what: string) =>
        assert.ok(
          a.every((x, i) => Math.abs(x - b[i]) <= 2),
          `${what}: ${a.join(',')} vs ${b.join(',')}`,
        );
      const legend = () => page.locator('.viewer-legend li').allTextContents();
      const g = greyAt(200, 130);
      assert.equal(g, 218);
      assert.deepEqual(await pixel(200, 130), [g, g, g], 'the image alone, magnified: exact');
      assert.deepEqual(await legend(), [
        'Image (grey)',
        'Mask (outline)',
        'Ground truth (outline)',
      ]);
      assert.equal(await page.locator('.viewer-colourbar').isVisible(), false);

      // The probability at (200, 130): the recipe's nearest rule from 16x24 to 160x240 reads
      // row floor(130 / 10) = 13, column floor(200 / 10) = 20: (13 * 24 + 20) / 383.
      await page.getByRole('checkbox', { name: 'Probability' }).check();
      const p = (13 * 24 + 20) / 383;
      const vi = Math.round(p * 255) * 3;
      const heat = [VIRIDIS[vi], VIRIDIS[vi + 1], VIRIDIS[vi + 2]];
      near(
        await pixel(200, 130),
        heat.map((h) => 0.5 * h + 0.5 * g),
        'probability at 50%',
      );
      await page.getByRole('checkbox', { name: 'Image' }).uncheck();
      near(
        await pixel(200, 130),
        heat.map((h, i) => 0.5 * h + 0.5 * BACKGROUND[i]),
        'probability alone',
      );
      await page.getByRole('checkbox', { name: 'Image' }).check();
      assert.ok((await legend()).includes('Probability (0 to 1)'));
      assert.equal(await page.locator('.viewer-colourbar').isVisible(), true);
      assert.deepEqual(await page.locator('.viewer-ticks span').allTextContents(), [
        '0',
        '0.25',
        '0.5',
        '0.75',
        '1',
      ]);
      await page.getByRole('checkbox', { name: 'Attention: gate 1' }).check();
      assert.ok((await legend()).includes('Attention: gate 1 (0 to 1)'));
      await page.getByRole('checkbox', { name: 'Probability' }).uncheck();
      await page.getByRole('checkbox', { name: 'Attention: gate 1' }).uncheck();
      assert.equal(await page.locator('.viewer-colourbar').isVisible(), false);

      // The mask as a fill at 40% over the ring's band (62, 70); off with M; the truth off.
      await page.getByRole('combobox', { name: 'Mask drawn as' }).selectOption('fill');
      const g2 = greyAt(62, 70);
      near(
        await pixel(62, 70),
        MASK_RGB.map((m) => 0.4 * m + 0.6 * g2),
        'fill at 40%',
      );
      assert.ok((await legend()).includes('Mask (fill)'));
      await page.locator('.viewer-canvas').focus();
      await page.keyboard.press('m');
      assert.deepEqual(await pixel(62, 70), [g2, g2, g2], 'M hides the mask');
      assert.equal(
        await page.getByRole('checkbox', { name: 'Mask', exact: true }).isChecked(),
        false,
      );
      await page.keyboard.press('m');
      await page.getByRole('checkbox', { name: 'Ground truth' }).uncheck();
      assert.ok(!(await legend()).some((l) => l.startsWith('Ground truth')));
      await page.getByRole('combobox', { name: 'Mask drawn as' }).selectOption('outline');
      await page.getByRole('checkbox', { name: 'Ground truth' }).check();

      // The read-out under the pointer: (57, 33) is grey 3 * 57 + 33 = 204; the probability
      // reads row floor(3.3) = 3, column floor(5.7) = 5: 77 / 383 = 0.201; outside the mask.
      const at = await screenOf(page, 57.5, 33.5);
      await page.mouse.move(at.x, at.y);
      assert.equal(
        await page.locator('.viewer-readout').textContent(),
        'x 57, y 33 · grey 204 · probability 0.201 · mask 0 · truth 0',
      );
      const ring = await screenOf(page, 65.5, 50.5);
      await page.mouse.move(ring.x, ring.y);
      assert.equal(
        await page.locator('.viewer-readout').textContent(),
        `x 65, y 50 · grey ${greyAt(65, 50)} · probability ${((5 * 24 + 6) / 383).toFixed(
          3,
        )} · mask 1 · truth 1`,
      );
      assert.deepEqual(browser.errors, []);
    } finally {
      await page.close();
    }
  });

  for (const dpr of [1, 2]) {
    test(`outlines are crisp and unbroken at 37% and 430% (device pixel ratio ${dpr})`, async () => {
      const page = await browser.page();
      try {
        const cdp = await page.context().newCDPSession(page);
        await cdp.send('Emulation.setDeviceMetricsOverride', {
          ...VIEWPORT,
          deviceScaleFactor: dpr,
          mobile: false,
        });
        await page.goto(`${server.origin}/index.html`);
        await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
        await page.evaluate((s) => (globalThis as unknown as H).h.open(s), BASE);
        await settle(page);
        for (const zoom of [0.37, 4.3]) {
          await page.evaluate(
            (z) => (globalThis as unknown as H).viewerUnderTest.setZoom(z, { x: 60, y: 70 }),
            zoom,
          );
          await settle(page);
          // The ring's left side: the vertical boundary x = 60 from y = 40 to y = 100. Its
          // line is 2 device pixels wide, centred on round(dpr * (60 * zoom + x)): the column
          // left of that centre is the outline's colour along the whole side.
          const r = await page.evaluate(
            ([ratio]) => {
              const c = document.querySelector<HTMLCanvasElement>('.viewer-canvas')!;
              const v = (globalThis as unknown as H).viewerUnderTest.viewState;
              const X = Math.round(ratio * (60 * v.zoom + v.x));
              const Y0 = Math.round(ratio * (40 * v.zoom + v.y));
              const Y1 = Math.round(ratio * (100 * v.zoom + v.y));
              const d = c.getContext('2d')!.getImageData(X - 1, Y0, 1, Y1 - Y0).data;
              const col: number[][] = [];
              for (let k = 0; k < d.length; k += 4) col.push([d[k], d[k + 1], d[k + 2]]);
              const beside = c.getContext('2d')!.getImageData(X - 3, Y0 + 2, 1, 1).data;
              return {
                col,
                beside: [...beside.slice(0, 3)],
                width: c.width,
                cssWidth: c.clientWidth,
              };
            },
            [dpr],
          );
          assert.equal(r.width, Math.round(r.cssWidth * dpr), 'the canvas has device pixels');
          assert.ok(r.col.length >= Math.floor(60 * zoom * dpr) - 1, `${r.col.length} rows`);
          const off = r.col
            .map((c, k) => [k, c] as const)
            .filter(([, c]) => c.join() !== MASK_RGB.join());
          assert.deepEqual(off, [], `zoom ${zoom}: every pixel of the side is the outline's`);
          assert.notDeepEqual(r.beside, MASK_RGB, 'and the line is no wider than 2 pixels');
        }
        assert.deepEqual(browser.errors, []);
      } finally {
        await page.close();
      }
    });
  }

  test('a mask corrected with the keyboard alone: brush, eraser, fill, undo, redo, reset, accept; screenshot', async () => {
    const page = await openPage(BASE);
    try {
      const mask = () => page.evaluate(() => (globalThis as unknown as H).h.lastMask());
      const attr = (name: string) => page.locator('.viewer').getAttribute(`data-${name}`);
      // Tab reaches the canvas; its focus is visible.
      let onCanvas = false;
      for (let k = 0; k < 60 && !onCanvas; k++) {
        await page.keyboard.press('Tab');
        onCanvas = await page.evaluate(
          () => document.activeElement?.classList.contains('viewer-canvas') ?? false,
        );
      }
      assert.ok(onCanvas, 'Tab reaches the canvas');
      const outline = await page.evaluate(() => {
        const s = getComputedStyle(document.activeElement!);
        return `${s.outlineStyle} ${s.outlineWidth}`;
      });
      assert.equal(outline, 'solid 3px', 'the focused canvas shows its focus');
      const keys = (await page.locator('.viewer-canvas').getAttribute('aria-keyshortcuts'))!;
      for (const k of ['B', 'E', 'F', '[', ']', 'Space', 'Enter', 'Control+Z', 'Control+Y']) {
        assert.ok(keys.split(' ').includes(k), `aria-keyshortcuts names ${k}`);
      }
      assert.match(
        (await page.locator('.viewer-help').textContent())!,
        /B brush, E eraser, F fill/,
      );

      // Brush of size 1 at the cursor (it starts at the image's centre, (120, 80)).
      await page.keyboard.press('b');
      assert.equal(await attr('tool'), 'brush');
      for (let k = 0; k < 12; k++) await page.keyboard.press('[');
      assert.equal(await attr('brush'), '1');
      await page.keyboard.press('Space');
      for (let k = 0; k < 2; k++) await page.keyboard.press('ArrowRight');
      await page.keyboard.press('Enter');
      // Space held while the cursor moves draws a line, one step: (122, 81) to (122, 84).
      await page.keyboard.press('ArrowDown');
      await page.keyboard.down(' ');
      for (let k = 0; k < 3; k++) await page.keyboard.press('ArrowDown');
      assert.equal(await page.evaluate(() => (globalThis as unknown as H).log.masks.length), 2);
      await page.keyboard.up(' ');
      assert.equal(await page.evaluate(() => (globalThis as unknown as H).log.masks.length), 3);
      for (let k = 0; k < 4; k++) await page.keyboard.press('ArrowUp');
      // The eraser at (117, 80), in the ring's band.
      await page.keyboard.press('e');
      for (let k = 0; k < 5; k++) await page.keyboard.press('ArrowLeft');
      assert.equal(await attr('cursor'), '117,80');
      await page.keyboard.press('Space');
      const painted = boxMask(240, 160, RING.lesion, RING.holes);
      painted[80 * 240 + 120] = 1;
      painted[80 * 240 + 122] = 1;
      painted[80 * 240 + 117] = 0;
      for (let y = 81; y <= 84; y++) painted[y * 240 + 122] = 1;
      assert.deepEqual(await mask(), painted);
      // Fill inside the ring (Shift+arrow moves 10 pixels): the inside [66, 114) x [46, 94).
      await page.keyboard.press('f');
      await page.keyboard.press('Shift+ArrowLeft');
      assert.equal(await attr('cursor'), '107,80');
      await page.keyboard.press('Enter');
      const filled = painted.slice();
      for (let y = 46; y < 94; y++) for (let x = 66; x < 114; x++) filled[y * 240 + x] = 1;
      assert.deepEqual(await mask(), filled);
      assert.equal(await page.locator('.viewer-message').textContent(), 'Filled 2304 pixels.');
      // Outside the ring the region reaches the border: refused, nothing changes.
      for (let k = 0; k < 5; k++) await page.keyboard.press('Shift+ArrowUp');
      assert.equal(await attr('cursor'), '107,30');
      await page.keyboard.press('Enter');
      assert.match(
        (await page.locator('.viewer-message').textContent())!,
        /^Not filled: this region reaches the image’s border/,
      );
      const log = () => page.evaluate(() => (globalThis as unknown as H).log.statuses);
      assert.equal(await page.evaluate(() => (globalThis as unknown as H).log.masks.length), 5);
      assert.deepEqual(await log(), ['corrected']);

      // Undo the fill, redo it (Ctrl+Y).
      await page.keyboard.press('Control+z');
      assert.deepEqual(await mask(), painted);
      await page.keyboard.press('Control+y');
      assert.deepEqual(await mask(), filled);
      await page.keyboard.press('b');
      await page.keyboard.press('+');
      await page.keyboard.press('+');
      await settle(page);

      // Reset to the model's mask from its button, by Tab; then undo the reset.
      let onReset = false;
      for (let k = 0; k < 60 && !onReset; k++) {
        await page.keyboard.press('Shift+Tab');
        onReset = await page.evaluate(
          () => document.activeElement?.getAttribute('aria-label') === "Reset to the model's mask",
        );
      }
      assert.ok(onReset, 'Shift+Tab reaches the reset button');
      await page.keyboard.press('Enter');
      assert.deepEqual(await mask(), boxMask(240, 160, RING.lesion, RING.holes));
      assert.equal(await attr('status'), 'unreviewed');
      await page.keyboard.press('Control+z');
      assert.deepEqual(await mask(), filled);
      await page.keyboard.press('a');
      assert.deepEqual(await log(), ['corrected', 'unreviewed', 'corrected', 'accepted']);
      const area = filled.reduce((a, b) => a + b, 0);
      assert.match(
        (await page.locator('.viewer-canvas').getAttribute('aria-label'))!,
        new RegExp(
          `^lesion\\.png, 240x160 pixels, zoom \\d+%, lesion area ${area} pixels \\(${((100 * area) / 38400).toFixed(2)}%\\), status accepted$`,
        ),
      );
      assert.equal(await page.locator('.viewer-status').textContent(), 'Status: accepted');
      assert.deepEqual(browser.errors, []);
    } finally {
      await page.close();
    }
  });

  test('axe-core finds nothing; close drops the image; the Close button tells the owner', async () => {
    const page = await openPage({
      ...BASE,
      width: 600,
      height: 400,
      skin: true,
      lesion: [],
      holes: [],
      truth: undefined,
      probabilities: [96, 128],
    });
    try {
      await page.getByRole('checkbox', { name: 'Probability' }).check();
      const at = await screenOf(page, 300.5, 200.5);
      await page.mouse.move(at.x, at.y);
      await settle(page);
      assert.match(
        (await page.locator('.viewer-readout').textContent())!,
        /^x 300, y 200 · R,G,B \d+, \d+, \d+ · probability /,
      );
      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'viewer.png') });
      // The correction tools: the mask filled and outlined, a stroke of the brush (size 24)
      // added to the lesion, the brush's circle under the pointer.
      await page.getByRole('checkbox', { name: 'Probability' }).uncheck();
      await page.getByRole('combobox', { name: 'Mask drawn as' }).selectOption('both');
      await page.locator('button[data-tool="brush"]').click();
      await page.locator('.viewer input[aria-keyshortcuts="[ ]"]').fill('24');
      const from = await screenOf(page, 390, 170);
      const to = await screenOf(page, 430, 250);
      await page.mouse.move(from.x, from.y);
      await page.mouse.down();
      await page.mouse.move(to.x, to.y, { steps: 10 });
      await page.mouse.up();
      const hover = await screenOf(page, 445, 290);
      await page.mouse.move(hover.x, hover.y);
      await settle(page);
      assert.equal(await page.locator('.viewer-status').textContent(), 'Status: corrected');
      await page.screenshot({ path: path.join(ARTIFACTS, 'correction.png') });
      await page.addScriptTag({ url: '/axe.js' });
      const axe = () =>
        page.evaluate(async () => {
          const axe = (
            globalThis as unknown as {
              axe: {
                run: (
                  c: unknown,
                  o: unknown,
                ) => Promise<{ violations: { id: string; nodes: { html: string }[] }[] }>;
              };
            }
          ).axe;
          const r = await axe.run(document, {
            runOnly: {
              type: 'tag',
              values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'],
            },
          });
          return r.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.html).join(' | ')}`);
        });
      assert.deepEqual(await axe(), [], 'a colour image with its probability map');
      await page.evaluate((s) => (globalThis as unknown as H).h.open(s), BASE);
      await page.locator('.viewer-canvas').focus();
      await page.keyboard.press('b');
      await settle(page);
      assert.deepEqual(await axe(), [], 'a grey image (window/level shown), the brush chosen');
      const closed = await page.evaluate(() => {
        const g = globalThis as unknown as H;
        g.viewerUnderTest.close();
        const c = document.querySelector<HTMLCanvasElement>('.viewer-canvas')!;
        return {
          mask: g.viewerUnderTest.mask === undefined,
          hidden: document.querySelector<HTMLElement>('.viewer')!.hidden,
          canvas: c.width * c.height,
        };
      });
      assert.deepEqual(closed, { mask: true, hidden: true, canvas: 0 });
      await page.evaluate((s) => (globalThis as unknown as H).h.open(s), BASE);
      await page.getByRole('button', { name: 'Close the viewer' }).click();
      assert.equal(await page.evaluate(() => (globalThis as unknown as H).log.closed), 1);
      assert.equal(await page.locator('.viewer').isHidden(), true);
      assert.deepEqual(browser.errors, []);
    } finally {
      await page.close();
    }
  });

  test('window/level of a grey image: sliders, keys, reset', async () => {
    const page = await openPage(BASE);
    try {
      const grey = async (ix: number, iy: number) => (await canvasRgb(page, ix, iy))[0];
      // Pixel (0, 20) is grey 20; (200, 130) is 218.
      assert.deepEqual([await grey(0, 20), await grey(200, 130)], [20, 218]);
      await page.getByLabel('Contrast (window)').fill('100');
      await page.getByLabel('Brightness (level)').fill('50');
      // Window 100 at level 50: (v - 0) * 255 / 100: 20 -> 51, 218 -> 255 (clamped).
      assert.deepEqual([await grey(0, 20), await grey(200, 130)], [51, 255]);
      await page.locator('.viewer-canvas').focus();
      await page.keyboard.press('l');
      // Level 55: (20 - 5) * 2.55 = 38.25 -> 38.
      assert.equal(await grey(0, 20), 38);
      await page.keyboard.press('Shift+W');
      // Window 90 at level 55: (20 - 10) * 255 / 90 = 28.3 -> 28.
      assert.equal(await grey(0, 20), 28);
      assert.ok(
        (await page.locator('.viewer-legend li').allTextContents()).includes(
          'Image (grey, window 90, level 55)',
        ),
      );
      await page.getByRole('button', { name: /^Reset contrast/ }).click();
      assert.deepEqual([await grey(0, 20), await grey(200, 130)], [20, 218]);
      assert.equal(await page.getByLabel('Contrast (window)').inputValue(), '255');
      assert.deepEqual(browser.errors, []);
    } finally {
      await page.close();
    }
  });
});
