import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, truncate, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { crc32, crc32Portable, defaultCacheDir } from '../../src/data/cache.js';
import { loadDataset } from '../../src/data/load.js';
import { UserError } from '../../src/errors.js';
import { clearFaults, deadPid, failWrites } from '../io/faults.js';
import { makeBus, makeTemp, removeTemp, writeRaw } from './fixtures.js';

let root: string;
let cache: string;
beforeEach(async () => {
  root = await makeTemp('ftunet-data-');
  cache = await makeTemp('ftunet-cache-');
  await makeBus(root, { count: 3 });
});
afterEach(async () => {
  await removeTemp(root);
  await removeTemp(cache);
});

async function load(extra: { inputSize?: [number, number] } = {}) {
  const warnings: string[] = [];
  const ds = await loadDataset({
    dataset: 'bus',
    data: root,
    cache,
    onWarning: (m) => warnings.push(m),
    ...extra,
  });
  return { ds, warnings };
}

async function cacheFiles(): Promise<string[]> {
  return (await readdir(cache)).filter((f) => f.endsWith('.ftds')).sort();
}

describe('preprocessing cache', () => {
  test('the second load is a hit with identical arrays', async () => {
    const first = await load();
    assert.equal(first.ds.source.fromCache, false);
    const files = await cacheFiles();
    assert.equal(files.length, 1);
    assert.match(files[0], /^bus-128x128x1-nearest-[0-9a-f]{32}\.ftds$/);
    assert.equal(first.ds.source.cacheFile, path.join(cache, files[0]));
    const second = await load();
    assert.equal(second.ds.source.fromCache, true);
    assert.deepEqual(second.warnings, []);
    for (const key of ['names', 'originalSizes', 'layouts', 'lesionArea'] as const) {
      assert.deepEqual(second.ds[key], first.ds[key]);
    }
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(second.ds.images[i], first.ds.images[i]);
      assert.deepEqual(second.ds.masks[i], first.ds.masks[i]);
    }
    // Only the finished file is left: no temporary files.
    assert.deepEqual(await readdir(cache), files);
  });

  test('a changed file is re-read (new key), another input size is another entry', async () => {
    const first = await load();
    await writeRaw(path.join(root, 'gt', '000001.png'), new Uint8Array(600).fill(255), 20, 30, 1);
    const changed = await load();
    assert.equal(changed.ds.source.fromCache, false);
    assert.deepEqual(changed.ds.lesionArea, [1, first.ds.lesionArea[1], first.ds.lesionArea[2]]);
    await load({ inputSize: [16, 16] });
    assert.equal((await cacheFiles()).length, 3);
  });

  test('a touched file (same bytes, new mtime) is re-read', async () => {
    await load();
    const t = new Date(2001, 1, 1);
    await utimes(path.join(root, 'original', '000002.png'), t, t);
    assert.equal((await load()).ds.source.fromCache, false);
  });

  const damages: Array<[string, (file: string) => Promise<void>, string]> = [
    ['truncated', async (f) => truncate(f, (await readFile(f)).length - 100), 'checksum mismatch'],
    [
      'a flipped payload byte',
      async (f) => {
        const b = await readFile(f);
        b[b.length - 500] ^= 0xff;
        await writeFile(f, b);
      },
      'checksum mismatch',
    ],
    ['cut to a few bytes', async (f) => truncate(f, 10), 'truncated'],
    ['not a cache file', async (f) => writeFile(f, Buffer.alloc(4096, 7)), 'not a cache file'],
  ];
  for (const [what, damage, reason] of damages) {
    test(`a damaged cache (${what}) is rebuilt, never trusted`, async () => {
      const first = await load();
      const file = first.ds.source.cacheFile!;
      await damage(file);
      const second = await load();
      assert.equal(second.ds.source.fromCache, false);
      assert.deepEqual(second.warnings, [
        `cache file ${file} is damaged (${reason}); rebuilding it`,
      ]);
      assert.deepEqual(second.ds.images[2], first.ds.images[2]);
      const third = await load();
      assert.equal(third.ds.source.fromCache, true);
      assert.deepEqual(third.warnings, []);
    });
  }

  test('a cache folder that is a file is an error naming it', async () => {
    const blocker = path.join(cache, 'file');
    await writeFile(blocker, 'x');
    const then = ', not a folder; choose another cache folder (--cache DIR) or none (--no-cache)';
    await assert.rejects(
      loadDataset({ dataset: 'bus', data: root, cache: blocker }),
      (e: unknown) =>
        e instanceof UserError && e.message === `the cache folder ${blocker} is a file${then}`,
    );
    const below = path.join(blocker, 'sub');
    await assert.rejects(loadDataset({ dataset: 'bus', data: root, cache: below }), {
      message: `the cache folder ${below} cannot be made: ${blocker} is a file${then}`,
    });
  });

  test('a folder where the cache file goes is an error naming it', async () => {
    const file = (await load()).ds.source.cacheFile!;
    await rm(file);
    await mkdir(file);
    await assert.rejects(
      load(),
      (e: unknown) =>
        e instanceof UserError &&
        e.message ===
          `the cache file ${file} is a folder: remove it, or choose another cache folder ` +
            '(--cache DIR) or none (--no-cache)',
    );
  });

  for (const code of ['ENOSPC', 'EDQUOT'] as const) {
    test(`a full disk (${code}) writing the cache is a warning and leaves no temporary`, async () => {
      failWrites((f) => f.startsWith(cache), code);
      let result;
      try {
        result = await load();
      } finally {
        clearFaults();
      }
      const file = result.ds.source.cacheFile!;
      assert.equal(result.ds.count, 3);
      assert.deepEqual(result.warnings, [
        `cannot write the cache file ${file} (no space left on device writing ${file}); ` +
          'continuing without it',
      ]);
      assert.deepEqual(await readdir(cache), []);
      // Space freed: the next load writes the cache.
      await load();
      assert.deepEqual(await cacheFiles(), [path.basename(file)]);
    });
  }

  test('temporary files of dead processes are removed, those of live ones kept', async () => {
    const dead = await deadPid();
    const stale = `.bus-128x128x1-nearest-0123.ftds.tmp-${dead}-0a1b2c3d`;
    const live = `.bus-128x128x1-nearest-0123.ftds.tmp-${process.pid}-0a1b2c3d`;
    await writeFile(path.join(cache, stale), Buffer.alloc(1000));
    await writeFile(path.join(cache, live), Buffer.alloc(1000));
    const { ds } = await load();
    assert.deepEqual(
      (await readdir(cache)).sort(),
      [live, path.basename(ds.source.cacheFile!)].sort(),
    );
  });

  test('the default folder follows XDG_CACHE_HOME, else ~/.cache', () => {
    assert.equal(
      defaultCacheDir({ XDG_CACHE_HOME: '/x/y' }),
      path.join('/x/y', 'focal-tversky-unet'),
    );
    assert.match(defaultCacheDir({}), /[/\\]\.cache[/\\]focal-tversky-unet$/);
    // A relative XDG_CACHE_HOME is ignored, as the XDG specification says.
    assert.match(
      defaultCacheDir({ XDG_CACHE_HOME: 'rel' }),
      /[/\\]\.cache[/\\]focal-tversky-unet$/,
    );
  });

  test('crc32: the standard check value, native and portable, incremental', () => {
    const data = Buffer.from('123456789', 'latin1');
    assert.equal(crc32(data), 0xcbf43926);
    assert.equal(crc32Portable(data), 0xcbf43926);
    assert.equal(crc32Portable(data.subarray(4), crc32Portable(data.subarray(0, 4))), 0xcbf43926);
    assert.equal(crc32(data.subarray(4), crc32(data.subarray(0, 4))), 0xcbf43926);
  });
});
