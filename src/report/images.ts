/**
 * The pictures of one test image in a report, each a small PNG as a `data:` URI: the image,
 * the ground truth, the prediction, an overlay of both on the image, and the heat map of each
 * attention gate. All panels of an image share one thumbnail size with the image's aspect
 * ratio; the image is scaled with sharp (Lanczos when shrinking, nearest neighbour when
 * enlarging a small image, which stays sharp), masks with nearest neighbour (they stay 0/1).
 *
 * Node-only (sharp).
 */
import sharp from 'sharp';
import { UserError } from '../errors.js';
import { encodeImage, maskToImage } from '../io/write.js';
import { heatmapImage, type ValueMap } from '../predict/colormap.js';
import { overlayMask } from '../predict/overlay.js';
import { resizeMask, type BinaryMask, type RawImage } from '../util/raster.js';

/** The overlay's colours: the ground truth outlined in yellow, the prediction tinted in cyan. */
export const OVERLAY_COLORS = {
  truth: [255, 214, 0] as const,
  prediction: [0, 190, 255] as const,
};

/** The default longest side of a thumbnail, in pixels. */
export const DEFAULT_THUMBNAIL_SIZE = 140;

/** The [rows, cols] of a thumbnail of an image of `size` whose longest side is `maxSide`. */
export function thumbnailSize(size: readonly [number, number], maxSide: number): [number, number] {
  const [h, w] = size;
  if (!(Number.isInteger(maxSide) && maxSide >= 8)) {
    throw new UserError(`a thumbnail's longest side must be an integer >= 8, got ${maxSide}`);
  }
  const scale = maxSide / Math.max(h, w);
  return [Math.max(1, Math.round(h * scale)), Math.max(1, Math.round(w * scale))];
}

/** An 8-bit image as a PNG `data:` URI. */
export async function pngDataUri(image: RawImage): Promise<string> {
  const png = await encodeImage(image, { format: 'png' });
  return `data:image/png;base64,${png.toString('base64')}`;
}

/** Resizes an 8-bit image with sharp (see the module doc for the kernel). */
export async function resizeForDisplay(
  image: RawImage,
  size: readonly [number, number],
): Promise<RawImage> {
  const [h, w] = size;
  if (image.height === h && image.width === w) return image;
  const enlarge = h > image.height || w > image.width;
  const resized = sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: image.channels as 1 | 2 | 3 | 4 },
  }).resize(w, h, { fit: 'fill', kernel: enlarge ? 'nearest' : 'lanczos3' });
  // Without this sharp returns a grey image as RGB.
  const { data, info } = await (image.channels <= 2 ? resized.toColourspace('b-w') : resized)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data),
    height: info.height,
    width: info.width,
    channels: info.channels,
  };
}

/** One gate's attention map and its label. */
export interface AttentionInput extends ValueMap {
  /** The gate's layer name. */
  gate: string;
}

/** What the panels are made of, all at the image's original size except the attention maps. */
export interface CasePanelsInput {
  image: RawImage;
  truth: BinaryMask;
  prediction: BinaryMask;
  /** Each gate's coefficients at the gate's resolution (deepest first); empty without gates. */
  attention: readonly AttentionInput[];
}

/** The panels as PNG data URIs. */
export interface CasePanels {
  /** [rows, cols] of every panel. */
  size: [number, number];
  image: string;
  truth: string;
  prediction: string;
  overlay: string;
  attention: Array<{ gate: string; mapSize: [number, number]; uri: string }>;
}

/** Makes the panels of one image (see the module doc), the longest side `maxSide` pixels. */
export async function casePanels(input: CasePanelsInput, maxSide: number): Promise<CasePanels> {
  const { image, truth, prediction } = input;
  for (const [what, m] of [
    ['truth', truth],
    ['prediction', prediction],
  ] as const) {
    if (m.height !== image.height || m.width !== image.width) {
      throw new UserError(
        `the image is ${image.height}x${image.width} but the ${what} mask is ` +
          `${m.height}x${m.width}`,
      );
    }
  }
  const size = thumbnailSize([image.height, image.width], maxSide);
  const small = await resizeForDisplay(image, size);
  const smallTruth = resizeMask(truth, size);
  const smallPrediction = resizeMask(prediction, size);
  const thickness = Math.max(1, Math.round(maxSide / 100));
  const tinted = overlayMask(small, smallPrediction, {
    style: 'tint',
    color: OVERLAY_COLORS.prediction,
    opacity: 0.45,
  });
  const overlay = overlayMask(tinted, smallTruth, {
    style: 'contour',
    color: OVERLAY_COLORS.truth,
    thickness,
  });
  return {
    size,
    image: await pngDataUri(small),
    truth: await pngDataUri(maskToImage(smallTruth)),
    prediction: await pngDataUri(maskToImage(smallPrediction)),
    overlay: await pngDataUri(overlay),
    attention: await Promise.all(
      input.attention.map(async (a) => ({
        gate: a.gate,
        mapSize: [a.height, a.width] as [number, number],
        uri: await pngDataUri(heatmapImage(a, size)),
      })),
    ),
  };
}
