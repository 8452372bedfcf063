/**
 * Window/level for grey images (src/webapp/window_level.ts): the table against the formula
 * out(v) = clamp(round((v - (level - window / 2)) * 255 / window), 0, 255) at hand-worked
 * points; the default is the identity; a one-wide window is a threshold; grey detection; the
 * RGBA rows written.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEFAULT_WINDOW_LEVEL,
  greyToRgba,
  isGrey,
  windowLevelLut,
} from '../../src/webapp/window_level.js';

describe('window/level', () => {
  test('the default window and level show every grey value as it is', () => {
    const lut = windowLevelLut(DEFAULT_WINDOW_LEVEL);
    for (let v = 0; v < 256; v++) assert.equal(lut[v], v);
  });

  test('hand-worked values of window 100 at level 50 (grey 0 to 100 spread over 0 to 255)', () => {
    const lut = windowLevelLut({ window: 100, level: 50 });
    // (v - 0) * 2.55: 20 -> 51, 50 -> 127.5 -> 128, 99 -> 252.45 -> 252, 100 -> 255, 101 -> 255.
    const cases: Array<[number, number]> = [
      [0, 0],
      [1, 3],
      [20, 51],
      [50, 128],
      [99, 252],
      [100, 255],
      [101, 255],
      [255, 255],
    ];
    for (const [v, out] of cases) assert.equal(lut[v], out, `grey ${v}`);
  });

  test('a window 50 at level 200 darkens everything under 175; window 1 is a threshold', () => {
    const lut = windowLevelLut({ window: 50, level: 200 });
    // (v - 175) * 5.1: 175 -> 0, 180 -> 25.5 -> 26, 200 -> 127.5 -> 128, 225 -> 255.
    assert.deepEqual(
      [lut[0], lut[175], lut[180], lut[200], lut[224], lut[225]],
      [0, 0, 26, 128, 250, 255],
    );
    const t = windowLevelLut({ window: 1, level: 127.5 });
    // (v - 127) * 255: 127 -> 0, 128 -> 255.
    assert.deepEqual([t[0], t[127], t[128], t[255]], [0, 0, 255, 255]);
    // Narrower than 1 is 1.
    assert.deepEqual(windowLevelLut({ window: 0, level: 127.5 }), t);
  });

  test('grey images: one or two channels, or RGB(A) whose channels agree', () => {
    const img = (channels: number, data: number[]) => ({
      data: Uint8Array.from(data),
      height: 1,
      width: data.length / channels,
      channels,
    });
    assert.equal(isGrey(img(1, [1, 2, 3])), true);
    assert.equal(isGrey(img(2, [1, 255, 3, 255])), true);
    assert.equal(isGrey(img(3, [7, 7, 7, 9, 9, 9])), true);
    assert.equal(isGrey(img(4, [7, 7, 7, 255, 9, 9, 9, 0])), true);
    assert.equal(isGrey(img(3, [7, 7, 7, 9, 9, 8])), false);
  });

  test('greyToRgba writes the rows asked for, opaque', () => {
    const image = { data: Uint8Array.from([0, 100, 200, 255]), height: 2, width: 2, channels: 1 };
    const lut = windowLevelLut({ window: 100, level: 50 });
    const out = new Uint8ClampedArray(16);
    greyToRgba(image, lut, out, 1, 2);
    assert.deepEqual([...out], [0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255]);
    greyToRgba(image, lut, out);
    assert.deepEqual([...out.subarray(0, 8)], [0, 0, 0, 255, 255, 255, 255, 255]);
  });
});
