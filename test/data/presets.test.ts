import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DATASET_PRESETS,
  datasetLayout,
  datasetPreset,
  syntheticKindOf,
  parseChannels,
  parseDatasetLayout,
  parseInputSize,
} from '../../src/data/presets.js';

describe('presets and flag parsers', () => {
  test("the paper's settings per data set", () => {
    assert.deepEqual(DATASET_PRESETS.bus, {
      title: 'BUS 2017 data set B (breast ultrasound)',
      layout: 'bus',
      inputSize: [128, 128],
      channels: 1,
      epochs: 100,
      batchSize: 16,
      // Ultrasound has a direction (depth): no vertical flip or quarter turn; left-right
      // mirrors are ultrasound images too (test-time augmentation may use them).
      augmentExclude: ['flipV', 'rot90'],
      naturalMirrors: { horizontal: true, vertical: false },
    });
    assert.deepEqual(datasetPreset('isic2018'), {
      title: 'ISIC 2018 Task 1 (dermoscopy)',
      layout: 'isic2018',
      inputSize: [192, 256],
      channels: 3,
      epochs: 50,
      batchSize: 8,
      augmentExclude: [],
      // Dermoscopy has no orientation.
      naturalMirrors: { horizontal: true, vertical: true },
    });
    // The synthetic stand-ins share their data set's settings and layout (not its title).
    for (const [synthetic, real, title] of [
      ['synthetic-bus', 'bus', 'synthetic breast-ultrasound images'],
      ['synthetic-isic', 'isic2018', 'synthetic dermoscopy images'],
    ] as const) {
      const { synthetic: generator, title: own, ...rest } = datasetPreset(synthetic);
      assert.equal(own, title);
      const { title: _realTitle, ...realRest } = datasetPreset(real);
      assert.deepEqual(rest, realRest);
      assert.equal(generator, syntheticKindOf(synthetic));
      assert.equal(datasetLayout(synthetic), real);
      assert.equal(syntheticKindOf(real), undefined);
    }
    assert.throws(() => datasetPreset('ct' as 'bus'), {
      message:
        "unknown data set 'ct'; expected one of bus, isic2018, folder, " +
        'synthetic-bus, synthetic-isic',
    });
  });

  test('parseInputSize takes rows,cols or rowsxcols', () => {
    assert.deepEqual(parseInputSize('192,256'), [192, 256]);
    assert.deepEqual(parseInputSize(' 64 x 96 '), [64, 96]);
    for (const bad of ['128', '0,5', '1,2,3', 'a,b', '5000,5']) {
      assert.throws(() => parseInputSize(bad), {
        name: 'UserError',
        message: `--input-size: expected rows,cols such as 128,128 or 192x256 (each 1 to 4096), got '${bad}'`,
      });
    }
  });

  test('parseChannels and parseDatasetLayout', () => {
    assert.equal(parseChannels('3'), 3);
    assert.throws(() => parseChannels('2'), {
      message: "--channels: expected 1 (grey) or 3 (RGB), got '2'",
    });
    assert.equal(parseDatasetLayout('ISIC2018'), 'isic2018');
    assert.throws(() => parseDatasetLayout('busi'), {
      message: "--dataset: unknown data set 'busi'; expected one of bus, isic2018, folder",
    });
  });
});
