/**
 * `resizeNearest`, `nearestIndices` and `resizeBilinear` against OpenCV's `cv2.resize` itself:
 * test/fixtures/opencv/resize.json, written by make_fixtures.py beside it with Debian's
 * python3-opencv (the version is in the file). Python and OpenCV are not needed to run this.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { nearestIndices, resizeBilinear, resizeNearest } from '../../src/util/raster.js';

interface ImageCase {
  note: string;
  channels: number;
  size: [number, number];
  outSize: [number, number];
  /** base64 of the uint8 pixels, row-major, channels last. */
  source: string;
  nearest: string;
  bilinear: string;
}

interface Fixture {
  opencv: string;
  images: ImageCase[];
  nearestScan: {
    networkSizes: number[];
    range: [number, number];
    pairs: number;
    /** [in, out, x1, index1, x2, index2, ...]: OpenCV's index where it is not the exact one. */
    differ: number[][];
  };
}

const fixture = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/opencv/resize.json', import.meta.url), 'utf8'),
) as Fixture;

const bytes = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'));

/** 'identical', or how many values differ and the first of them. */
function difference(actual: Uint8Array, expected: Uint8Array): string {
  if (actual.length !== expected.length) {
    return `${actual.length} values, expected ${expected.length}`;
  }
  let count = 0;
  let first = -1;
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      count++;
      if (first < 0) first = i;
    }
  }
  if (count === 0) return 'identical';
  return (
    `${count} of ${actual.length} values differ, the first at ${first}: ` +
    `${actual[first]}, OpenCV ${expected[first]}`
  );
}

/** The exact rule min(floor(x * in / out), in - 1), in integers. */
function exactIndex(x: number, inSize: number, outSize: number): number {
  const n = x * inSize;
  return Math.min((n - (n % outSize)) / outSize, inSize - 1);
}

describe('resizing equals cv2.resize bit for bit (test/fixtures/opencv)', () => {
  test('the fixtures were made by OpenCV 4.6 and hold the size pairs that matter', () => {
    assert.match(fixture.opencv, /^4\.6\./);
    const sizes = fixture.images.map((c) => `${c.size.join('x')}->${c.outSize.join('x')}`);
    for (const s of ['8x256->5x3188', '256x9->98x5', '32x48->16x24', '19x26->45x60']) {
      assert.ok(sizes.includes(s), s);
    }
    assert.ok(fixture.images.some((c) => c.channels === 3));
    assert.ok(fixture.images.length >= 50);
  });

  for (const c of fixture.images) {
    const [h, w] = c.size;
    const [oh, ow] = c.outSize;
    const name = `${h}x${w}x${c.channels} -> ${oh}x${ow} (${c.note})`;
    const image = { data: bytes(c.source), height: h, width: w, channels: c.channels };
    test(`nearest, ${name}`, () => {
      const out = resizeNearest(image, oh, ow);
      assert.equal(difference(out.data, bytes(c.nearest)), 'identical');
    });
    test(`bilinear, ${name}`, () => {
      const out = resizeBilinear(image, oh, ow);
      assert.equal(difference(out.data, bytes(c.bilinear)), 'identical');
    });
  }

  test("nearestIndices is OpenCV's index for every scanned size pair", () => {
    const { networkSizes, range, pairs, differ } = fixture.nearestScan;
    const key = (inSize: number, outSize: number): number => inSize * 100_000 + outSize;
    const opencv = new Map(differ.map(([inSize, outSize, ...at]) => [key(inSize, outSize), at]));
    const scanned = new Set<number>();
    for (const n of networkSizes) {
      for (let m = range[0]; m <= range[1]; m++) scanned.add(key(n, m)).add(key(m, n));
    }
    assert.equal(scanned.size, pairs);
    let pairsThatDiffer = 0;
    for (const k of scanned) {
      const inSize = Math.floor(k / 100_000);
      const outSize = k % 100_000;
      if (inSize === outSize) continue; // cv2.resize copies
      const got = nearestIndices(inSize, outSize);
      // Where ours leaves the exact rule: [x1, index1, x2, index2, ...], as the fixture stores
      // OpenCV's.
      const at: number[] = [];
      for (let x = 0; x < outSize; x++) {
        if (got[x] !== exactIndex(x, inSize, outSize)) at.push(x, got[x]);
      }
      if (at.length > 0) pairsThatDiffer++;
      const want = opencv.get(k) ?? [];
      if (at.join() !== want.join()) {
        assert.fail(
          `${inSize} -> ${outSize}: ours leaves floor(x * in / out) at [${at.join()}], OpenCV at [${want.join()}]`,
        );
      }
    }
    // The exceptions are real: about 6% of the pairs differ from the exact rule somewhere.
    assert.equal(pairsThatDiffer, differ.length);
    assert.ok(differ.length > 0.05 * pairs, `${differ.length} of ${pairs}`);
  });
});
