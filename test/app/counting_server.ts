/**
 * The app served as `ftunet app --serve` serves it (src/app/serve.ts), with the bytes it writes
 * counted on its sockets (headers included): what a visit costs on the wire, whatever the
 * browser caches or a service worker asks for. Shared by the page's tests and bench/app_lighthouse.ts.
 */
import type { Socket } from 'node:net';
import { serveStatic, type ServeOptions, type StaticServer } from '../../src/app/serve.js';

/** A server whose bytes written are counted. */
export interface CountingServer extends StaticServer {
  /** Bytes written to every socket since the server started. */
  bytes(): number;
  /** The paths asked for, in order (with their queries). */
  requested: string[];
  /** Resolves once the server has written nothing for `quietMs`. */
  quiet(quietMs?: number): Promise<void>;
}

export async function countingServer(options: ServeOptions): Promise<CountingServer> {
  const server = await serveStatic(options);
  const sockets = new Set<Socket>();
  const requested: string[] = [];
  server.server.on('request', (req: { url?: string }) => requested.push(req.url ?? ''));
  let closed = 0;
  server.server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => {
      closed += s.bytesWritten;
      sockets.delete(s);
    });
  });
  const bytes = () => closed + [...sockets].reduce((sum, s) => sum + s.bytesWritten, 0);
  return {
    ...server,
    bytes,
    requested,
    quiet: async (quietMs = 1500) => {
      let last = bytes();
      let since = Date.now();
      while (Date.now() - since < quietMs) {
        await new Promise((r) => setTimeout(r, 100));
        if (bytes() !== last) {
          last = bytes();
          since = Date.now();
        }
      }
    },
  };
}
