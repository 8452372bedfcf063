/**
 * A model folder is data, not instructions: `predict`, `export` and `app` on a model.json whose
 * weights path leads out of its folder (`..`, a link out, /dev/zero), names a FIFO or a file of
 * the wrong size exit 2 with one line that names neither the outside file's size nor its bytes,
 * at once (no hang, no memory growth), and write nothing.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, symlink, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { saveModel } from '../../src/io/model_files.js';
import { buildModel } from '../../src/models/build.js';
import { makeTemp, removeTemp, greyPattern, writeRaw } from '../data/fixtures.js';
import { useBackend } from '../helpers.js';
import { weightsFileOf } from '../io/damage.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

let root: string;
let model: string;
let image: string;
/** The weights file of `model`, by name, and its bytes. */
let weightsName: string;
let weights: Buffer;

before(async () => {
  await useBackend('cpu');
  root = await makeTemp('ftunet-model-folder-');
  model = path.join(root, 'model');
  const m = buildModel('unet', { inputShape: [16, 16, 1], width: 0.125, seed: 3 });
  await saveModel(m, model);
  m.dispose();
  const file = await weightsFileOf(model);
  weightsName = path.basename(file);
  weights = await readFile(file);
  image = path.join(root, 'image.png');
  await writeRaw(image, greyPattern(16, 16), 16, 16, 1);
});
after(() => removeTemp(root));

/**
 * Runs the CLI; a child that does not end within 30 s is killed (SIGKILL: a read blocked on a
 * FIFO outlives SIGTERM) and reported with code 'timed out'.
 */
function cli(args: string[]): Promise<{ code: number | string | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: signal === 'SIGKILL' ? 'timed out' : code, stderr });
    });
  });
}

/** A copy of the model folder whose model.json names `paths` as its weights (digest kept). */
async function folderWith(name: string, paths: string[]): Promise<string> {
  const folder = path.join(root, name);
  await mkdir(folder);
  const json = JSON.parse(await readFile(path.join(model, 'model.json'), 'utf8')) as {
    weightsManifest: Array<{ paths: string[] }>;
    weightsSha256: Record<string, string>;
  };
  json.weightsManifest[0].paths = paths;
  json.weightsSha256 = { [paths[0]]: json.weightsSha256[weightsName] };
  await writeFile(path.join(folder, 'model.json'), JSON.stringify(json));
  return folder;
}

describe('a model folder whose weights are not its own files', () => {
  const cases: Array<{ name: string; make: () => Promise<{ folder: string; why: string }> }> = [
    {
      // The model's own weights, moved out: today they are read and published.
      name: "a '..' path",
      make: async () => {
        await writeFile(path.join(root, 'outside.bin'), weights);
        const folder = await folderWith('dotdot', ['../outside.bin']);
        return { folder, why: "weights file '../outside.bin' is not inside the model folder" };
      },
    },
    {
      name: 'a link out of the folder',
      make: async () => {
        const folder = await folderWith('link-out', ['weights.bin']);
        await symlink(path.join(root, 'outside.bin'), path.join(folder, 'weights.bin'));
        return {
          folder,
          why: "weights file 'weights.bin' is a link to a file outside the model folder",
        };
      },
    },
    {
      name: '/dev/zero reached by ..',
      make: async () => {
        const up = path.relative(path.join(root, 'zero'), '/dev/zero');
        const folder = await folderWith('zero', [up]);
        return { folder, why: `weights file '${up}' is not inside the model folder` };
      },
    },
    {
      name: 'a FIFO',
      make: async () => {
        const folder = await folderWith('fifo', ['weights.bin']);
        await promisify(execFile)('mkfifo', [path.join(folder, 'weights.bin')]);
        return { folder, why: "weights file 'weights.bin' is not a regular file (a FIFO)" };
      },
    },
    {
      name: 'a weights file of the wrong size',
      make: async () => {
        const folder = await folderWith('sparse', [weightsName]);
        const file = path.join(folder, weightsName);
        await writeFile(file, weights);
        await truncate(file, 2 ** 32); // sparse: 4 GiB that are never read
        return {
          folder,
          why: `weights hold ${2 ** 32} bytes, model.json describes ${weights.length}`,
          file,
        };
      },
    },
  ];
  const made = new Map<string, { folder: string; why: string; file?: string }>();
  before(async () => {
    for (const c of cases) made.set(c.name, await c.make());
  });

  /** The one line of a refusal. */
  function expected(c: { folder: string; why: string; file?: string }): string {
    return `ftunet: ${c.file ?? path.join(c.folder, 'model.json')} is damaged: ${c.why}\n`;
  }

  for (const c of cases) {
    test(`predict: ${c.name} is exit 2 with one line; nothing is written`, async () => {
      const m = made.get(c.name)!;
      const out = path.join(root, `predict-${path.basename(m.folder)}`);
      const r = await cli(['predict', '--model', m.folder, '--out', out, '--quiet', image]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr, expected(m));
      assert.ok(!existsSync(out), `${out} was written`);
    });
  }

  for (const name of ["a '..' path", 'a FIFO']) {
    test(`export and app: ${name} is exit 2 with one line; nothing is written`, async () => {
      const m = made.get(name)!;
      const before = (await readdir(root)).sort();
      const exported = path.join(root, `export-${path.basename(m.folder)}`);
      const e = await cli(['export', '--model', m.folder, '--out', exported]);
      assert.equal(e.code, 2, e.stderr);
      assert.equal(e.stderr, expected(m));
      const app = path.join(root, `app-${path.basename(m.folder)}`);
      const a = await cli(['app', '--model', m.folder, '--out', app]);
      assert.equal(a.code, 2, a.stderr);
      assert.equal(a.stderr, expected(m));
      assert.deepEqual((await readdir(root)).sort(), before, 'nothing new beside the folders');
      assert.deepEqual(
        (await readdir(m.folder)).sort(),
        ['model.json', ...(name === 'a FIFO' ? ['weights.bin'] : [])],
        'nothing new in the model folder',
      );
    });
  }

  test('the intact folder predicts and exports (the control)', async () => {
    const p = await cli([
      'predict',
      '--model',
      model,
      '--out',
      path.join(root, 'p'),
      '--quiet',
      image,
    ]);
    assert.equal(p.code, 0, p.stderr);
    const e = await cli(['export', '--model', model, '--out', path.join(root, 'e')]);
    assert.equal(e.code, 0, e.stderr);
  });
});
