import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, afterEach, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { DamagedFileError, DiskFullError } from '../../src/errors.js';
import { loadModel, saveModel } from '../../src/io/model_files.js';
import { checkModelTopology } from '../../src/io/model_topology.js';
import { buildModel } from '../../src/models/build.js';
import { useBackend } from '../helpers.js';
import { clearFaults, deadPid, failWrites } from './faults.js';
import { flipByte, weightsFileOf } from './damage.js';

const MISMATCH = 'is damaged: its content does not match the hash recorded when it was written';

let dir: string;
let saved: string;
before(async () => {
  await useBackend('cpu');
  dir = await mkdtemp(path.join(tmpdir(), 'ftunet-modelfiles-'));
  saved = path.join(dir, 'saved');
  const model = buildModel('unet', { inputShape: [16, 16, 1], width: 0.125, seed: 1 });
  await saveModel(model, saved);
  model.dispose();
});
after(() => rm(dir, { recursive: true, force: true }));
afterEach(clearFaults);

/** A copy of the saved model folder under a new name. */
async function copyOfSaved(name: string): Promise<string> {
  const copy = path.join(dir, name);
  await mkdir(copy);
  for (const f of await readdir(saved)) {
    await writeFile(path.join(copy, f), await readFile(path.join(saved, f)));
  }
  return copy;
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
}

describe('weights integrity', () => {
  test('model.json records the whole SHA-256 of the weights file named by its first 16', async () => {
    const file = await weightsFileOf(saved);
    const digest = createHash('sha256')
      .update(await readFile(file))
      .digest('hex');
    assert.equal(path.basename(file), `weights-${digest.slice(0, 16)}.bin`);
    const json = await readJson(path.join(saved, 'model.json'));
    assert.deepEqual(json.weightsSha256, { [path.basename(file)]: digest });
  });

  test('a damaged weights file is a DamagedFileError naming it', async () => {
    const folder = await copyOfSaved('flipped');
    const file = await weightsFileOf(folder);
    await flipByte(file);
    const before = tf.memory().numTensors;
    await assert.rejects(
      loadModel(folder),
      (e: unknown) => e instanceof DamagedFileError && e.message === `${file} ${MISMATCH}`,
    );
    assert.equal(tf.memory().numTensors, before);
  });

  test('without a recorded digest, the digest in the name is checked', async () => {
    const folder = await copyOfSaved('no-digest');
    const jsonFile = path.join(folder, 'model.json');
    const json = await readJson(jsonFile);
    delete json.weightsSha256;
    await writeFile(jsonFile, JSON.stringify(json));
    const model = await loadModel(folder);
    model.dispose();
    const file = await weightsFileOf(folder);
    await flipByte(file);
    await assert.rejects(loadModel(folder), { message: `${file} ${MISMATCH}` });
  });

  test('a model from elsewhere, with neither, still loads', async () => {
    const folder = await copyOfSaved('elsewhere');
    const jsonFile = path.join(folder, 'model.json');
    const json = await readJson(jsonFile);
    delete json.weightsSha256;
    (json.weightsManifest as Array<{ paths: string[] }>)[0].paths = ['group1-shard1of1.bin'];
    await writeFile(jsonFile, JSON.stringify(json));
    await rename(await weightsFileOf(folder), path.join(folder, 'group1-shard1of1.bin'));
    const model = await loadModel(folder);
    assert.equal(model.inputs[0].shape.join(','), ',16,16,1');
    model.dispose();
  });

  test('a malformed digest field is an error naming model.json', async () => {
    const folder = await copyOfSaved('bad-digest');
    const jsonFile = path.join(folder, 'model.json');
    const json = await readJson(jsonFile);
    json.weightsSha256 = { 'weights-x.bin': 'abc' };
    await writeFile(jsonFile, JSON.stringify(json));
    await assert.rejects(loadModel(folder), {
      message:
        `${jsonFile} is damaged: "weightsSha256" must map file names to SHA-256 digests ` +
        '(64 hex digits)',
    });
  });
  test('a malformed weights manifest is an error naming model.json and the field', async () => {
    const folder = await copyOfSaved('bad-manifest');
    const jsonFile = path.join(folder, 'model.json');
    const json = (await readJson(jsonFile)) as {
      weightsManifest: Array<{ weights: Array<{ shape: unknown }> }>;
    };
    json.weightsManifest[0].weights[2].shape = [3, 'x'];
    await writeFile(jsonFile, JSON.stringify(json));
    await assert.rejects(loadModel(folder), {
      message:
        `${jsonFile} is damaged: "weightsManifest[0].weights[2]" must have a "name", a ` +
        '"dtype" and a "shape" of sizes >= 0',
    });
    delete (json.weightsManifest[0] as { paths?: unknown }).paths;
    await writeFile(jsonFile, JSON.stringify(json));
    await assert.rejects(loadModel(folder), {
      message: `${jsonFile} is damaged: "weightsManifest[0].paths" must be a list of file names`,
    });
  });

  test('a layer tfjs-layers cannot build is an error naming model.json', async () => {
    const folder = await copyOfSaved('unknown-class');
    const jsonFile = path.join(folder, 'model.json');
    const json = (await readJson(jsonFile)) as {
      modelTopology: { config: { layers: Array<{ class_name: string }> } };
    };
    json.modelTopology.config.layers[1].class_name = 'NoSuchLayer';
    await writeFile(jsonFile, JSON.stringify(json));
    await assert.rejects(
      loadModel(folder),
      (e: unknown) =>
        e instanceof DamagedFileError &&
        e.message ===
          `${jsonFile} is damaged: tfjs-layers cannot build it: Unknown layer: NoSuchLayer.`,
    );
  });
});

describe('saving a model folder', () => {
  test('a full disk is a DiskFullError; the folder still loads its previous model', async () => {
    const folder = await copyOfSaved('full');
    const before = (await readdir(folder)).sort();
    const model = buildModel('unet', { inputShape: [16, 16, 1], width: 0.125, seed: 2 });
    failWrites((f) => f.includes(`${path.sep}full${path.sep}`) && f.includes('weights-'));
    try {
      await assert.rejects(
        saveModel(model, folder),
        (e: unknown) =>
          e instanceof DiskFullError &&
          /^no space left on device writing .*[/\\]full[/\\]weights-[0-9a-f]{16}\.bin$/.test(
            e.message,
          ),
      );
    } finally {
      clearFaults();
      model.dispose();
    }
    assert.deepEqual((await readdir(folder)).sort(), before);
    (await loadModel(folder)).dispose();
  });

  test('saving sweeps temporaries of dead processes and keeps those of this one', async () => {
    const folder = await copyOfSaved('sweep');
    const dead = await deadPid();
    const stale = [
      `.weights-0011223344556677.bin.tmp-${dead}-0a0b0c0d`,
      `.model.json.tmp-${dead}-01`,
    ];
    const live = `.model.json.tmp-${process.pid}-02`;
    for (const name of [...stale, live]) await writeFile(path.join(folder, name), 'x');
    const model = await loadModel(folder);
    await saveModel(model, folder);
    model.dispose();
    const names = await readdir(folder);
    for (const name of stale) assert.ok(!names.includes(name), `${name} was not removed`);
    assert.ok(names.includes(live));
  });
});

/** A functional topology of four layers: input -> a -> b -> out. */
function chain(): Record<string, unknown> {
  const layer = (cls: string, name: string, input?: string) => ({
    class_name: cls,
    name,
    config: { name },
    inbound_nodes: input === undefined ? [] : [[[input, 0, 0, {}]]],
  });
  return {
    class_name: 'Model',
    config: {
      name: 'chain',
      layers: [
        layer('InputLayer', 'input'),
        layer('Conv2D', 'a', 'input'),
        layer('Activation', 'b', 'a'),
        layer('Conv2D', 'out', 'b'),
      ],
      input_layers: [['input', 0, 0]],
      output_layers: [['out', 0, 0]],
    },
  };
}

type Layers = Array<{ name: string; class_name?: string; inbound_nodes: unknown[] }>;
const F = 'run/best/model.json';

describe('checkModelTopology', () => {
  const cases: Array<{
    name: string;
    edit: (t: { config: Record<string, unknown> }) => void;
    message: string;
  }> = [
    {
      name: 'a layer removed',
      edit: (t) => {
        (t.config.layers as Layers).splice(2, 1);
      },
      message: `${F} is damaged: layer 'out' takes its input from layer 'b', which is not in the model`,
    },
    {
      name: 'a node index past the end',
      edit: (t) => {
        (t.config.layers as Layers)[3].inbound_nodes = [[['b', 1, 0, {}]]];
      },
      message:
        `${F} is damaged: layer 'out' takes its input from node 1 of layer 'b', which is never ` +
        'made (a cycle or a missing call)',
    },
    {
      name: 'a cycle',
      edit: (t) => {
        (t.config.layers as Layers)[1].inbound_nodes = [[['b', 0, 0, {}]]];
      },
      message:
        `${F} is damaged: layer 'a' takes its input from node 0 of layer 'b', which is never ` +
        'made (a cycle or a missing call)',
    },
    {
      name: 'an output layer removed',
      edit: (t) => {
        t.config.output_layers = [['final', 0, 0]];
      },
      message: `${F} is damaged: "output_layers" names layer 'final', which is not in the model`,
    },
    {
      name: 'no input layers',
      edit: (t) => {
        delete t.config.input_layers;
      },
      message: `${F} is damaged: "modelTopology.config.input_layers" is missing`,
    },
    {
      name: 'an empty list of output layers',
      edit: (t) => {
        t.config.output_layers = [];
      },
      message: `${F} is damaged: "modelTopology.config.output_layers" must be a non-empty list, got []`,
    },
    {
      name: 'a layer without a class name',
      edit: (t) => {
        delete (t.config.layers as Layers)[2].class_name;
      },
      message: `${F} is damaged: "modelTopology.config.layers.2.class_name" is missing`,
    },
    {
      name: 'two layers of one name',
      edit: (t) => {
        (t.config.layers as Layers)[2].name = 'a';
      },
      message: `${F} is damaged: two layers are named 'a'`,
    },
    {
      name: 'an input that is not [layer, node, tensor]',
      edit: (t) => {
        (t.config.layers as Layers)[1].inbound_nodes = [[['input', '0']]];
      },
      message:
        `${F} is damaged: "modelTopology.config.layers.1.inbound_nodes.0.0" must be ` +
        '[layer, node, tensor], got ["input","0"]',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const topology = chain() as { config: Record<string, unknown> };
      checkModelTopology(topology, F); // intact: no error
      c.edit(topology);
      assert.throws(
        () => checkModelTopology(topology, F),
        (e: unknown) => e instanceof DamagedFileError && e.message === c.message,
      );
    });
  }

  test('the saved attention U-Net passes', async () => {
    const folder = path.join(dir, 'attn');
    const model = buildModel('attn_reg_ds', { inputShape: [16, 16, 1], width: 0.125 });
    await saveModel(model, folder);
    model.dispose();
    const json = await readJson(path.join(folder, 'model.json'));
    assert.doesNotThrow(() => checkModelTopology(json.modelTopology, F));
  });

  test('loading a model.json with a layer removed ends quickly with the layer named', async () => {
    const folder = await copyOfSaved('removed');
    const jsonFile = path.join(folder, 'model.json');
    const json = (await readJson(jsonFile)) as { modelTopology: { config: { layers: Layers } } };
    const layers = json.modelTopology.config.layers;
    const i = layers.findIndex((l) => l.name === 'conv1_1_bn');
    assert.ok(i > 0, 'the fixture has a layer conv1_1_bn');
    layers.splice(i, 1);
    await writeFile(jsonFile, JSON.stringify(json));
    // tfjs-layers would spin forever on this file, and a spin blocks this thread's timers:
    // load it in a child process that a timeout kills.
    const moduleUrl = new URL('../../src/io/model_files.js', import.meta.url).href;
    const backendUrl = new URL('../../src/backend/select.js', import.meta.url).href;
    const script =
      `const { initBackend } = await import(${JSON.stringify(backendUrl)});` +
      "await initBackend({ backend: 'cpu' });" +
      `const { loadModel } = await import(${JSON.stringify(moduleUrl)});` +
      `await loadModel(${JSON.stringify(folder)}).then(() => console.log('loaded'),` +
      ` (e) => console.log(e.name + ': ' + e.message));`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '-e', script],
      { timeout: 30_000, cwd: path.dirname(fileURLToPath(import.meta.url)) },
    );
    assert.equal(
      stdout.trim(),
      `DamagedFileError: ${jsonFile} is damaged: layer 'conv1_1_act' takes its input from ` +
        "layer 'conv1_1_bn', which is not in the model",
    );
  });
});

/** A file outside the model folders: its size and content must never show in a message. */
const SECRET = 'top secret: never to be read by a model\n'.repeat(31); // 1271 bytes

/** Rewrites a copy's model.json so that its one weights group names `paths`. */
async function pointWeightsAt(folder: string, paths: string[]): Promise<string> {
  const jsonFile = path.join(folder, 'model.json');
  const json = (await readJson(jsonFile)) as { weightsManifest: Array<{ paths: string[] }> };
  json.weightsManifest[0].paths = paths;
  await writeFile(jsonFile, JSON.stringify(json));
  return jsonFile;
}

/**
 * Loads `folder` in a child process that a timeout kills, for files that could hang or exhaust
 * this process (a FIFO, /dev/zero); returns its one line, or 'timed out'.
 */
async function loadInChild(folder: string): Promise<string> {
  const moduleUrl = new URL('../../src/io/model_files.js', import.meta.url).href;
  const backendUrl = new URL('../../src/backend/select.js', import.meta.url).href;
  const script =
    `const { initBackend } = await import(${JSON.stringify(backendUrl)});` +
    "await initBackend({ backend: 'cpu' });" +
    `const { loadModel } = await import(${JSON.stringify(moduleUrl)});` +
    `await loadModel(${JSON.stringify(folder)}).then(() => console.log('loaded'),` +
    ` (e) => console.log(e.name + ': ' + e.message));` +
    'process.exit(0);';
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '-e', script],
      { timeout: 20_000, killSignal: 'SIGKILL', cwd: path.dirname(fileURLToPath(import.meta.url)) },
    );
    return stdout.trim();
  } catch (err) {
    if ((err as { killed?: boolean }).killed) return 'timed out';
    throw err;
  }
}

describe('weights files are confined to the model folder', () => {
  let secret: string;
  before(async () => {
    secret = path.join(dir, 'secret.txt');
    await writeFile(secret, SECRET);
  });

  /** Asserts that loading fails with exactly `message`, which names no size of the secret. */
  async function refused(folder: string, message: string): Promise<void> {
    const before = tf.memory().numTensors;
    await assert.rejects(loadModel(folder), (e: unknown) => {
      assert.ok(e instanceof DamagedFileError, `a DamagedFileError, not ${String(e)}`);
      assert.equal(e.message, message);
      assert.ok(!e.message.includes(String(SECRET.length)), 'the message leaks the size');
      return true;
    });
    assert.equal(tf.memory().numTensors, before);
  }

  test("a path with '..' is refused", async () => {
    const folder = await copyOfSaved('dotdot');
    const jsonFile = await pointWeightsAt(folder, ['../secret.txt']);
    await refused(
      folder,
      `${jsonFile} is damaged: weights file '../secret.txt' is not inside the model folder`,
    );
  });

  test('an absolute path is refused', async () => {
    const folder = await copyOfSaved('absolute');
    const jsonFile = await pointWeightsAt(folder, [secret]);
    await refused(
      folder,
      `${jsonFile} is damaged: weights file '${secret}' is not inside the model folder`,
    );
  });

  test('a symbolic link to a file outside the folder is refused', async () => {
    const folder = await copyOfSaved('link-out');
    await symlink(secret, path.join(folder, 'weights.bin'));
    const jsonFile = await pointWeightsAt(folder, ['weights.bin']);
    await refused(
      folder,
      `${jsonFile} is damaged: weights file 'weights.bin' is a link to a file outside the model folder`,
    );
  });

  test('a symbolic link inside the folder is followed', async () => {
    const folder = await copyOfSaved('link-in');
    const file = await weightsFileOf(folder);
    await mkdir(path.join(folder, 'shards'));
    await rename(file, path.join(folder, 'shards', 'real.bin'));
    await symlink(path.join('shards', 'real.bin'), file);
    (await loadModel(folder)).dispose();
  });

  test('a folder named as the weights file is refused', async () => {
    const folder = await copyOfSaved('directory');
    await mkdir(path.join(folder, 'sub'));
    const jsonFile = await pointWeightsAt(folder, ['sub']);
    await refused(
      folder,
      `${jsonFile} is damaged: weights file 'sub' is not a regular file (a directory)`,
    );
  });

  test('a weights file whose size is not the manifest’s is refused before it is read', async () => {
    const folder = await copyOfSaved('sparse');
    const file = await weightsFileOf(folder);
    const expected = (await stat(file)).size;
    // 3 GiB, sparse: reading it would take seconds and 3 GiB of memory, if it could be read.
    await truncate(file, 3 * 2 ** 30);
    const started = performance.now();
    await assert.rejects(loadModel(folder), {
      name: 'DamagedFileError',
      message: `${file} is damaged: weights hold ${3 * 2 ** 30} bytes, model.json describes ${expected}`,
    });
    assert.ok(performance.now() - started < 2000, 'refused without reading the file');
  });

  test('a FIFO and /dev/zero (by ..) are refused at once (in a child process, killed if it hangs)', async () => {
    const fifo = await copyOfSaved('fifo');
    await promisify(execFile)('mkfifo', [path.join(fifo, 'weights.bin')]);
    const fifoJson = await pointWeightsAt(fifo, ['weights.bin']);
    const zero = await copyOfSaved('zero');
    const up = path.relative(zero, '/dev/zero');
    const zeroJson = await pointWeightsAt(zero, [up]);
    const zeroLink = await copyOfSaved('zero-link');
    await symlink('/dev/zero', path.join(zeroLink, 'weights.bin'));
    const zeroLinkJson = await pointWeightsAt(zeroLink, ['weights.bin']);
    const lines = await Promise.all([fifo, zero, zeroLink].map(loadInChild));
    assert.deepEqual(lines, [
      `DamagedFileError: ${fifoJson} is damaged: weights file 'weights.bin' is not a regular file (a FIFO)`,
      `DamagedFileError: ${zeroJson} is damaged: weights file '${up}' is not inside the model folder`,
      `DamagedFileError: ${zeroLinkJson} is damaged: weights file 'weights.bin' is a link to a file outside the model folder`,
    ]);
  });
});
