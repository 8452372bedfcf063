/**
 * Small data sets made on the fly in temporary folders, for the reader, cache and CLI tests.
 * Images are tiny (20x30 and so on) and hold simple known patterns.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

/** A fresh temporary folder; remove it with `removeTemp`. */
export async function makeTemp(prefix = 'ftunet-test-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function removeTemp(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** A grey image whose pixel (y, x) is `(y * 7 + x * 3 + seed) % 256`. */
export function greyPattern(height: number, width: number, seed = 0): Uint8Array {
  const out = new Uint8Array(height * width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) out[y * width + x] = (y * 7 + x * 3 + seed) % 256;
  }
  return out;
}

/** An RGB image: R = 10 y, G = 5 x, B = seed (mod 256). */
export function rgbPattern(height: number, width: number, seed = 0): Uint8Array {
  const out = new Uint8Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      out[o] = (10 * y) % 256;
      out[o + 1] = (5 * x) % 256;
      out[o + 2] = seed % 256;
    }
  }
  return out;
}

/** A 0/1 mask with the rectangle rows [y0, y1) x cols [x0, x1) set. */
export function rectMask(
  height: number,
  width: number,
  [y0, y1, x0, x1]: [number, number, number, number],
): Uint8Array {
  const out = new Uint8Array(height * width);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) out[y * width + x] = 1;
  return out;
}

/** Multiplies every value (e.g. a 0/1 mask by 255). */
export function scale(values: Uint8Array, k: number): Uint8Array {
  return values.map((v) => v * k);
}

/** Writes raw 8-bit pixels (1 to 4 channels) as PNG or JPEG. */
export async function writeRaw(
  file: string,
  data: Uint8Array,
  height: number,
  width: number,
  channels: 1 | 2 | 3 | 4,
  format: 'png' | 'jpeg' | 'tiff' = 'png',
): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  let p = sharp(data, { raw: { width, height, channels } });
  if (channels <= 2) p = p.toColourspace('b-w');
  const buf =
    format === 'png'
      ? await p.png().toBuffer()
      : format === 'jpeg'
        ? await p.jpeg({ quality: 90 }).toBuffer()
        : await p.tiff({ compression: 'lzw' }).toBuffer();
  await writeFile(file, buf);
}

/** Writes a 16-bit grey PNG. */
export async function writeGrey16(
  file: string,
  data: Uint16Array,
  height: number,
  width: number,
): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const buf = await sharp(data, { raw: { width, height, channels: 1 } })
    .toColourspace('grey16')
    .png()
    .toBuffer();
  await writeFile(file, buf);
}

/** One item of a fixture data set. */
export interface FixtureItem {
  stem: string;
  height: number;
  width: number;
  /** The 0/1 mask written (as 0/255). */
  mask: Uint8Array;
}

/** Options of the layout writers. */
export interface FixtureOptions {
  /** Number of pairs. Default 4. */
  count?: number;
  /** Image size. Default 20x30. */
  height?: number;
  width?: number;
}

function items(options: FixtureOptions, stem: (i: number) => string): FixtureItem[] {
  const { count = 4, height = 20, width = 30 } = options;
  return Array.from({ length: count }, (_, i) => ({
    stem: stem(i),
    height,
    width,
    // Item i has a lesion of (i + 2) rows x 5 cols.
    mask: rectMask(height, width, [2, 4 + i, 3, 8]),
  }));
}

/** A BUS-layout data set: original/NNNNNN.png (grey) and gt/NNNNNN.png (0/255). */
export async function makeBus(
  root: string,
  options: FixtureOptions & { gtName?: string } = {},
): Promise<FixtureItem[]> {
  const list = items(options, (i) => String(i + 1).padStart(6, '0'));
  for (const [i, it] of list.entries()) {
    const { height: h, width: w } = it;
    await writeRaw(path.join(root, 'original', `${it.stem}.png`), greyPattern(h, w, i), h, w, 1);
    await writeRaw(
      path.join(root, options.gtName ?? 'gt', `${it.stem}.png`),
      scale(it.mask, 255),
      h,
      w,
      1,
    );
  }
  return list;
}

/** An ISIC 2018 layout: RGB JPEG images and _segmentation PNG masks. */
export async function makeIsic(root: string, options: FixtureOptions = {}): Promise<FixtureItem[]> {
  const list = items(options, (i) => `ISIC_${String(i).padStart(7, '0')}`);
  for (const [i, it] of list.entries()) {
    const { height: h, width: w } = it;
    await writeRaw(
      path.join(root, 'ISIC2018_Task1-2_Training_Input', `${it.stem}.jpg`),
      rgbPattern(h, w, i * 40),
      h,
      w,
      3,
      'jpeg',
    );
    await writeRaw(
      path.join(root, 'ISIC2018_Task1_Training_GroundTruth', `${it.stem}_segmentation.png`),
      scale(it.mask, 255),
      h,
      w,
      1,
    );
  }
  await writeFile(path.join(root, 'ISIC2018_Task1-2_Training_Input', 'LICENSE.txt'), 'CC-BY-NC\n');
  return list;
}

/** A folder layout: images/a_N.png (RGB) and masks/a_N<suffix>.png (0/1 values). */
export async function makeFolder(
  root: string,
  options: FixtureOptions & { maskSuffix?: string } = {},
): Promise<FixtureItem[]> {
  const list = items(options, (i) => `case_${i}`);
  for (const [i, it] of list.entries()) {
    const { height: h, width: w } = it;
    await writeRaw(path.join(root, 'images', `${it.stem}.png`), rgbPattern(h, w, i), h, w, 3);
    await writeRaw(
      path.join(root, 'masks', `${it.stem}${options.maskSuffix ?? ''}.png`),
      it.mask,
      h,
      w,
      1,
    );
  }
  return list;
}

/** Every file under `dir` (relative paths, sorted), to check nothing was written there. */
export async function listTree(dir: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  const entries = await readdir(dir, { recursive: true });
  return entries.map(String).sort();
}

/** A BMP file: 24-bit (channels 3) or 8-bit grey palette (channels 1), bottom-up. */
export function encodeBmp(
  data: Uint8Array,
  height: number,
  width: number,
  channels: 1 | 3,
): Uint8Array {
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
