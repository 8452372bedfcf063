/**
 * `ftunet evaluate --pred` on mask folders that other tools write: two masks of one image in
 * two formats are refused (exit code 2) rather than one of them scored at random, and masks
 * that would score as empty although they hold a shape (values that never reach half of the
 * range, a shape drawn in the alpha channel alone) are named in one warning each. No model,
 * no backend: these runs are quick.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encode } from 'fast-png';
import { makeTemp, removeTemp, scale, writeRaw } from '../data/fixtures.js';
import { EVAL_ITEMS, region, writeBusItems } from '../eval/fixtures.js';
import { runCli } from './run.js';

let root: string;
let data: string;

before(async () => {
  root = await makeTemp('ftunet-cli-pred-');
  data = path.join(root, 'bus');
  await writeBusItems(data);
});
after(() => removeTemp(root));

/** A folder with the ground truths as predictions (a perfect score), then `change` applied. */
async function predFolder(name: string, change: (dir: string) => Promise<void>): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(dir, { recursive: true });
  for (const it of EVAL_ITEMS)
    await copyFile(path.join(data, 'gt', it.name), path.join(dir, it.name));
  await change(dir);
  return dir;
}

/** Every item's lesion as 0/1, in a PNG of `channels` (1 to 4) at `depth` bits. */
async function writePng(
  file: string,
  item: (typeof EVAL_ITEMS)[number],
  pixel: (lesion: boolean) => number[],
  depth: 8 | 16 = 8,
): Promise<void> {
  const { height, width } = item;
  const lesion = region(height, width, item.lesion);
  const channels = pixel(false).length;
  const values =
    depth === 16
      ? new Uint16Array(height * width * channels)
      : new Uint8Array(height * width * channels);
  for (let i = 0; i < lesion.length; i++) values.set(pixel(lesion[i] === 1), i * channels);
  await writeFile(file, encode({ width, height, data: values, channels, depth }));
}

const evaluate = (pred: string, out: string) =>
  runCli([
    'evaluate',
    '--pred',
    pred,
    '--dataset',
    'bus',
    '--data',
    data,
    '--out',
    path.join(root, out),
    '--quiet',
  ]);

describe('evaluate --pred', () => {
  test('two masks of one stem in two formats: exit code 2 naming both, nothing written', async () => {
    const pred = await predFolder('two-formats', async (dir) => {
      const it = EVAL_ITEMS[2];
      // An empty mask as TIFF beside the PNG (sorted after it, so it used to win silently).
      await writeRaw(
        path.join(dir, '000003.tiff'),
        new Uint8Array(it.height * it.width),
        it.height,
        it.width,
        1,
        'tiff',
      );
    });
    const r = evaluate(pred, 'e-two');
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      r.stderr,
      `ftunet: --pred ${pred}: 1 image with two masks: 000003.png and 000003.tiff\n`,
    );
    await assert.rejects(readFile(path.join(root, 'e-two', 'metrics.csv')), { code: 'ENOENT' });
  });

  test('masks that would score as empty although they hold a shape: one warning line each', async () => {
    const [one, two, three, four] = EVAL_ITEMS;
    const pred = await predFolder('faint', async (dir) => {
      // 000001: a lesion at 100 of 255, below half of the range (scored as empty).
      await writeRaw(
        path.join(dir, one.name),
        scale(region(one.height, one.width, one.lesion), 100),
        one.height,
        one.width,
        1,
      );
      // 000002: grey 0 everywhere, the lesion in the alpha channel alone.
      await writePng(path.join(dir, two.name), two, (l) => [0, l ? 255 : 0]);
      // 000003: an empty mask with an opaque alpha channel: truly empty, no warning.
      await writePng(path.join(dir, three.name), three, () => [0, 255]);
      // 000004: 16-bit grey and alpha, the lesion in grey, opaque: read as the lesion.
      await writePng(path.join(dir, four.name), four, (l) => [l ? 65535 : 0, 65535], 16);
    });
    const r = evaluate(pred, 'e-faint');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stderr,
      `ftunet evaluate: warning: --pred ${pred}: 1 mask is scored as empty although it has ` +
        'values above 0: none reaches half of its range (a lesion is above 0.5 of 1, 127.5 of ' +
        '255 or 32767.5 of 65535): 000001.png (largest value 100)\n' +
        `ftunet evaluate: warning: --pred ${pred}: 1 mask is scored as empty although its alpha ` +
        'channel holds a shape (masks are read from their grey or colour values, not from ' +
        'alpha): 000002.png\n',
    );
    const csv = (await readFile(path.join(root, 'e-faint', 'metrics.csv'), 'utf8'))
      .trim()
      .split('\n');
    const dsc = Object.fromEntries(
      csv.slice(1).map((l) => [l.split(',')[0], Number(l.split(',')[1])]),
    );
    // Empty predictions of the two lesions score DSC 1/(area + 1) (smooth 1); the others are perfect.
    assert.deepEqual(dsc, {
      '000001.png': 1 / 161,
      '000002.png': 1 / 51,
      '000003.png': 1,
      '000004.png': 1,
    });
  });
});
