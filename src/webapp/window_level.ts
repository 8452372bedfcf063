/**
 * Window/level (contrast/brightness) of a grey image for the screen: grey values in the window
 * [level - window / 2, level + window / 2] are spread over 0-255, those below become black and
 * those above white:
 *
 *   out(v) = clamp(round((v - (level - window / 2)) * 255 / window), 0, 255)
 *
 * The default window 255 at level 127.5 is the identity. As a 256-entry table (`windowLevelLut`)
 * applied to the image's grey values (`greyToRgba`). Pure; no DOM.
 */
import type { RawImage } from '../util/raster.js';

export interface WindowLevel {
  /** The width of the grey range shown, 1 to 510. */
  window: number;
  /** The grey value at the middle of the range, 0 to 255. */
  level: number;
}

/** The identity: every grey value shown as it is. */
export const DEFAULT_WINDOW_LEVEL: Readonly<WindowLevel> = { window: 255, level: 127.5 };

/** The narrowest and widest window. */
export const WINDOW_RANGE: readonly [number, number] = [1, 510];

/** The 256 display values of the grey values 0-255 under `wl` (the formula above). */
export function windowLevelLut(wl: WindowLevel): Uint8Array {
  const window = Math.min(WINDOW_RANGE[1], Math.max(WINDOW_RANGE[0], wl.window));
  const low = wl.level - window / 2;
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) {
    const out = Math.round(((v - low) * 255) / window);
    lut[v] = out < 0 ? 0 : out > 255 ? 255 : out;
  }
  return lut;
}

/**
 * Whether an image is grey: one channel (two with alpha), or three or four whose red, green and
 * blue are equal at every pixel (a grey picture saved as RGB).
 */
export function isGrey(image: RawImage): boolean {
  const { data, channels } = image;
  if (channels <= 2) return true;
  for (let i = 0; i < data.length; i += channels) {
    if (data[i] !== data[i + 1] || data[i] !== data[i + 2]) return false;
  }
  return true;
}

/**
 * Writes rows [y0, y1) of a grey image (its first channel) through `lut` into `out`, RGBA at
 * the image's size, opaque.
 */
export function greyToRgba(
  image: RawImage,
  lut: Uint8Array,
  out: Uint8ClampedArray,
  y0 = 0,
  y1 = image.height,
): void {
  const { data, width, channels } = image;
  for (let i = y0 * width, s = i * channels, o = i * 4, end = y1 * width; i < end; i++) {
    const v = lut[data[s]];
    out[o] = v;
    out[o + 1] = v;
    out[o + 2] = v;
    out[o + 3] = 255;
    s += channels;
    o += 4;
  }
}
