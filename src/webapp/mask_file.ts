/**
 * Reading a mask file of any kind people have: PNG (8 or 16 bits, grey, RGB, with alpha,
 * palettes), BMP, and JPEG (decoded by the browser: `createImageBitmap`, in a page or a
 * worker), binarised as the command line binarises masks (`binarizeMask`: a value above half
 * of the mask's range is lesion, the largest colour channel counts, alpha is ignored). Says
 * whether the file already is the stored form (an 8-bit grey PNG of 0 and 255), so that it can
 * be kept as it is. The import (`work_zip.ts`) runs it; so may the pipeline's worker, as the
 * work is heavy for a photo-sized mask (about half a second on a slow machine). No DOM.
 */
import { decode as decodePng, type DecodedPng } from 'fast-png';
import { decodeImageFile } from '../browser/image.js';
import { UserError } from '../errors.js';
import { decodeBmp } from '../io/bmp.js';
import { sniffImageFormat } from '../io/image_format.js';
import { binarizeMask, type BinaryMask } from '../util/raster.js';

/**
 * A file refused by the import (a mask file that cannot be read here): `message` is
 * `<file>: <reason>`, for the page to show as it is.
 */
export class WorkImportError extends UserError {
  override name = 'WorkImportError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

/** A decoded mask file. */
export interface DecodedMaskFile {
  /** 0/1 at the file's size. */
  mask: BinaryMask;
  /** The file is already an 8-bit grey PNG of 0 and 255 (the stored form). */
  canonical: boolean;
}

/**
 * Decodes a mask file (PNG and BMP here, JPEG and the PNGs fast-png leaves packed by the
 * browser) and binarises it. `label` names the file in a `WorkImportError`.
 */
export async function decodeMaskBytes(label: string, bytes: Uint8Array): Promise<DecodedMaskFile> {
  const format = sniffImageFormat(bytes.subarray(0, 64));
  try {
    if (format === 'png') {
      const png = decodePng(bytes);
      if (png.depth >= 8 && png.palette === undefined) return fromPng(png);
    } else if (format === 'bmp') {
      const { image } = decodeBmp(bytes);
      return { mask: binarizeMask(image), canonical: false };
    }
  } catch (err) {
    throw new WorkImportError(label, `the mask cannot be read (${(err as Error).message})`);
  }
  if (format === undefined || format === 'tiff') {
    const what = format === 'tiff' ? 'a TIFF image, which browsers cannot decode' : 'not an image';
    throw new WorkImportError(label, `${what}: expected a PNG, JPEG or BMP mask`);
  }
  if (typeof createImageBitmap === 'undefined') {
    throw new WorkImportError(label, 'this mask format needs a browser to read it');
  }
  // JPEG, and PNGs of palettes or fewer than 8 bits: the browser decodes them (RGBA).
  const { image } = await decodeImageFile(
    new Blob([bytes as BlobPart]) as Blob & { name?: string },
  ).catch((err: Error) => {
    throw new WorkImportError(label, `the mask cannot be read (${err.message})`);
  });
  const rgb = { ...image, data: dropAlpha(image.data, image.channels), channels: 3 };
  return { mask: binarizeMask(rgb), canonical: false };
}

/** A PNG's values without alpha, binarised; canonical when 8-bit grey of 0 and 255 only. */
function fromPng(png: DecodedPng): DecodedMaskFile {
  const { width, height, channels } = png;
  const data = png.data as Uint8Array | Uint16Array;
  const colour = channels === 2 || channels === 4 ? channels - 1 : channels;
  const values = colour === channels ? data : dropAlpha(data, channels);
  const mask = binarizeMask({ data: values, height, width, channels: colour });
  let canonical = png.depth === 8 && channels === 1;
  for (let i = 0; canonical && i < values.length; i++) {
    canonical = values[i] === 0 || values[i] === 255;
  }
  return { mask, canonical };
}

function dropAlpha<T extends Uint8Array | Uint16Array>(data: T, channels: number): T {
  if (channels !== 2 && channels !== 4) return data;
  const colour = channels - 1;
  const n = data.length / channels;
  const out = new (data.constructor as new (n: number) => T)(n * colour);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < colour; c++) out[i * colour + c] = data[i * channels + c];
  }
  return out;
}
