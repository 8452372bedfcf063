/**
 * The workbench's store (src/webapp/store.ts) in Chromium, on a harness page that bundles
 * store.ts alone: images with their Blobs and Float32Arrays come back byte for byte after a
 * reload, in the order added, with the session; a put that resolved survives the tab closed
 * right after it and the renderer crashing right after it; clear() removes everything and the
 * storage estimate falls; a full quota, a browser that keeps no data, and a newer version of
 * the page in another tab each give their one-sentence message, and the page goes on with
 * `memoryStore`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { WorkStore } from '../../src/webapp/store.js';
import type { WorkImage } from '../../src/webapp/work.js';
import { launchChromium, sameOrigin } from '../chromium.js';
import { startHarness, type Harness } from './harness.js';

/**
 * Code run in the page (a string, so that its helpers exist there): `store` is the bundle;
 * `image(k, bytes)` a WorkImage whose file, masks and probabilities are made from k;
 * `digest(image)` the SHA-256 of every Blob and array of an image, to compare across reloads.
 */
const HELPERS = `
globalThis.image = (k, fileBytes = 64, values = 16) => {
  const fill = (n, seed) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 17) & 255);
  const probabilities = Float32Array.from({ length: values }, (_, i) => ((i + k) % 32) / 32);
  return {
    id: 'img-' + k, name: 'scan ' + k + '.png', stem: 'scan ' + k,
    file: new Blob([fill(fileBytes, k)], { type: 'image/png' }),
    width: 4, height: 4, channels: 1,
    prediction: { probabilities, inputSize: [4, 4], engine: 'tfjs-cpu',
      attention: [{ gate: 'g1', data: Float32Array.from([k, 1, 2, 3]), height: 2, width: 2 }] },
    settings: { threshold: 0.5, keepLargest: false, minSize: 0, tta: 'none' },
    modelMask: { png: new Blob([fill(20, k + 1)], { type: 'image/png' }), pixels: k },
    correction: k % 2 ? { png: new Blob([fill(30, k + 2)], { type: 'image/png' }), pixels: k + 1 } : undefined,
    status: k % 2 ? 'corrected' : 'unreviewed', notes: ['note ' + k], added: 1000 - k,
  };
};
globalThis.digest = async (img) => {
  const hex = async (data) => [...new Uint8Array(await crypto.subtle.digest('SHA-256', data))]
    .map((b) => b.toString(16).padStart(2, '0')).join('').slice(0, 16);
  const blob = async (b) => (b ? [b.constructor.name, b.type, await hex(await b.arrayBuffer())] : null);
  return {
    id: img.id, name: img.name, status: img.status, added: img.added, notes: img.notes,
    file: await blob(img.file), model: await blob(img.modelMask?.png), pixels: img.modelMask?.pixels,
    correction: await blob(img.correction?.png),
    probabilities: [img.prediction.probabilities.constructor.name, [...img.prediction.probabilities]],
    gate: [img.prediction.attention[0].data.constructor.name, [...img.prediction.attention[0].data]],
  };
};
`;

/** What the harness page holds (see HELPERS); for the types of the code run in it. */
interface PageGlobals {
  store: typeof import('../../src/webapp/store.js');
  image(k: number, fileBytes?: number, values?: number): WorkImage;
  digest(image: WorkImage): Promise<unknown>;
  /** A store a test keeps open across calls. */
  held: WorkStore;
}

let h: Harness;

before(async () => {
  h = await startHarness('ftunet-store-', {
    bundles: { 'store.js': 'dist/src/webapp/store.js' },
    script: `import * as store from './store.js'; globalThis.store = store;\n${HELPERS}`,
  });
});

after(async () => {
  await h?.close();
});

const open = (): Promise<Page> => h.open();

/** What `db`'s images are (digests, in the order `all` gives) and its session value 'open'. */
async function contents(page: Page, db: string): Promise<{ images: unknown[]; open: unknown }> {
  return page.evaluate(async (name) => {
    const g = globalThis as unknown as PageGlobals;
    const s = await g.store.openStore(name);
    const images = await Promise.all((await s.all()).map((i) => g.digest(i)));
    const open = await s.getSession('open');
    s.close();
    return { images, open };
  }, db);
}

describe('the workbench store in Chromium', () => {
  test('images come back byte for byte after a reload, in the order added, with the session', async () => {
    const page = await open();
    try {
      const expected = await page.evaluate(async () => {
        const g = globalThis as unknown as PageGlobals;
        const s = await g.store.openStore('reload');
        const images = [1, 2, 3].map((k) => g.image(k));
        for (const i of images) await s.put(i);
        await s.put({ ...images[0], status: 'accepted' }); // a change replaces the image
        images[0] = { ...images[0], status: 'accepted' };
        await s.putSession('open', { id: 'img-2', zoom: 2 });
        s.close();
        // added is 1000 - k: the order added is 3, 2, 1.
        return Promise.all([images[2], images[1], images[0]].map((i) => g.digest(i)));
      });
      await page.reload();
      await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
      const got = await contents(page, 'reload');
      assert.deepEqual(got.images, expected);
      assert.equal(got.images.length, 3);
      assert.deepEqual(got.open, { id: 'img-2', zoom: 2 });
      assert.deepEqual(
        (got.images[0] as { probabilities: [string, number[]] }).probabilities[0],
        'Float32Array',
      );
      assert.deepEqual(h.browser.errors, []);
    } finally {
      await page.close();
    }
  });

  test('a put that resolved survives closing the tab and a renderer crash right after it', async () => {
    for (const ending of ['close', 'crash'] as const) {
      const page = await open();
      const db = `abrupt-${ending}`;
      const expected = await page.evaluate(async (name) => {
        const g = globalThis as unknown as PageGlobals;
        const s = await g.store.openStore(name);
        const image = g.image(7, 1 << 20);
        await s.put(image);
        return g.digest(image);
      }, db);
      if (ending === 'close') {
        await page.close({ runBeforeUnload: false });
      } else {
        const cdp = await h.browser.context.newCDPSession(page);
        void cdp.send('Page.crash').catch(() => undefined);
        await page.waitForEvent('crash');
        await page.close();
      }
      const again = await open();
      try {
        const got = await contents(again, db);
        assert.deepEqual(got.images, [expected], ending);
      } finally {
        await again.close();
      }
    }
    h.browser.errors.length = 0; // the crashed page's own report
  });

  test('clear() removes every image and session value, and the storage estimate falls', async () => {
    const page = await open();
    try {
      const r = await page.evaluate(async () => {
        const g = globalThis as unknown as PageGlobals;
        const usage = async () => (await navigator.storage.estimate()).usage ?? 0;
        const s = await g.store.openStore('clear');
        const start = await usage();
        for (let k = 0; k < 4; k++) await s.put(g.image(k, 2 << 20)); // 8 MiB of files
        await s.putSession('open', 'img-1');
        const full = await usage();
        await s.clear();
        const images = (await s.all()).length;
        const open = await s.getSession('open');
        s.close();
        return { start, full, cleared: await usage(), images, open };
      });
      assert.equal(r.images, 0);
      assert.equal(r.open, undefined);
      assert.ok(r.full - r.start >= 8 << 20, `8 MiB stored: ${JSON.stringify(r)}`);
      // All but a few kilobytes of the database's own bookkeeping.
      const stored = r.full - r.start;
      assert.ok(r.full - r.cleared >= 0.99 * stored, `given back: ${JSON.stringify(r)}`);
    } finally {
      await page.close();
    }
  });

  test('a full quota rejects with its message; the page goes on in memory', async () => {
    // A fresh profile: in one that had held and cleared 8 MiB, Chromium 156 let the 4 MiB
    // put pass the override.
    const fresh = await launchChromium(sameOrigin(h.server.origin));
    const page = await h.open(fresh);
    const cdp = await fresh.context.newCDPSession(page);
    try {
      await cdp.send('Storage.overrideQuotaForOrigin', {
        origin: h.server.origin,
        quotaSize: 1 << 20,
      });
      const r = await page.evaluate(async () => {
        const g = globalThis as unknown as PageGlobals;
        const s = await g.store.openStore('quota');
        await s.put(g.image(1, 1000)); // small: fits
        let error: { name: string; problem: string; message: string } | undefined;
        try {
          await s.put(g.image(2, 4 << 20)); // a 4 MiB file
        } catch (e) {
          const err = e as InstanceType<PageGlobals['store']['StoreError']>;
          error = { name: err.name, problem: err.problem, message: err.message };
        }
        const kept = (await s.all()).map((i) => i.id);
        s.close();
        const memory = g.store.memoryStore();
        await memory.put(g.image(2, 4 << 20));
        return {
          error,
          kept,
          inMemory: (await memory.all()).length,
          persistent: memory.persistent,
        };
      });
      assert.deepEqual(r.error, {
        name: 'StoreError',
        problem: 'quota',
        message:
          "The browser's storage for this page is full, so the last change was not saved: " +
          'export your work as a zip, then remove some images or clear the workbench.',
      });
      assert.deepEqual(r.kept, ['img-1'], 'the earlier work is kept');
      assert.deepEqual([r.inMemory, r.persistent], [1, false]);
      assert.deepEqual(fresh.errors, []);
    } finally {
      await fresh.close();
    }
  });

  test('persistStorage says what the browser decided', async () => {
    const page = await open();
    try {
      const r = await page.evaluate(async () => {
        const g = globalThis as unknown as PageGlobals;
        const asked = await g.store.persistStorage();
        return { asked, persisted: await navigator.storage.persisted() };
      });
      assert.equal(typeof r.asked, 'boolean');
      assert.equal(r.asked, r.persisted, "its answer is the browser's state afterwards");
    } finally {
      await page.close();
    }
  });

  test('no IndexedDB, and a newer version of the page in another tab: their messages', async () => {
    const page = await open();
    const other = await open();
    try {
      const unavailable = await page.evaluate(async () => {
        const g = globalThis as unknown as PageGlobals;
        const saved = Object.getOwnPropertyDescriptor(globalThis, 'indexedDB')!;
        Object.defineProperty(globalThis, 'indexedDB', { value: undefined, configurable: true });
        try {
          await g.store.openStore('none');
          return 'opened';
        } catch (e) {
          return `${(e as { problem: string }).problem}: ${(e as Error).message}`;
        } finally {
          Object.defineProperty(globalThis, 'indexedDB', saved);
        }
      });
      assert.equal(
        unavailable,
        'unavailable: This browser does not let the page keep data (a private window, or site ' +
          'data turned off), so your work is not saved: export it as a zip before you close ' +
          'the page.',
      );
      await page.evaluate(async () => {
        const g = globalThis as unknown as PageGlobals;
        g.held = await g.store.openStore('versions');
      });
      // Another tab opens the database at version 2, as a newer page would: this one lets it.
      await other.evaluate(
        () =>
          new Promise<void>((resolve, reject) => {
            const req = indexedDB.open('versions', 2);
            req.onsuccess = () => {
              req.result.close();
              resolve();
            };
            req.onerror = () => reject(new Error(String(req.error)));
            req.onblocked = () => reject(new Error('blocked'));
          }),
      );
      const messages = await page.evaluate(async () => {
        const g = globalThis as unknown as PageGlobals;
        const problem = async (p: Promise<unknown>) =>
          p.then(
            () => 'saved',
            (e: { problem: string; message: string }) => `${e.problem}: ${e.message}`,
          );
        return [
          await problem(g.held.put(g.image(1))),
          await problem(g.store.openStore('versions')),
        ];
      });
      assert.deepEqual(messages, [
        'closed: The workbench was opened by a newer version of this page in another tab, so ' +
          'this tab no longer saves: reload it.',
        'newer: The workbench was saved by a newer version of this page: reload the page to get it.',
      ]);
      assert.deepEqual(h.browser.errors, []);
    } finally {
      await other.close();
      await page.close();
    }
  });
});
