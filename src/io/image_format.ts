/**
 * Recognising an image file from its first bytes, and reading its size from its header before
 * anything is decoded (so that a huge image is refused before it fills the memory). Pure
 * JavaScript: the command line (io/image.ts) and the browser (browser/image.ts) share it, with the BMP decoder (bmp.ts).
 */
import { readBmpHeader } from './bmp.js';

/** Bytes read from the start of a file to recognise its format (and a BMP's size). */
export const SNIFF_BYTES = 64;

/** The formats read, as recognised from a file's first bytes. */
export type ImageFormat = 'png' | 'jpeg' | 'tiff' | 'bmp';

/** The format whose signature `bytes` (a file's first bytes) start with, if any. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  const starts = (...sig: number[]): boolean =>
    bytes.length >= sig.length && sig.every((b, i) => bytes[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  if (starts(0xff, 0xd8, 0xff)) return 'jpeg';
  // Classic TIFF (42) and BigTIFF (43), little- and big-endian.
  if (starts(0x49, 0x49, 0x2a, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2a)) return 'tiff';
  if (starts(0x49, 0x49, 0x2b, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2b)) return 'tiff';
  if (starts(0x42, 0x4d)) return 'bmp';
  return undefined;
}

/** What a header says of an image's size. */
export interface HeaderSize {
  format: ImageFormat;
  width: number;
  height: number;
}

/**
 * The size an image's header gives, from the file's first bytes (`head`): PNG (IHDR, in the
 * first 24 bytes), BMP (its info header) and JPEG (the first start-of-frame marker, which
 * usually lies in the first few kilobytes: pass up to 64 KiB). Undefined when the bytes do
 * not say (not one of these formats, or the marker lies beyond `head`).
 */
export function headerSize(head: Uint8Array): HeaderSize | undefined {
  const format = sniffImageFormat(head);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  switch (format) {
    case 'png':
      if (head.length < 24) return undefined;
      return { format, width: view.getUint32(16), height: view.getUint32(20) };
    case 'bmp': {
      try {
        const h = readBmpHeader(head);
        return { format, width: h.width, height: h.height };
      } catch {
        return undefined;
      }
    }
    case 'jpeg':
      return jpegSize(head, view);
    default:
      return undefined;
  }
}

/** Start-of-frame markers: C0 to CF except C4 (DHT), C8 (JPG) and CC (DAC). */
const isStartOfFrame = (m: number): boolean =>
  m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

function jpegSize(head: Uint8Array, view: DataView): HeaderSize | undefined {
  let i = 2;
  while (i + 4 <= head.length) {
    if (head[i] !== 0xff) return undefined;
    const marker = head[i + 1];
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2; // markers without a length
      continue;
    }
    const length = view.getUint16(i + 2);
    if (isStartOfFrame(marker)) {
      if (i + 9 > head.length) return undefined;
      return { format: 'jpeg', height: view.getUint16(i + 5), width: view.getUint16(i + 7) };
    }
    if (marker === 0xda || marker === 0xd9) return undefined; // scan data before any frame
    i += 2 + length;
  }
  return undefined;
}

/**
 * A JPEG's EXIF orientation (1 to 8; 1, as stored, when it has none or `head` does not reach
 * it), read from its APP1 `Exif` segment in `head` (the file's first bytes). Orientations 5 to
 * 8 turn the picture a quarter: a browser and sharp show it with its width and height swapped.
 */
export function jpegOrientation(head: Uint8Array): number {
  if (sniffImageFormat(head) !== 'jpeg') return 1;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let i = 2;
  while (i + 4 <= head.length && head[i] === 0xff) {
    const marker = head[i + 1];
    if (marker === 0xda || marker === 0xd9) return 1; // scan data: no EXIF before it
    const length = view.getUint16(i + 2);
    const exif = i + 4;
    if (marker === 0xe1 && exif + 14 <= head.length && view.getUint32(exif) === 0x45786966) {
      return tiffOrientation(view, exif + 6, Math.min(head.length, i + 2 + length));
    }
    i += 2 + length;
  }
  return 1;
}

/** Tag 0x0112 of the first IFD of the TIFF structure at `start` (EXIF's), or 1. */
function tiffOrientation(view: DataView, start: number, end: number): number {
  const little = view.getUint16(start) === 0x4949;
  const u16 = (at: number) => view.getUint16(at, little);
  const ifd = start + view.getUint32(start + 4, little);
  if (ifd + 2 > end) return 1;
  const count = u16(ifd);
  for (let k = 0; k < count; k++) {
    const entry = ifd + 2 + k * 12;
    if (entry + 12 > end) return 1;
    if (u16(entry) === 0x0112) {
      const value = u16(entry + 8);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}
