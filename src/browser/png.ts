/**
 * PNG files made in the browser (fast-png): a mask as `ftunet predict` writes it, an 8-bit
 * grey PNG of 0 and 255 at the image's size, and RGB pictures. Pure JavaScript.
 */
import { encode } from 'fast-png';
import type { BinaryMask, RawImage } from '../util/raster.js';

/** A binary mask (0/1) as an 8-bit grey PNG of 0 and 255. */
export function encodeMaskPng(mask: BinaryMask): Uint8Array {
  const data = new Uint8Array(mask.data.length);
  for (let i = 0; i < data.length; i++) data[i] = mask.data[i] ? 255 : 0;
  return encode({ width: mask.width, height: mask.height, data, depth: 8, channels: 1 });
}

/** An 8-bit image with 1 to 4 channels as a PNG. */
export function encodeImagePng(image: RawImage): Uint8Array {
  return encode({
    width: image.width,
    height: image.height,
    data: image.data,
    depth: 8,
    channels: image.channels,
  });
}
