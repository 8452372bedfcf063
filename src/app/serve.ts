/**
 * A small static file server for the web app on this machine (`ftunet app --serve`), and for
 * the browser tests and bench: files under one or more folders, GET and HEAD only, never a
 * path outside its folder, with the headers that make the page cross-origin isolated
 * (`Cross-Origin-Opener-Policy: same-origin`, `Cross-Origin-Embedder-Policy: require-corp`),
 * which wasm threads need (SharedArrayBuffer). Any static host with those headers serves the
 * app the same way; without them the app runs with one thread. Node-only.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { UserError } from '../errors.js';

/** Content types by extension (anything else is application/octet-stream). */
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
};

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

/** Starts serving; a port in use is a `UserError`. */
export async function serveStatic(options: ServeOptions): Promise<StaticServer> {
  const host = options.host ?? '127.0.0.1';
  const headers = options.isolated === false ? {} : ISOLATION_HEADERS;
  const mounts = Object.entries(options.mounts)
    .map(([prefix, dir]) => [prefix, path.resolve(dir)] as const)
    .sort((a, b) => b[0].length - a[0].length);
  const server = http.createServer((req, res) => {
    void (async () => {
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
      if (mount === undefined) {
        res.writeHead(404, headers).end();
        return;
      }
      const [prefix, base] = mount;
      let file = path.join(base, pathname.slice(prefix.length));
      if (pathname.endsWith('/')) file = path.join(file, 'index.html');
      const info = await stat(file).catch(() => undefined);
      if (!(file === base || file.startsWith(base + path.sep)) || !info?.isFile()) {
        res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end('not found\n');
        return;
      }
      res.writeHead(200, {
        ...headers,
        'Content-Type': TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
        'Content-Length': info.size,
        'Cache-Control': 'no-cache',
      });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      createReadStream(file)
        .on('error', () => res.destroy())
        .pipe(res);
    })();
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
  return {
    server,
    origin: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
