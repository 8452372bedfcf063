import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { maskOutline, overlayMask, parseOverlayStyle } from '../../src/predict/overlay.js';
import { rectMask } from '../data/fixtures.js';

const mask = (h: number, w: number, rect: [number, number, number, number]) => ({
  data: rectMask(h, w, rect),
  height: h,
  width: w,
});

describe('maskOutline', () => {
  test('a 3x3 square in 5x5: the ring of 8 pixels; thickness 2 takes all 9', () => {
    const m = mask(5, 5, [1, 4, 1, 4]);
    // prettier-ignore
    assert.deepEqual([...maskOutline(m)], [
      0, 0, 0, 0, 0,
      0, 1, 1, 1, 0,
      0, 1, 0, 1, 0,
      0, 1, 1, 1, 0,
      0, 0, 0, 0, 0,
    ]);
    assert.deepEqual([...maskOutline(m, 2)], [...m.data]);
  });

  test("the image's edge closes a lesion that touches it", () => {
    // Rows 0-2, cols 0-3 of 4x5: the top and left edges are outline; (1,1), (1,2) are inside.
    // prettier-ignore
    assert.deepEqual([...maskOutline(mask(4, 5, [0, 3, 0, 4]))], [
      1, 1, 1, 1, 0,
      1, 0, 0, 1, 0,
      1, 1, 1, 1, 0,
      0, 0, 0, 0, 0,
    ]);
  });

  test('thickness must be a positive integer', () => {
    assert.throws(() => maskOutline(mask(2, 2, [0, 1, 0, 1]), 0), {
      name: 'UserError',
      message: 'thickness must be a positive integer, got 0',
    });
  });
});

describe('overlayMask', () => {
  const grey = { data: Uint8Array.from([10, 20, 30, 40]), height: 2, width: 2, channels: 1 };
  const m = { data: Uint8Array.from([1, 1, 0, 0]), height: 2, width: 2 };

  test('contour: outline pixels in the colour, the rest the image in RGB', () => {
    const out = overlayMask(grey, m, { color: [255, 0, 0] });
    assert.equal(out.channels, 3);
    assert.deepEqual([...out.data], [255, 0, 0, 255, 0, 0, 30, 30, 30, 40, 40, 40]);
    // The input is not modified.
    assert.deepEqual([...grey.data], [10, 20, 30, 40]);
  });

  test('tint: lesion pixels blended with the colour at the opacity (worked by hand)', () => {
    const rgb = {
      data: Uint8Array.from([100, 100, 100, 0, 50, 200]),
      height: 1,
      width: 2,
      channels: 3,
    };
    const out = overlayMask(
      rgb,
      { data: Uint8Array.from([0, 1]), height: 1, width: 2 },
      {
        style: 'tint',
        color: [0, 255, 0],
        opacity: 0.4,
      },
    );
    // 0.6 * (0, 50, 200) + 0.4 * (0, 255, 0) = (0, 132, 120).
    assert.deepEqual([...out.data], [100, 100, 100, 0, 132, 120]);
    assert.notEqual(out.data, rgb.data);
  });

  test('errors: sizes, opacity, style', () => {
    assert.throws(() => overlayMask(grey, { data: new Uint8Array(6), height: 2, width: 3 }), {
      name: 'UserError',
      message: 'the image is 2x2 but the mask is 2x3',
    });
    assert.throws(() => overlayMask(grey, m, { style: 'tint', opacity: 2 }), {
      message: 'opacity must be from 0 to 1, got 2',
    });
    assert.throws(() => overlayMask(grey, m, { style: 'fill' as 'tint' }), {
      message: "unknown style 'fill'; expected one of contour, tint",
    });
    assert.throws(() => parseOverlayStyle('fill'), {
      message: "--overlay: expected one of contour, tint, got 'fill'",
    });
    assert.equal(parseOverlayStyle(' Tint '), 'tint');
  });
});
