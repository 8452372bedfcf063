import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { thresholdProbabilities } from '../../src/eval/score.js';
import { probabilityMap16, PROBABILITY_SCALE } from '../../src/predict/probability_map.js';
import { Rng } from '../../src/util/rng.js';
import { resizeMask } from '../../src/util/raster.js';

describe('probabilityMap16 (predict --save-probabilities)', () => {
  test('round(p x 65535), resized as the mask is', () => {
    const p = Float32Array.from([0, 0.25, 1, 0.5]);
    // 2x2 to 3x5 by OpenCV's nearest rule: rows 0,0,1; cols 0,0,0,1,1.
    const q = probabilityMap16(p, [2, 2], [3, 5], 0.5);
    const v = [0, Math.round(0.25 * PROBABILITY_SCALE), 65535, 32768];
    // 0.5 is not lesion at threshold 0.5: round gives 32768 (> 32767.5), moved to 32767.
    v[3] = 32767;
    assert.deepEqual(Array.from(q), [
      v[0],
      v[0],
      v[0],
      v[1],
      v[1],
      v[0],
      v[0],
      v[0],
      v[1],
      v[1],
      v[2],
      v[2],
      v[2],
      v[3],
      v[3],
    ]);
  });

  test('the mask is exactly value / 65535 > threshold, and values are within one step of p', () => {
    const rng = new Rng(9);
    for (const t of [0.5, 0.3, 0.31, 0.9, 0, 1]) {
      // Probabilities near the threshold, where rounding could cross it, and anywhere.
      const p = Float32Array.from({ length: 12 * 9 }, (_, i) =>
        i % 2 === 0 ? Math.min(1, Math.max(0, t + (rng.next() - 0.5) * 4e-5)) : rng.next(),
      );
      const mask = resizeMask(thresholdProbabilities(p, [12, 9], t), [31, 17]);
      const q = probabilityMap16(p, [12, 9], [31, 17], t);
      const fromQ = Array.from(q, (v) => (v / PROBABILITY_SCALE > t ? 1 : 0));
      assert.deepEqual(fromQ, Array.from(mask.data), `threshold ${t}`);
      const small = probabilityMap16(p, [12, 9], [12, 9], t);
      small.forEach((v, i) =>
        assert.ok(Math.abs(v - p[i] * PROBABILITY_SCALE) <= 1, `t ${t} i ${i}`),
      );
    }
  });
});
