import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { decodeImage, decodeMask, isImageFileName } from '../../src/io/image.js';
import { writeFileAtomic } from '../../src/io/atomic.js';
import { encodeImage, writeImage, writeMask } from '../../src/io/write.js';
import {
  greyPattern,
  makeTemp,
  removeTemp,
  rgbPattern,
  writeGrey16,
  writeRaw,
} from '../data/fixtures.js';

let dir: string;
before(async () => {
  dir = await makeTemp();
});
after(async () => {
  await removeTemp(dir);
});
const file = (name: string): string => path.join(dir, name);

/** A BMP file: 24-bit (channels 3) or 8-bit grey palette (channels 1), bottom-up. */
function bmp(data: Uint8Array, height: number, width: number, channels: 1 | 3): Uint8Array {
  const bpp = channels === 3 ? 24 : 8;
  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  const palette = channels === 1 ? 256 * 4 : 0;
  const offset = 14 + 40 + palette;
  const buf = Buffer.alloc(offset + stride * height);
  buf.write('BM', 0, 'latin1');
  buf.writeUInt32LE(buf.length, 2);
  buf.writeUInt32LE(offset, 10);
  buf.writeUInt32LE(40, 14);
  buf.writeInt32LE(width, 18);
  buf.writeInt32LE(height, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(bpp, 28);
  for (let i = 0; channels === 1 && i < 256; i++) buf.fill(i, 54 + i * 4, 54 + i * 4 + 3);
  for (let y = 0; y < height; y++) {
    const row = offset + (height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * channels;
      if (channels === 1) buf[row + x] = data[s];
      else {
        buf[row + x * 3] = data[s + 2];
        buf[row + x * 3 + 1] = data[s + 1];
        buf[row + x * 3 + 2] = data[s];
      }
    }
  }
  return buf;
}

describe('decodeImage', () => {
  const H = 20;
  const W = 30;

  test('8-bit grey PNG: exact pixels, grey layout, 1 or 3 channels', async () => {
    const g = greyPattern(H, W);
    await writeRaw(file('g.png'), g, H, W, 1);
    const one = await decodeImage(file('g.png'), 1);
    assert.deepEqual([one.height, one.width, one.channels, one.layout], [H, W, 1, 'grey']);
    assert.deepEqual(one.data, g);
    const three = await decodeImage(file('g.png'), 3);
    assert.deepEqual([...three.data.subarray(0, 6)], [g[0], g[0], g[0], g[1], g[1], g[1]]);
  });

  test('grey+alpha, RGB, RGBA and palette PNGs', async () => {
    const g = greyPattern(H, W);
    const ga = new Uint8Array(H * W * 2).map((_, i) => (i % 2 ? 128 : g[i >> 1]));
    await writeRaw(file('ga.png'), ga, H, W, 2);
    const dga = await decodeImage(file('ga.png'), 1);
    assert.equal(dga.layout, 'grey+alpha');
    assert.deepEqual(dga.data, g);

    const rgb = rgbPattern(H, W, 77);
    await writeRaw(file('rgb.png'), rgb, H, W, 3);
    const drgb = await decodeImage(file('rgb.png'), 3);
    assert.equal(drgb.layout, 'rgb');
    assert.deepEqual(drgb.data, rgb);

    const rgba = new Uint8Array(H * W * 4).map((_, i) =>
      i % 4 === 3 ? 50 : rgb[(i >> 2) * 3 + (i % 4)],
    );
    await writeRaw(file('rgba.png'), rgba, H, W, 4);
    const drgba = await decodeImage(file('rgba.png'), 3);
    assert.equal(drgba.layout, 'rgba');
    assert.deepEqual(drgba.data, rgb);

    // Four colours fit a palette exactly.
    const four = rgb.map((v) => (v < 128 ? 0 : 255));
    await writeFile(
      file('pal.png'),
      await sharp(four, { raw: { width: W, height: H, channels: 3 } })
        .png({ palette: true, colours: 8, dither: 0 })
        .toBuffer(),
    );
    const dpal = await decodeImage(file('pal.png'), 3);
    assert.equal(dpal.layout, 'palette');
    assert.deepEqual(dpal.data, four);
  });

  test('16-bit grey PNG is scaled to 8 bits', async () => {
    const v = Uint16Array.from({ length: H * W }, (_, i) => (i % 2 ? 65535 : 0));
    await writeGrey16(file('g16.png'), v, H, W);
    const d = await decodeImage(file('g16.png'), 1);
    assert.equal(d.layout, 'grey 16-bit');
    assert.deepEqual([...d.data.subarray(0, 4)], [0, 255, 0, 255]);
  });

  test('JPEG EXIF orientation 6 (rotate 90° clockwise) is applied', async () => {
    // A 2x3 image whose top-left pixel is white: after a clockwise quarter turn the image is
    // 3x2 and the white pixel is at the top right.
    const px = new Uint8Array(2 * 3 * 3);
    px.fill(255, 0, 3);
    const jpg = await sharp(px, { raw: { width: 3, height: 2, channels: 3 } })
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 100 })
      .toBuffer();
    await writeFile(file('rot.jpg'), jpg);
    const d = await decodeImage(file('rot.jpg'), 1);
    assert.deepEqual([d.height, d.width], [3, 2]);
    assert.ok(d.data[1] > 200, `top right ${d.data[1]}`);
    assert.ok(d.data[0] < 60 && d.data[5] < 60, `others ${[...d.data]}`);
  });

  test('TIFF and BMP (24-bit and 8-bit grey palette)', async () => {
    const rgb = rgbPattern(H, W, 3);
    await writeRaw(file('t.tif'), rgb, H, W, 3, 'tiff');
    assert.deepEqual((await decodeImage(file('t.tif'), 3)).data, rgb);
    await writeFile(file('c.bmp'), bmp(rgb, H, W, 3));
    const c = await decodeImage(file('c.bmp'), 3);
    assert.deepEqual([c.height, c.width, c.layout], [H, W, 'rgb']);
    assert.deepEqual(c.data, rgb);
    const g = greyPattern(H, 7);
    await writeFile(file('g.bmp'), bmp(g, H, 7, 1));
    const dg = await decodeImage(file('g.bmp'), 1);
    assert.deepEqual([dg.width, dg.layout], [7, 'grey']);
    assert.deepEqual(dg.data, g);
  });

  test('unreadable files give ImageReadError naming the file and the reason', async () => {
    const good = await encodeImage(
      { data: rgbPattern(H, W), height: H, width: W, channels: 3 },
      {
        format: 'jpeg',
      },
    );
    await writeFile(file('trunc.jpg'), good.subarray(0, good.length - 40));
    await writeFile(file('empty.png'), '');
    await writeFile(file('text.png'), 'not an image at all');
    await writeFile(
      file('rle.bmp'),
      Buffer.concat([Buffer.from(bmp(greyPattern(2, 2), 2, 2, 1))]).fill(1, 30, 31),
    );
    const cases: Array<[string, RegExp]> = [
      ['trunc.jpg', /^cannot read .*trunc\.jpg: .*premature end of JPEG/],
      ['empty.png', /^cannot read .*empty\.png: empty file$/],
      ['text.png', /^cannot read .*text\.png: unsupported image format$/],
      ['missing.png', /^cannot read .*missing\.png: no such file$/],
      ['rle.bmp', /^cannot read .*rle\.bmp: compressed BMP \(compression 1\) is not supported$/],
    ];
    for (const [name, message] of cases) {
      await assert.rejects(decodeImage(file(name), 1), { name: 'ImageReadError', message });
    }
  });
});

describe('decodeMask', () => {
  const H = 6;
  const W = 8;
  const lesion = Uint8Array.from({ length: H * W }, (_, i) => (i % W >= 4 ? 1 : 0));

  test('0/1 and 0/255 PNG masks give the same 0/1 mask', async () => {
    await writeRaw(file('m01.png'), lesion, H, W, 1);
    await writeRaw(
      file('m255.png'),
      lesion.map((v) => v * 255),
      H,
      W,
      1,
    );
    assert.deepEqual((await decodeMask(file('m01.png'))).data, lesion);
    const m = await decodeMask(file('m255.png'));
    assert.deepEqual(m.data, lesion);
    assert.deepEqual([m.maxValue, m.threshold], [255, 127.5]);
  });

  test('a JPEG-compressed mask binarises back to the lesion', async () => {
    // A disc of radius 12 in a 40x40 mask: its curved edge leaves JPEG ringing around it.
    const big = Uint8Array.from({ length: 40 * 40 }, (_, i) =>
      (Math.floor(i / 40) - 20) ** 2 + ((i % 40) - 20) ** 2 <= 144 ? 255 : 0,
    );
    await writeRaw(file('m.jpg'), big, 40, 40, 1, 'jpeg');
    const raw = await sharp(file('m.jpg')).toColourspace('b-w').raw().toBuffer();
    assert.ok(
      raw.some((v) => v !== 0 && v !== 255),
      'the JPEG should carry noise',
    );
    assert.deepEqual(
      (await decodeMask(file('m.jpg'))).data,
      big.map((v) => (v ? 1 : 0)),
    );
  });

  test('16-bit masks: 0/65535 and 0/1', async () => {
    await writeGrey16(
      file('m16.png'),
      Uint16Array.from(lesion, (v) => v * 65535),
      H,
      W,
    );
    await writeGrey16(file('m16b.png'), Uint16Array.from(lesion), H, W);
    assert.deepEqual((await decodeMask(file('m16.png'))).data, lesion);
    assert.deepEqual((await decodeMask(file('m16b.png'))).data, lesion);
  });

  test('an RGB mask in red counts through its brightest channel', async () => {
    const red = new Uint8Array(H * W * 3);
    lesion.forEach((v, i) => (red[i * 3] = v * 200));
    await writeRaw(file('mred.png'), red, H, W, 3);
    assert.deepEqual((await decodeMask(file('mred.png'))).data, lesion);
  });
});

describe('writing', () => {
  test('writeMask writes a grey PNG holding only 0 and 255', async () => {
    await writeMask(file('out_m.png'), {
      data: Uint8Array.from([0, 1, 1, 0]),
      height: 2,
      width: 2,
    });
    const meta = await sharp(file('out_m.png')).metadata();
    assert.deepEqual([meta.format, meta.channels], ['png', 1]);
    const px = await sharp(file('out_m.png')).toColourspace('b-w').raw().toBuffer();
    assert.deepEqual([...px], [0, 255, 255, 0]);
  });

  test('writeImage round-trips PNG exactly and leaves no temporary file', async () => {
    const sub = path.join(dir, 'w');
    const rgb = rgbPattern(5, 6, 9);
    await writeRaw(path.join(sub, 'seed.png'), rgb, 5, 6, 3);
    await writeImage(path.join(sub, 'x.png'), { data: rgb, height: 5, width: 6, channels: 3 });
    assert.deepEqual((await decodeImage(path.join(sub, 'x.png'), 3)).data, rgb);
    await writeFileAtomic(path.join(sub, 'note.txt'), 'hello');
    assert.deepEqual((await readdir(sub)).sort(), ['note.txt', 'seed.png', 'x.png']);
  });

  test('encodeImage refuses a size mismatch', async () => {
    await assert.rejects(
      encodeImage({ data: new Uint8Array(5), height: 2, width: 2, channels: 1 }),
      {
        message:
          'encodeImage: expected 2x2 with 1 to 4 channels (4 values), got 5 values, 1 channels',
      },
    );
  });
});

describe('isImageFileName', () => {
  test('known extensions in any case; hidden files and macOS resource forks are not images', () => {
    for (const n of ['a.png', 'B.JPG', 'c.jpeg', 'd.tif', 'e.TIFF', 'f.bmp'])
      assert.ok(isImageFileName(n), n);
    for (const n of ['.DS_Store', '._a.png', 'Thumbs.db', 'notes.txt', 'a.png.txt', 'noext']) {
      assert.ok(!isImageFileName(n), n);
    }
  });
});
