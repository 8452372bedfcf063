/**
 * A predicted mask drawn over its image, for a person to look at: the lesion's outline
 * ('contour') or the lesion tinted with a colour ('tint'). Pure JavaScript.
 */
import { UserError } from '../errors.js';
import { convertChannels, type BinaryMask, type RawImage } from '../util/raster.js';

/** How the mask is drawn. */
export type OverlayStyle = 'contour' | 'tint';

/** The allowed values of `OverlayStyle`. */
export const OVERLAY_STYLES: readonly OverlayStyle[] = ['contour', 'tint'];

/** The overlay drawn unless another is asked for: the lesion's outline. */
export const DEFAULT_OVERLAY_STYLE: OverlayStyle = 'contour';

/** Parses an overlay style, naming the flag in the error. */
export function parseOverlayStyle(text: string, flag = '--overlay'): OverlayStyle {
  const v = text.trim().toLowerCase();
  if ((OVERLAY_STYLES as readonly string[]).includes(v)) return v as OverlayStyle;
  throw new UserError(`${flag}: expected one of ${OVERLAY_STYLES.join(', ')}, got '${text}'`);
}

/** Options of `overlayMask`. */
export interface OverlayOptions {
  /** 'contour' (the outline) or 'tint' (the lesion blended with `color`). Default 'contour'. */
  style?: OverlayStyle;
  /** RGB colour. Default [0, 255, 0] (green: visible on grey ultrasound and on skin). */
  color?: readonly [number, number, number];
  /** For 'tint': the colour's weight in the blend, 0 to 1. Default 0.4. */
  opacity?: number;
  /**
   * For 'contour': the outline's width in pixels, drawn inside the lesion. Default
   * max(1, round(max(rows, cols) / 256)), so the line stays visible on large images.
   */
  thickness?: number;
}

/**
 * The pixels of `mask` closer than `thickness` pixels (Chebyshev distance) to a background
 * pixel or to the image's edge: the mask minus its erosion by a (2t+1)x(2t+1) square.
 */
export function maskOutline(mask: BinaryMask, thickness = 1): Uint8Array {
  const { data, height: h, width: w } = mask;
  if (!Number.isInteger(thickness) || thickness < 1) {
    throw new UserError(`thickness must be a positive integer, got ${thickness}`);
  }
  const r = thickness;
  const span = 2 * r + 1;
  // Erosion, separable: a pixel stays when every pixel of its row window (then column
  // window) is set; windows reaching past the edge do not stay. Prefix sums make it O(h w).
  const rows = new Uint8Array(h * w);
  const prefix = new Int32Array(Math.max(h, w) + 1);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) prefix[x + 1] = prefix[x] + (data[y * w + x] ? 1 : 0);
    for (let x = r; x < w - r; x++) {
      rows[y * w + x] = prefix[x + r + 1] - prefix[x - r] === span ? 1 : 0;
    }
  }
  const eroded = new Uint8Array(h * w);
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) prefix[y + 1] = prefix[y] + rows[y * w + x];
    for (let y = r; y < h - r; y++) {
      eroded[y * w + x] = prefix[y + r + 1] - prefix[y - r] === span ? 1 : 0;
    }
  }
  const out = new Uint8Array(h * w);
  for (let i = 0; i < out.length; i++) out[i] = data[i] && !eroded[i] ? 1 : 0;
  return out;
}

/** Draws `mask` over `image` (see `OverlayOptions`); returns a new RGB image. */
export function overlayMask(
  image: RawImage,
  mask: BinaryMask,
  options: OverlayOptions = {},
): RawImage {
  if (image.height !== mask.height || image.width !== mask.width) {
    throw new UserError(
      `the image is ${image.height}x${image.width} but the mask is ` +
        `${mask.height}x${mask.width}`,
    );
  }
  const style = options.style ?? DEFAULT_OVERLAY_STYLE;
  const color = options.color ?? [0, 255, 0];
  const opacity = options.opacity ?? 0.4;
  const thickness =
    options.thickness ?? Math.max(1, Math.round(Math.max(image.height, image.width) / 256));
  if (!(opacity >= 0 && opacity <= 1)) {
    throw new UserError(`opacity must be from 0 to 1, got ${opacity}`);
  }
  const rgb = convertChannels(image, 3);
  const out = new Uint8Array(rgb.data);
  const n = image.height * image.width;
  switch (style) {
    case 'contour': {
      const outline = maskOutline(mask, thickness);
      for (let i = 0; i < n; i++) {
        if (outline[i]) {
          out[i * 3] = color[0];
          out[i * 3 + 1] = color[1];
          out[i * 3 + 2] = color[2];
        }
      }
      break;
    }
    case 'tint':
      for (let i = 0; i < n; i++) {
        if (mask.data[i]) {
          for (let c = 0; c < 3; c++) {
            const o = i * 3 + c;
            out[o] = Math.round(out[o] * (1 - opacity) + color[c] * opacity);
          }
        }
      }
      break;
    default:
      throw new UserError(
        `unknown style '${String(style)}'; expected one of ${OVERLAY_STYLES.join(', ')}`,
      );
  }
  return { data: out, height: image.height, width: image.width, channels: 3 };
}
