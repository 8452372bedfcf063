/**
 * The static server of `ftunet app --serve` (src/app/serve.ts) and the precompressed siblings
 * of the app's files (src/app/compress.ts), over raw HTTP on 127.0.0.1: only regular files whose
 * real path lies inside the folder, `nosniff`, only loopback `Host` names, validators and 304s,
 * `.br`/`.gz` siblings by `Accept-Encoding`; and, in a child process under `ulimit -n 256`,
 * hundreds of cut-off downloads leave no descriptor open and the next request is answered.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import zlib from 'node:zlib';
import { PROBE_BYTES, writePrecompressed } from '../../src/app/compress.js';
import { serveStatic, type StaticServer } from '../../src/app/serve.js';
import { saveModel } from '../../src/io/model_files.js';
import { buildModel } from '../../src/models/build.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { useBackend } from '../helpers.js';
import {
  LARGE_FILE,
  openDescriptors,
  pageScript,
  rawDownload,
  settleDescriptors,
  startLimitedServer,
} from './limited_server.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request on its own connection; `headers` may set `Host`. */
function request(
  origin: string,
  pathname: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Answer> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: hostname, port, path: pathname, method, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

let root: string;
let site: string;
let server: StaticServer;
/** A script that compresses well (and is large enough to be worth it). */
let script: string;

before(async () => {
  root = await makeTemp('ftunet-serve-');
  site = path.join(root, 'site');
  await mkdir(path.join(site, 'sub'), { recursive: true });
  await mkdir(path.join(root, 'outside'));
  await writeFile(path.join(root, 'outside', 'secret.txt'), 'not for the web\n');
  script = Array.from({ length: 400 }, (_, i) => `export const v${i} = ${i} * 2;\n`).join('');
  await writeFile(path.join(site, 'index.html'), '<!doctype html><title>t</title>\n');
  await writeFile(path.join(site, 'app.js'), script);
  await writeFile(path.join(site, 'sub', 'page.txt'), 'inside\n');
  // Links out of the folder, to a file and to a folder; a link that stays inside.
  await symlink(path.join(root, 'outside', 'secret.txt'), path.join(site, 'leak.txt'));
  await symlink(path.join(root, 'outside'), path.join(site, 'out'));
  await symlink(path.join(site, 'sub', 'page.txt'), path.join(site, 'alias.txt'));
  await writePrecompressed(site);
  server = await serveStatic({ mounts: { '/': site } });
});

after(async () => {
  await server?.close();
  await removeTemp(root);
});

describe('serveStatic: what it serves', () => {
  test('a link out of the folder is 404, to a file or through a folder; a link inside is served', async () => {
    assert.equal((await request(server.origin, '/leak.txt')).status, 404);
    assert.equal((await request(server.origin, '/out/secret.txt')).status, 404);
    const inside = await request(server.origin, '/alias.txt');
    assert.equal(inside.status, 200);
    assert.equal(inside.body.toString(), 'inside\n');
  });

  test('a folder, a FIFO and a missing file are 404, and a FIFO does not hang it', async (t) => {
    assert.equal((await request(server.origin, '/sub')).status, 404);
    assert.equal((await request(server.origin, '/missing.js')).status, 404);
    if (process.platform !== 'linux') return t.skip('mkfifo is a Linux command here');
    execFileSync('mkfifo', [path.join(site, 'pipe.txt')]);
    assert.equal((await request(server.origin, '/pipe.txt')).status, 404);
  });

  test('every answer says nosniff', async () => {
    for (const p of ['/', '/app.js', '/missing.js']) {
      assert.equal(
        (await request(server.origin, p)).headers['x-content-type-options'],
        'nosniff',
        p,
      );
    }
    const post = await request(server.origin, '/', {}, 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers['x-content-type-options'], 'nosniff');
  });
});

describe('serveStatic: Host names (DNS rebinding)', () => {
  test('answers 127.0.0.1, localhost and [::1] with its port, and 421 to any other name', async () => {
    const { port } = new URL(server.origin);
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `[::1]:${port}`,
      `LocalHost:${port}`,
    ]) {
      assert.equal((await request(server.origin, '/', { Host: host })).status, 200, host);
    }
    for (const host of [
      `evil.example:${port}`,
      'localhost',
      `127.0.0.1:${Number(port) + 1}`,
      `localhost.evil.example:${port}`,
    ]) {
      const r = await request(server.origin, '/', { Host: host });
      assert.equal(r.status, 421, host);
      assert.equal(
        r.body.toString(),
        `this server answers only for 127.0.0.1:${port}, localhost:${port} and [::1]:${port}\n`,
      );
    }
  });

  test('bound to another address it does not check the name', async () => {
    const open = await serveStatic({ mounts: { '/': site }, host: '0.0.0.0' });
    try {
      const r = await request(open.origin.replace('0.0.0.0', '127.0.0.1'), '/', {
        Host: 'lab-machine.example:80',
      });
      assert.equal(r.status, 200);
    } finally {
      await open.close();
    }
  });
});

describe('serveStatic: validators', () => {
  test('ETag and Last-Modified; If-None-Match and If-Modified-Since give 304 without a body', async () => {
    const first = await request(server.origin, '/app.js');
    assert.equal(first.status, 200);
    const etag = first.headers.etag!;
    const lastModified = first.headers['last-modified']!;
    assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
    assert.ok(!Number.isNaN(Date.parse(lastModified)), lastModified);
    assert.equal(first.headers['cache-control'], 'no-cache');

    const again = await request(server.origin, '/app.js', { 'If-None-Match': `"other", ${etag}` });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    assert.equal(again.headers.etag, etag);
    assert.equal(again.headers['cross-origin-embedder-policy'], 'require-corp');
    assert.equal((await request(server.origin, '/app.js', { 'If-None-Match': '*' })).status, 304);
    assert.equal(
      (await request(server.origin, '/app.js', { 'If-None-Match': '"other"' })).status,
      200,
    );

    assert.equal(
      (await request(server.origin, '/app.js', { 'If-Modified-Since': lastModified })).status,
      304,
    );
    const earlier = new Date(Date.parse(lastModified) - 1000).toUTCString();
    assert.equal(
      (await request(server.origin, '/app.js', { 'If-Modified-Since': earlier })).status,
      200,
    );
    // If-None-Match wins over If-Modified-Since.
    const both = await request(server.origin, '/app.js', {
      'If-None-Match': '"other"',
      'If-Modified-Since': lastModified,
    });
    assert.equal(both.status, 200);
  });

  test('a changed file gets another ETag', async () => {
    const file = path.join(site, 'sub', 'page.txt');
    const before = (await request(server.origin, '/sub/page.txt')).headers.etag;
    await utimes(file, new Date(2001, 0, 1), new Date(2001, 0, 1));
    const after = (await request(server.origin, '/sub/page.txt')).headers.etag;
    assert.notEqual(after, before);
  });

  test('hashed assets are kept for good; the page, the service worker and the rest revalidate', async () => {
    const dir = path.join(root, 'hashed');
    await mkdir(path.join(dir, 'assets'), { recursive: true });
    const files = {
      'assets/app-AB12CD34.js': 'export {};\n',
      'assets/chunk-ZZ99YY88.js.LEGAL.txt': 'MIT\n',
      'assets/notes.txt': 'no hash in the name\n',
      'assets/app-ab12cd34.js': 'lower case: not a hash of the build\n',
      'app-AB12CD34.js': 'a hash, outside assets/\n',
      'sw.js': 'self;\n',
      'manifest.webmanifest': '{}\n',
      'index.html': '<!doctype html>\n',
    };
    for (const [f, text] of Object.entries(files)) await writeFile(path.join(dir, f), text);
    const hosted = await serveStatic({ mounts: { '/lab/app/': dir } });
    try {
      const cache = async (p: string) => {
        const answer = await request(hosted.origin, `/lab/app/${p}`);
        assert.equal(answer.status, 200, p);
        return answer.headers['cache-control'];
      };
      const immutable = 'public, max-age=31536000, immutable';
      assert.equal(await cache('assets/app-AB12CD34.js'), immutable);
      assert.equal(await cache('assets/chunk-ZZ99YY88.js.LEGAL.txt'), immutable);
      for (const p of [
        'assets/notes.txt',
        'assets/app-ab12cd34.js',
        'app-AB12CD34.js',
        'sw.js',
        '',
        'manifest.webmanifest',
      ]) {
        assert.equal(await cache(p), 'no-cache', p);
      }
      const manifest = await request(hosted.origin, '/lab/app/manifest.webmanifest');
      assert.equal(manifest.headers['content-type'], 'application/manifest+json');
      // A kept asset still has its validator, for a reload that asks anyway.
      assert.match(
        String((await request(hosted.origin, '/lab/app/assets/app-AB12CD34.js')).headers.etag),
        /^"/,
      );
    } finally {
      await hosted.close();
    }
  });
});

describe('precompressed siblings', () => {
  test('writePrecompressed writes .gz and .br of files that compress, equal once decompressed', async () => {
    const dir = path.join(root, 'compress');
    await mkdir(path.join(dir, 'model'), { recursive: true });
    await writeFile(path.join(dir, 'app.js'), script);
    await writeFile(path.join(dir, 'model', 'model.json'), JSON.stringify({ a: script }));
    await writeFile(path.join(dir, 'model', 'weights.bin'), randomBytes(4096));
    // Over PROBE_BYTES: tried on a sample first.
    await writeFile(path.join(dir, 'model', 'large.bin'), randomBytes(PROBE_BYTES * 1.5));
    await writeFile(path.join(dir, 'model', 'large.wasm'), script.repeat(200));
    await writeFile(path.join(dir, 'picture.png'), script);
    const result = await writePrecompressed(dir);
    assert.deepEqual((await readdir(dir)).sort(), [
      'app.js',
      'app.js.br',
      'app.js.gz',
      'model',
      'picture.png',
    ]);
    // Random bytes do not compress: no sibling.
    assert.deepEqual((await readdir(path.join(dir, 'model'))).sort(), [
      'large.bin',
      'large.wasm',
      'large.wasm.br',
      'large.wasm.gz',
      'model.json',
      'model.json.br',
      'model.json.gz',
      'weights.bin',
    ]);
    const large = await readFile(path.join(dir, 'model', 'large.wasm'));
    assert.deepEqual(
      zlib.gunzipSync(await readFile(path.join(dir, 'model', 'large.wasm.gz'))),
      large,
    );
    const js = await readFile(path.join(dir, 'app.js'));
    assert.deepEqual(zlib.gunzipSync(await readFile(path.join(dir, 'app.js.gz'))), js);
    assert.deepEqual(zlib.brotliDecompressSync(await readFile(path.join(dir, 'app.js.br'))), js);
    const row = result.files.find((f) => f.file === 'app.js')!;
    assert.equal(row.bytes, js.length);
    assert.ok(row.br! < row.bytes / 4 && row.gzip! < row.bytes / 4, JSON.stringify(row));
    assert.deepEqual(
      result.files.map((f) => f.file).sort(),
      [
        'app.js',
        ...['large.bin', 'large.wasm', 'model.json', 'weights.bin'].map((f) =>
          path.join('model', f),
        ),
      ].sort(),
    );
  });

  test("served by Accept-Encoding with the original type, Vary, and the sibling's length", async () => {
    const cases: [string | undefined, string | undefined, string][] = [
      ['gzip, deflate, br', 'br', 'app.js.br'],
      ['gzip', 'gzip', 'app.js.gz'],
      ['br;q=0, gzip;q=0.5', 'gzip', 'app.js.gz'],
      ['*', 'br', 'app.js.br'],
      ['br;q=0.5, gzip;q=1', 'gzip', 'app.js.gz'],
      ['identity', undefined, 'app.js'],
      [undefined, undefined, 'app.js'],
    ];
    for (const [accept, encoding, file] of cases) {
      const r = await request(
        server.origin,
        '/app.js',
        accept === undefined ? {} : { 'Accept-Encoding': accept },
      );
      const bytes = await readFile(path.join(site, file));
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-encoding'], encoding, String(accept));
      assert.equal(r.headers['content-type'], 'text/javascript; charset=utf-8');
      assert.equal(r.headers.vary, 'Accept-Encoding');
      assert.equal(r.headers['content-length'], String(bytes.length));
      assert.deepEqual(r.body, bytes, String(accept));
    }
    const head = await request(server.origin, '/app.js', { 'Accept-Encoding': 'br' }, 'HEAD');
    assert.equal(head.headers['content-encoding'], 'br');
    assert.equal(head.body.length, 0);
    // Each representation has its own validator.
    const br = await request(server.origin, '/app.js', { 'Accept-Encoding': 'br' });
    const plain = await request(server.origin, '/app.js');
    assert.notEqual(br.headers.etag, plain.headers.etag);
    const cached = await request(server.origin, '/app.js', {
      'Accept-Encoding': 'br',
      'If-None-Match': br.headers.etag!,
    });
    assert.equal(cached.status, 304);
    assert.equal(cached.headers.vary, 'Accept-Encoding');
  });

  test('a sibling older than its file, or reached by a link out of the folder, is not served', async () => {
    await writeFile(path.join(site, 'old.js'), script);
    await writeFile(path.join(site, 'old.js.gz'), zlib.gzipSync('stale'));
    await utimes(path.join(site, 'old.js.gz'), new Date(2001, 0, 1), new Date(2001, 0, 1));
    const stale = await request(server.origin, '/old.js', { 'Accept-Encoding': 'gzip' });
    assert.equal(stale.headers['content-encoding'], undefined);
    assert.equal(stale.body.toString(), script);

    await writeFile(path.join(root, 'outside', 'linked.js.gz'), zlib.gzipSync('outside'));
    await writeFile(path.join(site, 'linked.js'), script);
    await symlink(path.join(root, 'outside', 'linked.js.gz'), path.join(site, 'linked.js.gz'));
    const linked = await request(server.origin, '/linked.js', { 'Accept-Encoding': 'gzip' });
    assert.equal(linked.headers['content-encoding'], undefined);
    assert.equal(linked.body.toString(), script);
  });
});

describe('ftunet app --serve under ulimit -n 256', () => {
  let model: string;
  before(async () => {
    await useBackend('cpu');
    model = path.join(root, 'model');
    const m = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 2 });
    await saveModel(m, model);
    m.dispose();
  });

  test('300 cut-off and 100 just-finished downloads leave no descriptor open; the next request is answered', async (t) => {
    if (process.platform !== 'linux') return t.skip('descriptors are counted in /proc/PID/fd');
    const served = await startLimitedServer({ model, out: path.join(root, 'app'), limit: 256 });
    try {
      const start = openDescriptors(served.pid);
      for (let i = 0; i < 300; i++) {
        const r = await rawDownload(served.url, LARGE_FILE, 'early');
        assert.ok(r.ok && r.status === 200, `cut-off download ${i + 1}: ${JSON.stringify(r)}`);
      }
      const script = await pageScript(path.join(root, 'app'));
      for (let i = 0; i < 100; i++) {
        const r = await rawDownload(served.url, script, 'end');
        assert.ok(r.ok && r.status === 200, `finished download ${i + 1}: ${JSON.stringify(r)}`);
      }
      const next = await rawDownload(served.url, '/index.html', 'never');
      assert.ok(next.ok && next.status === 200 && next.bytes > 0, JSON.stringify(next));
      assert.equal(await settleDescriptors(served.pid, start), start);
      // The app was written with its siblings: the wasm binary is served brotli-compressed.
      const br = await request(served.url.origin, LARGE_FILE, { 'Accept-Encoding': 'br' }, 'HEAD');
      assert.equal(br.headers['content-encoding'], 'br');
    } finally {
      served.stop();
    }
  });
});
