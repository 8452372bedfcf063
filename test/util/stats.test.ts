import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expectClose } from '../helpers.js';
import { formatFractionStats, summaryStats } from '../../src/util/stats.js';

describe('summaryStats', () => {
  test('mean, population std, min, max worked by hand', () => {
    // [2, 4, 4, 4, 5, 5, 7, 9]: mean 5, squared deviations sum 32, population variance 4.
    const s = summaryStats([2, 4, 4, 4, 5, 5, 7, 9]);
    assert.deepEqual(s, { mean: 5, std: 2, min: 2, max: 9 });
  });

  test('one value has std 0; no values give NaN', () => {
    assert.deepEqual(summaryStats([0.25]), { mean: 0.25, std: 0, min: 0.25, max: 0.25 });
    const e = summaryStats([]);
    assert.ok(Number.isNaN(e.mean) && Number.isNaN(e.std) && Number.isNaN(e.min));
  });

  test('the two-pass variance stays exact on a large offset', () => {
    // One pass (sum x^2 - n mean^2) loses every digit here in float64.
    const s = summaryStats([1e9 + 1, 1e9 + 2, 1e9 + 3]);
    expectClose(s.std, Math.sqrt(2 / 3), { rtol: 1e-9, atol: 0 });
  });

  test('formatFractionStats prints percentages', () => {
    assert.equal(
      formatFractionStats({ mean: 0.0484, std: 0.0543, min: 0.0031, max: 0.198 }),
      '4.84% ± 5.43% (min 0.31%, max 19.80%)',
    );
  });
});
