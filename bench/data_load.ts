/**
 * Memory and time of loading an ISIC-sized data set: writes (once) a synthetic isic-like data
 * set of 2,594 images in the ISIC 2018 layout, then loads it at 192x256x3 in fresh child
 * processes, cold (empty cache) and cached, and reports wall time and peak resident memory.
 *
 *   npm run build && node dist/bench/data_load.js [--count 2594] [--dir DIR] [--keep]
 *
 * DIR defaults to a folder under the OS temp folder, reused when it already holds the set;
 * the cache goes to a fresh temporary folder. Not a test: numbers depend on the machine.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDataset } from '../src/data/load.js';
import { loadDatasetManifestCount, writeIfMissing } from './synth_cache.js';

interface Args {
  count: number;
  dir: string;
  keep: boolean;
  child?: { cache: string };
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    count: 2594,
    dir: path.join(os.tmpdir(), 'ftunet-bench-isic'),
    keep: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--count') args.count = Number(argv[++i]);
    else if (a === '--dir') args.dir = argv[++i];
    else if (a === '--keep') args.keep = true;
    else if (a === '--child-load') args.child = { cache: argv[++i] };
    else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

/** In the child: load once, print one JSON line with time and peak RSS. */
async function child(dir: string, cache: string): Promise<void> {
  const t0 = performance.now();
  const ds = await loadDataset({ dataset: 'isic2018', data: dir, cache });
  const ms = performance.now() - t0;
  const bytes =
    ds.images.reduce((s, a) => s + a.length, 0) + ds.masks.reduce((s, a) => s + a.length, 0);
  process.stdout.write(
    `${JSON.stringify({
      count: ds.count,
      fromCache: ds.source.fromCache,
      seconds: ms / 1000,
      arrayMiB: bytes / 2 ** 20,
      // maxRSS is in kibibytes (the peak of the whole process: node, sharp, arrays).
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
    })}\n`,
  );
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.child) return child(args.dir, args.child.cache);

  const t0 = performance.now();
  const written = await writeIfMissing(args.dir, args.count);
  console.log(
    written
      ? `wrote ${args.count} isic-like images to ${args.dir} in ${((performance.now() - t0) / 1000).toFixed(1)} s`
      : `reusing ${await loadDatasetManifestCount(args.dir)} images in ${args.dir}`,
  );
  const cache = await mkdtemp(path.join(os.tmpdir(), 'ftunet-bench-cache-'));
  const self = fileURLToPath(import.meta.url);
  try {
    for (const phase of ['cold', 'cached', 'cached again']) {
      const r = spawnSync(process.execPath, [self, '--dir', args.dir, '--child-load', cache], {
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
      const j = JSON.parse(r.stdout) as Record<string, number | boolean>;
      console.log(
        `${phase.padEnd(13)} ${String(j.count)} images at 192x256x3: ` +
          `${(j.seconds as number).toFixed(1)} s, arrays ${(j.arrayMiB as number).toFixed(0)} MiB, ` +
          `peak RSS ${(j.peakRssMiB as number).toFixed(0)} MiB (from cache: ${String(j.fromCache)})`,
      );
    }
  } finally {
    await rm(cache, { recursive: true, force: true });
    if (!args.keep && written) await rm(args.dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
