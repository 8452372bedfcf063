import assert from 'node:assert/strict';
import { mkdir, rename, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { loadDataset, type LoadDatasetOptions } from '../../src/data/load.js';
import { resizeNearest } from '../../src/util/raster.js';
import {
  greyPattern,
  listTree,
  makeBus,
  makeFolder,
  makeIsic,
  makeTemp,
  removeTemp,
  rgbPattern,
  writeRaw,
} from './fixtures.js';

let root: string;
let cache: string;
beforeEach(async () => {
  root = await makeTemp('ftunet-data-');
  cache = await makeTemp('ftunet-cache-');
});
afterEach(async () => {
  await removeTemp(root);
  await removeTemp(cache);
});

/** Loads without the cache unless asked, collecting warnings. */
async function load(
  options: Partial<LoadDatasetOptions> & Pick<LoadDatasetOptions, 'dataset'>,
): Promise<{ ds: Awaited<ReturnType<typeof loadDataset>>; warnings: string[] }> {
  const warnings: string[] = [];
  const ds = await loadDataset({
    data: root,
    cache: false,
    onWarning: (m) => warnings.push(m),
    ...options,
  });
  return { ds, warnings };
}

describe('bus reader', () => {
  test('pairs original/ with gt/ by name, keeps original sizes, resizes to the preset', async () => {
    const items = await makeBus(root, { count: 3 });
    const { ds, warnings } = await load({ dataset: 'bus' });
    assert.deepEqual(ds.names, ['000001.png', '000002.png', '000003.png']);
    assert.deepEqual(ds.originalSizes, [
      [20, 30],
      [20, 30],
      [20, 30],
    ]);
    assert.deepEqual([ds.inputSize, ds.channels, ds.count], [[128, 128], 1, 3]);
    assert.deepEqual(ds.layouts, ['grey', 'grey', 'grey']);
    assert.deepEqual(warnings, []);
    // The arrays are the nearest-neighbour resize of the files' pixels.
    const expected = resizeNearest(
      { data: greyPattern(20, 30, 1), height: 20, width: 30, channels: 1 },
      128,
      128,
    );
    assert.deepEqual(ds.images[1], expected.data);
    const mask = resizeNearest(
      { data: items[1].mask, height: 20, width: 30, channels: 1 },
      128,
      128,
    );
    assert.deepEqual(ds.masks[1], mask.data);
    // Item i has (i + 2) x 5 lesion pixels of 600.
    assert.deepEqual(ds.lesionArea, [10 / 600, 15 / 600, 20 / 600]);
    const orig = await ds.loadOriginalMask(2);
    assert.deepEqual([orig.height, orig.width], [20, 30]);
    assert.deepEqual(orig.data, items[2].mask);
  });

  test('GT/ in capitals works; flags override size and channels; bilinear is an option', async () => {
    await makeBus(root, { count: 2, gtName: 'GT' });
    const { ds } = await load({
      dataset: 'bus',
      inputSize: [10, 15],
      channels: 3,
      interpolation: 'bilinear',
    });
    assert.deepEqual([ds.inputSize, ds.channels, ds.interpolation], [[10, 15], 3, 'bilinear']);
    assert.equal(ds.images[0].length, 10 * 15 * 3);
    assert.equal(ds.masks[0].length, 10 * 15);
    assert.ok([...ds.masks[0]].every((v) => v === 0 || v === 1));
    // An exact 2x downsample with half-pixel centres averages 2x2 blocks: (0 + 3 + 7 + 10) / 4.
    assert.deepEqual([...ds.images[0].subarray(0, 3)], [5, 5, 5]);
  });

  test('non-images are skipped with one warning that names them', async () => {
    await makeBus(root, { count: 2 });
    await writeFile(path.join(root, 'original', '.DS_Store'), 'x');
    await writeFile(path.join(root, 'gt', 'Thumbs.db'), 'x');
    await writeFile(path.join(root, 'original', 'notes.txt'), 'x');
    await mkdir(path.join(root, 'original', 'old'));
    const { ds, warnings } = await load({ dataset: 'bus' });
    assert.equal(ds.count, 2);
    assert.deepEqual(warnings, [
      'bus: skipped 4 entries that are not an image: original/.DS_Store, original/notes.txt, ' +
        'original/old/, gt/Thumbs.db',
    ]);
  });

  test('EXIF-rotated JPEG images pair with masks of the displayed size', async () => {
    const sharp = (await import('sharp')).default;
    await mkdir(path.join(root, 'original'), { recursive: true });
    const px = rgbPattern(30, 20);
    // Stored 20 wide x 30 high, displayed (orientation 6) 30 wide x 20 high.
    await writeFile(
      path.join(root, 'original', 'a.jpg'),
      await sharp(px, { raw: { width: 20, height: 30, channels: 3 } })
        .withMetadata({ orientation: 6 })
        .jpeg()
        .toBuffer(),
    );
    await writeRaw(path.join(root, 'gt', 'a.png'), new Uint8Array(600), 20, 30, 1);
    const { ds } = await load({ dataset: 'bus' });
    assert.deepEqual(ds.originalSizes, [[20, 30]]);
  });
});

describe('isic2018 reader', () => {
  test('pairs ISIC_nnnnnnn.jpg with ISIC_nnnnnnn_segmentation.png and skips LICENSE.txt', async () => {
    await makeIsic(root, { count: 3 });
    const { ds, warnings } = await load({ dataset: 'isic2018' });
    assert.deepEqual(ds.names, ['ISIC_0000000.jpg', 'ISIC_0000001.jpg', 'ISIC_0000002.jpg']);
    assert.deepEqual([ds.inputSize, ds.channels], [[192, 256], 3]);
    assert.deepEqual(ds.layouts, ['rgb', 'rgb', 'rgb']);
    assert.deepEqual(warnings, [
      'isic2018: skipped 1 entry that is not an image: ISIC2018_Task1-2_Training_Input/LICENSE.txt',
    ]);
    assert.ok(
      ds.files![0].mask.endsWith(
        path.join('ISIC2018_Task1_Training_GroundTruth', 'ISIC_0000000_segmentation.png'),
      ),
    );
  });

  test('works when pointed at the _Input folder itself', async () => {
    await makeIsic(root, { count: 2 });
    const { ds } = await load({
      dataset: 'isic2018',
      data: path.join(root, 'ISIC2018_Task1-2_Training_Input'),
    });
    assert.equal(ds.count, 2);
    assert.equal(ds.source.root, root);
  });
});

describe('folder reader', () => {
  test('images/ and masks/ by stem, with and without a mask suffix; 0/1 masks', async () => {
    const items = await makeFolder(root, { count: 2, maskSuffix: '_seg' });
    const { ds } = await load({ dataset: 'folder', maskSuffix: '_seg', inputSize: [20, 30] });
    assert.deepEqual(ds.names, ['case_0.png', 'case_1.png']);
    assert.deepEqual(ds.masks[1], items[1].mask);
    assert.deepEqual(ds.images[0], rgbPattern(20, 30, 0));
    await assert.rejects(load({ dataset: 'folder' }), {
      name: 'DataError',
      message:
        'folder: 2 images in images/ have no mask in masks/: case_0.png, case_1.png; ' +
        '2 masks in masks/ have no image in images/: case_0_seg.png, case_1_seg.png ' +
        '(for case_0.png a mask named case_0.png was expected)',
    });
  });

  test('a mask suffix is refused for other layouts', async () => {
    await makeBus(root, { count: 1 });
    await assert.rejects(load({ dataset: 'bus', maskSuffix: '_x' }), {
      name: 'UserError',
      message: "a mask suffix applies to the 'folder' layout only, not 'bus'",
    });
  });
});

describe('bad data sets: one DataError naming the files', () => {
  const cases: Array<[string, (root: string) => Promise<void>, string, string | RegExp]> = [
    [
      'an image without a mask and a mask without an image',
      async (r) => {
        await makeBus(r, { count: 3 });
        await rename(path.join(r, 'gt', '000002.png'), path.join(r, 'gt', '000009.png'));
      },
      'bus',
      'bus: 1 image in original/ has no mask in gt/: 000002.png; ' +
        '1 mask in gt/ has no image in original/: 000009.png',
    ],
    [
      'many unpaired images: the first five and a count',
      async (r) => {
        await makeBus(r, { count: 8 });
        await rm(path.join(r, 'gt'), { recursive: true });
        await writeRaw(path.join(r, 'gt', '000001.png'), new Uint8Array(600), 20, 30, 1);
      },
      'bus',
      'bus: 7 images in original/ have no mask in gt/: 000002.png, 000003.png, 000004.png, ' +
        '000005.png, 000006.png and 2 more',
    ],
    [
      'a mask whose size differs from its image',
      async (r) => {
        await makeBus(r, { count: 2 });
        await writeRaw(path.join(r, 'gt', '000002.png'), new Uint8Array(10 * 15), 10, 15, 1);
      },
      'bus',
      'bus: 1 mask differs in size from its image: 000002.png (image 20x30, mask 10x15)',
    ],
    [
      'a truncated image and an unreadable mask',
      async (r) => {
        await makeBus(r, { count: 3 });
        await truncate(path.join(r, 'original', '000003.png'), 60);
        await writeFile(path.join(r, 'gt', '000001.png'), 'garbage');
      },
      'bus',
      /^bus: cannot read 2 files: gt\/000001\.png \(not a PNG, JPEG, TIFF or BMP image \(it starts with the bytes 67 61 72 62 61 67 65\)\), original\/000003\.png \(.+\)$/,
    ],
    [
      'an empty image folder',
      async (r) => {
        await mkdir(path.join(r, 'original'), { recursive: true });
        await mkdir(path.join(r, 'gt'));
        await writeFile(path.join(r, 'original', 'readme.txt'), 'x');
      },
      'bus',
      'bus: no images in original/ (only 1 entry that is not an image: original/readme.txt)',
    ],
    [
      'two files with the same stem',
      async (r) => {
        await makeBus(r, { count: 2 });
        await writeRaw(
          path.join(r, 'original', '000001.jpg'),
          greyPattern(20, 30),
          20,
          30,
          1,
          'jpeg',
        );
      },
      'bus',
      'bus: 1 name stem in original/ is used by more than one file: 000001.jpg and 000001.png',
    ],
    [
      'a wrong --dataset layout, with a hint',
      async (r) => {
        await makeIsic(r, { count: 1 });
      },
      'bus',
      /^bus: expected folders original\/ and gt\/ \(or GT\/\) in .+; found ISIC2018_Task1-2_Training_Input\/, ISIC2018_Task1_Training_GroundTruth\/ \(this looks like the isic2018 layout: use --dataset isic2018\)$/,
    ],
    [
      'the isic layout asked of a BUS folder',
      async (r) => {
        await makeBus(r, { count: 1 });
      },
      'isic2018',
      /^isic2018: expected ISIC2018_Task1-2_Training_Input\/, ISIC2018_Task1_Training_GroundTruth\/ in .+; found gt\/, original\/ \(this looks like the bus layout: use --dataset bus\)$/,
    ],
    [
      'both gt/ and GT/',
      async (r) => {
        await makeBus(r, { count: 1 });
        await mkdir(path.join(r, 'GT'));
      },
      'bus',
      /^bus: .+ has both GT\/ and gt\/; keep one of them$/,
    ],
  ];
  for (const [what, make, dataset, message] of cases) {
    test(what, async () => {
      await make(root);
      await assert.rejects(load({ dataset: dataset as 'bus' }), { name: 'DataError', message });
    });
  }

  test('a missing data folder', async () => {
    await assert.rejects(load({ dataset: 'folder', data: path.join(root, 'nope') }), {
      name: 'DataError',
      message: `folder: data folder ${path.join(root, 'nope')} does not exist`,
    });
  });

  test('a mask holding labels 0/1/2 binarises to empty and is reported', async () => {
    await mkdir(path.join(root, 'images'));
    await writeRaw(path.join(root, 'images', 'a.png'), greyPattern(4, 4), 4, 4, 1);
    await writeRaw(
      path.join(root, 'masks', 'a.png'),
      Uint8Array.from({ length: 16 }, (_, i) => i % 3),
      4,
      4,
      1,
    );
    const { ds, warnings } = await load({ dataset: 'folder' });
    assert.deepEqual(ds.lesionArea, [0]);
    assert.deepEqual(warnings, [
      'folder: 1 mask has non-zero values that all fall below the lesion threshold ' +
        '(half of 255 or 65535) and is empty: masks/a.png (max 2)',
    ]);
  });
});

describe('nothing is written into the data set', () => {
  let shared: string;
  let items: Awaited<ReturnType<typeof makeBus>>;
  before(async () => {
    shared = await makeTemp('ftunet-ro-');
    items = await makeBus(shared, { count: 2 });
  });
  after(async () => {
    await removeTemp(shared);
  });

  test('loading with a cache leaves the data folder untouched', async () => {
    const before = await listTree(shared);
    await loadDataset({ dataset: 'bus', data: shared, cache });
    await loadDataset({ dataset: 'bus', data: shared, cache });
    assert.deepEqual(await listTree(shared), before);
  });

  test('a cache folder inside the data set is refused', async () => {
    await assert.rejects(
      loadDataset({ dataset: 'bus', data: shared, cache: path.join(shared, 'gt', '.cache') }),
      {
        name: 'UserError',
        message: new RegExp(
          `^the cache folder .+ is inside the data set folder ${shared.replace(/[/\\.]/g, '\\$&')}; nothing is written`,
        ),
      },
    );
    assert.ok(!(await listTree(shared)).some((f) => f.includes('.cache')));
  });

  test('0/255 mask files give exactly the 0/1 rectangles written', async () => {
    const ds = await loadDataset({
      dataset: 'bus',
      data: shared,
      cache: false,
      inputSize: [20, 30],
    });
    assert.deepEqual(ds.masks[1], items[1].mask);
  });
});
