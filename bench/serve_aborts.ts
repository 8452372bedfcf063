/**
 * `ftunet app --serve` under a low open-file limit: many downloads of the app's largest file
 * (onnxruntime-web's 14 MB wasm binary) cut off after their first chunk, then one ordinary
 * request; prints the server's open descriptors before and after (counted in /proc/PID/fd)
 * and whether the request was answered. Not a test (test/app/serve.test.ts asserts the same
 * with fewer downloads); Linux only; every connection goes to 127.0.0.1.
 *
 *   npm run build && node dist/bench/serve_aborts.js [--downloads N] [--limit N]
 *       [--cut early|end] [--main PATH] [--json]
 *
 * `--downloads` 1000, `--limit` (ulimit -n of the server) 256; `--cut end`: downloads of the
 * page's script (1.5 MB) cut as their last byte arrives, before the server closes its side
 * (default `early`: the wasm binary, after the first chunk); `--main` another build's
 * dist/src/cli/main.js, to measure it. Downloads run one after another; after 5 failures in a
 * row (a server out of descriptors) the rest are skipped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../src/backend/select.js';
import { saveModel } from '../src/io/model_files.js';
import { buildModel } from '../src/models/build.js';
import {
  LARGE_FILE,
  MAIN,
  openDescriptors,
  pageScript,
  rawDownload,
  settleDescriptors,
  startLimitedServer,
} from '../test/app/limited_server.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const downloads = Number(flag('--downloads', '1000'));
  const limit = Number(flag('--limit', '256'));
  const main = path.resolve(flag('--main', MAIN));
  const cut = flag('--cut', 'early');
  if (cut !== 'early' && cut !== 'end') throw new Error(`--cut ${cut}: expected early or end`);
  await initBackend({ backend: 'cpu' });
  const root = await mkdtemp(path.join(os.tmpdir(), 'ftunet-serve-bench-'));
  try {
    const model = path.join(root, 'model');
    const m = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 2 });
    await saveModel(m, model);
    m.dispose();
    const served = await startLimitedServer({ model, out: path.join(root, 'app'), limit, main });
    const file = cut === 'early' ? LARGE_FILE : await pageScript(path.join(root, 'app'));
    try {
      const before = openDescriptors(served.pid);
      let answered = 0;
      let failedInARow = 0;
      let firstFailure: string | undefined;
      let attempted = 0;
      const t0 = performance.now();
      for (; attempted < downloads && failedInARow < 5; attempted++) {
        const r = await rawDownload(served.url, file, cut, 5_000);
        if (r.ok && r.status === 200) {
          answered++;
          failedInARow = 0;
        } else {
          failedInARow++;
          firstFailure ??= `download ${attempted + 1}: ${r.ok ? `status ${r.status}` : r.reason}`;
        }
      }
      const seconds = (performance.now() - t0) / 1000;
      const duringPeak = openDescriptors(served.pid);
      const next = await rawDownload(served.url, '/index.html', 'never', 10_000);
      const after = await settleDescriptors(served.pid, before);
      const report = {
        main,
        limit,
        cut,
        file,
        downloads,
        attempted,
        answered,
        seconds: Number(seconds.toFixed(1)),
        firstFailure: firstFailure ?? null,
        descriptorsBefore: before,
        descriptorsAfterDownloads: duringPeak,
        descriptorsAfterSettling: after,
        nextRequest: next.ok ? `status ${next.status}, ${next.bytes} bytes` : next.reason,
      };
      if (process.argv.includes('--json')) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
      } else {
        process.stdout.write(
          `ulimit -n ${limit}: ${answered} of ${attempted} downloads of ${file} cut ${cut === 'early' ? 'after their first chunk' : 'at their last byte'} ` +
            `answered in ${report.seconds} s${firstFailure ? ` (first failure: ${firstFailure})` : ''}\n` +
            `open descriptors: ${before} before, ${duringPeak} right after, ${after} after settling\n` +
            `next request (/index.html): ${report.nextRequest}\n`,
        );
      }
    } finally {
      served.stop();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();
