/**
 * A small decoder for uncompressed Windows BMP files, because the prebuilt libvips that sharp
 * ships cannot read BMP. Handles 1, 4 and 8-bit palette images, 16-bit (5-5-5 or bit fields),
 * 24-bit and 32-bit (plain or bit fields), bottom-up and top-down, with the 12, 40, 52, 56,
 * 108 and 124-byte headers. RLE and embedded JPEG/PNG compression are refused with a reason.
 */
import { UserError } from '../errors.js';
import type { RawImage } from '../util/raster.js';

/** Whether a buffer starts with the BMP signature "BM". */
export function isBmp(buffer: Uint8Array): boolean {
  return buffer.length >= 2 && buffer[0] === 0x42 && buffer[1] === 0x4d;
}

/** The decoded image and a description of its channel layout ('grey', 'palette', 'rgb'). */
export interface DecodedBmp {
  image: RawImage;
  layout: string;
}

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

/** What a BMP's first bytes say about it: enough to check its size before reading it. */
export interface BmpHeader {
  width: number;
  height: number;
  topDown: boolean;
  /** Bits per pixel: 1, 4, 8, 16, 24 or 32. */
  bpp: number;
  compression: number;
  /** Size of the info header: 12, or 40 and more. */
  headerSize: number;
  /** Colours in the palette (0: all that the bit depth allows). */
  paletteCount: number;
  /** Bytes per palette entry: 3 after a 12-byte header, else 4. */
  paletteEntry: number;
  /** Where the pixel rows start in the file. */
  dataOffset: number;
  /** Bytes per pixel row, padded to 4. */
  stride: number;
}

/**
 * Reads and checks a BMP's headers from its first bytes (54 are enough).
 * Throws a `UserError` whose message is the reason (the caller adds the file name).
 */
export function readBmpHeader(buffer: Uint8Array): BmpHeader {
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const need = (n: number, what: string): void => {
    if (buffer.length < n) throw new UserError(`truncated BMP (${what})`);
  };
  need(26, 'header');
  if (!isBmp(buffer)) throw new UserError('not a BMP file');
  const dataOffset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);
  let width: number;
  let height: number;
  let bpp: number;
  let compression = BI_RGB;
  let paletteCount = 0;
  let paletteEntry = 4;
  if (headerSize === 12) {
    width = view.getUint16(18, true);
    height = view.getInt16(20, true);
    bpp = view.getUint16(24, true);
    paletteEntry = 3;
  } else if (headerSize >= 40 && headerSize <= 124) {
    need(54, 'header');
    width = view.getInt32(18, true);
    height = view.getInt32(22, true);
    bpp = view.getUint16(28, true);
    compression = view.getUint32(30, true);
    paletteCount = view.getUint32(46, true);
  } else {
    throw new UserError(`unsupported BMP header of ${headerSize} bytes`);
  }
  if (dataOffset < 14 + headerSize) {
    throw new UserError(`BMP pixel data offset ${dataOffset} lies inside its headers`);
  }
  const topDown = height < 0;
  height = Math.abs(height);
  if (width <= 0 || height <= 0) throw new UserError(`BMP has size ${width}x${height}`);
  if (compression !== BI_RGB && compression !== BI_BITFIELDS && compression !== BI_ALPHABITFIELDS) {
    throw new UserError(`compressed BMP (compression ${compression}) is not supported`);
  }
  if (bpp <= 8 && ![1, 4, 8].includes(bpp)) throw new UserError(`unsupported BMP bit depth ${bpp}`);
  if (bpp > 8 && ![16, 24, 32].includes(bpp)) {
    throw new UserError(`unsupported BMP bit depth ${bpp}`);
  }
  // A palette never has more colours than its indices can address.
  if (bpp <= 8 && paletteCount > 1 << bpp) {
    throw new UserError(`BMP palette of ${paletteCount} colours for ${bpp}-bit pixels`);
  }
  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  return {
    width,
    height,
    topDown,
    bpp,
    compression,
    headerSize,
    paletteCount,
    paletteEntry,
    dataOffset,
    stride,
  };
}

/**
 * Decodes a BMP to 8-bit grey (palette images whose colours are all grey) or RGB.
 * Throws a `UserError` whose message is the reason (the caller adds the file name).
 */
export function decodeBmp(buffer: Uint8Array): DecodedBmp {
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const need = (n: number, what: string): void => {
    if (buffer.length < n) throw new UserError(`truncated BMP (${what})`);
  };
  const header = readBmpHeader(buffer);
  const { width, height, topDown, bpp, compression, headerSize, dataOffset, stride } = header;
  const { paletteCount, paletteEntry } = header;

  // Bit-field masks: after a 40-byte header they follow it; larger headers contain them.
  let masks: [number, number, number] | undefined;
  if (compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS) {
    need(14 + 40 + 12, 'bit fields');
    masks = [view.getUint32(54, true), view.getUint32(58, true), view.getUint32(62, true)];
  } else if (bpp === 16) {
    masks = [0x7c00, 0x03e0, 0x001f];
  } else if (bpp === 32) {
    masks = [0x00ff0000, 0x0000ff00, 0x000000ff];
  }

  let palette: Uint8Array | undefined;
  let grey = false;
  if (bpp <= 8) {
    const count = paletteCount > 0 ? paletteCount : 1 << bpp;
    const start = 14 + headerSize;
    need(start + count * paletteEntry, 'palette');
    palette = new Uint8Array(count * 3);
    grey = true;
    for (let i = 0; i < count; i++) {
      const b = buffer[start + i * paletteEntry];
      const g = buffer[start + i * paletteEntry + 1];
      const r = buffer[start + i * paletteEntry + 2];
      palette.set([r, g, b], i * 3);
      if (r !== g || g !== b) grey = false;
    }
  }

  need(dataOffset + stride * height, 'pixel data');
  const channels = grey ? 1 : 3;
  const out = new Uint8Array(width * height * channels);
  const fields = masks?.map(maskShift);
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      if (palette) {
        const bitPos = x * bpp;
        const byte = buffer[row + (bitPos >> 3)];
        const index = (byte >> (8 - bpp - (bitPos & 7))) & ((1 << bpp) - 1);
        if (index * 3 >= palette.length)
          throw new UserError(`BMP palette index ${index} out of range`);
        if (grey) out[o] = palette[index * 3];
        else out.set(palette.subarray(index * 3, index * 3 + 3), o);
      } else if (bpp === 24) {
        const s = row + x * 3;
        out[o] = buffer[s + 2];
        out[o + 1] = buffer[s + 1];
        out[o + 2] = buffer[s];
      } else {
        const v =
          bpp === 16 ? view.getUint16(row + x * 2, true) : view.getUint32(row + x * 4, true);
        for (let c = 0; c < 3; c++) out[o + c] = fields![c](v);
      }
    }
  }
  const layout = palette ? (grey ? 'grey' : 'palette') : 'rgb';
  return { image: { data: out, height, width, channels }, layout };
}

/** A function that extracts one bit field and scales it to 0-255. */
function maskShift(mask: number): (v: number) => number {
  if (mask === 0) return () => 0;
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  const max = mask >>> shift;
  return (v) => Math.round((((v & mask) >>> shift) * 255) / max);
}
