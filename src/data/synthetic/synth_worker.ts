/**
 * Worker thread of `writeSyntheticDataset`: generates, encodes and writes the items it is sent,
 * so that generation (pure JavaScript, about 20-30 ms an image) runs on every core.
 * Node-only (worker_threads, fs, sharp).
 */
import { writeFile } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import { encodeImage, maskToImage, type EncodeOptions } from '../../io/write.js';
import { generatePair, type SyntheticKind, type SyntheticLook } from './generate.js';

/** A job: one item. */
export interface SynthJob {
  kind: SyntheticKind;
  seed: number;
  look: SyntheticLook;
  index: number;
  imagePath: string;
  maskPath: string;
  encode: EncodeOptions;
}

/** The reply: the item's measurements, or what went wrong. */
export type SynthReply =
  | { index: number; lesionArea: number; height: number; width: number }
  | { index: number; error: string; code?: string; path?: string };

parentPort?.on('message', (job: SynthJob) => {
  void runJob(job).then((reply) => parentPort?.postMessage(reply));
});

/** Does one job (in a worker, or in the calling thread when only one worker would run). */
export async function runJob(job: SynthJob): Promise<SynthReply> {
  try {
    const pair = generatePair(job.kind, job.index, { seed: job.seed, look: job.look });
    const [img, msk] = await Promise.all([
      encodeImage(pair.image, job.encode),
      encodeImage(maskToImage(pair.mask)),
    ]);
    await Promise.all([writeFile(job.imagePath, img), writeFile(job.maskPath, msk)]);
    return {
      index: job.index,
      lesionArea: pair.lesionArea,
      height: pair.image.height,
      width: pair.image.width,
    };
  } catch (err) {
    const e = err as { code?: string; path?: string; stack?: string };
    return {
      index: job.index,
      error: e.stack ?? String(err),
      ...(e.code !== undefined ? { code: e.code } : {}),
      ...(e.path !== undefined ? { path: e.path } : {}),
    };
  }
}
