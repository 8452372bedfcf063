/**
 * Heat maps of attention coefficients: values in [0, 1] to colours through the viridis colour
 * map (matplotlib's default: perceptually uniform, readable in grey and by colour-blind
 * readers), sampled at nine stops and interpolated linearly into a 256-entry table.
 * Pure JavaScript.
 */
import { UserError } from '../errors.js';
import { resizeBilinear, type RawImage } from '../util/raster.js';

/** Viridis at 0, 1/8, ..., 1 (matplotlib's `viridis` table at those positions). */
const VIRIDIS_STOPS: readonly (readonly [number, number, number])[] = [
  [68, 1, 84],
  [72, 40, 120],
  [62, 73, 137],
  [49, 104, 142],
  [38, 130, 142],
  [31, 158, 137],
  [53, 183, 121],
  [110, 206, 88],
  [253, 231, 37],
];

/** 256 RGB triplets, flat: entry v is at [3 v, 3 v + 3). */
function buildTable(stops: readonly (readonly [number, number, number])[]): Uint8Array {
  const table = new Uint8Array(256 * 3);
  const segments = stops.length - 1;
  for (let v = 0; v < 256; v++) {
    const t = (v / 255) * segments;
    const i = Math.min(Math.floor(t), segments - 1);
    const f = t - i;
    for (let c = 0; c < 3; c++) {
      table[v * 3 + c] = Math.round(stops[i][c] * (1 - f) + stops[i + 1][c] * f);
    }
  }
  return table;
}

/** The viridis table: 256 RGB triplets. */
export const VIRIDIS: Uint8Array = buildTable(VIRIDIS_STOPS);

/** The RGB colour of a value in [0, 1] (clamped; NaN is 0). */
export function viridis(value: number): [number, number, number] {
  const v = toByte(value);
  return [VIRIDIS[v * 3], VIRIDIS[v * 3 + 1], VIRIDIS[v * 3 + 2]];
}

/** A value in [0, 1] as 0-255 (clamped, rounded; NaN is 0). */
function toByte(value: number): number {
  if (!(value > 0)) return 0;
  if (value >= 1) return 255;
  return Math.round(value * 255);
}

/** A map of values (e.g. attention coefficients in [0, 1]) at some resolution. */
export interface ValueMap {
  /** `height * width` values, row-major. */
  data: ArrayLike<number>;
  height: number;
  width: number;
}

/**
 * A heat map image (RGB) of `map` at `size` [rows, cols]: the values, on the fixed scale 0
 * to 1 (so maps of different images and gates compare), are resized with bilinear
 * interpolation and coloured with viridis (0 dark purple, 1 yellow).
 */
export function heatmapImage(map: ValueMap, size: readonly [number, number]): RawImage {
  const { data, height, width } = map;
  if (data.length !== height * width) {
    throw new UserError(
      `a ${height}x${width} heat map needs ${height * width} values, got ${data.length}`,
    );
  }
  const bytes = new Uint8Array(data.length);
  for (let i = 0; i < bytes.length; i++) bytes[i] = toByte(data[i]);
  const resized = resizeBilinear({ data: bytes, height, width, channels: 1 }, size[0], size[1]);
  const out = new Uint8Array(resized.data.length * 3);
  for (let i = 0, o = 0; i < resized.data.length; i++, o += 3) {
    const v = resized.data[i] * 3;
    out[o] = VIRIDIS[v];
    out[o + 1] = VIRIDIS[v + 1];
    out[o + 2] = VIRIDIS[v + 2];
  }
  return { data: out, height: resized.height, width: resized.width, channels: 3 };
}
