import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { SegmentationDataset } from '../../src/data/dataset.js';
import {
  evaluateModel,
  finalOutputModel,
  modelInputShape,
  type ImageEvaluation,
} from '../../src/eval/evaluate.js';
import type { SegmentationMetrics } from '../../src/metrics/evaluation.js';
import { resizeMask, resizeNearest } from '../../src/util/raster.js';
import { expectClose, NUMERIC_BACKENDS, useBackend } from '../helpers.js';
import { EVAL_ITEMS, region, thresholdModel } from './fixtures.js';

const values = (m: SegmentationMetrics) => [m.dsc, m.precision, m.recall, m.tnr, m.iou];

/** The fixture items as an in-memory data set at 32x32 (what loadDataset would give). */
function memoryDataset(channels: 1 | 3 = 1): SegmentationDataset {
  const size: [number, number] = [32, 32];
  const originals = EVAL_ITEMS.map((it) => ({
    image: {
      data: region(it.height, it.width, it.white).map((v) => v * 255),
      height: it.height,
      width: it.width,
      channels: 1,
    },
    mask: { data: region(it.height, it.width, it.lesion), height: it.height, width: it.width },
  }));
  const images = originals.map((o) => {
    const small = resizeNearest(o.image, size[0], size[1]).data;
    return channels === 1
      ? small
      : Uint8Array.from({ length: small.length * 3 }, (_, i) => small[Math.floor(i / 3)]);
  });
  return {
    source: { kind: 'bus' },
    count: EVAL_ITEMS.length,
    inputSize: size,
    channels,
    interpolation: 'nearest',
    names: EVAL_ITEMS.map((it) => it.name),
    originalSizes: EVAL_ITEMS.map((it) => [it.height, it.width] as const),
    layouts: EVAL_ITEMS.map(() => 'grey'),
    lesionArea: originals.map((o) => o.mask.data.reduce((a, b) => a + b, 0) / o.mask.data.length),
    images,
    masks: originals.map((o) => resizeMask(o.mask, size).data),
    loadOriginalMask: (i) => Promise.resolve(originals[i].mask),
    loadOriginalImage: () => Promise.reject(new Error('unused')),
  };
}

// Hand-worked scores of the fixture items at the original size (see score.test.ts for the
// nearest-neighbour round trip of item 1):
// - item 1: TP 160, FP 38, FN 0, TN 1152 -> [321/359, 161/199, 1, 1153/1191, 161/199];
// - item 2: a missed 50-pixel lesion -> DSC = recall = IoU = 1/51, precision = TNR = 1;
// - item 3: empty and empty -> all 1;
// - item 4: the 20x35 rectangle at rows 5-24, cols 5-39 comes back at rows 6-25, cols 6-40
//   (input rows 6-26 show original rows floor(30 y / 32) in 5-24; original row y takes
//   input row floor(32 y / 30), in 6-26 for y = 6..25; columns likewise: input 4-28,
//   original 6-40). TP = 19 x 34 = 646, FP = FN = 54, TN = 1350 - 754 = 596:
//   DSC 1293/1401, precision = recall = 647/701, TNR 597/651, IoU 647/755.
const EXPECTED = [
  [321 / 359, 161 / 199, 1, 1153 / 1191, 161 / 199],
  [1 / 51, 1, 1 / 51, 1, 1 / 51],
  [1, 1, 1, 1, 1],
  [1293 / 1401, 647 / 701, 647 / 701, 597 / 651, 647 / 755],
];
// At the input size: item 2's lesion covers input rows 11-15, cols 8-14 (35 pixels).
const EXPECTED_INPUT = [
  [1, 1, 1, 1, 1],
  [1 / 36, 1, 1 / 36, 1, 1 / 36],
  [1, 1, 1, 1, 1],
  [1, 1, 1, 1, 1],
];

for (const backend of NUMERIC_BACKENDS) {
  describe(`evaluateModel (${backend})`, () => {
    test('scores every item at its original size, batch by batch, without leaking tensors', async () => {
      await useBackend(backend);
      const model = thresholdModel();
      const before = tf.memory().numTensors;
      const progress: string[] = [];
      const rows = await evaluateModel(model, memoryDataset(), [3, 0, 1, 2], {
        batchSize: 3,
        inputSizeMetrics: true,
        onProgress: (p) => progress.push(`${p.done}/${p.total}`),
      });
      assert.equal(tf.memory().numTensors, before);
      assert.deepEqual(progress, ['3/4', '4/4']);
      assert.deepEqual(
        rows.map((r) => [r.name, r.index, r.originalSize]),
        [
          ['000004.png', 3, [30, 45]],
          ['000001.png', 0, [30, 45]],
          ['000002.png', 1, [30, 45]],
          ['000003.png', 2, [17, 23]],
        ],
      );
      const byIndex = (i: number): ImageEvaluation => rows.find((r) => r.index === i)!;
      for (let i = 0; i < 4; i++) {
        expectClose(values(byIndex(i).metrics), EXPECTED[i], {}, `item ${i + 1}`);
        expectClose(values(byIndex(i).atInputSize!), EXPECTED_INPUT[i], {}, `item ${i + 1} input`);
      }
      expectClose(rows.map((r) => [r.truthArea, r.predictedArea]).flat(), [
        700 / 1350,
        700 / 1350,
        160 / 1350,
        198 / 1350,
        50 / 1350,
        0,
        0,
        0,
      ]);
      model.dispose();
    });

    test('the threshold: at 0.9 nothing is lesion (white gives 0.881)', async () => {
      await useBackend(backend);
      const model = thresholdModel();
      const [row] = await evaluateModel(model, memoryDataset(), [0], { threshold: 0.9 });
      expectClose(values(row.metrics), [1 / 161, 1, 1 / 161, 1, 1 / 161]);
      assert.equal(row.atInputSize, undefined);
      model.dispose();
    });

    test("the output named 'final' is scored, not the deep-supervision heads", async () => {
      await useBackend(backend);
      const model = thresholdModel([32, 32, 3], { extraOutput: true });
      assert.equal(model.outputs.length, 2);
      assert.equal(finalOutputModel(model).outputs.length, 1);
      const rows = await evaluateModel(model, memoryDataset(3), [0, 1]);
      expectClose(values(rows[0].metrics), EXPECTED[0]);
      expectClose(values(rows[1].metrics), EXPECTED[1]);
      model.dispose();
    });
  });
}

describe('evaluateModel errors', () => {
  test('a model whose input does not match the data set, bad options, no items', async () => {
    await useBackend('cpu');
    const model = thresholdModel([32, 32, 3]);
    await assert.rejects(evaluateModel(model, memoryDataset(1), [0]), {
      name: 'UserError',
      message: 'the model takes 32x32x3 inputs but the data set was loaded at 32x32x1',
    });
    await assert.rejects(evaluateModel(model, memoryDataset(3), []), {
      message: 'no items to evaluate',
    });
    await assert.rejects(evaluateModel(model, memoryDataset(3), [0], { batchSize: 0 }), {
      message: 'batchSize must be a positive integer, got 0',
    });
    await assert.rejects(evaluateModel(model, memoryDataset(3), [0], { threshold: 2 }), {
      message: 'threshold must be a number from 0 to 1, got 2',
    });
    assert.deepEqual(modelInputShape(model, 'x'), [32, 32, 3]);
    model.dispose();
  });

  test('an original mask whose size changed since loading', async () => {
    await useBackend('cpu');
    const model = thresholdModel();
    const ds = memoryDataset();
    const changed: SegmentationDataset = {
      ...ds,
      loadOriginalMask: () => Promise.resolve({ data: new Uint8Array(4), height: 2, width: 2 }),
    };
    await assert.rejects(evaluateModel(model, changed, [0]), {
      message:
        'the original mask of 000001.png is 2x2, but the data set recorded 30x45: ' +
        'the file changed since it was loaded',
    });
    model.dispose();
  });
});
