import assert from 'node:assert/strict';
import { mkdir, open, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import {
  decodeImage,
  decodeMask,
  DEFAULT_MAX_PIXELS,
  isImageFileName,
  openImage,
  parseMaxPixels,
} from '../../src/io/image.js';
import { sniffImageFormat } from '../../src/io/image_format.js';
import { MemoryLimiter } from '../../src/util/memory_limit.js';
import { writeFileAtomic } from '../../src/io/atomic.js';
import { encodeImage, writeImage, writeMask } from '../../src/io/write.js';
import {
  encodeBmp,
  greyPattern,
  makeTemp,
  removeTemp,
  rgbPattern,
  writeGrey16,
  writeRaw,
} from '../data/fixtures.js';
import { writeBlankPng } from './blank_png.js';

let dir: string;
before(async () => {
  dir = await makeTemp();
});
after(async () => {
  await removeTemp(dir);
});
const file = (name: string): string => path.join(dir, name);

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
    await writeFile(file('c.bmp'), encodeBmp(rgb, H, W, 3));
    const c = await decodeImage(file('c.bmp'), 3);
    assert.deepEqual([c.height, c.width, c.layout], [H, W, 'rgb']);
    assert.deepEqual(c.data, rgb);
    const g = greyPattern(H, 7);
    await writeFile(file('g.bmp'), encodeBmp(g, H, 7, 1));
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
      Buffer.concat([Buffer.from(encodeBmp(greyPattern(2, 2), 2, 2, 1))]).fill(1, 30, 31),
    );
    const cases: Array<[string, RegExp]> = [
      ['trunc.jpg', /^cannot read .*trunc\.jpg: .*premature end of JPEG/],
      ['empty.png', /^cannot read .*empty\.png: empty file$/],
      [
        'text.png',
        /^cannot read .*text\.png: not a PNG, JPEG, TIFF or BMP image \(it starts with the bytes 6e 6f 74 20 61 6e 20 69\)$/,
      ],
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
          'cannot encode the image: expected 2x2 with 1 to 4 channels (4 values), got 5 values, 1 channels',
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

/** A sparse file of `size` bytes (no disk used) that starts with `head`. */
async function sparseFile(name: string, size: number, head = new Uint8Array(0)): Promise<string> {
  const fh = await open(file(name), 'w');
  try {
    await fh.write(head, 0, head.length, 0);
    await fh.truncate(size);
  } finally {
    await fh.close();
  }
  return file(name);
}

/**
 * How far (MB) `fn` raises the process's peak resident memory (`maxRSS`): a peak, so memory
 * freed before `fn` returns still counts. The tests before these stay far below the 128 MB
 * they allow, so a file read whole (1.5 GB) or decoded (256 MB and more) cannot hide.
 */
async function rssGrowth(fn: () => Promise<unknown>): Promise<number> {
  const before = process.resourceUsage().maxRSS;
  await fn();
  return (process.resourceUsage().maxRSS - before) / 1024;
}

describe('format sniffing and the pixel limit', () => {
  test('the default limit is 100 megapixels: the largest ISIC image fits, 16000x16000 does not', () => {
    assert.equal(DEFAULT_MAX_PIXELS, 100_000_000);
    assert.ok(6688 * 4439 <= DEFAULT_MAX_PIXELS);
  });

  test('formats are recognised from their first bytes', () => {
    const cases: Array<[number[], string | undefined]> = [
      [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'png'],
      [[0xff, 0xd8, 0xff, 0xe0], 'jpeg'],
      [[0x49, 0x49, 0x2a, 0x00], 'tiff'],
      [[0x4d, 0x4d, 0x00, 0x2a], 'tiff'],
      [[0x49, 0x49, 0x2b, 0x00], 'tiff'],
      [[0x42, 0x4d, 0, 0], 'bmp'],
      [[0x89, 0x50, 0x4e, 0x47], undefined], // a PNG signature cut short
      [[0x47, 0x49, 0x46, 0x38, 0x39, 0x61], undefined], // GIF89a
      [[0, 0, 0, 0], undefined],
      [[], undefined],
    ];
    for (const [bytes, format] of cases) {
      assert.equal(sniffImageFormat(Uint8Array.from(bytes)), format, bytes.join(' '));
    }
  });

  test('a 16000x16000 PNG is refused from its header, with its size, the limit and the flag', async () => {
    const big = file('big16000.png');
    const bytes = await writeBlankPng(big, 16000, 16000);
    assert.ok(bytes < 1_000_000, `the PNG should be small, is ${bytes} bytes`);
    const message =
      `cannot read ${big}: its header gives 16000 rows x 16000 columns = 256 megapixels, more ` +
      'than the limit of 100 megapixels; raise the limit with --max-pixels (option maxPixels)';
    // Decoding it would hold 256 MB (grey) or 768 MB (RGB) more; the header check holds none.
    const grew = await rssGrowth(async () => {
      await assert.rejects(decodeImage(big, 3), { name: 'ImageTooLargeError', message });
      await assert.rejects(decodeMask(big), { name: 'ImageTooLargeError', message });
    });
    assert.ok(grew < 128, `peak resident memory grew by ${grew.toFixed(0)} MB`);
    // A raised limit opens it (header only) with the size and the memory estimate.
    const opened = await openImage(big, { maxPixels: 300_000_000 });
    assert.deepEqual(
      [opened.format, opened.height, opened.width, opened.decodeBytes],
      ['png', 16000, 16000, 16000 * 16000 * 4],
    );
  });

  test('every format: refused above the limit, decoded at it', async () => {
    const H = 30;
    const W = 40;
    const rgb = rgbPattern(H, W, 5);
    await writeRaw(file('lim.png'), rgb, H, W, 3);
    await writeRaw(file('lim.jpg'), rgb, H, W, 3, 'jpeg');
    await writeRaw(file('lim.tif'), rgb, H, W, 3, 'tiff');
    await writeFile(file('lim.bmp'), encodeBmp(rgb, H, W, 3));
    for (const name of ['lim.png', 'lim.jpg', 'lim.tif', 'lim.bmp']) {
      await assert.rejects(decodeImage(file(name), 3, { maxPixels: 1000 }), {
        name: 'ImageTooLargeError',
        message:
          `cannot read ${file(name)}: its header gives 30 rows x 40 columns = 0.0012 ` +
          'megapixels, more than the limit of 0.001 megapixels; raise the limit with ' +
          '--max-pixels (option maxPixels)',
      });
      await assert.rejects(decodeMask(file(name), { maxPixels: 1000 }), {
        name: 'ImageTooLargeError',
      });
      const d = await decodeImage(file(name), 3, { maxPixels: H * W });
      assert.deepEqual([d.height, d.width, d.channels], [H, W, 3], name);
    }
    // Rounding never makes the size look equal to the limit.
    await assert.rejects(decodeImage(file('lim.png'), 3, { maxPixels: 1199 }), {
      message: /= 1200 pixels, more than the limit of 1199 pixels;/,
    });
  });

  test('a BMP header is checked before its pixel rows are read', async () => {
    // 20000x20000 24-bit: the header alone, no pixel rows at all.
    const header = encodeBmp(new Uint8Array(3), 1, 1, 3).subarray(0, 54);
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    view.setInt32(18, 20000, true);
    view.setInt32(22, 20000, true);
    await writeFile(file('huge.bmp'), header);
    await assert.rejects(decodeImage(file('huge.bmp'), 3), {
      name: 'ImageTooLargeError',
      message: /huge\.bmp: its header gives 20000 rows x 20000 columns = 400 megapixels, more/,
    });
    // Under a raised limit the missing rows are what it reports.
    await assert.rejects(decodeImage(file('huge.bmp'), 3, { maxPixels: 4e8 }), {
      message: /huge\.bmp: truncated BMP \(pixel data\)$/,
    });
  });

  test('a 1.5 GB file that is not an image is refused from its first bytes, not read whole', async () => {
    const fake = await sparseFile('fake.png', 1.5e9);
    let grew = await rssGrowth(() =>
      assert.rejects(decodeImage(fake, 3), {
        name: 'ImageReadError',
        message:
          `cannot read ${fake}: not a PNG, JPEG, TIFF or BMP image ` +
          '(it starts with the bytes 00 00 00 00 00 00 00 00)',
      }),
    );
    assert.ok(grew < 128, `peak resident memory grew by ${grew.toFixed(0)} MB`);
    // With a PNG signature in front, libvips reads its header, finds no IHDR and stops.
    const signed = await sparseFile(
      'signed.png',
      1.5e9,
      Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    );
    grew = await rssGrowth(() =>
      assert.rejects(decodeMask(signed), { name: 'ImageReadError', message: /signed\.png: / }),
    );
    assert.ok(grew < 128, `peak resident memory grew by ${grew.toFixed(0)} MB`);
  });

  test('a BMP whose pixel rows start 1.5 GB in reads only its headers and rows', async () => {
    const small = encodeBmp(greyPattern(2, 3), 2, 3, 1);
    const offset = 1.5e9;
    const head = Buffer.from(small.subarray(0, 54 + 256 * 4));
    head.writeUInt32LE(offset, 10);
    const far = await sparseFile('far.bmp', offset + (small.length - head.length), head);
    const fh = await open(far, 'r+');
    await fh.write(small, head.length, small.length - head.length, offset);
    await fh.close();
    let d: Awaited<ReturnType<typeof decodeImage>> | undefined;
    const grew = await rssGrowth(async () => {
      d = await decodeImage(far, 1);
    });
    assert.ok(grew < 128, `peak resident memory grew by ${grew.toFixed(0)} MB`);
    assert.deepEqual([...d!.data], [...greyPattern(2, 3)]);
  });

  test('a folder given as an image is refused by name', async () => {
    await mkdir(file('folder.png'), { recursive: true });
    await assert.rejects(decodeImage(file('folder.png'), 1), {
      name: 'ImageReadError',
      message: `cannot read ${file('folder.png')}: is a folder`,
    });
  });

  test('a decode takes its estimated bytes from the memory budget it is given', async () => {
    const H = 6;
    const W = 5;
    await writeRaw(file('budget.png'), rgbPattern(H, W), H, W, 3);
    await writeRaw(file('budget_g.png'), greyPattern(H, W), H, W, 1);
    await writeFile(file('budget.bmp'), encodeBmp(rgbPattern(H, W), H, W, 3));
    const asked: number[] = [];
    const memory = new (class extends MemoryLimiter {
      override run<T>(bytes: number, fn: () => Promise<T>): Promise<T> {
        asked.push(bytes);
        return super.run(bytes, fn);
      }
    })(1000);
    await decodeImage(file('budget.png'), 3, { memory });
    await decodeMask(file('budget_g.png'), { memory });
    await decodeImage(file('budget.bmp'), 1, { memory });
    // RGB and grey 8-bit PNGs: (3 + 1) bytes a pixel; BMP: its rows (stride 16) + 4 a pixel.
    assert.deepEqual(asked, [H * W * 4, H * W * 4, 16 * H + H * W * 4]);
    assert.equal(memory.inUse, 0);
  });

  test('the limit must be a positive whole number', async () => {
    await writeRaw(file('tiny.png'), greyPattern(2, 2), 2, 2, 1);
    for (const bad of [0, -5, 1.5, Number.NaN]) {
      await assert.rejects(decodeImage(file('tiny.png'), 1, { maxPixels: bad }), {
        name: 'UserError',
        message: `maxPixels: expected a positive whole number of pixels, got ${bad}`,
      });
    }
    assert.equal(parseMaxPixels('3e8'), 300_000_000);
    assert.equal(parseMaxPixels('250000000'), 250_000_000);
    for (const bad of ['', 'abc', '1.5', '-1', '0']) {
      assert.throws(() => parseMaxPixels(bad), {
        name: 'UserError',
        message: `--max-pixels: expected a positive whole number of pixels (e.g. 300000000 or 3e8), got '${bad}'`,
      });
    }
  });
});
