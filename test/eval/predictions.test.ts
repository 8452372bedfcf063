/**
 * Scoring another tool's masks (src/eval/predictions.ts) through the library: matching mask
 * files to the data set's items by stem, the warnings about masks that score as empty although
 * they hold a shape, and a whole evaluation of a mask folder on the BUS fixture of
 * test/eval/fixtures.ts. test/cli/evaluate_pred.test.ts runs the same through `ftunet evaluate
 * --pred`. No model, no backend.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ImageFile } from '../../src/data/listing.js';
import { metricsCsv } from '../../src/eval/evaluation_summary.js';
import {
  emptyMaskWarnings,
  evaluatePredictions,
  matchPredictions,
} from '../../src/eval/predictions.js';
import { makeTemp, removeTemp, scale, writeRaw } from '../data/fixtures.js';
import { EVAL_ITEMS, EVAL_SPLIT, region, writeBusItems } from './fixtures.js';

/** Image files of a folder /p, by name. */
const files = (...names: string[]): ImageFile[] =>
  names.map((name) => ({ name, stem: path.parse(name).name, path: `/p/${name}` }));

describe('matchPredictions', () => {
  test("each stem's one mask, with any of the three suffixes; other files ignored", () => {
    const found = matchPredictions(
      files('c_segmentation.tif', 'a.png', 'zzz.png', 'b_mask.png', 'a_extra.png'),
      ['a', 'b', 'c'],
      '--pred P',
    );
    assert.deepEqual(found, ['/p/a.png', '/p/b_mask.png', '/p/c_segmentation.tif']);
  });

  test('images without a mask: one line naming a few', () => {
    assert.throws(() => matchPredictions(files('a.png'), ['a', 'b', 'c'], '--pred P'), {
      name: 'UserError',
      message:
        '--pred P: no mask for 2 images of 3 (expected <stem>.png, <stem>_mask.png or ' +
        '<stem>_segmentation.png): b, c',
    });
  });

  test('two masks of one image (two suffixes, or two formats of one stem) are refused', () => {
    assert.throws(
      () =>
        matchPredictions(
          files('a.png', 'a_mask.png', 'b.png', 'b.tiff', 'c.png'),
          ['a', 'b', 'c'],
          '--pred P',
        ),
      {
        name: 'UserError',
        message: '--pred P: 2 images with two masks: a.png and a_mask.png, b.png and b.tiff',
      },
    );
  });

  test('a missing mask is named before an ambiguous one', () => {
    assert.throws(
      () => matchPredictions(files('a.png', 'a_mask.png'), ['a', 'b'], '--pred P'),
      /no mask for 1 image of 2 .*: b$/,
    );
  });
});

describe('emptyMaskWarnings', () => {
  test('none when no mask looks empty', () => {
    assert.deepEqual(emptyMaskWarnings('--pred P', { faint: [], inAlpha: [] }), []);
  });

  test('one line per kind, in the singular and the plural', () => {
    assert.deepEqual(
      emptyMaskWarnings('--pred P', {
        faint: ['a.png (largest value 100)'],
        inAlpha: ['b.png', 'c.png'],
      }),
      [
        '--pred P: 1 mask is scored as empty although it has values above 0: none reaches ' +
          'half of its range (a lesion is above 0.5 of 1, 127.5 of 255 or 32767.5 of 65535): ' +
          'a.png (largest value 100)',
        '--pred P: 2 masks are scored as empty although their alpha channel holds a shape ' +
          '(masks are read from their grey or colour values, not from alpha): b.png, c.png',
      ],
    );
  });
});

describe('evaluatePredictions', () => {
  let root: string;
  let data: string;
  let split: string;
  before(async () => {
    root = await makeTemp('ftunet-eval-pred-');
    data = path.join(root, 'bus');
    await writeBusItems(data);
    split = path.join(root, 'split.json');
    await writeFile(split, JSON.stringify(EVAL_SPLIT));
  });
  after(() => removeTemp(root));

  test("a split's test items scored at the original size; summary and CSV written", async () => {
    const pred = path.join(root, 'pred');
    await mkdir(pred);
    // 000001 and 000003 as the ground truth (the latter as predict names it); 000002 empty at
    // 100 of 255 (scored empty: a warning); 000004 (a training item) absent.
    await copyFile(path.join(data, 'gt', '000001.png'), path.join(pred, '000001.png'));
    await copyFile(path.join(data, 'gt', '000003.png'), path.join(pred, '000003_mask.png'));
    const two = EVAL_ITEMS[1];
    await writeRaw(
      path.join(pred, '000002.png'),
      scale(region(two.height, two.width, two.lesion), 100),
      two.height,
      two.width,
      1,
    );
    const warnings: string[] = [];
    const progress: number[] = [];
    const out = path.join(root, 'out');
    const report = await evaluatePredictions({
      pred,
      dataset: 'bus',
      data,
      split,
      out,
      onWarning: (w) => warnings.push(w),
      onProgress: (p) => progress.push(p.done),
    });
    assert.deepEqual(
      report.rows.map((r) => [r.name, r.index, r.originalSize, r.metrics.dsc]),
      [
        ['000001.png', 0, [30, 45], 1],
        // An empty prediction of a 50-pixel lesion: DSC 1/(50 + 1) (smooth 1).
        ['000002.png', 1, [30, 45], 1 / 51],
        ['000003.png', 2, [17, 23], 1],
      ],
    );
    assert.deepEqual(progress, [1, 2, 3]);
    assert.deepEqual(warnings, [
      `--pred ${pred}: 1 mask is scored as empty although it has values above 0: none reaches ` +
        'half of its range (a lesion is above 0.5 of 1, 127.5 of 255 or 32767.5 of 65535): ' +
        '000002.png (largest value 100)',
    ]);
    const summary = JSON.parse(await readFile(report.files.summary, 'utf8'));
    assert.equal(summary.threshold, null);
    assert.equal(summary.fold, 0);
    assert.equal(summary.model, 'pred');
    assert.equal(summary.predictions, pred);
    assert.deepEqual(summary.dataset, { kind: 'bus', data });
    assert.equal(summary.split, split);
    assert.deepEqual(summary.postprocess, { keepLargest: false, minSize: 0 });
    assert.equal(await readFile(path.join(out, 'metrics.csv'), 'utf8'), metricsCsv(report.rows));
  });

  test('a mask of another size than its ground truth: one line, nothing written', async () => {
    const pred = path.join(root, 'pred-size');
    await mkdir(pred);
    for (const it of EVAL_ITEMS) {
      await writeRaw(
        path.join(pred, it.name),
        new Uint8Array(it.height * (it.width + 1)),
        it.height,
        it.width + 1,
        1,
      );
    }
    const out = path.join(root, 'out-size');
    await assert.rejects(evaluatePredictions({ pred, dataset: 'bus', data, out }), {
      name: 'UserError',
      message:
        `--pred: ${path.join(pred, '000001.png')} is 30x46 but the ground truth of ` +
        '000001.png is 30x45',
    });
    await assert.rejects(readFile(path.join(out, 'metrics.csv')), { code: 'ENOENT' });
  });

  test('a fold without a split file is refused', async () => {
    await assert.rejects(
      evaluatePredictions({ pred: data, dataset: 'bus', data, out: root, fold: 0 }),
      { message: 'fold: applies to a split file, and none was given' },
    );
  });
});
