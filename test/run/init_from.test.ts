/**
 * `ftunet train --init-from MODEL [--freeze encoder]`: the weights are loaded bit-exact and
 * recorded with their digest in config.json; a model that does not fit is exit 2 naming the
 * weights; a frozen encoder (with two workers, whose replicas are built from the topology)
 * ends training as it was loaded, BatchNorm's moving statistics included, while the decoder
 * learns; a fine-tuned run killed with SIGKILL before its first epoch or after one resumes to
 * the same bytes as an uninterrupted one; a model that changed under a run that must start
 * again is refused.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { loadModel } from '../../src/io/model_files.js';
import { buildModel } from '../../src/models/build.js';
import { isEncoderLayer } from '../../src/models/freeze.js';
import { loadCheckpoint } from '../../src/run/checkpoint.js';
import { weightsDigest } from '../../src/io/model_json.js';
import { initWeightsFrom } from '../../src/run/init_from.js';
import { spawnCli as run } from '../cli/run.js';
import { useBackend } from '../helpers.js';

/** Every weight of the model in `dir` by name, as float32 values. */
async function weightsOf(dir: string): Promise<Map<string, Float32Array>> {
  const model = await loadModel(dir);
  const out = new Map(
    model.weights.map((w) => [w.originalName, Float32Array.from(w.read().dataSync())]),
  );
  model.dispose();
  return out;
}

/** The layer name of a weight name (`conv1_1_bn/moving_mean` → `conv1_1_bn`). */
const layerOf = (weight: string): string => weight.slice(0, weight.indexOf('/'));

describe('train --init-from', () => {
  let root: string;
  let data: string;
  let parent: string;
  before(async () => {
    await useBackend('wasm');
    root = await mkdtemp(path.join(tmpdir(), 'ftunet-init-'));
    data = path.join(root, 'data');
    parent = path.join(root, 'parent');
    const r = await run([...trainArgs(parent, 2), '--seed', '3']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => rm(root, { recursive: true, force: true }));

  function trainArgs(out: string, epochs = 2): string[] {
    return [
      'train',
      '--dataset',
      'synthetic-bus',
      '--count',
      '10',
      '--data',
      data,
      '--model',
      'attn_reg',
      '--width',
      '0.125',
      '--input-size',
      '32,32',
      '--epochs',
      String(epochs),
      '--batch-size',
      '4',
      '--workers',
      '1',
      '--no-cache',
      '--optimizer',
      'adam',
      '--lr',
      '0.01',
      '--backend',
      'wasm',
      '--quiet',
      '--out',
      out,
    ];
  }

  test('the weights are loaded bit-exact, with the digest of their values', async () => {
    const model = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 99 });
    const tensors = tf.memory().numTensors;
    const record = await initWeightsFrom(model, parent);
    assert.equal(tf.memory().numTensors, tensors, 'no tensor leaks');
    const source = await weightsOf(path.join(parent, 'best'));
    assert.equal(record.modelDir, path.join(parent, 'best'));
    assert.equal(record.weights, model.weights.length);
    assert.equal(source.size, model.weights.length);
    for (const w of model.weights) {
      assert.deepEqual(w.read().dataSync(), source.get(w.originalName), w.originalName);
    }
    // The digest, computed here from its definition: name, NUL, float32 values, in name order.
    const hash = createHash('sha256');
    for (const name of [...source.keys()].sort()) {
      hash.update(`${name}\0`);
      hash.update(new Uint8Array(source.get(name)!.buffer));
    }
    assert.equal(record.weightsSha256, hash.digest('hex'));
    assert.equal(await weightsDigest(model), record.weightsSha256);
    model.dispose();
  });

  test("an export of final alone: final's weights come from it, the side outputs' from the seed", async () => {
    const exported = path.join(root, 'exported');
    const e = await run(['export', '--model', parent, '--format', 'tfjs', '--out', exported]);
    assert.equal(e.code, 0, e.stderr);
    const model = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 99 });
    const seed = new Map(model.weights.map((w) => [w.originalName, w.read().dataSync().slice()]));
    const record = await initWeightsFrom(model, exported);
    const source = await weightsOf(exported);
    assert.ok(record.seeded! > 0 && record.weights === source.size, JSON.stringify(record));
    assert.equal(record.weights + record.seeded!, model.weights.length);
    for (const w of model.weights) {
      const expected = source.get(w.originalName) ?? seed.get(w.originalName);
      assert.deepEqual(w.read().dataSync(), expected, w.originalName);
      // Only the side outputs' branches are missing from the export.
      if (!source.has(w.originalName)) assert.match(w.originalName, /^(conv[678]_|pred[123]\/)/);
    }
    model.dispose();
  });

  test('a model of another width or network is exit 2 naming the weights, and no run is left', async () => {
    const wider = path.join(root, 'wider');
    const a = await run([...trainArgs(wider), '--width', '0.25', '--init-from', parent]);
    assert.equal(a.code, 2, a.stderr);
    assert.match(
      a.stderr,
      /does not fit the run's network: \d+ differ in shape \(conv1_1\/kernel is \[3,3,1,4\] there, \[3,3,1,8\] here/,
    );
    assert.equal(a.stderr.trim().split('\n').length, 1, a.stderr);
    const unet = path.join(root, 'unet');
    const b = await run([...trainArgs(unet), '--model', 'unet', '--init-from', parent]);
    assert.equal(b.code, 2, b.stderr);
    assert.match(b.stderr, /weights are not in it \(conv5_1\/kernel/);
    const none = await run([
      ...trainArgs(path.join(root, 'none')),
      '--init-from',
      path.join(root, 'nowhere'),
    ]);
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /does not exist/);
    for (const dir of [wider, unet]) {
      await assert.rejects(readFile(path.join(dir, 'config.json')), { code: 'ENOENT' });
    }
  });

  test('--freeze encoder with two workers: the encoder ends as loaded, the decoder learns', async () => {
    const out = path.join(root, 'frozen');
    const args = trainArgs(out).map((a, i, all) => (all[i - 1] === '--workers' ? '2' : a));
    const r = await run([...args, '--init-from', parent, '--freeze', 'encoder']);
    assert.equal(r.code, 0, r.stderr);
    const config = JSON.parse(await readFile(path.join(out, 'config.json'), 'utf8'));
    assert.equal(config.model.initFrom, parent);
    assert.equal(config.model.freeze, 'encoder');
    assert.equal(config.init.modelDir, path.join(parent, 'best'));
    const before = await weightsOf(path.join(parent, 'best'));
    const after = await weightsOf(path.join(out, 'best'));
    let encoder = 0;
    let changed = 0;
    for (const [name, values] of after) {
      if (isEncoderLayer(layerOf(name))) {
        encoder++;
        assert.deepEqual(values, before.get(name), `${name} is frozen`);
      } else if (values.some((x, i) => x !== before.get(name)![i])) changed++;
    }
    // conv1..conv4 and center: two convolutions (kernel, bias) and two BatchNorms (4) each.
    assert.equal(encoder, 5 * 2 * (2 + 4) + 3 * 2, 'the encoder and the pyramid convolutions');
    assert.ok(changed > 40, `${changed} decoder weights changed`);
  });

  describe('killed with SIGKILL, resumed: the same bytes as an uninterrupted fine-tuning', () => {
    let reference: string;
    const fineTune = (out: string) => [
      ...trainArgs(out, 3),
      '--micro-batch',
      '2',
      '--init-from',
      parent,
      '--freeze',
      'encoder',
    ];
    test('the uninterrupted reference', async () => {
      reference = path.join(root, 'reference');
      const r = await run(fineTune(reference));
      assert.equal(r.code, 0, r.stderr);
    });
    for (const point of ['run:config-written:1', 'checkpoint:latest-written:1']) {
      test(`killed at ${point}`, async () => {
        const out = path.join(root, point.replace(/:/g, '-'));
        const killed = await run(fineTune(out), { FTUNET_KILL_AT: point });
        assert.equal(killed.signal, 'SIGKILL', `the fault point ${point} was reached`);
        const resumed = await run(['train', '--resume', out, '--backend', 'wasm', '--quiet']);
        assert.equal(resumed.code, 0, resumed.stderr);
        const [a, b] = [
          await loadCheckpoint(path.join(reference, 'checkpoint')),
          await loadCheckpoint(path.join(out, 'checkpoint')),
        ];
        assert.equal(b.state.epoch, 3);
        assert.deepEqual(b.state.optimizer.slots, a.state.optimizer.slots);
        a.model.dispose();
        b.model.dispose();
        assert.deepEqual(
          await weightsOf(path.join(out, 'best')),
          await weightsOf(path.join(reference, 'best')),
        );
      });
    }

    test('a model that changed under a run that must start again is refused', async () => {
      const moved = path.join(root, 'parent-copy');
      await cp(parent, moved, { recursive: true });
      const out = path.join(root, 'changed');
      const args = fineTune(out).map((a, i, all) => (all[i - 1] === '--init-from' ? moved : a));
      const killed = await run(args, { FTUNET_KILL_AT: 'run:config-written:1' });
      assert.equal(killed.signal, 'SIGKILL');
      // Another model in its place: the reference's, of the same network.
      await rm(path.join(moved, 'best'), { recursive: true });
      await cp(path.join(reference, 'best'), path.join(moved, 'best'), { recursive: true });
      const resumed = await run(['train', '--resume', out, '--backend', 'wasm', '--quiet']);
      assert.equal(resumed.code, 2, resumed.stderr);
      assert.match(resumed.stderr, /the model's weights changed since the run started from them/);
    });
  });
});
