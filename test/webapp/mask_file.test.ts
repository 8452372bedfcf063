/**
 * Mask files as people have them (src/webapp/mask_file.ts), read as the command line reads
 * masks: 0/1 and 0/255 grey PNGs, 16-bit, RGB with a red shape, a shape under an opaque alpha
 * channel, BMP; the stored form (8-bit grey 0/255 PNG) is recognised to be kept as it is; a
 * file that is not an image, and (without a browser) a JPEG, get their message.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encode } from 'fast-png';
import { encodeMaskPng } from '../../src/browser/png.js';
import { decodeMaskBytes, WorkImportError } from '../../src/webapp/mask_file.js';
import { encodeBmp, rectMask } from '../data/fixtures.js';

const [H, W] = [4, 5];
/** Lesion: rows 1-2, columns 1-3 (6 pixels). */
const SHAPE = rectMask(H, W, [1, 3, 1, 4]);

/** Each pixel's `channels` values: `on` where the shape is, `off` elsewhere. */
function pixels(channels: number, on: number[], off: number[], wide = false) {
  const out = wide ? new Uint16Array(H * W * channels) : new Uint8Array(H * W * channels);
  for (let i = 0; i < H * W; i++) out.set(SHAPE[i] ? on : off, i * channels);
  return out;
}

describe('decodeMaskBytes', () => {
  const cases: Array<[string, Uint8Array, boolean]> = [
    ['0/255 grey PNG (the stored form)', encodeMaskPng({ data: SHAPE, height: H, width: W }), true],
    ['0/1 grey PNG', encode({ width: W, height: H, data: SHAPE, channels: 1, depth: 8 }), false],
    [
      '16-bit grey PNG, 0/65535',
      encode({ width: W, height: H, data: pixels(1, [65535], [0], true), channels: 1, depth: 16 }),
      false,
    ],
    [
      'RGB PNG, a red shape on black',
      encode({
        width: W,
        height: H,
        data: pixels(3, [200, 0, 0], [0, 0, 0]),
        channels: 3,
        depth: 8,
      }),
      false,
    ],
    [
      'grey + alpha PNG, opaque everywhere',
      encode({ width: W, height: H, data: pixels(2, [255, 255], [0, 255]), channels: 2, depth: 8 }),
      false,
    ],
    ['grey BMP, 0/255', encodeBmp(pixels(1, [255], [0]) as Uint8Array, H, W, 1), false],
  ];
  for (const [name, bytes, canonical] of cases) {
    test(`${name}: the shape, ${canonical ? 'kept as it is' : 'to be stored anew'}`, async () => {
      const r = await decodeMaskBytes('m', bytes);
      assert.deepEqual([r.mask.height, r.mask.width], [H, W]);
      assert.deepEqual([...r.mask.data], [...SHAPE]);
      assert.equal(r.canonical, canonical);
    });
  }

  test('a file that is not an image; a JPEG without a browser', async () => {
    await assert.rejects(decodeMaskBytes('notes.txt', new TextEncoder().encode('hello')), {
      name: 'WorkImportError',
      message: 'notes.txt: not an image: expected a PNG, JPEG or BMP mask',
    });
    const jpeg = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16]);
    await assert.rejects(decodeMaskBytes('m.jpg', jpeg), (err: unknown) => {
      assert.ok(err instanceof WorkImportError);
      assert.equal(err.message, 'm.jpg: this mask format needs a browser to read it');
      return true;
    });
  });
});
