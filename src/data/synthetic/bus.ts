/**
 * Synthetic breast-ultrasound-like images (BUS 2017 data set B look-alikes), 8-bit grey.
 *
 * Each image: sizes around 760x570 (rows 510-630, cols 690-830); a layered tissue map (bright
 * skin line, darker fat with lobules, brighter glandular tissue, banded chest wall at depth)
 * with wavy boundaries and low-frequency texture; one or (15%) two hypoechoic lesions with
 * irregular outlines and soft edges, some with an echogenic rim, and below them posterior
 * acoustic shadowing (40%) or enhancement (15%); multiplicative speckle elongated along the
 * rows; depth attenuation with partial gain compensation; log-like compression to 8 bits.
 *
 * Lesion area: a mixture fitted so that its mean and standard deviation are the paper's BUS
 * figures (4.84% ± 5.43% of the image): with probability 0.183 uniform in 9%-21%, else
 * log-normal (median 1.81%, sigma 0.9) truncated to 0.3%-14%. Each outline is scaled to its
 * target area; the mask is the outline (rho <= 1) at full resolution. Shadows are not lesion.
 * The echo image is formed at half resolution and upsampled (speckle grains of a few pixels,
 * and four times less work).
 *
 * Looks (`BUS_LOOKS`): 'standard' is the image described above; 'dim' is the same anatomy and
 * lesions (the same random draws) as a second scanner might show them, to test whether a model
 * and its quality control notice images unlike its training data: lower gain (darker), the
 * tissue's echo pulled towards its mean (lower contrast) and coarser, milder speckle (the
 * Rayleigh field averaged over 5 instead of 3 cells along a row, half of it replaced by its
 * mean).
 *
 * Pure JavaScript; deterministic in (seed, index, look).
 */
import { deriveSeed, Rng } from '../../util/rng.js';
import type { BinaryMask, RawImage } from '../../util/raster.js';
import {
  boxBlur,
  fractalNoise,
  noise1d,
  smoothstep,
  truncatedLogNormal,
  upsample,
  valueNoise,
} from './noise.js';
import { fitArea, randomProfile, shapeExtent, shapeField, type RadialShape } from './shapes.js';

/** Salt that separates the bus stream from the isic stream for the same seed. */
const BUS_SALT = 0x42555321;

/** Lesion area mixture (fractions): see the file's doc comment. */
const LARGE_PROB = 0.183;
const LARGE_RANGE: [number, number] = [0.09, 0.21];
const SMALL_MU = Math.log(0.01807);
const SMALL_SIGMA = 0.9;
const SMALL_RANGE: [number, number] = [0.003, 0.14];

/** The echo image is formed at 1/IMAGE_SCALE of the output size. */
const IMAGE_SCALE = 2;

/** Display compression v -> 255 v^1.15 as a table over [0, 1] (a power per pixel is slow). */
const TONE_STEPS = 4095;
const TONE = Uint8Array.from({ length: TONE_STEPS + 1 }, (_, k) =>
  Math.round(255 * (k / TONE_STEPS) ** 1.15),
);

/** How the scanner shows the tissue: see the file's doc comment. */
export type BusLook = 'standard' | 'dim';

/** What a look changes (the standard look changes nothing). */
interface BusLookSettings {
  /** Multiplies the drawn overall gain. */
  gain: number;
  /** The tissue echo e becomes TISSUE_MEAN + contrast (e - TISSUE_MEAN). */
  contrast: number;
  /** Radius of the box that averages the Rayleigh speckle along a row (1: 3 cells). */
  speckleRadius: number;
  /** The speckle s becomes 1.25 + depth (s - 1.25): 1.25 is the mean of a Rayleigh(1) variable. */
  speckleDepth: number;
}

/** Every look and its settings (one table: `--look` of `ftunet synth` lists its keys). */
export const BUS_LOOKS: Readonly<Record<BusLook, BusLookSettings>> = {
  standard: { gain: 1, contrast: 1, speckleRadius: 1, speckleDepth: 1 },
  dim: { gain: 0.6, contrast: 0.55, speckleRadius: 2, speckleDepth: 0.5 },
};

/** The look of the BUS-like images unless one is chosen. */
export const DEFAULT_BUS_LOOK: BusLook = 'standard';

/** The tissue echo's rough mean, towards which a look of lower contrast pulls it. */
const TISSUE_MEAN = 0.45;

/** A generated image, its mask (0/1) and the mask's lesion fraction. */
export interface GeneratedPair {
  image: RawImage;
  mask: BinaryMask;
  lesionArea: number;
}

/** Draws a lesion area fraction from the BUS-like mixture. */
function drawArea(rng: Rng): number {
  if (rng.chance(LARGE_PROB)) return rng.uniform(LARGE_RANGE[0], LARGE_RANGE[1]);
  return truncatedLogNormal(rng, SMALL_MU, SMALL_SIGMA, SMALL_RANGE[0], SMALL_RANGE[1]);
}

/** Generates bus-like item `index` of the stream `seed`, in look `look`. */
export function generateBusPair(
  seed: number,
  index: number,
  look: BusLook = DEFAULT_BUS_LOOK,
): GeneratedPair {
  const settings = BUS_LOOKS[look];
  const rng = new Rng(deriveSeed(seed, BUS_SALT, index));
  const height = Math.round(rng.uniform(510, 630));
  const width = Math.round(rng.uniform(690, 830));
  const n = height * width;
  const h2 = Math.ceil(height / IMAGE_SCALE);
  const w2 = Math.ceil(width / IMAGE_SCALE);
  const n2 = h2 * w2;

  // --- lesion outlines fitted to the target area; mask at full size, echo factor at half ---
  const target = drawArea(rng);
  const lesionCount = rng.chance(0.15) ? 2 : 1;
  const shares = lesionCount === 2 ? [0.65, 0.35] : [1];
  const mask = new Uint8Array(n);
  const lesionAlpha = new Float32Array(n2); // 1 inside a lesion, 0 outside, soft at the edge
  const lesionLevel = new Float32Array(n2); // echogenicity inside
  const rimFactor = new Float32Array(n2).fill(1);
  const bottom = new Float32Array(w2).fill(-1); // lowest lesion row per column
  const cover = new Float32Array(w2); // 1 where a column crosses a lesion
  const rim = rng.chance(0.3);
  const inner = fractalNoise(rng, h2, w2, { baseCells: 10, octaves: 2 });
  for (let l = 0; l < lesionCount; l++) {
    const irregular = rng.chance(0.35);
    const shape: RadialShape = {
      cy: height * rng.uniform(0.3, 0.62),
      cx: width * rng.uniform(0.22, 0.78),
      radius: Math.sqrt((target * shares[l] * n) / Math.PI),
      aspect: rng.uniform(1.0, 1.9),
      rotation: rng.uniform(-0.35, 0.35),
      profile: randomProfile(rng, {
        harmonics: irregular ? 12 : 6,
        amplitude: irregular ? 0.2 : 0.12,
        decay: irregular ? 0.9 : 1.4,
      }),
    };
    fitArea(shape, target * shares[l] * n, height, width);
    // Keep the lesion inside the image (BUS lesions are rarely cut by the border), then refit.
    const ext = shapeExtent(shape) * 0.9;
    shape.cy = Math.min(Math.max(shape.cy, ext), height - ext);
    shape.cx = Math.min(Math.max(shape.cx, ext), width - ext);
    fitArea(shape, target * shares[l] * n, height, width);
    const full = shapeField(shape, height, width);
    const fw = full.x1 - full.x0;
    for (let y = full.y0; y < full.y1; y++) {
      for (let x = full.x0; x < full.x1; x++) {
        if (full.rho[(y - full.y0) * fw + (x - full.x0)] <= 1) mask[y * width + x] = 1;
      }
    }
    const level = rng.uniform(0.08, 0.3); // echogenicity inside
    const edge = rng.uniform(0.03, 0.1); // edge softness in rho units
    const half: RadialShape = {
      ...shape,
      cy: (shape.cy + 0.5) / IMAGE_SCALE - 0.5,
      cx: (shape.cx + 0.5) / IMAGE_SCALE - 0.5,
      radius: shape.radius / IMAGE_SCALE,
    };
    const f = shapeField(half, h2, w2);
    const bw = f.x1 - f.x0;
    for (let y = f.y0; y < f.y1; y++) {
      for (let x = f.x0; x < f.x1; x++) {
        const rho = f.rho[(y - f.y0) * bw + (x - f.x0)];
        if (rho > 1.4) continue;
        const i = y * w2 + x;
        if (rho <= 1) {
          if (y > bottom[x]) bottom[x] = y;
          cover[x] = 1;
        }
        const a = 1 - smoothstep(1 - edge, 1 + edge, rho);
        if (a > lesionAlpha[i]) {
          lesionAlpha[i] = a;
          lesionLevel[i] = level * (1 + 0.6 * inner[i]);
        }
        if (rim)
          rimFactor[i] = Math.max(rimFactor[i], 1 + 0.7 * Math.exp(-(((rho - 1.06) / 0.07) ** 2)));
      }
    }
  }

  // --- tissue layers (half resolution) -------------------------------------------------------
  const skin = rng.uniform(0.02, 0.04) * h2;
  const fatEnd = noise1d(rng, w2, 3);
  const glandEnd = noise1d(rng, w2, 4);
  const fatDepth = rng.uniform(0.12, 0.26);
  const glandDepth = rng.uniform(0.72, 0.88);
  const texture = fractalNoise(rng, h2, w2, { baseCells: 5, octaves: 4 });
  const lobules = fractalNoise(rng, h2, w2, { baseCells: 12, octaves: 2 });
  const ridges = valueNoise(rng, h2, w2, 5, 8);
  const tilt = noise1d(rng, w2, 2);
  const bands = noise1d(rng, h2, 30);
  const fatLevel = rng.uniform(0.25, 0.38);
  const glandLevel = rng.uniform(0.5, 0.72);
  const tissue = new Float32Array(n2);
  for (let y = 0; y < h2; y++) {
    for (let x = 0; x < w2; x++) {
      const i = y * w2 + x;
      const fatB = h2 * (fatDepth + 0.05 * fatEnd[x]);
      const glandB = h2 * (glandDepth + 0.05 * glandEnd[x]);
      const lob = 3 * lobules[i];
      const fat = fatLevel + (0.14 * lob) / Math.sqrt(1 + lob * lob); // a soft sign
      // Thin bright curves (Cooper's ligaments) where the ridge noise crosses 0.5.
      const d = (ridges[i] - 0.5) / 0.05;
      const bump = Math.max(0, 1 - d * d);
      const ligament = bump * bump;
      const gland = glandLevel + 0.22 * texture[i] + 0.22 * ligament;
      const wall = 0.42 + 0.28 * bands[Math.min(h2 - 1, Math.max(0, Math.round(y + 12 * tilt[x])))];
      let e: number;
      if (y < skin) e = 0.95;
      else
        e =
          fat * (1 - smoothstep(fatB - 4, fatB + 4, y)) + gland * smoothstep(fatB - 4, fatB + 4, y);
      if (y > glandB - 5)
        e =
          e * (1 - smoothstep(glandB - 5, glandB + 5, y)) +
          wall * smoothstep(glandB - 5, glandB + 5, y);
      e = Math.max(0.04, e + 0.06 * texture[i]);
      const a = lesionAlpha[i];
      tissue[i] = (e * (1 - a) + lesionLevel[i] * a) * rimFactor[i];
    }
  }

  // --- posterior shadowing or enhancement ----------------------------------------------------
  const posterior = rng.next();
  const strength =
    posterior < 0.4 ? -rng.uniform(0.35, 0.75) : posterior < 0.55 ? rng.uniform(0.25, 0.5) : 0;
  if (strength !== 0) {
    const colW = boxBlur(cover, 1, w2, Math.max(2, Math.round(w2 * 0.012)), 0);
    const start = new Float32Array(w2);
    for (let x = 0; x < w2; x++) {
      let b = -1;
      for (let d = -4; d <= 4; d++) b = Math.max(b, bottom[Math.min(Math.max(x + d, 0), w2 - 1)]);
      start[x] = b;
    }
    for (let x = 0; x < w2; x++) {
      if (colW[x] <= 0.01 || start[x] < 0) continue;
      for (let y = Math.ceil(start[x]); y < h2; y++) {
        const ramp = Math.min(1, (y - start[x]) / 12);
        tissue[y * w2 + x] *= 1 + strength * colW[x] * ramp;
      }
    }
  }

  // --- speckle, attenuation, compression -----------------------------------------------------
  const raw = new Float32Array(n2);
  for (let i = 0; i < n2; i++) raw[i] = Math.sqrt(-2 * Math.log(1 - rng.next())); // Rayleigh
  const speckle = boxBlur(raw, h2, w2, settings.speckleRadius, 0);
  const atten = rng.uniform(0.8, 1.5);
  const gain = rng.uniform(0.8, 1.0) * settings.gain;
  // The standard look keeps its arithmetic exactly (its pixels are those of earlier versions).
  if (look !== 'standard') {
    for (let i = 0; i < n2; i++) {
      tissue[i] = Math.max(0, TISSUE_MEAN + settings.contrast * (tissue[i] - TISSUE_MEAN));
      speckle[i] = 1.25 + settings.speckleDepth * (speckle[i] - 1.25);
    }
  }
  const echo = new Float32Array(n2);
  for (let y = 0; y < h2; y++) {
    const depthGain = Math.exp(-atten * (y / h2)) * (1 + 0.55 * (y / h2));
    for (let x = 0; x < w2; x++) {
      const i = y * w2 + x;
      // 0.8: the mean of a Rayleigh(1) variable is 1.25.
      echo[i] = tissue[i] * speckle[i] * 0.8 * depthGain * gain;
    }
  }
  const big = upsample(echo, h2, w2, height, width);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = big[i] >= 1 ? TONE_STEPS : big[i] <= 0 ? 0 : (big[i] * TONE_STEPS) | 0;
    out[i] = TONE[v];
  }

  let area = 0;
  for (let i = 0; i < n; i++) area += mask[i];
  return {
    image: { data: out, height, width, channels: 1 },
    mask: { data: mask, height, width },
    lesionArea: area / n,
  };
}
