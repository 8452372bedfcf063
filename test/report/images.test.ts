/**
 * The pictures of a test image: thumbnail sizes, and the panels decoded back from their PNG
 * data URIs with sharp, checked pixel by pixel where the colours are known.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { viridis } from '../../src/predict/colormap.js';
import { casePanels, OVERLAY_COLORS, pngDataUri, thumbnailSize } from '../../src/report/images.js';
import { rectMask } from '../data/fixtures.js';

async function decode(
  uri: string,
): Promise<{ data: Uint8Array; width: number; height: number; channels: number }> {
  assert.match(uri, /^data:image\/png;base64,[A-Za-z0-9+/]+=*$/);
  const png = sharp(Buffer.from(uri.slice(uri.indexOf(',') + 1), 'base64'));
  // sharp decodes a grey PNG as RGB unless asked to keep it grey.
  const grey = (await png.metadata()).channels === 1;
  const { data, info } = await (grey ? png.toColourspace('b-w') : png)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data),
    width: info.width,
    height: info.height,
    channels: info.channels,
  };
}

describe('thumbnailSize', () => {
  test('the longest side becomes maxSide, the aspect ratio stays', () => {
    assert.deepEqual(thumbnailSize([30, 45], 140), [93, 140]);
    assert.deepEqual(thumbnailSize([570, 760], 140), [105, 140]);
    assert.deepEqual(thumbnailSize([64, 64], 140), [140, 140]);
    assert.deepEqual(thumbnailSize([1, 1000], 140), [1, 140]);
    assert.throws(
      () => thumbnailSize([10, 10], 4),
      /^UserError: a thumbnail's longest side must be an integer >= 8, got 4$/,
    );
  });
});

describe('casePanels', () => {
  // A 20x40 grey image (value 100), truth rows 0-9 x cols 0-19, prediction rows 10-19 x
  // cols 20-39 (a miss): thumbnails of 20x40 at maxSide 80 (enlarged 2x, nearest).
  const h = 20;
  const w = 40;
  const image = { data: new Uint8Array(h * w).fill(100), height: h, width: w, channels: 1 };
  const truth = { data: rectMask(h, w, [0, 10, 0, 20]), height: h, width: w };
  const prediction = { data: rectMask(h, w, [10, 20, 20, 40]), height: h, width: w };
  const attention = [
    { gate: 'psi_sigmoid_1', data: new Float32Array([0, 1]), height: 1, width: 2 },
  ];

  test('every panel at the thumbnail size; masks 0/255; overlay colours where expected', async () => {
    const p = await casePanels({ image, truth, prediction, attention }, 80);
    assert.deepEqual(p.size, [40, 80]);
    const img = await decode(p.image);
    assert.deepEqual([img.height, img.width, img.channels], [40, 80, 1]);
    assert.ok(img.data.every((v) => v === 100));
    const t = await decode(p.truth);
    const at = (d: { data: Uint8Array; width: number; channels: number }, y: number, x: number) =>
      Array.from(
        d.data.subarray((y * d.width + x) * d.channels, (y * d.width + x + 1) * d.channels),
      );
    assert.deepEqual([at(t, 5, 5), at(t, 30, 60)], [[255], [0]]);
    const pr = await decode(p.prediction);
    assert.deepEqual([at(pr, 5, 5), at(pr, 30, 60)], [[0], [255]]);
    const o = await decode(p.overlay);
    assert.equal(o.channels, 3);
    // Truth outline: its edge pixel (0, 0) is yellow; inside (10, 20) the grey image is left.
    assert.deepEqual(at(o, 0, 0), [...OVERLAY_COLORS.truth]);
    assert.deepEqual(at(o, 10, 20), [100, 100, 100]);
    // Prediction tint: 100 * 0.55 + colour * 0.45, rounded.
    assert.deepEqual(
      at(o, 30, 60),
      OVERLAY_COLORS.prediction.map((c) => Math.round(100 * 0.55 + c * 0.45)),
    );
    // The attention map, enlarged: 0 (left edge) and 1 (right edge) through viridis.
    assert.equal(p.attention.length, 1);
    assert.deepEqual(p.attention[0].mapSize, [1, 2]);
    const a = await decode(p.attention[0].uri);
    assert.deepEqual([a.height, a.width], [40, 80]);
    assert.deepEqual(at(a, 20, 0), viridis(0));
    assert.deepEqual(at(a, 20, 79), viridis(1));
  });

  test('a mask of another size is an error', async () => {
    await assert.rejects(
      casePanels(
        {
          image,
          truth: { ...truth, height: 10, data: new Uint8Array(400) },
          prediction,
          attention: [],
        },
        80,
      ),
      /^UserError: the image is 20x40 but the truth mask is 10x40$/,
    );
  });

  test('pngDataUri encodes with sharp: a PNG signature', async () => {
    const uri = await pngDataUri(image);
    assert.deepEqual(
      [...Buffer.from(uri.slice(uri.indexOf(',') + 1), 'base64').subarray(0, 4)],
      [0x89, 0x50, 0x4e, 0x47],
    );
  });
});
