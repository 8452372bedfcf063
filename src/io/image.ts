/**
 * Reading images and masks from files, on sharp (libvips, shipped as a binary inside its npm
 * package) plus a small BMP decoder for what that libvips build cannot read.
 *
 * Formats: PNG (1 to 16 bits; grey, grey+alpha, RGB, RGBA, palette), JPEG (EXIF orientation
 * applied, so sizes are the displayed ones), TIFF, and uncompressed BMP. Images come out as
 * 8-bit with 1 (luminance) or 3 (RGB) channels, alpha dropped; masks come out binarised.
 * Node-only (fs, sharp).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { DataError, UserError } from '../errors.js';
import {
  binarizeMask,
  convertChannels,
  type BinarizedMask,
  type RawImage,
} from '../util/raster.js';
import { decodeBmp, isBmp } from './bmp.js';

/** File extensions (lower case) read as images; anything else in an image folder is skipped. */
export const IMAGE_EXTENSIONS: readonly string[] = [
  '.png',
  '.jpg',
  '.jpeg',
  '.jpe',
  '.jfif',
  '.tif',
  '.tiff',
  '.bmp',
];

/**
 * Whether a file name looks like an image: a known extension, and not a hidden file or one of
 * macOS's "._name" resource forks (which carry an image extension but hold no image).
 */
export function isImageFileName(name: string): boolean {
  if (name.startsWith('.')) return false;
  return IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

/** A file could not be decoded; `reason` is libvips's (or the BMP decoder's) explanation. */
export class ImageReadError extends DataError {
  override name = 'ImageReadError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`cannot read ${file}: ${reason}`);
  }
}

/** An image at its original (displayed) size, with the layout it was stored in. */
export interface DecodedImage extends RawImage {
  /** How the file stored its pixels: 'grey', 'grey+alpha', 'rgb', 'rgba', 'palette', ... */
  layout: string;
}

/** A binarised mask at its original size (see `binarizeMask` for the rule). */
export interface DecodedMask extends BinarizedMask {
  layout: string;
}

interface Source {
  /** sharp pipeline on the file's bytes, or undefined for a BMP decoded here. */
  pipeline?: sharp.Sharp;
  meta?: sharp.Metadata;
  bmp?: RawImage;
  layout: string;
}

async function open(file: string): Promise<Source> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new ImageReadError(file, describeFsError(err));
  }
  if (bytes.length === 0) throw new ImageReadError(file, 'empty file');
  if (isBmp(bytes)) {
    try {
      const { image, layout } = decodeBmp(bytes);
      return { bmp: image, layout };
    } catch (err) {
      throw new ImageReadError(file, err instanceof UserError ? err.message : String(err));
    }
  }
  try {
    // failOn 'warning' (sharp's default, stated): a truncated JPEG is an error, not grey fill.
    const pipeline = sharp(bytes, { failOn: 'warning' });
    const meta = await pipeline.metadata();
    return { pipeline, meta, layout: describeLayout(meta) };
  } catch (err) {
    throw new ImageReadError(file, describeSharpError(err));
  }
}

/** A short description of how a file stores its pixels, from sharp's metadata. */
export function describeLayout(meta: sharp.Metadata): string {
  const alpha = meta.hasAlpha ? '+alpha' : '';
  const deep = meta.depth === 'ushort' ? ' 16-bit' : '';
  if (meta.isPalette) return `palette${alpha}`;
  switch (meta.space) {
    case 'b-w':
    case 'grey16':
      return `grey${alpha}${deep}`;
    case 'srgb':
    case 'rgb16':
    case 'rgb':
      return meta.hasAlpha ? `rgba${deep}` : `rgb${deep}`;
    default:
      return `${meta.space ?? 'unknown'}${alpha}${deep}`;
  }
}

function isGrey(meta: sharp.Metadata): boolean {
  return !meta.isPalette && (meta.space === 'b-w' || meta.space === 'grey16');
}

/**
 * Reads an image at its original size (EXIF orientation applied) as 8-bit with `channels`
 * channels: 1 = luminance (see `convertChannels`), 3 = RGB; alpha is dropped, 16-bit values
 * are scaled to 8 bits. Throws `ImageReadError` naming the file.
 */
export async function decodeImage(file: string, channels: 1 | 3): Promise<DecodedImage> {
  const src = await open(file);
  if (src.bmp) return { ...convertChannels(src.bmp, channels), layout: src.layout };
  const meta = src.meta!;
  const grey = isGrey(meta);
  let p = src.pipeline!.autoOrient();
  p = grey ? p.toColourspace('b-w') : p.removeAlpha().toColourspace('srgb');
  let raw: { data: Buffer; info: sharp.OutputInfo };
  try {
    raw = await p.raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new ImageReadError(file, describeSharpError(err));
  }
  const { info } = raw;
  const expected = grey ? 1 : 3;
  if (info.channels !== expected) {
    throw new ImageReadError(file, `decoded to ${info.channels} channels, expected ${expected}`);
  }
  const image: RawImage = {
    data: new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.length),
    height: info.height,
    width: info.width,
    channels: info.channels,
  };
  return { ...convertChannels(image, channels), layout: src.layout };
}

/**
 * Reads a mask at its original size (EXIF orientation applied) at its own bit depth and
 * binarises it with `binarizeMask`: the maximum over colour channels, lesion where it is above
 * half of the nominal range (so 0/1, 0/255, JPEG-noisy and 16-bit masks all work).
 */
export async function decodeMask(file: string): Promise<DecodedMask> {
  const src = await open(file);
  if (src.bmp) {
    return { ...binarizeMask(src.bmp), layout: src.layout };
  }
  const meta = src.meta!;
  const grey = isGrey(meta);
  const deep = meta.depth === 'ushort';
  let p = src.pipeline!.autoOrient();
  if (grey) p = p.toColourspace(deep ? 'grey16' : 'b-w');
  else p = p.removeAlpha().toColourspace(deep ? 'rgb16' : 'srgb');
  let raw: { data: Buffer; info: sharp.OutputInfo };
  try {
    raw = await p.raw({ depth: deep ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new ImageReadError(file, describeSharpError(err));
  }
  const { data, info } = raw;
  let values: Uint8Array | Uint16Array;
  if (deep) {
    // A Uint16Array view needs an even byte offset; copy in the rare case it is odd.
    const bytes = data.byteOffset % 2 === 0 ? data : Buffer.from(data);
    values = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
  } else {
    values = new Uint8Array(data.buffer, data.byteOffset, data.length);
  }
  const stored = { data: values, height: info.height, width: info.width, channels: info.channels };
  return { ...binarizeMask(stored), layout: src.layout };
}

/** libvips's message without sharp's "Input buffer" prefix. */
function describeSharpError(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg
    .replace(/^Input buffer (has |contains )?/, '')
    .replace(/\s+/g, ' ')
    .trim();
}

function describeFsError(err: unknown): string {
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a folder';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}
