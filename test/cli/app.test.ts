/**
 * `ftunet app` without a browser: the folder it writes (page, script, wasm binaries, the model
 * with its recipe, only relative URLs), replacing its own earlier app but nothing else,
 * `--quantize`, and one-line errors with exit 2.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, readdir, readFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { saveModel } from '../../src/io/model_files.js';
import { buildModel } from '../../src/models/build.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { hashTree } from '../experiments/tree.js';
import { useBackend } from '../helpers.js';
import { deadPid } from '../io/faults.js';
import { runCli } from './run.js';

let root: string;
let model: string;
before(async () => {
  await useBackend('cpu');
  root = await makeTemp('ftunet-app-cli-');
  model = path.join(root, 'model');
  const m = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 2 });
  await saveModel(m, model);
  m.dispose();
});
after(() => removeTemp(root));

interface Written {
  out: string;
  bytes: number;
  modelBytes: number;
  export: { model: string; quantization: string };
}

describe('ftunet app', () => {
  test('writes the page, its script, the wasm binaries and the model with its recipe', async () => {
    const out = path.join(root, 'app');
    const r = runCli(['app', '--model', model, '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const written = JSON.parse(r.stdout) as Written;
    assert.equal(written.out, out);
    assert.equal(written.export.model, 'attn_reg');
    // Beside the files, their precompressed .br/.gz siblings (test/app/serve.test.ts).
    const original = (f: string) => !/\.(br|gz)$/.test(f);
    assert.deepEqual((await readdir(out)).filter(original).sort(), [
      'assets',
      'ftunet-app.json',
      'index.html',
      'manifest.webmanifest',
      'model',
      'sw.js',
      'wasm',
    ]);
    assert.deepEqual((await readdir(path.join(out, 'wasm'))).filter(original).sort(), [
      'ort-wasm-simd-threaded.mjs',
      'ort-wasm-simd-threaded.wasm',
      'tfjs-backend-wasm-simd.wasm',
      'tfjs-backend-wasm-threaded-simd.wasm',
      'tfjs-backend-wasm.wasm',
    ]);
    const json = JSON.parse(await readFile(path.join(out, 'model', 'model.json'), 'utf8')) as {
      userDefinedMetadata: {
        ftunetExport: { predict: { inputShape: number[]; threshold: number } };
      };
    };
    assert.deepEqual(json.userDefinedMetadata.ftunetExport.predict.inputShape, [32, 32, 1]);
    assert.equal(json.userDefinedMetadata.ftunetExport.predict.threshold, 0.5);
    // Every URL of the page is relative: the folder works under any path, and asks nothing
    // of any other host.
    const html = await readFile(path.join(out, 'index.html'), 'utf8');
    const urls = [...html.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1]);
    // The hashed assets (kept for good by caches), the manifest, and links inside the page.
    for (const url of urls) {
      assert.match(url, /^(assets\/[\w.-]+|manifest\.webmanifest|#[\w-]+)$/, url);
      if (!url.startsWith('#')) await readFile(path.join(out, url));
    }
    assert.ok(
      urls.some((u) => /^assets\/app-[\w]+\.js$/.test(u)),
      `the page's script: ${urls.join(' ')}`,
    );
    assert.ok(written.modelBytes > 0 && written.bytes > written.modelBytes);
  });

  test('replaces an app it wrote; refuses any other folder and leaves it as it was', async () => {
    const out = path.join(root, 'again');
    assert.equal(runCli(['app', '--model', model, '--out', out]).code, 0);
    const r = runCli(['app', '--model', model, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^wrote the web app of attn_reg to .*again \(\d+\.\d MiB, of which the model in model\/: \d+\.\d MiB\); host the folder on any static file server\n$/,
    );
    const other = path.join(root, 'mine');
    await mkdir(other);
    await writeFile(path.join(other, 'notes.txt'), 'keep me');
    const refused = runCli(['app', '--model', model, '--out', other]);
    assert.equal(refused.code, 2);
    assert.equal(
      refused.stderr,
      `ftunet: --out ${other} is not an app written by ftunet app (no ftunet-app.json; it holds notes.txt): choose another --out\n`,
    );
    assert.deepEqual(await readdir(other), ['notes.txt']);
    assert.equal(await readFile(path.join(other, 'notes.txt'), 'utf8'), 'keep me');
    assert.deepEqual(
      (await readdir(root)).filter((f) => f.includes('.tmp-')),
      [],
    );
  });

  test('--quantize uint8 stores the model in a quarter of the space', async () => {
    const plain = JSON.parse(
      runCli(['app', '--model', model, '--out', path.join(root, 'p'), '--json']).stdout,
    ) as Written;
    const r = runCli([
      'app',
      '--model',
      model,
      '--out',
      path.join(root, 'q'),
      '--quantize',
      'uint8',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const small = JSON.parse(r.stdout) as Written;
    assert.equal(small.export.quantization, 'uint8');
    assert.ok(
      small.modelBytes < plain.modelBytes / 2,
      `${small.modelBytes} vs ${plain.modelBytes}`,
    );
  });

  test('bad input: one line on stderr, exit 2', () => {
    const cases: [string[], RegExp][] = [
      [['app', '--model', path.join(root, 'nope')], /^ftunet: .*nope.*\n$/],
      [
        ['app', '--model', model, '--port', '70000'],
        /^ftunet app: option '--port <n>' argument '70000' is invalid\. Expected an integer from 0 to 65535\. \(see --help\)\n$/,
      ],
      [['app', '--model', model, '--quantize', 'int4'], /^ftunet app: .*int4.*\n$/],
      [['app'], /^ftunet app: required option '--model <dir>' not specified \(see --help\)\n$/],
    ];
    for (const [args, message] of cases) {
      const r = runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });
});

describe('ftunet app --out: what it replaces and what it keeps (issue 20)', () => {
  const notOurs = (out: string, holds: string) =>
    `ftunet: --out ${out} is not an app written by ftunet app (no ftunet-app.json; ` +
    `it holds ${holds}): choose another --out\n`;

  test("another run's best/, a checkpoint, a link into a run: exit 2, untouched (item 1)", async () => {
    const run = path.join(root, 'other-run');
    const best = path.join(run, 'best');
    const epoch = path.join(run, 'checkpoint', 'epoch-0001');
    const m = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 3 });
    await saveModel(m, best);
    await saveModel(m, epoch);
    m.dispose();
    await writeFile(path.join(epoch, 'state.json'), '{"epoch":1}');
    const link = path.join(root, 'link-to-best');
    await symlink(best, link);
    const weights = (await readdir(best)).find((n) => n.startsWith('weights-'))!;
    const before = await hashTree(run);
    const cases: Array<[string, string]> = [
      [best, notOurs(best, `model.json, ${weights}`)],
      [epoch, notOurs(epoch, `model.json, state.json, ${weights}`)],
      [link, notOurs(`${link} (${best})`, `model.json, ${weights}`)],
    ];
    for (const [out, message] of cases) {
      const r = runCli(['app', '--model', model, '--out', out]);
      assert.deepEqual([r.code, r.stderr], [2, message], out);
    }
    assert.deepEqual(await hashTree(run), before);
    assert.ok((await lstat(link)).isSymbolicLink());
  });

  test('through a link to its earlier app: the app behind the link is rewritten (item 1)', async () => {
    const real = path.join(root, 'real-app');
    assert.equal(runCli(['app', '--model', model, '--out', real]).code, 0);
    await writeFile(path.join(real, 'index.html'), 'stale');
    const link = path.join(root, 'app-link');
    await symlink(real, link);
    const r = runCli(['app', '--model', model, '--out', link, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await lstat(link)).isSymbolicLink(), 'the link is still a link');
    assert.match(await readFile(path.join(real, 'index.html'), 'utf8'), /^<!doctype html>/i);
  });

  test('a re-run keeps the files the user added and drops those it wrote before (item 2)', async () => {
    const out = path.join(root, 'keep');
    assert.equal(runCli(['app', '--model', model, '--out', out]).code, 0);
    const mine: Record<string, string> = {
      _headers: '/*\n  Cross-Origin-Opener-Policy: same-origin\n',
      'about.html': '<p>about</p>',
      'extra/more.html': '<p>more</p>',
      'wasm/README': 'my note beside the binaries',
    };
    for (const [rel, text] of Object.entries(mine)) {
      await mkdir(path.dirname(path.join(out, rel)), { recursive: true });
      await writeFile(path.join(out, rel), text);
    }
    // A file an earlier version of the app wrote (its marker lists it) that this one does not.
    const markerFile = path.join(out, 'ftunet-app.json');
    const marker = JSON.parse(await readFile(markerFile, 'utf8')) as { files: string[] };
    await writeFile(markerFile, JSON.stringify({ ...marker, files: [...marker.files, 'old.js'] }));
    await writeFile(path.join(out, 'old.js'), 'an earlier chunk');
    const r = runCli(['app', '--model', model, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    for (const [rel, text] of Object.entries(mine)) {
      assert.equal(await readFile(path.join(out, rel), 'utf8'), text, rel);
    }
    assert.ok(!existsSync(path.join(out, 'old.js')));
    const again = JSON.parse(await readFile(markerFile, 'utf8')) as { files: string[] };
    assert.deepEqual(again.files, marker.files, 'the marker lists what the app wrote, only');

    // An app written before the marker listed its files: its model/ is the old model's.
    await writeFile(markerFile, JSON.stringify({ app: 'focal-tversky-unet', model: 'attn_reg' }));
    await writeFile(path.join(out, 'model', 'weights-0123456789abcdef.bin'), 'an older model');
    const legacy = runCli(['app', '--model', model, '--out', out]);
    assert.equal(legacy.code, 0, legacy.stderr);
    for (const [rel, text] of Object.entries(mine)) {
      assert.equal(await readFile(path.join(out, rel), 'utf8'), text, rel);
    }
    assert.ok(!existsSync(path.join(out, 'model', 'weights-0123456789abcdef.bin')));

    // A file of the user's where the app now writes one: refused, nothing changed.
    const listed = JSON.parse(await readFile(markerFile, 'utf8')) as { files: string[] };
    await writeFile(
      markerFile,
      JSON.stringify({ ...listed, files: listed.files.filter((f) => f !== 'index.html') }),
    );
    const before = await hashTree(out);
    const clash = runCli(['app', '--model', model, '--out', out]);
    assert.deepEqual(
      [clash.code, clash.stderr],
      [
        2,
        `ftunet: --out ${out} holds index.html, which ftunet app did not write and would ` +
          'replace: move it away or choose another --out\n',
      ],
    );
    assert.deepEqual(await hashTree(out), before);
    assert.deepEqual(
      (await readdir(root)).filter((n) => n.startsWith('.keep.')),
      [],
    );
  });

  test("the sweep removes this --out's temporaries of dead processes, no others (item 2)", async () => {
    const parent = path.join(root, 'sweep');
    const out = path.join(parent, 'app');
    assert.equal(runCli(['app', '--model', model, '--out', out]).code, 0);
    const dead = await deadPid();
    const ours = [`.app.tmp-${dead}`, `.app.old-${dead}`];
    const others = [
      `.other.tmp-${dead}`,
      `.notes.txt.tmp-${dead}-0a1b2c3d`,
      `.app.tmp-${process.pid}`,
    ];
    for (const name of [...ours, ...others]) {
      await mkdir(path.join(parent, name));
      await writeFile(path.join(parent, name, 'index.html'), 'x');
    }
    const r = runCli(['app', '--model', model, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await readdir(parent)).sort(), [...others, 'app'].sort());
  });

  test('killed between moving the old app aside and moving the new one in: the old one is kept and restored (item 2)', async () => {
    const out = path.join(root, 'killed');
    assert.equal(runCli(['app', '--model', model, '--out', out]).code, 0);
    await writeFile(path.join(out, '_headers'), 'mine');
    const before = await hashTree(out);
    const src = (file: string) =>
      JSON.stringify(new URL(`../../src/${file}`, import.meta.url).href);
    const script = path.join(root, 'kill-swap.mjs');
    await writeFile(
      script,
      `const { initBackend } = await import(${src('backend/select.js')});
      const { injectSwapFault } = await import(${src('io/output_folder.js')});
      const { writeApp } = await import(${src('app/write.js')});
      await initBackend({ backend: 'cpu' });
      injectSwapFault(() => process.kill(process.pid, 'SIGKILL'));
      await writeApp({ model: ${JSON.stringify(model)}, out: ${JSON.stringify(out)} });`,
    );
    const killed = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(killed.signal, 'SIGKILL', `the child was not killed: ${killed.stderr}`);
    // The old app whole under its owned aside name, the new one whole beside it.
    const left = (await readdir(root)).filter((n) => n.startsWith('.killed.')).sort();
    assert.deepEqual(left, [`.killed.old-${killed.pid}`, `.killed.tmp-${killed.pid}`]);
    assert.deepEqual(await hashTree(path.join(root, left[0])), before);
    assert.ok(existsSync(path.join(root, left[1], 'ftunet-app.json')));
    // The next run restores the old app, then replaces it as usual.
    const r = runCli(['app', '--model', model, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readFile(path.join(out, '_headers'), 'utf8'), 'mine');
    assert.deepEqual(
      (await readdir(root)).filter((n) => n.startsWith('.killed.')),
      [],
    );
  });

  test('the folder holds no absolute path of this machine (item 7)', async () => {
    const out = path.join(root, 'published');
    const r = runCli(['app', '--model', model, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const repo = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
    const local = [model, out, root, repo];
    const walk = async (dir: string): Promise<string[]> => {
      const files: string[] = [];
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        files.push(...(e.isDirectory() ? await walk(p) : [p]));
      }
      return files;
    };
    const files = await walk(out);
    assert.ok(files.length >= 10, files.join(' '));
    for (const file of files) {
      let bytes = await readFile(file);
      if (file.endsWith('.gz')) bytes = gunzipSync(bytes);
      if (file.endsWith('.br')) bytes = brotliDecompressSync(bytes);
      const text = bytes.toString('latin1');
      for (const p of local) {
        assert.ok(!text.includes(p), `${path.relative(out, file)} holds ${p}`);
      }
    }
  });
});
