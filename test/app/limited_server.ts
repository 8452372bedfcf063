/**
 * `ftunet app --serve` in a child process under a low open-file limit (`ulimit -n`), and raw
 * HTTP clients that go away in the middle of a download or right at its last byte: the test of
 * the server's descriptors (test/app/serve.test.ts) and its bench (bench/serve_aborts.ts).
 * Linux only (descriptors are counted in /proc/PID/fd). Loopback addresses only.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import net from 'node:net';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

/** The built CLI. */
export const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** The largest file of the app: onnxruntime-web's wasm binary (about 14 MB). */
export const LARGE_FILE = '/wasm/ort-wasm-simd-threaded.wasm';

/** The page's script in the app at `out` (a hashed name, read from its index.html), as a path. */
export async function pageScript(out: string): Promise<string> {
  const page = await readFile(path.join(out, 'index.html'), 'utf8');
  const src = /<script type="module" src="([^"]+)"/.exec(page)?.[1];
  if (src === undefined) throw new Error(`pageScript: ${out}/index.html names no module script`);
  return `/${src}`;
}

export interface LimitedServer {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** The child's process id (bash `exec`s node, so this is the server's). */
  pid: number;
  /** 'http://127.0.0.1:PORT/' as the CLI printed it. */
  url: URL;
  stop(): void;
}

/**
 * Starts `node MAIN app --model MODEL --out OUT --serve --port 0` under `ulimit -n LIMIT`
 * and resolves once it prints its URL (rejects if it exits first). `main` defaults to the
 * built CLI; the bench passes another build's to measure it.
 */
export function startLimitedServer(options: {
  model: string;
  out: string;
  limit: number;
  main?: string;
}): Promise<LimitedServer> {
  const main = options.main ?? MAIN;
  const child = spawn(
    'bash',
    [
      '-c',
      `ulimit -n ${options.limit} && exec "$0" "$@"`,
      process.execPath,
      main,
      'app',
      '--model',
      options.model,
      '--out',
      options.out,
      '--serve',
      '--port',
      '0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  };
  return new Promise((resolve, reject) => {
    let text = '';
    const collect = (d: Buffer) => {
      text += d.toString();
      const m = /serving it at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(text);
      if (m) resolve({ child, pid: child.pid!, url: new URL(m[1]), stop });
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('exit', (code, signal) =>
      reject(new Error(`ftunet app --serve exited (${code ?? signal}) before serving: ${text}`)),
    );
  });
}

/** The number of open descriptors of process `pid`. */
export function openDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/**
 * Polls `openDescriptors(pid)` until it is at most `target`, at most `polls` times `everyMs`
 * apart; returns the last count (the caller asserts it).
 */
export async function settleDescriptors(
  pid: number,
  target: number,
  polls = 100,
  everyMs = 50,
): Promise<number> {
  let count = openDescriptors(pid);
  for (let i = 0; i < polls && count > target; i++) {
    await new Promise((r) => setTimeout(r, everyMs));
    count = openDescriptors(pid);
  }
  return count;
}

/** How one raw download ended. */
export type DownloadOutcome =
  { ok: true; status: number; bytes: number } | { ok: false; reason: string };

/**
 * GET `pathname` on a fresh connection (HTTP/1.1, `Connection: close`) and destroy the socket:
 * `cut` 'early' after the first chunk of the answer (headers and a little of the body), 'end'
 * as soon as all of the body has arrived (before the server closes its side), 'never' once the
 * server closes. Gives up after `timeoutMs`. Never throws.
 */
export function rawDownload(
  url: URL,
  pathname: string,
  cut: 'early' | 'end' | 'never',
  timeoutMs = 10_000,
): Promise<DownloadOutcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port) });
    let head = Buffer.alloc(0);
    let status = 0;
    let length = -1;
    let body = 0;
    const finish = (outcome: DownloadOutcome) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(
      () => finish({ ok: false, reason: `no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
    socket.on('connect', () =>
      socket.write(`GET ${pathname} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`),
    );
    socket.on('data', (chunk: Buffer) => {
      if (status === 0) {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const text = head.subarray(0, end).toString('latin1');
        status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? -1);
        length = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1] ?? -1);
        body = head.length - end - 4;
      } else {
        body += chunk.length;
      }
      if (cut === 'early' || (cut === 'end' && body >= length))
        finish({ ok: true, status, bytes: body });
    });
    socket.on('error', (err) => finish({ ok: false, reason: err.message }));
    socket.on('close', () =>
      finish(
        status > 0
          ? { ok: true, status, bytes: body }
          : { ok: false, reason: 'the server closed the connection without an answer' },
      ),
    );
  });
}
