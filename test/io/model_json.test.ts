/**
 * The checks of model.json and its weights shared by the CLI and the web app
 * (src/io/model_json.ts), under Node with weights held in memory: the weights paths that stay
 * in the folder, a graph with a cycle, a flipped bit, sizes checked before any byte is read;
 * and the SHA-256 the browser falls back on without Web Crypto, against Node's.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { DamagedFileError } from '../../src/errors.js';
import {
  checkedModelHandler,
  checkWeightsPath,
  HASH_MISMATCH,
  parseModelJson,
  readWeights,
  type WeightsReader,
} from '../../src/io/model_json.js';
import { buildModel } from '../../src/models/build.js';
import { sha256Hex, sha256Plain } from '../../src/util/sha256.js';
import { useBackend } from '../helpers.js';

const F = 'model.json';

/** A saved model's model.json text and weights files, in memory. */
let text: string;
let files: Map<string, Uint8Array>;

/** A reader of `files` that records which files were read. */
function memoryReader(store: Map<string, Uint8Array>, read: string[] = []): WeightsReader {
  return {
    name: (path) => path,
    open: (path) => {
      const bytes = store.get(path);
      if (bytes === undefined) throw new Error(`test: no file ${path}`);
      return Promise.resolve({
        size: bytes.length,
        read: () => {
          read.push(path);
          return Promise.resolve(bytes.slice());
        },
        close: () => Promise.resolve(),
      });
    },
  };
}

before(async () => {
  await useBackend('cpu');
  const model = buildModel('unet', { inputShape: [16, 16, 1], width: 0.125, seed: 4 });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData!));
      const digest = createHash('sha256').update(weights).digest('hex');
      const name = `weights-${digest.slice(0, 16)}.bin`;
      files = new Map([[name, weights]]);
      text = JSON.stringify({
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [name], weights: artifacts.weightSpecs }],
        format: 'layers-model',
        weightsSha256: { [name]: digest },
      });
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  model.dispose();
});

describe('checkWeightsPath', () => {
  for (const path of [
    'weights-0123456789abcdef.bin',
    'group1-shard1of1.bin',
    'shards/a.bin',
    './a.bin',
  ]) {
    test(`'${path}' stays inside`, () => assert.doesNotThrow(() => checkWeightsPath(path, F)));
  }
  for (const path of [
    '../secret.bin',
    'shards/../../secret.bin',
    '/etc/passwd',
    '//evil.example/w.bin',
    'http://evil.example/w.bin',
    'C:/w.bin',
    'c:w.bin',
    'shards\\..\\..\\w.bin',
    '%2e%2e/w.bin',
    '.%2E/w.bin',
  ]) {
    test(`'${path}' is refused`, () =>
      assert.throws(() => checkWeightsPath(path, F), {
        name: 'DamagedFileError',
        message: `${F} is damaged: weights file '${path}' is not inside the model folder`,
      }));
  }
});

describe('parseModelJson and readWeights', () => {
  test('an intact model.json and its weights load into the model', async () => {
    const json = parseModelJson(text, F);
    const model = await tfl.loadLayersModel(checkedModelHandler(json, F, memoryReader(files)));
    assert.equal(model.inputs[0].shape.join(','), ',16,16,1');
    model.dispose();
  });

  test('a graph with a cycle is an error naming the layer, before tfjs-layers sees it', () => {
    const json = JSON.parse(text) as {
      modelTopology: { config: { layers: Array<{ name: string; inbound_nodes: unknown[] }> } };
    };
    const layers = json.modelTopology.config.layers;
    // The first layer after the input takes the last layer's output: a cycle.
    layers[1].inbound_nodes = [[[layers.at(-1)!.name, 0, 0, {}]]];
    assert.throws(() => parseModelJson(JSON.stringify(json), F), {
      name: 'DamagedFileError',
      message:
        `${F} is damaged: layer '${layers[1].name}' takes its input from node 0 of layer ` +
        `'${layers.at(-1)!.name}', which is never made (a cycle or a missing call)`,
    });
  });

  test('a weights path out of the folder is refused on parsing', () => {
    const json = JSON.parse(text) as { weightsManifest: Array<{ paths: string[] }> };
    json.weightsManifest[0].paths = ['../w.bin'];
    assert.throws(() => parseModelJson(JSON.stringify(json), F), {
      message: `${F} is damaged: weights file '../w.bin' is not inside the model folder`,
    });
  });

  test('a flipped bit is a DamagedFileError naming the weights file', async () => {
    const [name, bytes] = [...files][0];
    const flipped = bytes.slice();
    flipped[flipped.length >> 1] ^= 0x01;
    await assert.rejects(
      readWeights(parseModelJson(text, F), F, memoryReader(new Map([[name, flipped]]))),
      (e: unknown) =>
        e instanceof DamagedFileError && e.message === `${name} is damaged: ${HASH_MISMATCH}`,
    );
  });

  test('without a recorded digest, the digest in the name is checked', async () => {
    const json = JSON.parse(text) as { weightsSha256?: unknown };
    delete json.weightsSha256;
    const [name, bytes] = [...files][0];
    const flipped = bytes.slice();
    flipped[0] ^= 0x80;
    await assert.rejects(
      readWeights(
        parseModelJson(JSON.stringify(json), F),
        F,
        memoryReader(new Map([[name, flipped]])),
      ),
      { message: `${name} is damaged: ${HASH_MISMATCH}` },
    );
  });

  test('a file of the wrong size is refused before any byte of it is read', async () => {
    const [name, bytes] = [...files][0];
    const read: string[] = [];
    const longer = new Uint8Array(bytes.length + 4);
    longer.set(bytes);
    await assert.rejects(
      readWeights(parseModelJson(text, F), F, memoryReader(new Map([[name, longer]]), read)),
      {
        message: `${name} is damaged: weights hold ${bytes.length + 4} bytes, model.json describes ${bytes.length}`,
      },
    );
    assert.deepEqual(read, []);
  });
});

describe('SHA-256', () => {
  const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 131 + 7) % 256);
  for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 100_003]) {
    test(`${n} bytes: the plain implementation and Web Crypto give Node's digest`, async () => {
      const data = bytes(n);
      const expected = createHash('sha256').update(data).digest('hex');
      assert.equal(Buffer.from(sha256Plain(data)).toString('hex'), expected);
      assert.equal(await sha256Hex(data), expected);
    });
  }
});
