/**
 * Encoding raw 8-bit arrays as PNG and JPEG files with sharp. Masks are written as 8-bit grey
 * PNGs holding only 0 and 255 ("1-bit looking"), which every viewer and reader understands.
 * Node-only.
 */
import sharp from 'sharp';
import { UserError } from '../errors.js';
import type { BinaryMask, RawImage } from '../util/raster.js';
import { writeFileAtomic } from './atomic.js';

/** Image file formats that can be written. */
export type ImageFormat = 'png' | 'jpeg';

/** The allowed values of `ImageFormat`. */
export const IMAGE_FORMATS: readonly ImageFormat[] = ['png', 'jpeg'];

export interface EncodeOptions {
  /** 'png' or 'jpeg'. Default 'png'. */
  format?: ImageFormat;
  /** JPEG quality 1-100. Default 90. */
  quality?: number;
  /** PNG zlib level 0-9. Default 6 (libpng's default; 9 is much slower for little gain). */
  compressionLevel?: number;
}

function pipeline(image: RawImage): sharp.Sharp {
  const { data, height, width, channels } = image;
  if (![1, 2, 3, 4].includes(channels) || data.length !== height * width * channels) {
    throw new UserError(
      `cannot encode the image: expected ${height}x${width} with 1 to 4 channels ` +
        `(${height * width * channels} values), got ${data.length} values, ${channels} channels`,
    );
  }
  const p = sharp(data, { raw: { width, height, channels: channels as 1 | 2 | 3 | 4 } });
  // Without this a 1-channel raw input is written as an RGB PNG.
  return channels <= 2 ? p.toColourspace('b-w') : p;
}

/** Encodes an 8-bit image (1 to 4 channels) as PNG or JPEG bytes. */
export async function encodeImage(image: RawImage, options: EncodeOptions = {}): Promise<Buffer> {
  const { format = 'png', quality = 90, compressionLevel = 6 } = options;
  switch (format) {
    case 'png':
      return pipeline(image).png({ compressionLevel }).toBuffer();
    case 'jpeg':
      return pipeline(image).jpeg({ quality }).toBuffer();
    default:
      throw new UserError(
        `unknown image format '${String(format)}'; expected one of ${IMAGE_FORMATS.join(', ')}`,
      );
  }
}

/** A 0/1 (or 0/255) mask as a 0/255 grey image. */
export function maskToImage(mask: BinaryMask): RawImage {
  const out = new Uint8Array(mask.data.length);
  for (let i = 0; i < out.length; i++) out[i] = mask.data[i] ? 255 : 0;
  return { data: out, height: mask.height, width: mask.width, channels: 1 };
}

/** Writes an image file atomically (see `encodeImage` for the options). */
export async function writeImage(
  file: string,
  image: RawImage,
  options: EncodeOptions = {},
): Promise<void> {
  await writeFileAtomic(file, await encodeImage(image, options));
}

/** Writes a mask as a 0/255 grey PNG, atomically. */
export async function writeMask(file: string, mask: BinaryMask): Promise<void> {
  await writeImage(file, maskToImage(mask), { format: 'png' });
}

/** Writes a 16-bit grey PNG (`data`: `height * width` values 0-65535, row-major), atomically. */
export async function writeGrey16Png(
  file: string,
  data: Uint16Array,
  height: number,
  width: number,
): Promise<void> {
  if (data.length !== height * width) {
    throw new UserError(
      `a 16-bit ${height}x${width} image needs ${height * width} values, got ${data.length}`,
    );
  }
  const bytes = await sharp(data, { raw: { width, height, channels: 1 } })
    .toColourspace('grey16')
    .png({ compressionLevel: 6 })
    .toBuffer();
  await writeFileAtomic(file, bytes);
}
