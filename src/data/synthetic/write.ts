/**
 * Writing a synthetic data set to disk in the layout of the real one: bus-like data as BUS
 * 2017 data set B (`original/000001.png`, `gt/000001.png`), isic-like data as ISIC 2018 Task 1
 * (`ISIC2018_Task1-2_Training_Input/ISIC_0000000.jpg`, JPEG quality 92, and
 * `ISIC2018_Task1_Training_GroundTruth/ISIC_0000000_segmentation.png`). Masks are 0/255 PNGs.
 *
 * Safety: a folder that is not empty and was not written by `synth` (no `ftunet-synth.json`)
 * is refused unless `force` is set. Files are written into a hidden staging folder
 * (`.ftunet-synth-partial`) and moved into place at the end, masks first, then images, then
 * the manifest `ftunet-synth.json`; a run interrupted at any point leaves either the previous
 * data set, or a folder that the readers reject (an image folder without its mask folder, or
 * no data folders at all), never a data set that looks complete but is not. With `force` (or
 * over an earlier synth output) the two data folders are replaced, and nothing else in the
 * folder is touched. Node-only (fs, sharp).
 */
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import type { EncodeOptions } from '../../io/write.js';
import { Worker } from 'node:worker_threads';
import { checkSeed } from '../../util/rng.js';
import { formatFractionStats, summaryStats, type SummaryStats } from '../../util/stats.js';
import { ISIC_MASK_SUFFIX } from '../isic2018.js';
import { listFew } from '../../util/messages.js';
import type { DatasetLayout } from '../presets.js';
import {
  checkLook,
  DEFAULT_SYNTHETIC_COUNT,
  DEFAULT_SYNTHETIC_LOOK,
  MAX_SYNTHETIC_COUNT,
  SYNTHETIC_KINDS,
  syntheticName,
  type SyntheticKind,
  type SyntheticLook,
} from './generate.js';
import { runJob, type SynthJob, type SynthReply } from './synth_worker.js';
import { DEFAULT_SEED } from '../../util/rng.js';

/** The manifest that marks a folder as a complete synth output. */
export const SYNTH_MANIFEST = 'ftunet-synth.json';

/** The hidden folder a run writes into before moving the data into place. */
export const SYNTH_STAGING = '.ftunet-synth-partial';

/** Bump when the generators change their pixels for the same seed. */
export const GENERATOR_VERSION = 1;

/** JPEG quality of the isic-like images. */
export const ISIC_JPEG_QUALITY = 92;

/** The layout a kind is written in, and its folders. */
export interface SyntheticLayout {
  dataset: DatasetLayout;
  imageDir: string;
  maskDir: string;
  /** The mask file name for an image file name. */
  maskName: (imageName: string) => string;
}

/** The on-disk layout of each kind (exhaustive over `SyntheticKind`). */
export function syntheticLayout(kind: SyntheticKind): SyntheticLayout {
  switch (kind) {
    case 'bus':
      return { dataset: 'bus', imageDir: 'original', maskDir: 'gt', maskName: (n) => n };
    case 'isic':
      return {
        dataset: 'isic2018',
        imageDir: 'ISIC2018_Task1-2_Training_Input',
        maskDir: 'ISIC2018_Task1_Training_GroundTruth',
        maskName: (n) => `${path.parse(n).name}${ISIC_MASK_SUFFIX}.png`,
      };
    default:
      throw new UserError(
        `unknown synthetic kind '${String(kind)}'; expected one of ${SYNTHETIC_KINDS.join(', ')}`,
      );
  }
}

/** Options of `writeSyntheticDataset`. */
export interface WriteSyntheticOptions {
  /** 'bus' or 'isic'. Required. */
  kind: SyntheticKind;
  /** The output folder (created if missing). Required. */
  out: string;
  /** Number of items. Default: 163 for bus, 200 for isic. */
  count?: number;
  /** Seed. Default 0. */
  seed?: number;
  /** The look of the images (bus only: `BUS_LOOKS`). Default 'standard'. */
  look?: SyntheticLook;
  /** Write into a non-empty folder that is not a synth output. Default false. */
  force?: boolean;
  /** Worker threads generating and encoding. Default: number of CPUs, at least 2; 1 runs in
   * the calling thread. */
  concurrency?: number;
  /** Called after each item is written, with (done, total). Default: nothing. */
  onProgress?: (done: number, total: number) => void;
}

/** What `writeSyntheticDataset` did. */
export interface SyntheticWriteResult {
  kind: SyntheticKind;
  /** The layout to read it back with (`bus` or `isic2018`). */
  dataset: DatasetLayout;
  /** Absolute output folder. */
  out: string;
  count: number;
  seed: number;
  look: SyntheticLook;
  /** The lesion's fraction of each image (the written masks'), in item order. */
  lesionAreas: number[];
  /** Their mean, population std, min and max. */
  lesionArea: SummaryStats;
  /** [rows, cols] range of the written images. */
  sizes: { height: { min: number; max: number }; width: { min: number; max: number } };
  /** Wall time of the whole call, in milliseconds. */
  elapsedMs: number;
}

interface Manifest {
  format: 'ftunet-synth';
  version: number;
  generator: number;
  kind: SyntheticKind;
  dataset: DatasetLayout;
  count: number;
  seed: number;
  /** The look; absent in manifests written before looks existed (all 'standard'). */
  look?: SyntheticLook;
  folders: string[];
  lesionArea: SummaryStats;
}

/** Reads the manifest of a folder, or undefined when there is none (or it is not ours). */
async function readManifest(out: string): Promise<Manifest | undefined> {
  try {
    const m = JSON.parse(await readFile(path.join(out, SYNTH_MANIFEST), 'utf8')) as Manifest;
    return m.format === 'ftunet-synth' ? m : undefined;
  } catch {
    return undefined;
  }
}

/** Checks the output folder; returns the folders of an earlier synth output to replace. */
async function prepareOut(out: string, force: boolean): Promise<string[]> {
  let entries: string[];
  try {
    const s = await stat(out);
    if (!s.isDirectory()) throw new UserError(`synth: ${out} is a file, expected a folder`);
    entries = await readdir(out);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw err;
    await mkdir(out, { recursive: true });
    return [];
  }
  const manifest = await readManifest(out);
  const others = entries.filter((e) => e !== SYNTH_STAGING && e !== SYNTH_MANIFEST);
  // A staging folder means a synth run was interrupted here (perhaps half-way through moving
  // its folders into place): that is a synth output too.
  const isSynth = manifest !== undefined || entries.includes(SYNTH_STAGING);
  if (others.length > 0 && !isSynth && !force) {
    throw new UserError(
      `synth: ${out} is not empty and is not a synth output (it holds ${listFew(others)}); ` +
        'choose an empty or new folder, or use --force to write there anyway',
    );
  }
  return manifest?.folders ?? [];
}

/**
 * Generates a synthetic data set and writes it to `out` in the real data set's layout (see the
 * file's doc comment for the layout and the safety rules). Returns the measured lesion areas.
 */
export async function writeSyntheticDataset(
  options: WriteSyntheticOptions,
): Promise<SyntheticWriteResult> {
  const started = performance.now();
  const { kind } = options;
  const layout = syntheticLayout(kind);
  const count = options.count ?? DEFAULT_SYNTHETIC_COUNT[kind];
  const seed = options.seed ?? DEFAULT_SEED;
  const look = options.look ?? DEFAULT_SYNTHETIC_LOOK;
  checkLook(kind, look);
  const concurrency = options.concurrency ?? Math.max(2, os.availableParallelism());
  checkSeed(seed);
  if (!Number.isInteger(count) || count < 1 || count > MAX_SYNTHETIC_COUNT) {
    throw new UserError(`synth: count must be 1 to ${MAX_SYNTHETIC_COUNT}, got ${count}`);
  }
  const out = path.resolve(options.out);
  const previous = await prepareOut(out, options.force ?? false);

  const stage = path.join(out, SYNTH_STAGING);
  await rm(stage, { recursive: true, force: true });
  await mkdir(path.join(stage, layout.imageDir), { recursive: true });
  await mkdir(path.join(stage, layout.maskDir), { recursive: true });

  const lesionAreas: number[] = new Array(count);
  const heights: number[] = new Array(count);
  const widths: number[] = new Array(count);
  const encode: EncodeOptions =
    kind === 'isic' ? { format: 'jpeg', quality: ISIC_JPEG_QUALITY } : { format: 'png' };
  try {
    await runWorkers(
      Math.min(concurrency, count),
      count,
      (index) => {
        const name = syntheticName(kind, index);
        return {
          kind,
          seed,
          look,
          index,
          imagePath: path.join(stage, layout.imageDir, name),
          maskPath: path.join(stage, layout.maskDir, layout.maskName(name)),
          encode,
        };
      },
      (reply, done) => {
        lesionAreas[reply.index] = reply.lesionArea;
        heights[reply.index] = reply.height;
        widths[reply.index] = reply.width;
        options.onProgress?.(done, count);
      },
    );
  } catch (err) {
    await rm(stage, { recursive: true, force: true });
    throw err;
  }

  // Commit: the old manifest goes first, the new one last (see the file's doc comment).
  await rm(path.join(out, SYNTH_MANIFEST), { force: true });
  for (const dir of new Set([...previous, layout.imageDir, layout.maskDir])) {
    if (dir.includes('/') || dir.includes('\\') || dir.startsWith('.')) continue;
    await rm(path.join(out, dir), { recursive: true, force: true });
  }
  await rename(path.join(stage, layout.maskDir), path.join(out, layout.maskDir));
  await rename(path.join(stage, layout.imageDir), path.join(out, layout.imageDir));
  const lesionArea = summaryStats(lesionAreas);
  const manifest: Manifest = {
    format: 'ftunet-synth',
    version: 1,
    generator: GENERATOR_VERSION,
    kind,
    dataset: layout.dataset,
    count,
    seed,
    ...(look !== DEFAULT_SYNTHETIC_LOOK ? { look } : {}),
    folders: [layout.imageDir, layout.maskDir],
    lesionArea,
  };
  await writeFileAtomic(path.join(out, SYNTH_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  await rm(stage, { recursive: true, force: true });

  const hs = summaryStats(heights);
  const ws = summaryStats(widths);
  return {
    kind,
    dataset: layout.dataset,
    out,
    count,
    seed,
    look,
    lesionAreas,
    lesionArea,
    sizes: { height: { min: hs.min, max: hs.max }, width: { min: ws.min, max: ws.max } },
    elapsedMs: performance.now() - started,
  };
}

type Done = Extract<SynthReply, { lesionArea: number }>;

/**
 * Runs jobs 0..count-1 on `workers` worker threads (two jobs each at a time; in this thread
 * when `workers` is 1), calling `onDone`
 * in completion order. The first failure stops the pool: an I/O error (no space, no
 * permission) becomes a `UserError` naming the file, anything else an `Error` with the
 * worker's stack.
 */
async function runWorkers(
  workers: number,
  count: number,
  makeJob: (index: number) => SynthJob,
  onDone: (reply: Done, done: number) => void,
): Promise<void> {
  if (workers <= 1) {
    // One worker would only add its start-up time: run in this thread.
    for (let i = 0; i < count; i++) onDone(checkReply(await runJob(makeJob(i))), i + 1);
    return;
  }
  const url = new URL('./synth_worker.js', import.meta.url);
  const pool = Array.from({ length: workers }, () => new Worker(url));
  let next = 0;
  let done = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const feed = (w: Worker): void => {
        if (next < count) w.postMessage(makeJob(next++));
      };
      for (const w of pool) {
        w.on('message', (reply: SynthReply) => {
          let ok: Done;
          try {
            ok = checkReply(reply);
          } catch (err) {
            reject(err);
            return;
          }
          done++;
          onDone(ok, done);
          if (done === count) resolve();
          else feed(w);
        });
        w.on('error', reject);
        w.on('exit', (code) => {
          if (done < count) reject(new Error(`synth worker exited with code ${code}`));
        });
        // Two jobs per worker: one generates while the other's files are encoded.
        feed(w);
        feed(w);
      }
    });
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
}

/** The result as lines of text for a terminal. */
export function describeSyntheticResult(result: SyntheticWriteResult): string[] {
  const layout = syntheticLayout(result.kind);
  const { height, width } = result.sizes;
  return [
    `wrote ${result.count} ${result.kind}-like image/mask pairs to ${result.out} ` +
      `(--dataset ${result.dataset}: ${layout.imageDir}/, ${layout.maskDir}/) ` +
      `in ${(result.elapsedMs / 1000).toFixed(1)} s, seed ${result.seed}` +
      (result.look !== DEFAULT_SYNTHETIC_LOOK ? `, look ${result.look}` : ''),
    `original sizes (rows x cols): ${height.min}-${height.max} x ${width.min}-${width.max}`,
    `lesion area: ${formatFractionStats(result.lesionArea)}`,
  ];
}

/** The reply of a finished job, or the error it reports (a UserError for I/O errors). */
function checkReply(reply: SynthReply): Done {
  if (!('error' in reply)) return reply;
  throw reply.code !== undefined && reply.path !== undefined
    ? new UserError(`synth: cannot write ${reply.path} (${reply.code})`)
    : new Error(`synth worker failed on item ${reply.index}: ${reply.error}`);
}
