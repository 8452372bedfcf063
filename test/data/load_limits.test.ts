import assert from 'node:assert/strict';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { loadDataset } from '../../src/data/load.js';
import { decodeMemory } from '../../src/io/image.js';
import { greyPattern, makeBus, makeTemp, removeTemp, writeRaw } from './fixtures.js';

let root: string;
beforeEach(async () => {
  root = await makeTemp('ftunet-limits-');
  await makeBus(root, { count: 3 }); // 20x30 = 600 pixels each
});
afterEach(() => removeTemp(root));

/** Replaces item `stem`'s image and mask with blank grey files of `h` x `w`. */
async function resize(stem: string, h: number, w: number, which = ['original', 'gt']) {
  for (const folder of which) {
    await writeRaw(path.join(root, folder, `${stem}.png`), greyPattern(h, w), h, w, 1);
  }
}

describe('loadDataset: the pixel limit and the memory budget', () => {
  test('files over maxPixels: one DataError with their header size, the limit and the flag', async () => {
    await resize('000002', 40, 40);
    const over =
      '(its header gives 40 rows x 40 columns = 0.0016 megapixels, more than the limit of ' +
      '0.0006 megapixels; raise the limit with --max-pixels (option maxPixels))';
    await assert.rejects(
      loadDataset({ dataset: 'bus', data: root, cache: false, maxPixels: 600 }),
      {
        name: 'DataError',
        message: `bus: cannot read 2 files: gt/000002.png ${over}, original/000002.png ${over}`,
      },
    );
    const ds = await loadDataset({ dataset: 'bus', data: root, cache: false, maxPixels: 1600 });
    assert.deepEqual(ds.originalSizes, [
      [20, 30],
      [40, 40],
      [20, 30],
    ]);
  });

  test('the full-size files read later (evaluation, reports) keep the limit', async () => {
    const ds = await loadDataset({ dataset: 'bus', data: root, cache: false, maxPixels: 600 });
    await resize('000001', 50, 50, ['original']);
    await assert.rejects(ds.loadOriginalImage(0), {
      name: 'ImageTooLargeError',
      message: /original\/000001\.png: its header gives 50 rows x 50 columns = 0\.0025 megapixels/,
    });
    assert.deepEqual((await ds.loadOriginalMask(0)).height, 20);
  });

  test('each pair decodes holding its estimated bytes of the shared budget', async () => {
    const asked: number[] = [];
    const run = decodeMemory.run.bind(decodeMemory);
    decodeMemory.run = (bytes, fn) => {
      asked.push(bytes);
      return run(bytes, fn);
    };
    try {
      await loadDataset({ dataset: 'bus', data: root, cache: false });
    } finally {
      decodeMemory.run = run;
    }
    // Grey 8-bit PNGs: (3 + 1) bytes a pixel, for the image and its mask.
    assert.deepEqual(asked, [4800, 4800, 4800]);
    assert.equal(decodeMemory.inUse, 0);
  });

  test('a bad limit is refused naming the option', async () => {
    await assert.rejects(loadDataset({ dataset: 'bus', data: root, cache: false, maxPixels: 0 }), {
      name: 'UserError',
      message: 'maxPixels: expected a positive whole number of pixels, got 0',
    });
  });
});
