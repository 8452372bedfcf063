/**
 * Reading images and masks from files, on sharp (libvips, shipped as a binary inside its npm
 * package) plus a small BMP decoder for what that libvips build cannot read.
 *
 * Formats: PNG (1 to 16 bits; grey, grey+alpha, RGB, RGBA, palette), JPEG (EXIF orientation
 * applied, so sizes are the displayed ones), TIFF, and uncompressed BMP. Images come out as
 * 8-bit with 1 (luminance) or 3 (RGB) channels, alpha dropped; masks come out binarised.
 *
 * Before any pixel is decoded, the format is recognised from the file's first 64 bytes (a file
 * that is not an image is never read whole), the size is read from its header and checked
 * against a pixel limit (`DEFAULT_MAX_PIXELS`, raised by `maxPixels` / `--max-pixels`), and the
 * decode waits until its estimated memory fits in a budget that the process's decodes share
 * (`decodeMemory`). Node-only (fs, sharp).
 */
import { open as openFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { DataError, UserError } from '../errors.js';
import { MemoryLimiter } from '../util/memory_limit.js';
import {
  binarizeMask,
  convertChannels,
  type BinarizedMask,
  type RawImage,
} from '../util/raster.js';
import { decodeBmp, readBmpHeader, type BmpHeader } from './bmp.js';
import { sniffImageFormat, SNIFF_BYTES, type ImageFormat } from './image_format.js';

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
 * The most pixels (width x height, read from the file's header before anything is decoded) an
 * image or mask may have unless raised (`maxPixels`, `--max-pixels`): 100 megapixels. The
 * largest ISIC 2018 images (6688x4439, 29.7 megapixels) fit three times over; decoding an RGB
 * image of the limit holds about 0.4 GB.
 */
export const DEFAULT_MAX_PIXELS = 100_000_000;

/**
 * The bytes that decodes running at the same time may hold together (by `decodeBytes`'s
 * estimate): 1 GiB. Many small images decode side by side, two of the largest one after the
 * other; an image larger than the budget decodes alone.
 */
export const DECODE_MEMORY_BUDGET = 2 ** 30;

/**
 * The budget that every decode of this process shares unless it is given its own: memory is the
 * process's, so `loadDataset`, evaluation's full-size masks and `predictFiles` all take from it.
 */
export const decodeMemory = new MemoryLimiter(DECODE_MEMORY_BUDGET);

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

/** A file's header gives it more pixels than the limit (`maxPixels`); nothing was decoded. */
export class ImageTooLargeError extends ImageReadError {
  override name = 'ImageTooLargeError';
  constructor(
    file: string,
    readonly width: number,
    readonly height: number,
    readonly maxPixels: number,
  ) {
    let size = `${megapixels(width * height)} megapixels`;
    let limit = `${megapixels(maxPixels)} megapixels`;
    // Rounding must not make the two look equal.
    if (size === limit) [size, limit] = [`${width * height} pixels`, `${maxPixels} pixels`];
    super(
      file,
      `its header gives ${height} rows x ${width} columns = ${size}, more than the limit of ` +
        `${limit}; raise the limit with --max-pixels (option maxPixels)`,
    );
  }
}

/** Pixels in megapixels with three significant digits: 256, 29.7, 0.0016. */
function megapixels(pixels: number): string {
  return String(Number((pixels / 1e6).toPrecision(3)));
}

/**
 * Checks a pixel limit: a positive integer. Throws a `UserError` naming `what` (the option or
 * flag) otherwise.
 */
export function checkMaxPixels(value: number, name = 'maxPixels'): number {
  if (!(Number.isSafeInteger(value) && value > 0)) {
    throw new UserError(`${name}: expected a positive whole number of pixels, got ${value}`);
  }
  return value;
}

/** Parses a pixel limit such as `300000000` or `3e8`; throws a `UserError` naming `flag`. */
export function parseMaxPixels(text: string, flag = '--max-pixels'): number {
  const value = Number(text);
  if (text.trim() === '' || !(Number.isSafeInteger(value) && value > 0)) {
    throw new UserError(
      `${flag}: expected a positive whole number of pixels (e.g. 300000000 or 3e8), got '${text}'`,
    );
  }
  return value;
}

/** Options of the image readers. */
export interface ImageReadOptions {
  /** The most pixels a file may have, checked from its header. Default `DEFAULT_MAX_PIXELS`. */
  maxPixels?: number;
  /** The memory budget the decode takes from. Default `decodeMemory` (shared by the process). */
  memory?: MemoryLimiter;
}

/** An image at its original (displayed) size, with the layout it was stored in. */
export interface DecodedImage extends RawImage {
  /** How the file stored its pixels: 'grey', 'grey+alpha', 'rgb', 'rgba', 'palette', ... */
  layout: string;
}

/** A binarised mask at its original size (see `binarizeMask` for the rule). */
export interface DecodedMask extends BinarizedMask {
  layout: string;
  /**
   * Every grey or colour value is 0 but the alpha channel is not uniform: the shape was drawn
   * in alpha alone, which masks are not read from (the mask binarises to empty). Always false
   * for files without alpha and for BMP.
   */
  shapeInAlpha: boolean;
}

/**
 * An image file whose header has been read and checked against the pixel limit, not yet
 * decoded. Its decode methods take nothing from a memory budget: the caller holds
 * `decodeBytes` of one while it decodes (and for as long as it keeps the result).
 */
export interface OpenedImage {
  file: string;
  format: ImageFormat;
  /** Stored size from the header (before EXIF orientation, which only swaps the two). */
  width: number;
  height: number;
  /**
   * Estimated bytes held while decoding. libvips streams the rows of PNG and JPEG files, so a
   * decode holds about its result: width x height x (max(channels, 3) x bytes per sample + 1),
   * the RGB-or-wider raster at the file's depth plus a one-byte grey or binarised copy of it
   * (measured on a 16000x16000 RGB PNG: 0.77 to 1.0 GB for an estimate of 1.02 GB). For BMP:
   * the pixel rows read, plus 4 bytes per pixel.
   */
  decodeBytes: number;
  /** Decodes as `decodeImage` does. */
  decodeImage(channels: 1 | 3): Promise<DecodedImage>;
  /** Decodes as `decodeMask` does. */
  decodeMask(): Promise<DecodedMask>;
}

/**
 * Opens an image file without decoding it: reads its first `SNIFF_BYTES` bytes (never the
 * whole file) to recognise PNG, JPEG, TIFF or BMP, then its header for the size, and checks the
 * pixel count against `maxPixels`. Throws `ImageReadError` (`ImageTooLargeError` for the
 * limit) naming the file.
 */
export async function openImage(
  file: string,
  options: Pick<ImageReadOptions, 'maxPixels'> = {},
): Promise<OpenedImage> {
  const maxPixels = checkMaxPixels(options.maxPixels ?? DEFAULT_MAX_PIXELS);
  const head = await readHead(file);
  if (head.length === 0) throw new ImageReadError(file, 'empty file');
  const format = sniffImageFormat(head);
  if (format === undefined) {
    const hex = [...head.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new ImageReadError(
      file,
      `not a PNG, JPEG, TIFF or BMP image (it starts with the bytes ${hex})`,
    );
  }
  return format === 'bmp' ? openBmp(file, head, maxPixels) : openWithSharp(file, format, maxPixels);
}

/** The first `SNIFF_BYTES` bytes of a file, through a file handle. */
async function readHead(file: string): Promise<Buffer> {
  let fh: FileHandle;
  try {
    fh = await openFile(file, 'r');
  } catch (err) {
    throw new ImageReadError(file, describeFsError(err));
  }
  try {
    const head = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await fh.read(head, 0, SNIFF_BYTES, 0);
    return head.subarray(0, bytesRead);
  } catch (err) {
    throw new ImageReadError(file, describeFsError(err));
  } finally {
    await fh.close();
  }
}

function checkPixels(file: string, width: number, height: number, maxPixels: number): void {
  if (width * height > maxPixels) throw new ImageTooLargeError(file, width, height, maxPixels);
}

/** Bytes per sample of libvips's band formats. */
const SAMPLE_BYTES: Record<string, number> = {
  uchar: 1,
  char: 1,
  ushort: 2,
  short: 2,
  uint: 4,
  int: 4,
  float: 4,
  complex: 8,
  double: 8,
  dpcomplex: 16,
};

async function openWithSharp(
  file: string,
  format: ImageFormat,
  maxPixels: number,
): Promise<OpenedImage> {
  let meta: sharp.Metadata;
  try {
    // metadata() reads the header only. sharp applies limitInputPixels to it too, so it is off
    // here: this check names the file, the size and the flag.
    meta = await sharp(file, { failOn: 'warning', limitInputPixels: false }).metadata();
  } catch (err) {
    throw new ImageReadError(file, describeSharpError(err));
  }
  const { width, height } = meta;
  if (!(width > 0 && height > 0)) throw new ImageReadError(file, 'no image size in its header');
  checkPixels(file, width, height, maxPixels);
  const sampleBytes = SAMPLE_BYTES[meta.depth ?? 'uchar'] ?? 8;
  const pixelBytes = Math.max(meta.channels ?? 3, 3) * sampleBytes + 1;
  // The decode itself: the same file, with libvips's own pixel limit as a second guard.
  const pipeline = (): sharp.Sharp =>
    sharp(file, { failOn: 'warning', limitInputPixels: maxPixels }).autoOrient();
  return {
    file,
    format,
    width,
    height,
    decodeBytes: width * height * pixelBytes,
    decodeImage: (channels) => decodeImageWithSharp(file, pipeline(), meta, channels),
    decodeMask: () => decodeMaskWithSharp(file, pipeline, meta),
  };
}

/** The largest header and palette before a BMP's pixel rows: file and info headers, 256 colours. */
const BMP_MAX_HEAD = 14 + 124 + 12 + 256 * 4;

function openBmp(file: string, head: Uint8Array, maxPixels: number): OpenedImage {
  let header: BmpHeader;
  try {
    header = readBmpHeader(head);
  } catch (err) {
    throw new ImageReadError(file, bmpReason(err));
  }
  const { width, height } = header;
  checkPixels(file, width, height, maxPixels);
  const decode = async (): Promise<{ image: RawImage; layout: string }> => {
    const bytes = await readBmpBytes(file, header);
    try {
      return decodeBmp(bytes);
    } catch (err) {
      throw new ImageReadError(file, bmpReason(err));
    }
  };
  return {
    file,
    format: 'bmp',
    width,
    height,
    decodeBytes: header.stride * height + width * height * 4,
    decodeImage: async (channels) => {
      const { image, layout } = await decode();
      return { ...convertChannels(image, channels), layout };
    },
    decodeMask: async () => {
      const { image, layout } = await decode();
      return { ...binarizeMask(image), layout, shapeInAlpha: false };
    },
  };
}

function bmpReason(err: unknown): string {
  if (err instanceof UserError) return err.message;
  throw err;
}

/**
 * A BMP's headers and palette, then its pixel rows, and nothing else: a gap before the rows
 * (however large the header says it is) is skipped, and the copy's pixel offset says where
 * the rows now start. A short file gives a short buffer, which `decodeBmp` reports as truncated.
 */
async function readBmpBytes(file: string, header: BmpHeader): Promise<Uint8Array> {
  const headBytes = Math.min(header.dataOffset, BMP_MAX_HEAD);
  const rowBytes = header.stride * header.height;
  const bytes = Buffer.alloc(headBytes + rowBytes);
  let fh: FileHandle;
  try {
    fh = await openFile(file, 'r');
  } catch (err) {
    throw new ImageReadError(file, describeFsError(err));
  }
  try {
    const a = await readFully(fh, bytes.subarray(0, headBytes), 0);
    if (a < headBytes) return bytes.subarray(0, a);
    const b = await readFully(fh, bytes.subarray(headBytes), header.dataOffset);
    bytes.writeUInt32LE(headBytes, 10);
    return bytes.subarray(0, headBytes + b);
  } catch (err) {
    throw new ImageReadError(file, describeFsError(err));
  } finally {
    await fh.close();
  }
}

/** Reads into all of `into` from `position` (a read returns at most about 2 GB); bytes read. */
async function readFully(fh: FileHandle, into: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await fh.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
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
 * are scaled to 8 bits. The file is opened and checked as `openImage` does, and decoded once
 * its estimated bytes fit in the memory budget. Throws `ImageReadError` naming the file.
 */
export async function decodeImage(
  file: string,
  channels: 1 | 3,
  options: ImageReadOptions = {},
): Promise<DecodedImage> {
  const image = await openImage(file, options);
  return (options.memory ?? decodeMemory).run(image.decodeBytes, () => image.decodeImage(channels));
}

/**
 * Reads a mask at its original size (EXIF orientation applied) at its own bit depth and
 * binarises it with `binarizeMask`: the maximum over colour channels, lesion where it is above
 * half of the nominal range (so 0/1, 0/255, JPEG-noisy and 16-bit masks all work). Opened,
 * checked and budgeted as `decodeImage`.
 */
export async function decodeMask(
  file: string,
  options: ImageReadOptions = {},
): Promise<DecodedMask> {
  const mask = await openImage(file, options);
  return (options.memory ?? decodeMemory).run(mask.decodeBytes, () => mask.decodeMask());
}

async function decodeImageWithSharp(
  file: string,
  pipeline: sharp.Sharp,
  meta: sharp.Metadata,
  channels: 1 | 3,
): Promise<DecodedImage> {
  const grey = isGrey(meta);
  const p = grey ? pipeline.toColourspace('b-w') : pipeline.removeAlpha().toColourspace('srgb');
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
  return { ...convertChannels(image, channels), layout: describeLayout(meta) };
}

async function decodeMaskWithSharp(
  file: string,
  pipeline: () => sharp.Sharp,
  meta: sharp.Metadata,
): Promise<DecodedMask> {
  const grey = isGrey(meta);
  const deep = meta.depth === 'ushort';
  // Alpha is removed for grey too: libvips keeps it in a 16-bit grey+alpha image, where it
  // would count as a colour channel (an opaque mask would read as all lesion).
  let p = pipeline().removeAlpha();
  p = p.toColourspace(grey ? (deep ? 'grey16' : 'b-w') : deep ? 'rgb16' : 'srgb');
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
  const mask = binarizeMask(stored);
  const shapeInAlpha =
    mask.maxValue === 0 && meta.hasAlpha === true && (await alphaVaries(file, pipeline()));
  return { ...mask, layout: describeLayout(meta), shapeInAlpha };
}

/** Whether the alpha channel of an image with alpha holds two values or more. */
async function alphaVaries(file: string, pipeline: sharp.Sharp): Promise<boolean> {
  let alpha: Buffer;
  try {
    // 'alpha', not the last band's index: sharp extracts after turning grey+alpha into RGBA.
    alpha = await pipeline.extractChannel('alpha').raw().toBuffer();
  } catch (err) {
    throw new ImageReadError(file, describeSharpError(err));
  }
  for (let i = 1; i < alpha.length; i++) if (alpha[i] !== alpha[0]) return true;
  return false;
}

/** libvips's message without sharp's "Input file" prefix. */
function describeSharpError(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg
    .replace(/^Input (buffer|file) (has |contains )?/, '')
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
