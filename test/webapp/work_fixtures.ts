/**
 * Work images made in a test, with real PNG Blobs (Node 20 has Blob and File): a grey image
 * with a pattern, a model mask, a correction and a ground truth of rectangles.
 */
import { encodeImagePng, encodeMaskPng } from '../../src/browser/png.js';
import type { BinaryMask } from '../../src/util/raster.js';
import type { MaskSettings, ReviewStatus, StoredMask, WorkImage } from '../../src/webapp/work.js';
import { greyPattern, rectMask } from '../data/fixtures.js';

export const SETTINGS: MaskSettings = {
  threshold: 0.5,
  keepLargest: false,
  minSize: 0,
  tta: 'none',
};

/** A 0/1 mask of `height` x `width` with lesion in rows [r0, r1) and columns [c0, c1). */
export function rect(
  height: number,
  width: number,
  box: [number, number, number, number],
): BinaryMask {
  return { data: rectMask(height, width, box), height, width };
}

export function stored(mask: BinaryMask): StoredMask {
  let pixels = 0;
  for (const x of mask.data) pixels += x;
  return { png: new Blob([encodeMaskPng(mask) as BlobPart], { type: 'image/png' }), pixels };
}

/** A grey PNG image's bytes. */
export function pngImage(height: number, width: number, seed = 0): Uint8Array {
  return encodeImagePng({ data: greyPattern(height, width, seed), height, width, channels: 1 });
}

export interface WorkImageOptions {
  height?: number;
  width?: number;
  status?: ReviewStatus;
  settings?: Partial<MaskSettings>;
  model?: BinaryMask | null;
  correction?: BinaryMask;
  truth?: BinaryMask;
  added?: number;
  /** The file's bytes; default a grey PNG. */
  bytes?: Uint8Array;
}

/** A `WorkImage` named `name` (12x10 by default) with a model mask unless `model: null`. */
export function workImage(name: string, options: WorkImageOptions = {}): WorkImage {
  const height = options.height ?? 12;
  const width = options.width ?? 10;
  const bytes = options.bytes ?? pngImage(height, width, name.length);
  const model = options.model === undefined ? rect(height, width, [2, 6, 3, 7]) : options.model;
  return {
    id: `id-${name}`,
    name,
    stem: name.replace(/\.[^.]*$/, ''),
    file: new Blob([bytes as BlobPart], { type: 'image/png' }),
    width,
    height,
    channels: 1,
    settings: { ...SETTINGS, ...options.settings },
    ...(model ? { modelMask: stored(model) } : {}),
    ...(options.correction ? { correction: stored(options.correction) } : {}),
    ...(options.truth ? { truth: stored(options.truth) } : {}),
    status: options.status ?? 'unreviewed',
    notes: [],
    added: options.added ?? 1000,
  };
}

/** A Blob's bytes. */
export async function bytes(blob: Blob): Promise<Uint8Array> {
  return new Uint8Array(await blob.arrayBuffer());
}
