/**
 * Precompressed siblings of the web app's files: beside each file that compresses (the page,
 * its script and style, the wasm binaries, the model's `model.json` and weights when they
 * shrink), `NAME.br` (brotli) and `NAME.gz` (gzip) with the same bytes once decoded. A server
 * that knows them (`ftunet app --serve`; nginx with `gzip_static` / `brotli_static`; Caddy's
 * `precompressed`) sends one of them to a browser that accepts its encoding, with
 * `Content-Encoding` and the original's `Content-Type`: onnxruntime-web's 13.6 MiB wasm binary
 * travels as 2.7 MiB (brotli) or 3.5 MiB (gzip). A plain static server serves the originals.
 * Node-only.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

/** The encodings written (`Content-Encoding` names). */
export type Encoding = 'br' | 'gzip';

/** Each encoding's file suffix. */
export const SUFFIX: Readonly<Record<Encoding, string>> = { br: '.br', gzip: '.gz' };

/** The encodings in the order a server prefers them (the smaller first). */
export const PREFERENCE: readonly Encoding[] = ['br', 'gzip'];

/** Extensions of the files worth compressing (images are compressed already). */
export const COMPRESSIBLE: ReadonlySet<string> = new Set([
  '.html',
  '.css',
  '.js',
  '.mjs',
  '.json',
  '.wasm',
  '.txt',
  '.svg',
  '.bin',
]);

/**
 * A sibling is written only when it is at most this share of the original: float32 weights
 * shrink by a few percent only, not worth a second copy.
 */
export const MAX_SIBLING_RATIO = 0.9;

/**
 * Files larger than this are first tried on a sample of this size, from their middle, with
 * gzip's fastest level: gzip at level 9 spends 3 s on 22 MB of float32 weights to save 8%.
 */
export const PROBE_BYTES = 2 ** 20;

/**
 * Brotli's quality: 5 takes the 13.6 MiB wasm binary to 2.7 MiB in about 2.5 s on one core;
 * 9 saves 0.1 MiB more in 9 s, 11 (the maximum) 0.5 MiB more in 80 s.
 */
export const BROTLI_QUALITY = 5;

/** Gzip's level: the maximum, under a second for the wasm binary. */
export const GZIP_LEVEL = 9;

export interface PrecompressedFile {
  /** Relative to the folder. */
  file: string;
  /** The original's size. */
  bytes: number;
  /** The siblings' sizes, where written. */
  br?: number;
  gzip?: number;
}

export interface PrecompressResult {
  /** Every compressible file, whether a sibling was written or not. */
  files: PrecompressedFile[];
  /** Sums over `files`: the originals, and what a browser taking brotli or gzip downloads. */
  bytes: number;
  brBytes: number;
  gzipBytes: number;
}

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

function encode(encoding: Encoding, data: Buffer): Promise<Buffer> {
  switch (encoding) {
    case 'br':
      return brotli(data, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
        },
      });
    case 'gzip':
      return gzip(data, { level: GZIP_LEVEL });
    default:
      throw new Error(`encode: unknown encoding ${String(encoding)} (allowed: br, gzip)`);
  }
}

/** Regular files under `dir` with a compressible extension, relative, recursively. */
async function compressibleFiles(dir: string, prefix = ''): Promise<string[]> {
  const found: string[] = [];
  for (const e of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = path.join(prefix, e.name);
    if (e.isDirectory()) found.push(...(await compressibleFiles(dir, rel)));
    else if (e.isFile() && COMPRESSIBLE.has(path.extname(e.name).toLowerCase())) found.push(rel);
  }
  return found;
}

/**
 * Writes the `.br` and `.gz` siblings of the compressible files under `dir` (see the module's
 * comment), replacing any earlier ones. Meant for a folder being built (the app's temporary
 * folder, renamed into place afterwards), so the writes are plain ones. The files are
 * compressed concurrently on libuv's thread pool; a file whose gzip saves under 10% (or,
 * over `PROBE_BYTES`, whose sample does not) gets no sibling and is not tried with brotli.
 */
export async function writePrecompressed(dir: string): Promise<PrecompressResult> {
  const files = await Promise.all(
    (await compressibleFiles(dir)).map(async (file): Promise<PrecompressedFile> => {
      const full = path.join(dir, file);
      const data = await readFile(full);
      const row: PrecompressedFile = { file, bytes: data.length };
      if (data.length > PROBE_BYTES) {
        const from = Math.floor((data.length - PROBE_BYTES) / 2);
        const probe = await gzip(data.subarray(from, from + PROBE_BYTES), { level: 1 });
        if (probe.length > PROBE_BYTES * MAX_SIBLING_RATIO) return row;
      }
      // Gzip first: it is fast, and what it cannot shrink (float weights) brotli barely does.
      for (const encoding of ['gzip', 'br'] as const) {
        const packed = await encode(encoding, data);
        if (packed.length > data.length * MAX_SIBLING_RATIO) break;
        await writeFile(full + SUFFIX[encoding], packed);
        row[encoding] = packed.length;
      }
      return row;
    }),
  );
  const sum = (pick: (f: PrecompressedFile) => number) => files.reduce((s, f) => s + pick(f), 0);
  return {
    files,
    bytes: sum((f) => f.bytes),
    brBytes: sum((f) => f.br ?? f.bytes),
    gzipBytes: sum((f) => f.gzip ?? f.bytes),
  };
}
