/**
 * One Lighthouse 12 run of the performance category on a page, in Debian's Chromium started
 * with a debugging port and a fresh profile (a first visit), on desktop or mobile (Lighthouse's
 * default: a mid-range phone with simulated throttling); the transfer counted by Lighthouse and
 * by the server. Shared by test/app/lighthouse.test.ts and bench/app_lighthouse.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CHROMIUM, CHROMIUM_ARGS } from '../chromium.js';
import type { CountingServer } from './counting_server.js';

/** Debian's Chromium with a debugging port, for Lighthouse. */
async function startChromium(): Promise<{ port: number; child: ChildProcess; profile: string }> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'ftunet-lh-'));
  const child = spawn(
    CHROMIUM,
    [
      ...CHROMIUM_ARGS,
      '--headless=new',
      `--user-data-dir=${profile}`,
      '--remote-debugging-port=0',
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    child.stderr!.on('data', (d: Buffer) => {
      text += d.toString();
      const m = /DevTools listening on ws:\/\/[^:]+:(\d+)\//.exec(text);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`chromium exited with ${code}: ${text}`)));
  });
  return { port, child, profile };
}

export interface LighthouseRun {
  score: number;
  /** Lighthouse's total-byte-weight (transfer sizes of every request it saw). */
  transfer: number;
  /** The server's count of the same visit. */
  served: number;
  fcpMs: number;
  lcpMs: number;
  tbtMs: number;
  siMs: number;
}

export async function lighthouseRun(
  url: string,
  server: CountingServer,
  formFactor: 'desktop' | 'mobile',
): Promise<LighthouseRun> {
  const { default: lighthouse } = await import('lighthouse');
  const config =
    formFactor === 'desktop'
      ? (await import('lighthouse/core/config/desktop-config.js')).default
      : undefined;
  const chrome = await startChromium();
  try {
    const before = server.bytes();
    const result = await lighthouse(
      url,
      { port: chrome.port, output: 'json', logLevel: 'error', onlyCategories: ['performance'] },
      config,
    );
    await server.quiet();
    const lhr = result!.lhr;
    const audit = (id: string) => lhr.audits[id]?.numericValue ?? NaN;
    return {
      score: Math.round((lhr.categories.performance.score ?? 0) * 100),
      transfer: audit('total-byte-weight'),
      served: server.bytes() - before,
      fcpMs: audit('first-contentful-paint'),
      lcpMs: audit('largest-contentful-paint'),
      tbtMs: audit('total-blocking-time'),
      siMs: audit('speed-index'),
    };
  } finally {
    chrome.child.kill();
    await new Promise((r) => chrome.child.once('exit', r));
    await rm(chrome.profile, { recursive: true, force: true });
  }
}
