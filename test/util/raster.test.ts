import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  binarizeMask,
  convertChannels,
  lesionFraction,
  nearestIndices,
  parseInterpolation,
  resizeBilinear,
  resizeImage,
  resizeMask,
  resizeNearest,
  type RawImage,
} from '../../src/util/raster.js';

const img = (data: number[], height: number, width: number, channels: number): RawImage => ({
  data: Uint8Array.from(data),
  height,
  width,
  channels,
});

describe('convertChannels', () => {
  test('RGB to luminance uses the BT.601 weights of Pillow (worked by hand)', () => {
    // (19595 R + 38470 G + 7471 B + 32768) >> 16: red 255 -> (4996725 + 32768) >> 16 = 76,
    // green 255 -> 150, blue 255 -> 29.
    const out = convertChannels(img([255, 0, 0, 0, 255, 0, 0, 0, 255, 100, 150, 200], 1, 4, 3), 1);
    // 19595*100 + 38470*150 + 7471*200 = 9224400; (9224400 + 32768) >> 16 = 141.
    assert.deepEqual([...out.data], [76, 150, 29, 141]);
    assert.equal(out.channels, 1);
  });

  test('grey to RGB copies; alpha is dropped', () => {
    assert.deepEqual([...convertChannels(img([7, 9], 1, 2, 1), 3).data], [7, 7, 7, 9, 9, 9]);
    assert.deepEqual([...convertChannels(img([7, 200, 9, 0], 1, 2, 2), 1).data], [7, 9]);
    assert.deepEqual(
      [...convertChannels(img([1, 2, 3, 4, 5, 6, 7, 8], 1, 2, 4), 3).data],
      [1, 2, 3, 5, 6, 7],
    );
  });

  test('a same-layout conversion returns the input', () => {
    const a = img([1, 2, 3], 1, 1, 3);
    assert.equal(convertChannels(a, 3), a);
  });
});

describe('resizeNearest (OpenCV INTER_NEAREST rule)', () => {
  test('downsampling 1x5 -> 1x2 takes columns floor(x * 5 / 2) = 0, 2', () => {
    assert.deepEqual([...resizeNearest(img([10, 20, 30, 40, 50], 1, 5, 1), 1, 2).data], [10, 30]);
  });

  test('upsampling 2x2 -> 3x3 takes rows and cols floor(i * 2 / 3) = 0, 0, 1', () => {
    const out = resizeNearest(img([1, 2, 3, 4], 2, 2, 1), 3, 3);
    assert.deepEqual([...out.data], [1, 1, 2, 1, 1, 2, 3, 3, 4]);
  });

  test('256 -> 3188 reads column 63 at x = 797, not floor(797 * 256 / 3188) = 64', () => {
    // 3188 / 256 = 12.453125 exactly; its reciprocal rounds down in double precision, so
    // 797 * (1 / 12.453125) = 63.99999999999999 and OpenCV's floor gives 63 (likewise 127 at
    // 1594 = 2 * 797). Elsewhere the two rules agree: 796 -> 63, 798 -> 64.
    const ix = nearestIndices(256, 3188);
    assert.deepEqual([ix[796], ix[797], ix[798], ix[1594], ix[3187]], [63, 63, 64, 127, 255]);
    assert.equal((797 * 256) / 3188, 64);
    const row = Uint8Array.from({ length: 256 }, (_, i) => i);
    const out = resizeNearest({ data: row, height: 1, width: 256, channels: 1 }, 1, 3188);
    assert.deepEqual([out.data[797], out.data[1594]], [63, 127]);
  });

  test('channels move together', () => {
    const out = resizeNearest(img([1, 2, 3, 4, 5, 6], 1, 2, 3), 1, 4);
    assert.deepEqual([...out.data], [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]);
  });

  test('bad sizes are refused with the function named', () => {
    assert.throws(() => resizeNearest(img([1], 1, 1, 1), 0, 2), {
      message: "the resized image's size must be positive integers, got 0x2",
    });
    assert.throws(() => resizeNearest(img([1, 2], 1, 1, 1), 2, 2), {
      message: 'an image of 1x1x1 needs 1 values, got 2',
    });
  });
});

describe('resizeBilinear (OpenCV INTER_LINEAR, 8-bit fixed point)', () => {
  test('1x2 -> 1x4: source x = (x + 0.5) / 2 - 0.5 = -0.25 (clamped), 0.25, 0.75, 1.25 (clamped)', () => {
    // Weights (1 - f) * 2048, f * 2048; x = 1: h = 100 * 512 = 51200, one row (weight 2048):
    // ((2048 * (51200 >> 4)) >> 16 + 2) >> 2 = (100 + 2) >> 2 = 25; x = 2: 75.
    assert.deepEqual([...resizeBilinear(img([0, 100], 1, 2, 1), 1, 4).data], [0, 25, 75, 100]);
  });

  test('2x2 -> 5x5 at (2, 3) truncates as OpenCV does: 159 where the exact value is 159.75', () => {
    // x = 3: f = 3.5 * 0.4 - 0.5 = 0.9 (float32), weights round(0.1 * 2048) = 205 and
    // round(0.9 * 2048) = 1843; y = 2: f = 0.5, weights 1024 and 1024.
    // Rows along columns: h0 = 100 * 1843 = 184300, h1 = 255 * 1843 = 469965.
    // ((1024 * (184300 >> 4)) >> 16) = (1024 * 11518) >> 16 = 179;
    // ((1024 * (469965 >> 4)) >> 16) = (1024 * 29372) >> 16 = 458; (179 + 458 + 2) >> 2 = 159.
    // Exact bilinear: 0.5 * (0.9 * 100) + 0.5 * (0.9 * 255) = 159.75.
    const out = resizeBilinear(img([0, 100, 0, 255], 2, 2, 1), 5, 5);
    assert.equal(out.data[2 * 5 + 3], 159);
  });

  test('2x2 -> 1x1 (an exact halving) is the 2x2 mean, rounded half up', () => {
    // OpenCV takes its INTER_AREA path here: (0 + 10 + 20 + 30 + 2) >> 2 = 15;
    // (0 + 1 + 0 + 1 + 2) >> 2 = 1 (0.5 rounds up).
    assert.deepEqual([...resizeBilinear(img([0, 10, 20, 30], 2, 2, 1), 1, 1).data], [15]);
    assert.deepEqual([...resizeBilinear(img([0, 1, 0, 1], 2, 2, 1), 1, 1).data], [1]);
  });

  test('resizeImage dispatches and lists the modes on a bad one', () => {
    const a = img([0, 100], 1, 2, 1);
    assert.deepEqual([...resizeImage(a, [1, 4], 'nearest').data], [0, 0, 100, 100]);
    assert.deepEqual([...resizeImage(a, [1, 4], 'bilinear').data], [0, 25, 75, 100]);
    assert.throws(() => resizeImage(a, [1, 4], 'cubic' as 'nearest'), {
      message: "unknown interpolation 'cubic'; expected one of nearest, bilinear",
    });
    assert.throws(() => parseInterpolation('area'), {
      message: "--interpolation: expected one of nearest, bilinear, got 'area'",
    });
  });

  test('resizeMask stays binary', () => {
    const m = resizeMask({ data: Uint8Array.from([0, 1, 1, 0]), height: 2, width: 2 }, [5, 7]);
    assert.ok([...m.data].every((v) => v === 0 || v === 1));
    assert.equal(m.data.length, 35);
  });
});

describe('binarizeMask', () => {
  const cases: Array<[string, number[], number, number[], number]> = [
    ['0/1 masks: threshold 0.5', [0, 1, 1, 0], 1, [0, 1, 1, 0], 0.5],
    ['0/255 masks: threshold 127.5', [0, 255, 255, 0], 1, [0, 1, 1, 0], 127.5],
    ['JPEG noise: 3 and 250 around 0 and 255', [3, 250, 127, 128], 1, [0, 1, 0, 1], 127.5],
    ['background noise alone stays empty', [0, 4, 2, 5], 1, [0, 0, 0, 0], 127.5],
    ['16-bit 0/65535', [0, 65535, 40000, 30000], 1, [0, 1, 1, 0], 32767.5],
    ['colour masks: the brightest channel counts', [200, 0, 0, 0, 0, 0], 3, [1, 0], 127.5],
    ['all-zero masks are empty', [0, 0], 1, [0, 0], 0.5],
  ];
  for (const [what, values, channels, expected, threshold] of cases) {
    test(what, () => {
      const n = values.length / channels;
      const src = Math.max(...values) > 255 ? Uint16Array.from(values) : Uint8Array.from(values);
      const m = binarizeMask({ data: src, height: 1, width: n, channels });
      assert.deepEqual([...m.data], expected);
      assert.equal(m.threshold, threshold);
    });
  }

  test('16-bit masks holding 0/1 work', () => {
    assert.deepEqual(
      [...binarizeMask({ data: Uint16Array.from([0, 1]), height: 1, width: 2, channels: 1 }).data],
      [0, 1],
    );
  });

  test('lesionFraction counts the lesion pixels', () => {
    assert.equal(lesionFraction(Uint8Array.from([0, 1, 1, 0])), 0.5);
    assert.equal(lesionFraction(new Uint8Array(0)), 0);
  });
});
