/**
 * A harness page for testing a few browser modules on their own in Chromium: each module (or
 * a script given as text) bundled with the web app's bundle options, a page whose module
 * script runs `script` and then sets `body[data-ready="true"]`, other files beside it, served
 * by src/app/serve.ts.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { serveStatic, type StaticServer } from '../../src/app/serve.js';
import { BROWSER_BUNDLE } from '../../scripts/build_app.js';
import { launchChromium, sameOrigin, type TestBrowser } from '../chromium.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';

/** The repository's root (tests run from dist/test/). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface HarnessOptions {
  /** Output file name to its source: a compiled module under dist/ (`dist/src/webapp/x.js`) or `{ contents }`, a script resolved from the repository's root. */
  bundles: Record<string, string | { contents: string }>;
  /** The page's module script (it may import the bundles as `./NAME`). */
  script: string;
  /** Other files served beside the page. */
  files?: Record<string, Uint8Array | string>;
}

export interface Harness {
  root: string;
  server: StaticServer;
  browser: TestBrowser;
  /** A new page of `b` (default: the harness's browser) at the harness page, ready. */
  open(b?: TestBrowser): Promise<Page>;
  close(): Promise<void>;
}

export async function startHarness(prefix: string, options: HarnessOptions): Promise<Harness> {
  const root = await makeTemp(prefix);
  for (const [name, source] of Object.entries(options.bundles)) {
    await build({
      ...BROWSER_BUNDLE,
      ...(typeof source === 'string'
        ? { entryPoints: [path.join(ROOT, source)] }
        : { stdin: { contents: source.contents, resolveDir: ROOT, loader: 'js' } }),
      outfile: path.join(root, name),
    });
  }
  await writeFile(
    path.join(root, 'index.html'),
    '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>harness</title>' +
      `<script type="module">${options.script}\ndocument.body.dataset.ready = "true";</script>` +
      '<body></body>',
  );
  for (const [name, data] of Object.entries(options.files ?? {})) {
    await writeFile(path.join(root, name), data);
  }
  const server = await serveStatic({ mounts: { '/': root } });
  const browser = await launchChromium(sameOrigin(server.origin));
  return {
    root,
    server,
    browser,
    open: async (b = browser) => {
      const page = await b.page();
      await page.goto(`${server.origin}/index.html`);
      await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
      return page;
    },
    close: async () => {
      await browser.close();
      await server.close();
      await removeTemp(root);
    },
  };
}
