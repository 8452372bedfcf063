/**
 * `ftunet app` without a browser: the folder it writes (page, script, wasm binaries, the model
 * with its recipe, only relative URLs), replacing its own earlier app but nothing else,
 * `--quantize`, and one-line errors with exit 2.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { saveModel } from '../../src/io/model_files.js';
import { buildModel } from '../../src/models/build.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { useBackend } from '../helpers.js';
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
      'app.js',
      'app.js.LEGAL.txt',
      'ftunet-app.json',
      'index.html',
      'model',
      'style.css',
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
    assert.deepEqual(urls, ['data:,', 'style.css', 'app.js']);
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
