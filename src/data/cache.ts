/**
 * The preprocessing cache: the resized 8-bit arrays of a data set in one file, so that a
 * second run skips decoding (minutes for 2,594 full-size ISIC JPEGs) and starts in seconds.
 *
 * - Where: `cacheDir` (default `$XDG_CACHE_HOME/focal-tversky-unet`, else
 *   `~/.cache/focal-tversky-unet`), never inside the data set folder.
 * - Key: SHA-256 of the reader version, the layout, input size, channels and interpolation,
 *   and every image's and mask's absolute path, byte size and modification time (ns); a
 *   changed, added or removed file gives a new key, so its data are re-read.
 * - File: "FTUNETDS", u32 format version, u32 header length, header JSON (key, names, original
 *   sizes, layouts, lesion areas, byte counts), the images back to back, the masks back to
 *   back, then the CRC-32 of everything before it (zlib's; it catches truncation and flipped
 *   bits at a tenth of SHA-256's cost on half a gigabyte). All integers little-endian.
 * - Trust: a file whose length, header, key or checksum is wrong is reported as damaged and
 *   rebuilt; it is never used. Writes go to a temporary file (named with the writer's pid),
 *   fsynced, renamed into place, then the folder is fsynced. Reading and writing first remove
 *   the temporary files of dead processes (`sweepStaleTemporaries`): a kill during a write
 *   leaves a full-size one. A full disk while writing is a `DiskFullError`.
 * - A cache folder that is a file, or a cache file that is a folder, is a `UserError` naming it.
 *
 * Old entries are not evicted; delete the folder to reclaim space. Node-only (fs, crypto).
 */
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../errors.js';
import {
  checkWriteFault,
  diskFullAs,
  sweepStaleTemporaries,
  syncFolder,
  temporaryPath,
} from '../io/atomic.js';
import type { Interpolation } from '../util/raster.js';
import type { ImagePair } from './listing.js';

/**
 * Bump when decoding, binarising or resizing changes, so old cache files are not used.
 * 2: resizing is OpenCV's to the bit (nearest's rounded scale, bilinear's fixed point).
 */
export const READER_VERSION = 2;

/** Version of the file format below. */
export const CACHE_FORMAT_VERSION = 2;

const MAGIC = Buffer.from('FTUNETDS', 'latin1');
const PREFIX_BYTES = 16; // magic (8) + format version (4) + header length (4)
const DIGEST_BYTES = 4; // CRC-32
/** fs.read moves at most about 2 GiB per call; read in slices well below that. */
const READ_SLICE = 64 * 1024 * 1024;
/** writev takes at most IOV_MAX (1024 on Linux) buffers per call. */
const WRITEV_BATCH = 512;

/** The folder name used under the user's cache folder. */
export const CACHE_FOLDER_NAME = 'focal-tversky-unet';

/**
 * The default cache folder: `$XDG_CACHE_HOME/focal-tversky-unet` when that variable is an
 * absolute path, else `~/.cache/focal-tversky-unet`.
 */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache');
  return path.join(base, CACHE_FOLDER_NAME);
}

/** What a cache entry depends on. */
export interface CacheKeyInput {
  kind: string;
  inputSize: readonly [number, number];
  channels: number;
  interpolation: Interpolation;
  pairs: readonly ImagePair[];
}

/** The cache key (hex SHA-256) of a data set; stats every file (cheap, no decoding). */
export async function computeCacheKey(input: CacheKeyInput): Promise<string> {
  const hash = createHash('sha256');
  hash.update(
    JSON.stringify({
      reader: READER_VERSION,
      format: CACHE_FORMAT_VERSION,
      kind: input.kind,
      inputSize: input.inputSize,
      channels: input.channels,
      interpolation: input.interpolation,
    }),
  );
  for (const p of input.pairs) {
    const [si, sm] = await Promise.all([
      stat(p.image, { bigint: true }),
      stat(p.mask, { bigint: true }),
    ]);
    hash.update(
      `\n${p.name}\0${p.image}\0${si.size}\0${si.mtimeNs}\0${p.mask}\0${sm.size}\0${sm.mtimeNs}`,
    );
  }
  return hash.digest('hex');
}

/** The file name of a cache entry: readable prefix plus the key. */
export function cacheFileName(input: Omit<CacheKeyInput, 'pairs'>, key: string): string {
  const [h, w] = input.inputSize;
  return `${input.kind}-${h}x${w}x${input.channels}-${input.interpolation}-${key.slice(0, 32)}.ftds`;
}

/** The arrays a cache entry holds. */
export interface CachedArrays {
  names: string[];
  originalSizes: [number, number][];
  layouts: string[];
  lesionArea: number[];
  /** Every image has `imageBytes` bytes, every mask `maskBytes`. */
  images: Uint8Array[];
  masks: Uint8Array[];
}

interface Header {
  key: string;
  count: number;
  imageBytes: number;
  maskBytes: number;
  names: string[];
  originalSizes: [number, number][];
  layouts: string[];
  lesionArea: number[];
}

/** The outcome of `readCache`. */
export type CacheReadResult =
  | { status: 'hit'; arrays: CachedArrays }
  | { status: 'missing' }
  | { status: 'damaged'; reason: string };

/**
 * Reads a cache entry and checks it completely (length, magic, version, key, sizes, checksum)
 * before returning views into one buffer. A bad file is not an error: it says 'damaged'. A cache
 * folder that is a file, or a folder where the file should be, is a `UserError` naming it.
 * Removes stale temporary files of dead processes from the cache folder first.
 */
export async function readCache(
  file: string,
  expected: { key: string; imageBytes: number; maskBytes: number },
): Promise<CacheReadResult> {
  // Best effort: a folder that cannot be listed is reported by the open below.
  await sweepStaleTemporaries(path.dirname(file)).catch(() => []);
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOTDIR') await checkCacheFolder(path.dirname(file));
    if (code === 'ENOENT') return { status: 'missing' };
    if (code === 'EISDIR') throw cacheFileIsFolder(file);
    return { status: 'damaged', reason: `cannot open: ${(err as Error).message}` };
  }
  let buf: Buffer;
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw cacheFileIsFolder(file);
    const size = info.size;
    if (size < PREFIX_BYTES + DIGEST_BYTES) return { status: 'damaged', reason: 'truncated' };
    buf = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const { bytesRead } = await handle.read(buf, off, Math.min(READ_SLICE, size - off), off);
      if (bytesRead === 0) return { status: 'damaged', reason: 'truncated while reading' };
      off += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return parseCache(buf, expected);
}

function cacheFileIsFolder(file: string): UserError {
  return new UserError(
    `the cache file ${file} is a folder: remove it, or choose another cache folder ` +
      '(--cache DIR) or none (--no-cache)',
  );
}

/**
 * Throws a `UserError` naming the first existing part of the cache folder `dir` (itself or a
 * folder above it) that is not a folder.
 */
async function checkCacheFolder(dir: string): Promise<void> {
  for (let p = dir; ; p = path.dirname(p)) {
    try {
      if (!(await stat(p)).isDirectory()) {
        const what = p === dir ? 'is a file' : `cannot be made: ${p} is a file`;
        throw new UserError(
          `the cache folder ${dir} ${what}, not a folder; choose another cache folder ` +
            '(--cache DIR) or none (--no-cache)',
        );
      }
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || path.dirname(p) === p) throw err;
    }
  }
}

function parseCache(
  buf: Buffer,
  expected: { key: string; imageBytes: number; maskBytes: number },
): CacheReadResult {
  const damaged = (reason: string): CacheReadResult => ({ status: 'damaged', reason });
  if (!buf.subarray(0, 8).equals(MAGIC)) return damaged('not a cache file');
  const version = buf.readUInt32LE(8);
  if (version !== CACHE_FORMAT_VERSION) return damaged(`format version ${version}`);
  const headerBytes = buf.readUInt32LE(12);
  const body = buf.length - DIGEST_BYTES;
  if (PREFIX_BYTES + headerBytes > body) return damaged('truncated header');
  if (crc32(buf.subarray(0, body)) !== buf.readUInt32LE(body)) return damaged('checksum mismatch');
  let header: Header;
  try {
    header = JSON.parse(buf.toString('utf8', PREFIX_BYTES, PREFIX_BYTES + headerBytes)) as Header;
  } catch {
    return damaged('unreadable header');
  }
  const { count, imageBytes, maskBytes } = header;
  if (header.key !== expected.key) return damaged('key mismatch');
  if (imageBytes !== expected.imageBytes || maskBytes !== expected.maskBytes) {
    return damaged('array sizes differ');
  }
  const lists = [header.names, header.originalSizes, header.layouts, header.lesionArea];
  if (!Number.isInteger(count) || lists.some((l) => !Array.isArray(l) || l.length !== count)) {
    return damaged('inconsistent header');
  }
  const start = PREFIX_BYTES + headerBytes;
  if (start + count * (imageBytes + maskBytes) !== body) return damaged('wrong length');
  const images: Uint8Array[] = [];
  const masks: Uint8Array[] = [];
  const base = buf.byteOffset;
  for (let i = 0; i < count; i++) {
    images.push(new Uint8Array(buf.buffer, base + start + i * imageBytes, imageBytes));
    masks.push(
      new Uint8Array(buf.buffer, base + start + count * imageBytes + i * maskBytes, maskBytes),
    );
  }
  return {
    status: 'hit',
    arrays: {
      names: header.names,
      originalSizes: header.originalSizes,
      layouts: header.layouts,
      lesionArea: header.lesionArea,
      images,
      masks,
    },
  };
}

/** What `writeCache` stores: the arrays and the key they were made under. */
export interface CacheEntry {
  key: string;
  arrays: CachedArrays;
}

/**
 * Writes a cache entry atomically and durably (temporary file in the same folder, fsync, rename,
 * fsync of the folder), creating the folder if needed. Throws on I/O errors (the caller turns
 * them into a warning); a full disk is a `DiskFullError` naming `file`, and no temporary file
 * is left.
 */
export async function writeCache(file: string, entry: CacheEntry): Promise<void> {
  const { key, arrays } = entry;
  const count = arrays.names.length;
  const imageBytes = count ? arrays.images[0].length : 0;
  const maskBytes = count ? arrays.masks[0].length : 0;
  const header: Header = {
    key,
    count,
    imageBytes,
    maskBytes,
    names: arrays.names,
    originalSizes: arrays.originalSizes,
    layouts: arrays.layouts,
    lesionArea: arrays.lesionArea,
  };
  const headerBuf = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(PREFIX_BYTES);
  MAGIC.copy(prefix, 0);
  prefix.writeUInt32LE(CACHE_FORMAT_VERSION, 8);
  prefix.writeUInt32LE(headerBuf.length, 12);

  const dir = path.dirname(file);
  await checkCacheFolder(dir);
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw diskFullAs(err, file);
  }
  await sweepStaleTemporaries(dir);
  const tmp = temporaryPath(file);
  let crc = 0;
  try {
    const handle = await open(tmp, 'w');
    try {
      if (
        arrays.images.some((a) => a.length !== imageBytes) ||
        arrays.masks.some((a) => a.length !== maskBytes)
      ) {
        throw new Error('writeCache: images (or masks) of different sizes');
      }
      const pieces: Uint8Array[] = [prefix, headerBuf, ...arrays.images, ...arrays.masks];
      for (let i = 0; i < pieces.length; i += WRITEV_BATCH) {
        const batch = pieces.slice(i, i + WRITEV_BATCH);
        for (const p of batch) crc = crc32(p, crc);
        checkWriteFault(tmp);
        await writeAll(handle, batch);
      }
      const trailer = Buffer.alloc(DIGEST_BYTES);
      trailer.writeUInt32LE(crc, 0);
      await writeAll(handle, [trailer]);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw diskFullAs(err, file);
  }
  await syncFolder(dir);
}

async function writeAll(
  handle: Awaited<ReturnType<typeof open>>,
  buffers: Uint8Array[],
): Promise<void> {
  let pending = buffers;
  while (pending.length > 0) {
    const { bytesWritten } = await handle.writev(pending);
    let left = bytesWritten;
    const rest: Uint8Array[] = [];
    for (const b of pending) {
      if (left >= b.length) left -= b.length;
      else {
        rest.push(b.subarray(left));
        left = 0;
      }
    }
    pending = rest;
  }
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32 (the zlib/PNG polynomial) of `data`, continuing from `value`: zlib's native one where
 * Node has it (20.15 and later), else `crc32Portable`, which gives the same result.
 */
export function crc32(data: Uint8Array, value = 0): number {
  const native = (zlib as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;
  return native ? native(data, value) : crc32Portable(data, value);
}

/** CRC-32 in JavaScript, table-driven (about ten times slower than zlib's). */
export function crc32Portable(data: Uint8Array, value = 0): number {
  let c = ~value >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
