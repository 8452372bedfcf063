/**
 * The work zip without a browser: its entries are the layout `ftunet train --dataset folder`
 * reads (images/ and masks/ paired by stem, the mask in force, names made safe and unique),
 * with truths/, unmasked/ and a versioned manifest.json; the CLI reads the extracted zip as a
 * data set; importing the zip gives back the images, masks, corrections, statuses and settings;
 * a zip of any images/ + masks/ folder and loose `<stem>_mask.png` files give ground truths;
 * bad input is refused with one message naming the file, and nothing is imported.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decode } from 'fast-png';
import { strToU8, unzipSync, zipSync } from 'fflate';
import sharp from 'sharp';
import { encodeMaskPng } from '../../src/browser/png.js';
import { jpegOrientation } from '../../src/io/image_format.js';
import { TTA_MODES } from '../../src/eval/ensemble.js';
import {
  imageExtension,
  parseWorkManifest,
  readWork,
  uniqueStems,
  WORK_TTA_MODES,
  workZipEntries,
  WorkImportError,
  type WorkManifest,
} from '../../src/webapp/work_zip.js';
import { runCli } from '../cli/run.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { bytes, pngImage, rect, SETTINGS, workImage } from './work_fixtures.js';

const META = {
  appVersion: '9.8.7',
  model: { name: 'attn-unet (bus)', hash: 'ab12' },
  created: new Date('2026-12-07T13:00:00.000Z'),
};

/** The three images of the tests: corrected + truth, accepted model mask, unmasked. */
function threeImages() {
  return [
    workImage('a.png', {
      status: 'corrected',
      settings: { threshold: 0.3, keepLargest: true, minSize: 4, tta: 'hflip' },
      correction: rect(12, 10, [0, 3, 0, 10]),
      truth: rect(12, 10, [1, 4, 0, 9]),
      added: 100,
    }),
    workImage('b.png', { status: 'accepted', added: 200 }),
    workImage('c.png', { model: null, added: 300 }),
  ];
}

async function fixtureV1(): Promise<WorkManifest> {
  const url = new URL('../../../test/fixtures/formats/work-manifest-v1.json', import.meta.url);
  return JSON.parse(await readFile(url, 'utf8')) as WorkManifest;
}

function manifestOf(entries: Record<string, Uint8Array>): WorkManifest {
  return JSON.parse(new TextDecoder().decode(entries['manifest.json'])) as WorkManifest;
}

const zipFile = (entries: Record<string, Uint8Array>, name = 'work.zip') =>
  new File([zipSync(entries) as BlobPart], name);

const file = (data: Uint8Array, name: string) => new File([data as BlobPart], name);

/** Asserts that `promise` rejects with a WorkImportError whose message is `message`. */
async function refused(promise: Promise<unknown>, message: string | RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof WorkImportError, `a WorkImportError, got ${String(err)}`);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

describe('the work zip: entries', () => {
  test('images/ and masks/ paired by stem (the mask in force), truths/, unmasked/, manifest', async () => {
    const images = threeImages();
    const entries = await workZipEntries(images, META);
    assert.deepEqual(Object.keys(entries).sort(), [
      'images/a.png',
      'images/b.png',
      'manifest.json',
      'masks/a.png',
      'masks/b.png',
      'truths/a.png',
      'unmasked/c.png',
    ]);
    assert.deepEqual(entries['images/a.png'], await bytes(images[0].file));
    // a.png's mask in force is its correction, b.png's the model's.
    assert.deepEqual(entries['masks/a.png'], await bytes(images[0].correction!.png));
    assert.deepEqual(entries['masks/b.png'], await bytes(images[1].modelMask!.png));
    assert.deepEqual(entries['truths/a.png'], await bytes(images[0].truth!.png));
    const mask = decode(entries['masks/a.png']);
    assert.deepEqual([mask.width, mask.height, mask.channels, mask.depth], [10, 12, 1, 8]);
    assert.deepEqual([...new Set(mask.data)].sort(), [0, 255]);
  });

  test('the manifest: app, date, model, and per image files, status, settings, source, pixels', async () => {
    const manifest = manifestOf(await workZipEntries(threeImages(), META));
    // test/fixtures/formats/work-manifest-v1.json: this manifest as version 1 writes it.
    assert.deepEqual(manifest, await fixtureV1());
    assert.deepEqual(manifest.app, { name: 'focal-tversky-unet', version: '9.8.7' });
    assert.equal(manifest.created, '2026-12-07T13:00:00.000Z');
    assert.deepEqual(manifest.model, { name: 'attn-unet (bus)', hash: 'ab12' });
    assert.deepEqual(
      manifest.images.map((i) => [
        i.name,
        i.image,
        i.mask,
        i.truth,
        i.status,
        i.maskSource,
        i.lesionPixels,
        i.truthPixels,
      ]),
      [
        // Rows 0-2, all 10 columns (the correction); rows 1-3, columns 0-8 (the truth).
        ['a.png', 'images/a.png', 'masks/a.png', 'truths/a.png', 'corrected', 'corrected', 30, 27],
        // Rows 2-5, columns 3-6 (the model's).
        ['b.png', 'images/b.png', 'masks/b.png', null, 'accepted', 'model', 16, null],
        ['c.png', 'unmasked/c.png', null, null, 'unreviewed', null, null, null],
      ],
    );
    assert.deepEqual(manifest.images[0].settings, {
      threshold: 0.3,
      keepLargest: true,
      minSize: 4,
      tta: 'hflip',
    });
    assert.deepEqual(manifest.images[1].settings, SETTINGS);
    assert.deepEqual(
      manifest.images.map((i) => [i.width, i.height, i.channels, i.added]),
      [
        [10, 12, 1, 100],
        [10, 12, 1, 200],
        [10, 12, 1, 300],
      ],
    );
  });

  test('version 1 (test/fixtures/formats/work-manifest-v1.json) reads as written', async () => {
    const v1 = await fixtureV1();
    assert.deepEqual(parseWorkManifest(v1), v1);
  });

  test("the manifest's TTA modes are eval/ensemble.ts's", () => {
    assert.deepEqual(WORK_TTA_MODES, TTA_MODES);
  });

  test('names are made safe and unique ignoring case; the extension follows the format', async () => {
    assert.deepEqual(uniqueStems(['a', 'A', 'a', '../etc/passwd', '.hidden', 'x:y', 'a_2']), [
      'a',
      'A_2',
      'a_3',
      '_etc_passwd',
      'hidden',
      'x_y',
      'a_2_2',
    ]);
    assert.equal(imageExtension('x.JPG', 'jpeg'), '.jpg');
    assert.equal(imageExtension('x.jfif', 'jpeg'), '.jfif');
    assert.equal(imageExtension('x.jpeg', 'png'), '.png', 'a PNG named .jpeg is stored as .png');
    assert.equal(imageExtension('noext', 'bmp'), '.bmp');
    const entries = await workZipEntries(
      [workImage('scan.png'), workImage('SCAN.jpeg'), workImage('sub/dir\\x?.png')],
      META,
    );
    assert.deepEqual(
      Object.keys(entries).filter((e) => e.startsWith('images/') || e.startsWith('masks/')),
      [
        'images/scan.png',
        'masks/scan.png',
        'images/SCAN_2.png',
        'masks/SCAN_2.png',
        'images/sub_dir_x_.png',
        'masks/sub_dir_x_.png',
      ],
    );
  });
});

describe('the work zip: the command line reads it as a data set', () => {
  let root: string;
  before(async () => {
    root = await makeTemp('ftunet-workzip-');
  });
  after(async () => {
    await removeTemp(root);
  });

  test('ftunet inspect --dataset folder reads the extracted zip: every pair, each mask in force', async () => {
    const images = threeImages();
    const zip = zipSync(await workZipEntries(images, META));
    const dir = path.join(root, 'work');
    for (const [name, data] of Object.entries(unzipSync(zip))) {
      await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await writeFile(path.join(dir, name), data);
    }
    const r = runCli([
      'inspect',
      '--dataset',
      'folder',
      '--data',
      dir,
      '--input-size',
      '12,10',
      '--no-cache',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { count: number; lesionArea: { mean: number } };
    assert.equal(report.count, 2, 'a.png and b.png (c.png has no mask yet)');
    // Lesion areas 30 / 120 and 16 / 120: their mean.
    assert.ok(Math.abs(report.lesionArea.mean - (30 + 16) / 2 / 120) < 1e-9, r.stdout);
  });
});

describe('importing', () => {
  test('a work zip gives back images, masks, corrections, statuses and settings', async () => {
    const images = threeImages();
    const work = await readWork([zipFile(await workZipEntries(images, META))]);
    assert.equal(work.kind, 'work');
    assert.equal(work.manifest?.model?.hash, 'ab12');
    assert.deepEqual(
      work.images.map((i) => [i.name, i.status, i.settings, i.added]),
      images.map((i) => [i.name, i.status, i.settings, i.added]),
    );
    const [a, b, c] = work.images;
    assert.deepEqual(await bytes(a.file), await bytes(images[0].file));
    assert.equal(a.file.name, 'a.png');
    assert.deepEqual(await bytes(a.correction!.png), await bytes(images[0].correction!.png));
    assert.equal(a.correction!.pixels, 30);
    assert.equal(a.modelMask, undefined, 'the model mask of a corrected image is made again');
    assert.deepEqual(await bytes(a.truth!.png), await bytes(images[0].truth!.png));
    assert.equal(a.truth!.pixels, 27);
    assert.deepEqual(await bytes(b.modelMask!.png), await bytes(images[1].modelMask!.png));
    assert.equal(b.correction, undefined);
    assert.deepEqual([c.modelMask, c.correction, c.truth], [undefined, undefined, undefined]);
    assert.deepEqual(c.size, { width: 10, height: 12 });
  });

  test('a zip of a folder with images/ and masks/ (no manifest): each mask the truth and the correction', async () => {
    const mask01 = { width: 10, height: 12, data: rect(12, 10, [0, 2, 0, 5]).data }; // 0/1 values
    const { encode } = await import('fast-png');
    const entries = {
      'data/images/x.png': pngImage(12, 10, 1),
      'data/images/y.png': pngImage(12, 10, 2),
      'data/masks/x_segmentation.png': encode({ ...mask01, channels: 1, depth: 8 }),
      'data/masks/y.png': encodeMaskPng(rect(12, 10, [5, 6, 0, 10])),
      'data/splits.json': strToU8('{}'),
      'data/images/old/z.png': pngImage(12, 10, 3),
      '__MACOSX/data/images/._x.png': new Uint8Array([0]),
    };
    const work = await readWork([zipFile(entries, 'data.zip')]);
    assert.equal(work.kind, 'dataset');
    assert.deepEqual(work.skipped, ['splits.json', 'images/old/z.png']);
    assert.deepEqual(
      work.images.map((i) => [i.name, i.status, i.truth?.pixels, i.modelMask]),
      [
        ['x.png', 'corrected', 10, undefined],
        ['y.png', 'corrected', 10, undefined],
      ],
    );
    for (const i of work.images) assert.equal(i.correction, i.truth, 'the correction is the truth');
    // The 0/1 mask is stored as the page stores masks: 0 and 255.
    const x = decode(await bytes(work.images[0].truth!.png));
    assert.deepEqual(
      [...new Set(x.data)].sort((p, q) => p - q),
      [0, 255],
    );
  });

  test('a zip of an images/ folder alone gives its images, to predict', async () => {
    const work = await readWork([
      zipFile({ 'images/u.png': pngImage(4, 4), 'images/v.png': pngImage(4, 4) }, 'i.zip'),
    ]);
    assert.deepEqual(
      work.images.map((i) => [i.name, i.status, i.truth]),
      [
        ['u.png', 'unreviewed', undefined],
        ['v.png', 'unreviewed', undefined],
      ],
    );
  });

  test('loose files: images with <stem>_mask.png files, paired as evaluate --pred pairs them; corrected', async () => {
    const work = await readWork([
      file(pngImage(12, 10), 'p.png'),
      file(encodeMaskPng(rect(12, 10, [0, 1, 0, 3])), 'p_mask.png'),
      file(pngImage(8, 8), 'q.png'),
      file(encodeMaskPng(rect(8, 8, [0, 8, 0, 8])), 'q_segmentation.png'),
      file(pngImage(8, 8), 'r.png'),
    ]);
    assert.equal(work.kind, 'files');
    assert.deepEqual(
      work.images.map((i) => [i.name, i.status, i.truth?.pixels, i.correction?.pixels]),
      [
        ['p.png', 'corrected', 3, 3],
        ['q.png', 'corrected', 64, 64],
        ['r.png', 'unreviewed', undefined, undefined],
      ],
    );
  });
});

describe('importing a JPEG turned by its EXIF orientation', () => {
  /** A grey JPEG stored 60 wide and 40 high, with EXIF orientation `orientation`. */
  const jpeg = async (orientation?: number) => {
    const raw = sharp(Buffer.from(pngImage(40, 60)), {}).jpeg();
    return new Uint8Array(await (orientation ? raw.withMetadata({ orientation }) : raw).toBuffer());
  };

  test('jpegOrientation reads the EXIF tag; none, or not a JPEG, is 1', async () => {
    assert.equal(jpegOrientation(await jpeg(6)), 6);
    assert.equal(jpegOrientation(await jpeg(3)), 3);
    assert.equal(jpegOrientation(await jpeg()), 1);
    assert.equal(jpegOrientation(pngImage(4, 4)), 1);
  });

  test('its mask is the size it shows: 40 wide and 60 high for orientation 6', async () => {
    const image = await jpeg(6);
    const work = await readWork([
      file(image, 'r.jpg'),
      file(encodeMaskPng(rect(60, 40, [0, 2, 0, 2])), 'r_mask.png'),
    ]);
    assert.deepEqual(work.images[0].size, { width: 40, height: 60 });
    assert.equal(work.images[0].truth?.pixels, 4);
    await refused(
      readWork([
        file(image, 'r.jpg'),
        file(encodeMaskPng(rect(40, 60, [0, 1, 0, 1])), 'r_mask.png'),
      ]),
      'r_mask.png: the mask is 60x40 but its image is 40x60',
    );
  });
});

describe('importing: bad input is refused, naming the file', () => {
  const mask = (h: number, w: number) => encodeMaskPng(rect(h, w, [0, 1, 0, 1]));

  test('a file named .zip that is not one', async () => {
    await refused(
      readWork([file(strToU8('hello'), 'work.zip')]),
      'work.zip: not a zip file (it may be damaged or incomplete)',
    );
  });

  test('a damaged zip', async () => {
    const zip = zipSync({ 'images/a.png': pngImage(4, 4) });
    await refused(
      readWork([file(zip.subarray(0, zip.length - 30), 'cut.zip')]),
      /^cut\.zip: the zip cannot be read \(.*\): it may be damaged or incomplete$/,
    );
  });

  test('a zip that would unpack to more than a page holds (its directory says 3 GiB)', async () => {
    const zip = zipSync({ 'images/a.png': pngImage(4, 4) }, { level: 0 });
    const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
    let patched = 0;
    for (let i = 0; i + 4 <= zip.length; i++) {
      if (view.getUint32(i, true) === 0x02014b50) {
        view.setUint32(i + 24, 3 * 2 ** 30, true); // the central directory's uncompressed size
        patched++;
      }
    }
    assert.equal(patched, 1);
    await refused(
      readWork([file(zip, 'big.zip')]),
      'big.zip: it unpacks to 3.0 GiB, more than a page can hold (2 GiB): import its images ' +
        'in smaller zips',
    );
  });

  test('a zip with other files', async () => {
    await refused(
      readWork([zipFile({ 'images/a.png': pngImage(4, 4) }), file(pngImage(4, 4), 'b.png')]),
      'work.zip: a zip is imported on its own: choose the zip alone, or images with their ' +
        '<stem>_mask.png files',
    );
  });

  test('a mask whose size differs from its image', async () => {
    await refused(
      readWork([file(pngImage(12, 10), 'p.png'), file(mask(10, 12), 'p_mask.png')]),
      'p_mask.png: the mask is 12x10 but its image is 10x12',
    );
    await refused(
      readWork([
        zipFile({ 'images/p.png': pngImage(12, 10), 'masks/p.png': mask(12, 11) }, 'd.zip'),
      ]),
      'd.zip: masks/p.png: the mask is 11x12 but its image is 10x12',
    );
  });

  test('a mask without an image', async () => {
    await refused(
      readWork([file(pngImage(4, 4), 'p.png'), file(mask(4, 4), 'z_mask.png')]),
      'z_mask.png: a mask (its name ends in _mask) without its image: choose z.png (or .jpg, .bmp) with it',
    );
    await refused(
      readWork([zipFile({ 'images/p.png': pngImage(4, 4), 'masks/z.png': mask(4, 4) }, 'd.zip')]),
      'd.zip: masks/z.png: a mask without an image: no image pairs with it (the mask of an ' +
        'image <stem>.* is named <stem>.png, <stem>_mask.png or <stem>_segmentation.png)',
    );
  });

  test('two masks of one image, two images of one stem, a file that is not an image', async () => {
    await refused(
      readWork([
        zipFile(
          {
            'images/p.png': pngImage(4, 4),
            'masks/p.png': mask(4, 4),
            'masks/p_mask.png': mask(4, 4),
          },
          'd.zip',
        ),
      ]),
      'd.zip: masks/p.png: one image has two masks: p.png and p_mask.png; keep one of them',
    );
    await refused(
      readWork([file(pngImage(4, 4), 'p.png'), file(pngImage(4, 4), 'p.bmp')]),
      'p.bmp: has the name of p.png without its extension: rename one of them (a mask is ' +
        'named <stem>_mask.png)',
    );
    await refused(
      readWork([file(strToU8('not a picture'), 'notes.txt')]),
      'notes.txt: not an image: expected a PNG, JPEG or BMP file',
    );
  });

  test('a manifest of an unknown version, of another format, or naming a missing file', async () => {
    const entries = await workZipEntries(threeImages(), META);
    const withManifest = (change: (m: Record<string, unknown>) => void) => {
      const m = manifestOf(entries) as unknown as Record<string, unknown>;
      change(m);
      return zipFile({ ...entries, 'manifest.json': strToU8(JSON.stringify(m)) });
    };
    await refused(
      readWork([withManifest((m) => (m.version = 2))]),
      'work.zip: manifest.json: unsupported version 2 (this program reads versions up to 1): ' +
        'it was written by a newer focal-tversky-unet; upgrade to read it',
    );
    await refused(
      readWork([withManifest((m) => (m.format = 'somethingElse'))]),
      'work.zip: manifest.json: expected "format": "ftunetWork", got "somethingElse"',
    );
    await refused(
      readWork([withManifest((m) => ((m.images as { status: string }[])[1].status = 'maybe'))]),
      'work.zip: manifest.json: "images.1.status" must be one of unreviewed, accepted, ' +
        'corrected, got "maybe"',
    );
    const { ['masks/b.png']: _gone, ...missing } = entries;
    await refused(
      readWork([zipFile(missing)]),
      'work.zip: manifest.json: names masks/b.png as the mask of b.png, but the zip does not ' +
        'hold it',
    );
    await refused(
      readWork([zipFile({ ...entries, 'images/new.png': pngImage(4, 4) })]),
      'work.zip: manifest.json: does not name images/new.png: remove manifest.json to import ' +
        'the folders as a data set (images with ground truths), or take the files out of the zip',
    );
    await refused(
      readWork([zipFile({ ...entries, 'manifest.json': strToU8('{') })]),
      /^work\.zip: manifest\.json: not JSON \(.+\)$/,
    );
  });

  test('a zip that is neither a work zip nor a data set', async () => {
    await refused(
      readWork([zipFile({ 'a/x.png': pngImage(4, 4), 'b.txt': strToU8('x') }, 'other.zip')]),
      'other.zip: neither a work zip (no manifest.json) nor a data set (no images/ folder ' +
        'beside masks/); it holds a/, b.txt',
    );
  });
});
