/**
 * Debian's Chromium for the browser tests, driven by playwright-core (which brings no browser
 * of its own): a persistent context in a temporary profile, every request outside the allowed
 * origins aborted and recorded, console errors and page errors recorded.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium. */
export const CHROMIUM = '/usr/bin/chromium';

/** Where screenshots go: dist/test-artifacts/ (beside dist/test/; ignored by git). */
export const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));

/** Chromium's flags for headless runs that reach no network of their own (the bench adds WebGPU). */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  context: BrowserContext;
  /** Requests aborted because they left the allowed origins. */
  blocked: string[];
  /** Console errors and uncaught page errors, prefixed with the page's URL. */
  errors: string[];
  /** A new page whose console and errors are recorded. */
  page(): Promise<Page>;
  close(): Promise<void>;
}

/** Fails with what to do when Chromium is missing. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    assert.fail(
      `${CHROMIUM} not found: the browser tests need Debian's Chromium. Install it with ` +
        '`apt-get update && apt-get install -y chromium` (as root; .ci/run does this).',
    );
  }
}

/** The requests a page served at `origin` may make: its own files, blob: and data: URLs. */
export function sameOrigin(origin: string): (url: string) => boolean {
  return (url) =>
    url.startsWith(`${origin}/`) || url.startsWith('blob:') || url.startsWith('data:');
}

/**
 * Starts Chromium. `allowed(url)` says which requests may go on (the others are aborted and
 * recorded in `blocked`).
 */
export async function launchChromium(
  allowed: (url: string) => boolean,
  options: {
    viewport?: { width: number; height: number };
    /** Chromium's flags instead of `CHROMIUM_ARGS` (e.g. WebGPU's). */
    args?: readonly string[];
    /**
     * Abort requests outside `allowed` by routing every request (default). Playwright's
     * routing turns the HTTP cache off and does not see what a service worker answers, so a
     * test of caching or of offline use passes false: then Chromium resolves no host name but
     * 127.0.0.1 and localhost, and the requests outside `allowed` are recorded (and fail).
     */
    routing?: boolean;
  } = {},
): Promise<TestBrowser> {
  requireChromium();
  const profile = await mkdtemp(path.join(os.tmpdir(), 'ftunet-chromium-'));
  const routing = options.routing !== false;
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      ...(options.args ?? CHROMIUM_ARGS),
      ...(routing
        ? []
        : ['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost']),
    ],
    acceptDownloads: true,
    ...(options.viewport ? { viewport: options.viewport } : {}),
  });
  const blocked: string[] = [];
  const errors: string[] = [];
  if (routing) {
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (allowed(url)) return route.continue();
      blocked.push(url);
      return route.abort();
    });
  } else {
    context.on('request', (request) => {
      if (!allowed(request.url())) blocked.push(request.url());
    });
  }
  return {
    context,
    blocked,
    errors,
    page: async () => {
      const page = await context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`${page.url()}: console: ${m.text()}`);
      });
      page.on('pageerror', (e) => errors.push(`${page.url()}: page error: ${e.message}`));
      return page;
    },
    close: async () => {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}
