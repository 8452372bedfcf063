/**
 * Images in the browser: the pixels of an `ImageData`, an `ImageBitmap`, an image element or
 * a canvas as a `RawImage`, and image files (`File` / `Blob`) decoded as `ftunet predict`
 * decodes them: the format recognised from the first bytes (not the name), the size read from
 * the header and checked against a pixel limit before anything is decoded, PNG and JPEG
 * decoded by the browser without colour management and with the EXIF orientation applied
 * (as sharp's auto-orientation), BMP by the project's own decoder (the one the command line
 * uses, so palette and 16-bit BMPs give the same pixels). Browser-only (DOM).
 */
import { UserError } from '../errors.js';
import { decodeBmp } from '../io/bmp.js';
import { headerSize, sniffImageFormat, type ImageFormat } from '../io/image_format.js';
import type { RawImage } from '../util/raster.js';

/** The pixel limit of a decode unless another is given (as `--max-pixels`'s default). */
export const BROWSER_MAX_PIXELS = 100_000_000;

/** Bytes read to find a JPEG's start-of-frame marker. */
const HEAD_BYTES = 64 * 1024;

/** Why a file was not decoded; `message` is for the person who chose it. */
export class BrowserImageError extends UserError {
  override name = 'BrowserImageError';
  constructor(
    readonly file: string,
    readonly reason: string,
    readonly kind: 'not-an-image' | 'too-large' | 'unreadable',
  ) {
    super(`${file}: ${reason}`);
  }
}

/** A decoded file: its pixels (RGBA, 4 channels, or BMP's own channels) and its format. */
export interface DecodedFile {
  image: RawImage;
  format: ImageFormat;
}

/** What can be drawn onto a canvas, or already is pixels. */
export type ImageSource =
  ImageData | ImageBitmap | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas;

/** The pixels of `source` as an RGBA `RawImage` (4 channels, 8 bits). */
export function rawImageFrom(source: ImageSource): RawImage {
  if (typeof ImageData !== 'undefined' && source instanceof ImageData) {
    return {
      data: new Uint8Array(source.data.buffer, source.data.byteOffset, source.data.length),
      height: source.height,
      width: source.width,
      channels: 4,
    };
  }
  const width =
    'naturalWidth' in source && source.naturalWidth > 0 ? source.naturalWidth : source.width;
  const height =
    'naturalHeight' in source && source.naturalHeight > 0 ? source.naturalHeight : source.height;
  if (!(width > 0 && height > 0)) {
    throw new UserError(`the image has no pixels (${width}x${height})`);
  }
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (ctx === null) throw new UserError('this browser gives no 2D canvas context');
  ctx.drawImage(source as CanvasImageSource, 0, 0);
  const pixels = ctx.getImageData(0, 0, width, height, { colorSpace: 'srgb' });
  return rawImageFrom(pixels);
}

/**
 * The pixels of the image file `file` named `name` (bytes kept apart from their name, as a
 * worker receives them), decoded as `decodeImageFile` decodes, within `BROWSER_MAX_PIXELS`.
 */
export async function decodeNamedImage(file: Blob, name: string): Promise<RawImage> {
  const named = Object.assign(file.slice(0, file.size, file.type), { name });
  return (await decodeImageFile(named, { maxPixels: BROWSER_MAX_PIXELS })).image;
}

/**
 * Decodes an image file. Throws a `BrowserImageError` saying why when the file is not a PNG,
 * JPEG or BMP image, when its header gives more than `maxPixels` pixels (nothing is decoded
 * then), or when the browser cannot decode it.
 */
export async function decodeImageFile(
  file: Blob & { name?: string },
  options: { maxPixels?: number } = {},
): Promise<DecodedFile> {
  const name = file.name ?? 'image';
  const maxPixels = options.maxPixels ?? BROWSER_MAX_PIXELS;
  if (file.size === 0) throw new BrowserImageError(name, 'the file is empty', 'not-an-image');
  const head = new Uint8Array(await file.slice(0, HEAD_BYTES).arrayBuffer());
  const format = sniffImageFormat(head);
  if (format === undefined || format === 'tiff') {
    const what = format === 'tiff' ? 'a TIFF image, which browsers cannot decode' : 'not an image';
    throw new BrowserImageError(name, `${what}: expected a PNG, JPEG or BMP file`, 'not-an-image');
  }
  const size = headerSize(head);
  if (size !== undefined && size.width * size.height > maxPixels) {
    throw new BrowserImageError(
      name,
      `too large: ${size.width}x${size.height} = ${((size.width * size.height) / 1e6).toPrecision(3)} ` +
        `megapixels, more than the limit of ${(maxPixels / 1e6).toPrecision(3)} megapixels`,
      'too-large',
    );
  }
  if (format === 'bmp') {
    try {
      return { image: decodeBmp(new Uint8Array(await file.arrayBuffer())).image, format };
    } catch (err) {
      throw new BrowserImageError(name, describe(err), 'unreadable');
    }
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, {
      colorSpaceConversion: 'none',
      premultiplyAlpha: 'none',
      imageOrientation: 'from-image',
    });
  } catch (err) {
    throw new BrowserImageError(
      name,
      `the browser cannot decode this ${format.toUpperCase()} file (${describe(err)})`,
      'unreadable',
    );
  }
  try {
    if (bitmap.width * bitmap.height > maxPixels) {
      throw new BrowserImageError(
        name,
        `too large: ${bitmap.width}x${bitmap.height} pixels, more than the limit of ${maxPixels}`,
        'too-large',
      );
    }
    return { image: rawImageFrom(bitmap), format };
  } finally {
    bitmap.close();
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** An RGB or grey `RawImage` as RGBA `ImageData`, for a canvas. */
export function toImageData(image: RawImage): ImageData {
  const { data, height, width, channels } = image;
  const out = new Uint8ClampedArray(height * width * 4);
  for (let i = 0, s = 0, o = 0; i < height * width; i++, s += channels, o += 4) {
    if (channels >= 3) {
      out[o] = data[s];
      out[o + 1] = data[s + 1];
      out[o + 2] = data[s + 2];
    } else {
      out[o] = out[o + 1] = out[o + 2] = data[s];
    }
    out[o + 3] = channels === 4 || channels === 2 ? data[s + channels - 1] : 255;
  }
  return new ImageData(out, width, height);
}
