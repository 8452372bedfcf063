import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { heatmapImage, VIRIDIS, viridis } from '../../src/predict/colormap.js';

describe('viridis', () => {
  test('the end points and the middle are matplotlib viridis stops', () => {
    assert.deepEqual(viridis(0), [68, 1, 84]);
    assert.deepEqual(viridis(1), [253, 231, 37]);
    // 0.5 -> entry 128, 128 / 255 * 8 = 4.016: the 0.5 stop (38, 130, 142) moved 1.6% of the
    // way to (31, 158, 137): (37.89, 130.44, 141.92), rounded.
    assert.deepEqual(viridis(0.5), [38, 130, 142]);
    assert.equal(VIRIDIS.length, 768);
  });

  test('values outside [0, 1] are clamped, NaN is 0', () => {
    assert.deepEqual(viridis(-3), viridis(0));
    assert.deepEqual(viridis(7), viridis(1));
    assert.deepEqual(viridis(Number.NaN), viridis(0));
  });

  test('luminance rises monotonically (readable in grey)', () => {
    let last = -1;
    for (let v = 0; v < 256; v++) {
      const y = 0.299 * VIRIDIS[v * 3] + 0.587 * VIRIDIS[v * 3 + 1] + 0.114 * VIRIDIS[v * 3 + 2];
      assert.ok(y >= last - 0.5, `luminance drops at ${v}: ${y} < ${last}`);
      last = y;
    }
  });
});

describe('heatmapImage', () => {
  test('a 1x2 map resized to 3x4: RGB, bilinear between the two values', () => {
    const img = heatmapImage({ data: [0, 1], height: 1, width: 2 }, [3, 4]);
    assert.deepEqual([img.height, img.width, img.channels, img.data.length], [3, 4, 3, 36]);
    // Columns at source x = (x + 0.5) * 2 / 4 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25
    // (clamped to 1): values 0, 64 (63.75 rounded), 191 (191.25), 255.
    const row = [0, 64, 191, 255].flatMap((v) => [...VIRIDIS.subarray(v * 3, v * 3 + 3)]);
    assert.deepEqual([...img.data], [...row, ...row, ...row]);
  });

  test('a map of the wrong length is an error', () => {
    assert.throws(() => heatmapImage({ data: [0, 1, 0], height: 2, width: 2 }, [4, 4]), {
      name: 'UserError',
      message: 'a 2x2 heat map needs 4 values, got 3',
    });
  });
});
