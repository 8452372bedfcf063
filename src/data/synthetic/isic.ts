/**
 * Synthetic dermoscopy-like images (ISIC 2018 Task 1 look-alikes), 8-bit RGB.
 *
 * Each image: rows 420-680 and cols 1.28-1.5 times that (at most 1000), so larger than the
 * 192x256 input but small enough to generate quickly (real ISIC images are about 2166x3188);
 * skin of a random tone with blotchy redness, fine grain and often a dark dermoscope vignette;
 * one pigmented lesion near the centre with an irregular outline, a border sharp in some
 * directions and blurred in others, uneven brown colour darker towards its middle, sometimes a
 * pigment network and a blue-grey area; in 40% of images 1-14 dark hair strands cross the
 * image (hair is not lesion).
 *
 * Lesion area: a mixture fitted so that its mean and standard deviation are the paper's
 * ISIC 2018 figures (21.4% ± 20.3%): with probability 0.264 uniform in 35%-70%, else log-normal
 * (median 8.07%, sigma 0.7) truncated to 2%-50%. Large lesions may be cut by the border.
 * Colours are formed at half resolution and upsampled; hair and grain are drawn at full size.
 *
 * Pure JavaScript; deterministic in (seed, index).
 */
import { deriveSeed, Rng } from '../../util/rng.js';
import type { GeneratedPair } from './bus.js';
import { fractalNoise, smoothstep, truncatedLogNormal, valueNoise } from './noise.js';
import { fitArea, randomProfile, shapeField, type RadialShape } from './shapes.js';

/** Salt that separates the isic stream from the bus stream for the same seed. */
const ISIC_SALT = 0x49534943;

const LARGE_PROB = 0.2637;
const LARGE_RANGE: [number, number] = [0.35, 0.7];
const SMALL_MU = Math.log(0.08065);
const SMALL_SIGMA = 0.7;
const SMALL_RANGE: [number, number] = [0.02, 0.5];

const SCALE = 2;
const TABLE = 360;

type Rgb = [number, number, number];

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

function drawArea(rng: Rng): number {
  if (rng.chance(LARGE_PROB)) return rng.uniform(LARGE_RANGE[0], LARGE_RANGE[1]);
  return truncatedLogNormal(rng, SMALL_MU, SMALL_SIGMA, SMALL_RANGE[0], SMALL_RANGE[1]);
}

/** Generates isic-like item `index` of the stream `seed`. */
export function generateIsicPair(seed: number, index: number): GeneratedPair {
  const rng = new Rng(deriveSeed(seed, ISIC_SALT, index));
  const height = Math.round(rng.uniform(420, 680));
  const width = Math.min(1000, Math.round(height * rng.uniform(1.28, 1.5)));
  const n = height * width;
  const h2 = Math.ceil(height / SCALE);
  const w2 = Math.ceil(width / SCALE);
  const n2 = h2 * w2;

  // --- lesion outline and mask ---------------------------------------------------------------
  const target = drawArea(rng);
  const shape: RadialShape = {
    cy: height * (0.5 + 0.07 * rng.normal()),
    cx: width * (0.5 + 0.07 * rng.normal()),
    radius: Math.sqrt((target * n) / Math.PI),
    aspect: rng.uniform(1, 1.6),
    rotation: rng.uniform(0, Math.PI),
    profile: randomProfile(rng, {
      harmonics: 10,
      amplitude: rng.uniform(0.08, 0.22),
      decay: rng.uniform(0.9, 1.5),
    }),
  };
  fitArea(shape, target * n, height, width);
  const mask = new Uint8Array(n);
  const full = shapeField(shape, height, width);
  const fw = full.x1 - full.x0;
  let area = 0;
  for (let y = full.y0; y < full.y1; y++) {
    for (let x = full.x0; x < full.x1; x++) {
      if (full.rho[(y - full.y0) * fw + (x - full.x0)] <= 1) {
        mask[y * width + x] = 1;
        area++;
      }
    }
  }

  // --- colours at half resolution ------------------------------------------------------------
  const tone = rng.next();
  const skin = mix([238, 200, 182], [188, 136, 106], tone);
  const redness = rng.uniform(0, 18);
  const brown = mix([160, 108, 78], [100, 62, 42], rng.next());
  const dark = mix([70, 44, 34], [40, 26, 22], rng.next());
  const blue: Rgb = [105, 110, 128];
  const hasBlue = rng.chance(0.3);
  const hasNetwork = rng.chance(0.4);
  const opacity = rng.uniform(0.75, 1);
  const blotch = fractalNoise(rng, h2, w2, { baseCells: 4, octaves: 3 });
  const skinTexture = fractalNoise(rng, h2, w2, { baseCells: 16, octaves: 2 });
  const pigment = fractalNoise(rng, h2, w2, { baseCells: 6, octaves: 3 });
  const blueField = hasBlue ? valueNoise(rng, h2, w2, 3, 4) : undefined;
  const network = hasNetwork ? valueNoise(rng, h2, w2, h2 / 9, w2 / 9) : undefined;
  // Border softness per direction: sharp (0.01) in some, blurred (up to 0.2) in others.
  const blurProfile = randomProfile(rng, { harmonics: 5, amplitude: 0.6, decay: 0.7 });
  const blurTable = new Float32Array(TABLE + 1);
  for (let k = 0; k <= TABLE; k++) {
    const v = Math.log(blurProfile[Math.round((k / TABLE) * (blurProfile.length - 1))]);
    blurTable[k] = 0.01 + 0.19 * smoothstep(-0.1, 0.5, v);
  }
  const vignette = rng.chance(0.55);
  const vigRadius = rng.uniform(0.5, 0.62) * Math.hypot(h2, w2);
  const half: RadialShape = {
    ...shape,
    cy: (shape.cy + 0.5) / SCALE - 0.5,
    cx: (shape.cx + 0.5) / SCALE - 0.5,
    radius: shape.radius / SCALE,
  };
  const f = shapeField(half, h2, w2);
  const bw = f.x1 - f.x0;
  const colour = new Float32Array(n2 * 3); // RGB, interleaved
  for (let y = 0; y < h2; y++) {
    for (let x = 0; x < w2; x++) {
      const i = y * w2 + x;
      const b = 1 + 0.06 * blotch[i] + 0.025 * skinTexture[i];
      let r = skin[0] * b + redness * Math.max(0, blotch[i]) * 2;
      let g = skin[1] * b;
      let bl = skin[2] * b;
      const inBox = y >= f.y0 && y < f.y1 && x >= f.x0 && x < f.x1;
      if (inBox) {
        const j = (y - f.y0) * bw + (x - f.x0);
        const rho = f.rho[j];
        const soft = blurTable[Math.round(((f.angle[j] + Math.PI) / (2 * Math.PI)) * TABLE)];
        const a = opacity * (1 - smoothstep(1 - soft, 1 + soft, rho));
        if (a > 0) {
          const depth = Math.min(1, Math.max(0, 0.35 + 0.5 * pigment[i] + 0.45 * (1 - rho)));
          let c = mix(brown, dark, depth);
          if (blueField && blueField[i] > 0.62)
            c = mix(c, blue, Math.min(1, (blueField[i] - 0.62) * 5));
          if (network) {
            const d = (network[i] - 0.5) / 0.06;
            const line = Math.max(0, 1 - d * d);
            c = mix(c, dark, 0.5 * line * (1 - rho * 0.5));
          }
          r = r * (1 - a) + c[0] * a;
          g = g * (1 - a) + c[1] * a;
          bl = bl * (1 - a) + c[2] * a;
        }
      }
      if (vignette) {
        const dy = y - h2 / 2;
        const dx = x - w2 / 2;
        const dist = Math.sqrt(dy * dy + dx * dx);
        const v = 1 - 0.92 * smoothstep(vigRadius - 25, vigRadius + 10, dist);
        r *= v;
        g *= v;
        bl *= v;
      }
      colour[i * 3] = r;
      colour[i * 3 + 1] = g;
      colour[i * 3 + 2] = bl;
    }
  }

  // --- hair ------------------------------------------------------------------------------------
  const hair = new Float32Array(n); // coverage 0..1
  if (rng.chance(0.4)) {
    const count = 1 + rng.int(14);
    for (let k = 0; k < count; k++) drawHair(rng, hair, height, width);
  }
  const hairColour = mix([45, 32, 26], [20, 14, 12], rng.next());

  // --- upsampling (bilinear, half-pixel centres), grain, hair, output ----------------------------
  const out = new Uint8Array(n * 3);
  const xa = new Int32Array(width);
  const xb = new Int32Array(width);
  const wx = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const fx = Math.min(Math.max((x + 0.5) / SCALE - 0.5, 0), w2 - 1);
    xa[x] = Math.floor(fx) * 3;
    xb[x] = Math.min(Math.floor(fx) + 1, w2 - 1) * 3;
    wx[x] = fx - Math.floor(fx);
  }
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) / SCALE - 0.5, 0), h2 - 1);
    const ra = Math.floor(fy) * w2 * 3;
    const rb = Math.min(Math.floor(fy) + 1, h2 - 1) * w2 * 3;
    const wy = fy - Math.floor(fy);
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const grain = 1 + 0.03 * (rng.next() - 0.5);
      const a = hair[i];
      for (let c = 0; c < 3; c++) {
        const top =
          colour[ra + xa[x] + c] + (colour[ra + xb[x] + c] - colour[ra + xa[x] + c]) * wx[x];
        const bot =
          colour[rb + xa[x] + c] + (colour[rb + xb[x] + c] - colour[rb + xa[x] + c]) * wx[x];
        const v = (top + (bot - top) * wy) * grain * (1 - a) + hairColour[c] * a;
        out[i * 3 + c] = v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0; // rounds: v > 0
      }
    }
  }
  return {
    image: { data: out, height, width, channels: 3 },
    mask: { data: mask, height, width },
    lesionArea: area / n,
  };
}

/** Draws one hair (a quadratic Bezier curve, antialiased) into the coverage map. */
function drawHair(rng: Rng, hair: Float32Array, height: number, width: number): void {
  const len = rng.uniform(0.3, 1.0) * Math.max(height, width);
  const y0 = rng.uniform(0, height);
  const x0 = rng.uniform(0, width);
  const dir = rng.uniform(0, 2 * Math.PI);
  const y2 = y0 + Math.sin(dir) * len;
  const x2 = x0 + Math.cos(dir) * len;
  const bend = rng.uniform(-0.25, 0.25) * len;
  const y1 = (y0 + y2) / 2 + Math.cos(dir) * bend;
  const x1 = (x0 + x2) / 2 - Math.sin(dir) * bend;
  const radius = rng.uniform(0.6, 1.5);
  const steps = Math.ceil(len * 1.5);
  const reach = Math.ceil(radius + 1);
  for (let s = 0; s <= steps; s++) {
    const t = s / steps;
    const u = 1 - t;
    const py = u * u * y0 + 2 * u * t * y1 + t * t * y2;
    const px = u * u * x0 + 2 * u * t * x1 + t * t * x2;
    const cy = Math.round(py);
    const cx = Math.round(px);
    for (let yy = cy - reach; yy <= cy + reach; yy++) {
      if (yy < 0 || yy >= height) continue;
      for (let xx = cx - reach; xx <= cx + reach; xx++) {
        if (xx < 0 || xx >= width) continue;
        const d = Math.sqrt((yy - py) * (yy - py) + (xx - px) * (xx - px));
        const cover = Math.min(1, Math.max(0, radius + 0.5 - d));
        const i = yy * width + xx;
        if (cover > hair[i]) hair[i] = cover * 0.92;
      }
    }
  }
}
