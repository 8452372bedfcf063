/**
 * Fixtures of the browser tests: a small attn_reg whose `final` output is saturated (its last
 * 1x1 convolution rescaled so that the logits of the fixture images have median 0 and a
 * spread of +-50 between their 10th and 90th percentiles: the masks are far from trivial, and almost no pixel lies within float32
 * noise of the threshold, so engines that differ in rounding give the same masks), and image
 * files of every kind the app reads.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import sharp from 'sharp';
import { INPUT_STATISTICS_KEY, type InputStatistics } from '../../src/data/input_statistics.js';
import { saveModel } from '../../src/io/model_files.js';
import { buildModel } from '../../src/models/build.js';
import { convertChannels, resizeImage, type RawImage } from '../../src/util/raster.js';
import { encodeBmp, greyPattern, rgbPattern } from '../data/fixtures.js';

/** The test model's input: one flipped input pixel is 1/4096 of a mask, well within 0.1%. */
export const APP_INPUT: [number, number, number] = [64, 64, 1];

/** A pattern with a bright blob, so the network sees structure. */
export function blobImage(height: number, width: number, seed: number): Uint8Array {
  const base = greyPattern(height, width, seed);
  const cy = height * (0.3 + 0.1 * (seed % 4));
  const cx = width * (0.6 - 0.1 * (seed % 3));
  const r = Math.min(height, width) / 4;
  return base.map((v, i) => {
    const y = Math.floor(i / width);
    const x = i % width;
    return (y - cy) ** 2 + (x - cx) ** 2 < r * r ? 230 : Math.floor(v / 3);
  });
}

/**
 * attn_reg at `APP_INPUT`, width 0.125, seeded, with `final` rescaled as the module says, for
 * the `images` (already converted to the model's channels' count by the caller or not).
 */
export function saturatedModel(images: readonly RawImage[], seed = 1): tfl.LayersModel {
  const model = buildModel('attn_reg', { inputShape: APP_INPUT, width: 0.125, seed });
  const final = model.getLayer('final');
  const features = tfl.model({
    inputs: model.inputs,
    outputs: final.input as tfl.SymbolicTensor,
  });
  // The layer's own variables (getWeights does not copy): not to be disposed here.
  const [kernel, bias] = final.getWeights();
  const [h, w, c] = APP_INPUT;
  const logits = tf.tidy(() => {
    const xs = tf.stack(
      images.map((im) =>
        tf.tensor3d(
          Float32Array.from(resizeImage(convertChannels(im, c as 1), [h, w]).data, (v) => v / 255),
          [h, w, c],
        ),
      ),
    );
    const f = features.predict(xs) as tf.Tensor4D;
    return tf.add(tf.conv2d(f, kernel as tf.Tensor4D, 1, 'same'), bias).dataSync();
  });
  const sorted = Float32Array.from(logits).sort();
  const median = sorted[Math.floor(sorted.length / 2)];
  const spread = sorted[Math.floor(sorted.length * 0.9)] - sorted[Math.floor(sorted.length * 0.1)];
  const k = 100 / spread;
  tf.tidy(() => {
    final.setWeights([tf.mul(kernel, k), tf.mul(tf.sub(bias, median), k)]);
  });
  return model;
}

/** An image file of the fixture set. */
export interface FixtureFile {
  file: string;
  /** The pixels `ftunet predict` decodes (for the model's preparation). */
  image: RawImage;
}

/**
 * Writes the fixture images into `dir`: a grey PNG, an RGB PNG, a JPEG with EXIF orientation
 * 6, a 24-bit BMP, all of odd sizes. Returns them with their decoded pixels (for the JPEG,
 * the pixels before compression, close enough to calibrate the model).
 */
export async function writeFixtureImages(dir: string): Promise<FixtureFile[]> {
  await mkdir(dir, { recursive: true });
  const files: FixtureFile[] = [];
  const grey = blobImage(45, 70, 0);
  await writeFile(
    path.join(dir, 'grey.png'),
    await sharp(grey, { raw: { width: 70, height: 45, channels: 1 } })
      .png()
      .toBuffer(),
  );
  files.push({
    file: path.join(dir, 'grey.png'),
    image: { data: grey, height: 45, width: 70, channels: 1 },
  });

  const rgb = rgbPattern(57, 41, 9).map((v, i) => (i % 3 === 0 ? v : Math.floor(v / 2)));
  const blob = blobImage(57, 41, 1);
  for (let i = 0; i < blob.length; i++) if (blob[i] === 230) rgb.fill(240, i * 3, i * 3 + 3);
  await writeFile(
    path.join(dir, 'colour.png'),
    await sharp(rgb, { raw: { width: 41, height: 57, channels: 3 } })
      .png()
      .toBuffer(),
  );
  files.push({
    file: path.join(dir, 'colour.png'),
    image: { data: rgb, height: 57, width: 41, channels: 3 },
  });

  // Stored 39 wide x 50 high, shown after a clockwise quarter turn: 50 wide x 39 high.
  const stored = blobImage(50, 39, 2);
  await writeFile(
    path.join(dir, 'rotated.jpg'),
    await sharp(stored, { raw: { width: 39, height: 50, channels: 1 } })
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 95 })
      .toBuffer(),
  );
  const turned = new Uint8Array(stored.length);
  for (let y = 0; y < 39; y++)
    for (let x = 0; x < 50; x++) turned[y * 50 + x] = stored[(49 - x) * 39 + y];
  files.push({
    file: path.join(dir, 'rotated.jpg'),
    image: { data: turned, height: 39, width: 50, channels: 1 },
  });

  const bmpPixels = rgbPattern(33, 47, 3);
  const blob2 = blobImage(33, 47, 3);
  for (let i = 0; i < blob2.length; i++)
    if (blob2[i] === 230) bmpPixels.fill(250, i * 3, i * 3 + 3);
  await writeFile(path.join(dir, 'scan.bmp'), encodeBmp(bmpPixels, 33, 47, 3));
  files.push({
    file: path.join(dir, 'scan.bmp'),
    image: { data: bmpPixels, height: 33, width: 47, channels: 3 },
  });
  return files;
}

/**
 * Writes a saturated model for the fixture images into `dir` (a model folder), with the
 * training images' statistics `inputStatistics` recorded when given.
 */
export async function writeSaturatedModel(
  dir: string,
  files: readonly FixtureFile[],
  seed = 1,
  inputStatistics?: InputStatistics,
): Promise<void> {
  const model = saturatedModel(
    files.map((f) => f.image),
    seed,
  );
  if (inputStatistics !== undefined) {
    model.setUserDefinedMetadata({
      ...(model.getUserDefinedMetadata() as object),
      [INPUT_STATISTICS_KEY]: inputStatistics,
    });
  }
  try {
    await saveModel(model, dir);
  } finally {
    model.dispose();
  }
}
