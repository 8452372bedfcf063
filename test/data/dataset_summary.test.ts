import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDatasetSummary, summarizeDataset } from '../../src/data/dataset_summary.js';

describe('summarizeDataset', () => {
  test('sizes, layouts, lesion areas and empty masks, formatted', () => {
    const s = summarizeDataset({
      count: 4,
      originalSizes: [
        [570, 760],
        [500, 700],
        [600, 800],
        [570, 760],
      ],
      layouts: ['grey', 'grey', 'rgb', 'grey'],
      lesionArea: [0.02, 0.06, 0, 0.04],
    });
    assert.deepEqual(s, {
      count: 4,
      sizes: { height: { min: 500, max: 600 }, width: { min: 700, max: 800 } },
      layouts: { grey: 3, rgb: 1 },
      // mean 0.03; deviations -0.01, 0.03, -0.03, 0.01: population variance 0.0005.
      lesionArea: { mean: 0.03, std: Math.sqrt(0.0005), min: 0, max: 0.06 },
      emptyMasks: 1,
    });
    assert.deepEqual(formatDatasetSummary(s), [
      'pairs: 4',
      'original sizes (rows x cols): 500-600 x 700-800',
      'channel layouts: grey 3, rgb 1',
      'lesion area: 3.00% ± 2.24% (min 0.00%, max 6.00%); 1 empty masks',
    ]);
  });
});
