/**
 * A small static file server for the web app on this machine (`ftunet app --serve`), and for
 * the browser tests and bench: files under one or more folders, GET and HEAD only, with the
 * headers that make the page cross-origin isolated (`Cross-Origin-Opener-Policy: same-origin`,
 * `Cross-Origin-Embedder-Policy: require-corp`), which wasm threads need (SharedArrayBuffer).
 * Any static host with those headers serves the app the same way; without them the app runs
 * with one thread. Node-only.
 *
 * - Only regular files whose real path (links resolved) lies inside the real path of their
 *   folder: a link out of it, a folder, a FIFO or a device is 404. A file is opened without
 *   blocking and checked on its descriptor, so a FIFO never hangs it.
 * - Every answer says `X-Content-Type-Options: nosniff`.
 * - Bound to a loopback address, it answers only requests whose `Host` is `127.0.0.1:PORT`,
 *   `localhost:PORT` or `[::1]:PORT` (or the bound address with its port): a page on another
 *   site whose name was re-pointed at 127.0.0.1 (DNS rebinding) gets 421 Misdirected Request,
 *   never a file. Bound to another address it answers any name.
 * - `ETag` (size and modification time) and `Last-Modified`, with `Cache-Control: no-cache`:
 *   a browser revalidates each time and gets 304 when `If-None-Match` (or, without it,
 *   `If-Modified-Since`) says it holds the file already. Hashed assets (`assets/NAME-HASH.EXT`,
 *   `isHashedAsset`) get `Cache-Control: public, max-age=31536000, immutable` instead: their
 *   name changes with their content, so a browser keeps them without asking.
 * - A precompressed sibling (`NAME.br`, `NAME.gz`, src/app/compress.ts) at least as new as
 *   the file is sent instead when `Accept-Encoding` takes its encoding (brotli first), with
 *   `Content-Encoding`, the file's `Content-Type`, the sibling's length and its own `ETag`;
 *   every file answer says `Vary: Accept-Encoding`.
 * - The file's stream is piped with `stream.pipeline`: a client that goes away mid-download
 *   destroys it, so its descriptor is closed (no descriptor is left open per cut-off
 *   download).
 */
import { constants, type Stats } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../errors.js';
import { APP_ASSETS_DIR } from './assets.js';
import { PREFERENCE, SUFFIX, type Encoding } from './compress.js';

/** Content types by extension (anything else is application/octet-stream). */
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
};

/** How long browsers may keep a hashed asset without asking again: a year, for good. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * Whether a path inside a mount names a hashed asset of the app: in `assets/`, with a hash
 * of its content in its name (`app-XXXXXXXX.js`, as scripts/build_app.ts names them), so that
 * its bytes never change under that name.
 */
export function isHashedAsset(rel: string): boolean {
  return rel.startsWith(`${APP_ASSETS_DIR}/`) && /-[A-Z0-9]{8}\.[^/]+$/.test(rel);
}

/** The headers of cross-origin isolation. */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export interface ServeOptions {
  /** URL prefix ('/', '/ort/') to folder. A request takes the longest prefix it starts with. */
  mounts: Record<string, string>;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Send the isolation headers. Default true. */
  isolated?: boolean;
}

export interface StaticServer {
  server: http.Server;
  /** 'http://127.0.0.1:PORT' */
  origin: string;
  close(): Promise<void>;
}

/** The base headers of every answer. */
function baseHeaders(isolated: boolean): Record<string, string> {
  return { ...(isolated ? ISOLATION_HEADERS : {}), 'X-Content-Type-Options': 'nosniff' };
}

/** Whether `host` (as given to listen) is a loopback address or name. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The `Host` values a server bound to loopback `host` on `port` answers (lower case). */
function loopbackHosts(host: string, port: number): string[] {
  const names = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
  const bound = `${host.includes(':') ? `[${host}]` : host}:${port}`.toLowerCase();
  return names.includes(bound) ? names : [...names, bound];
}

/** An open regular file with its status. */
interface OpenFile {
  handle: FileHandle;
  info: Stats;
}

/** Flags to open a file to serve: never following a last link, never blocking on a FIFO. */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/** Errors of a path that is not there to serve (404 rather than 500). */
const NOT_THERE = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'EACCES', 'EPERM', 'ENAMETOOLONG']);

/**
 * Opens `file` when its real path lies inside `realBase` and it is a regular file; undefined
 * when it is missing or is anything else (then nothing stays open).
 */
async function openInside(file: string, realBase: string): Promise<OpenFile | undefined> {
  let handle: FileHandle | undefined;
  try {
    const real = await realpath(file);
    if (!real.startsWith(realBase.endsWith(path.sep) ? realBase : realBase + path.sep)) {
      return undefined;
    }
    handle = await open(real, OPEN_FLAGS);
    const info = await handle.stat();
    if (info.isFile()) return { handle, info };
  } catch (err) {
    if (!NOT_THERE.has((err as NodeJS.ErrnoException).code ?? '')) {
      await handle?.close();
      throw err;
    }
  }
  await handle?.close();
  return undefined;
}

/**
 * The precompressed encodings `Accept-Encoding` takes, best first (by q, then in the order
 * of `PREFERENCE`): a coding listed with q > 0, or not listed under `*` with q > 0.
 */
export function acceptedEncodings(header: string | undefined): Encoding[] {
  const q = new Map<string, number>();
  for (const part of (header ?? '').split(',')) {
    const [coding, ...params] = part.split(';').map((x) => x.trim().toLowerCase());
    if (!coding) continue;
    const m = params.map((p) => /^q=([0-9.]+)$/.exec(p)).find((x) => x !== null);
    const value = m ? Number(m[1]) : 1;
    q.set(coding, Number.isFinite(value) ? value : 0);
  }
  const weight = (coding: string) => q.get(coding) ?? q.get('*') ?? 0;
  return PREFERENCE.filter((e) => weight(e) > 0).sort((a, b) => weight(b) - weight(a));
}

/** A strong validator of a file's bytes: its size and modification time. */
function etagOf(info: Stats, encoding?: string): string {
  const tag = `${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}`;
  return `"${tag}${encoding ? `-${encoding}` : ''}"`;
}

/** Whether the request's conditions say the client holds this representation (then 304). */
function notModified(req: http.IncomingMessage, etag: string, info: Stats): boolean {
  const match = req.headers['if-none-match'];
  if (match !== undefined) {
    const tags = match.split(',').map((t) => t.trim().replace(/^W\//, ''));
    return tags.includes('*') || tags.includes(etag);
  }
  const since = Date.parse(req.headers['if-modified-since'] ?? '');
  return !Number.isNaN(since) && Math.floor(info.mtimeMs / 1000) * 1000 <= since;
}

/** Starts serving; a port in use is a `UserError`. */
export async function serveStatic(options: ServeOptions): Promise<StaticServer> {
  const host = options.host ?? '127.0.0.1';
  const headers = baseHeaders(options.isolated !== false);
  const mounts = Object.entries(options.mounts)
    .map(([prefix, dir]) => [prefix, path.resolve(dir)] as const)
    .sort((a, b) => b[0].length - a[0].length);
  /** The `Host` values answered; undefined: any (set once listening, when the port is known). */
  let hosts: string[] | undefined;

  const notFound = (res: http.ServerResponse) =>
    res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end('not found\n');

  const answer = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (hosts !== undefined && !hosts.includes((req.headers.host ?? '').toLowerCase())) {
      res
        .writeHead(421, { ...headers, 'Content-Type': 'text/plain' })
        .end(
          `this server answers only for ${hosts.slice(0, -1).join(', ')} and ${hosts[hosts.length - 1]}\n`,
        );
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD' }).end();
      return;
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      res.writeHead(400, headers).end();
      return;
    }
    const mount = mounts.find(([prefix]) => pathname.startsWith(prefix));
    if (mount === undefined) return notFound(res);
    const [prefix, base] = mount;
    let file = path.join(base, pathname.slice(prefix.length));
    if (pathname.endsWith('/')) file = path.join(file, 'index.html');
    if (!file.startsWith(base + path.sep) || pathname.includes('\0')) return notFound(res);
    const realBase = await realpath(base).catch(() => undefined);
    const original = realBase && (await openInside(file, realBase));
    if (!original) return notFound(res);

    let served = original;
    let encoding: Encoding | undefined;
    try {
      for (const candidate of acceptedEncodings(req.headers['accept-encoding'])) {
        const sibling = await openInside(file + SUFFIX[candidate], realBase);
        if (sibling && sibling.info.mtimeMs >= original.info.mtimeMs) {
          await original.handle.close();
          served = sibling;
          encoding = candidate;
          break;
        }
        await sibling?.handle.close();
      }

      const etag = etagOf(served.info, encoding);
      const fileHeaders: Record<string, string | number> = {
        ...headers,
        'Content-Type': TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
        'Cache-Control': isHashedAsset(pathname.slice(prefix.length)) ? IMMUTABLE : 'no-cache',
        ETag: etag,
        'Last-Modified': served.info.mtime.toUTCString(),
        Vary: 'Accept-Encoding',
        ...(encoding ? { 'Content-Encoding': encoding } : {}),
      };
      if (notModified(req, etag, served.info)) {
        await served.handle.close();
        res.writeHead(304, fileHeaders).end();
        return;
      }
      res.writeHead(200, { ...fileHeaders, 'Content-Length': served.info.size });
      if (req.method === 'HEAD') {
        await served.handle.close();
        res.end();
        return;
      }
    } catch (err) {
      // The open file (the original or its sibling) is not left to the garbage collector.
      await served.handle.close().catch(() => undefined);
      throw err;
    }
    // The read stream closes the file when it ends or is destroyed; pipeline destroys it when
    // the response fails or the client goes away.
    await pipeline(served.handle.createReadStream(), res).catch(() => undefined);
  };

  const server = http.createServer((req, res) => {
    answer(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, headers).end();
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new UserError(`port ${options.port} on ${host} is in use: choose another with --port`)
          : err.code === 'EACCES'
            ? new UserError(
                `no permission to listen on port ${options.port}: choose one above 1023`,
              )
            : err,
      );
    });
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  if (isLoopback(host)) hosts = loopbackHosts(host, port);
  return {
    server,
    origin: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
