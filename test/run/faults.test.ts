/**
 * Faults during training, injected on purpose: divergence (NaN and exploding learning rates),
 * a run stopped before its first epoch finished, runs extended with --epochs, damaged run
 * files. The rule: nothing broken is saved as good, every run can resume or restart, and a
 * resumed run ends bit-identical to an uninterrupted one.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { findCheckpoint, loadCheckpoint } from '../../src/run/checkpoint.js';
import { injectWriteFault, pathExists } from '../../src/io/atomic.js';
import { DiskFullError } from '../../src/errors.js';
import { loadModel } from '../../src/io/model_files.js';
import { describeUnhealthy, EXPLODED_MAGNITUDE } from '../../src/train/health.js';
import { readTrainRunConfig } from '../../src/run/config.js';
import { resume, train, type TrainRunOptions } from '../../src/run/train.js';
import { DivergenceError } from '../../src/train/trainer.js';
import { runCli } from '../cli/run.js';
import { makeBus, writeRaw } from '../data/fixtures.js';
import { useBackend } from '../helpers.js';

const PACKAGE = { name: 'focal-tversky-unet', version: 'test' };

describe('describeUnhealthy', () => {
  before(() => useBackend('cpu'));

  test('finite tensors below the bound are healthy', async () => {
    const a = tf.tensor1d([1, -2, 3]);
    const b = tf.tensor2d([[1e9, -1e12]]);
    assert.equal(
      await describeUnhealthy([
        { name: 'a', tensor: a, bounded: true },
        { name: 'slot', tensor: b, bounded: false },
      ]),
      undefined,
    );
    tf.dispose([a, b]);
  });

  const cases: Array<[string, number[], boolean, string]> = [
    ['NaN', [1, NaN, 2], true, '1 of 6 values are NaN or infinite (first in w)'],
    ['+Inf', [Infinity, 0, 0], true, '1 of 6 values are NaN or infinite (first in w)'],
    [
      '-Inf in a slot',
      [-Infinity, NaN, 0],
      false,
      '2 of 6 values are NaN or infinite (first in w)',
    ],
    ['2e23 in a weight', [2e23, 0, 0], true, `w holds a value of 2.00e+23 (above 1e+8)`],
  ];
  for (const [what, values, bounded, expected] of cases) {
    test(`${what} is found and counted`, async () => {
      const w = tf.tensor1d(values);
      const ok = tf.tensor1d([1, 2, 3]);
      const before = tf.memory().numTensors;
      const text = await describeUnhealthy([
        { name: 'w', tensor: w, bounded },
        { name: 'ok', tensor: ok, bounded: true },
      ]);
      assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
      assert.equal(text, expected);
      tf.dispose([w, ok]);
    });
  }

  test('a large value in an optimiser slot is not an explosion', async () => {
    const slot = tf.tensor1d([10 * EXPLODED_MAGNITUDE]);
    assert.equal(await describeUnhealthy([{ name: 's', tensor: slot, bounded: false }]), undefined);
    slot.dispose();
  });
});

describe('faults in training runs', () => {
  let root: string;
  before(async () => {
    await useBackend('wasm');
    root = await mkdtemp(path.join(tmpdir(), 'ftunet-faults-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  const options = (out: string, extra: Partial<TrainRunOptions> = {}): TrainRunOptions => ({
    out,
    dataset: 'synthetic-bus',
    syntheticCount: 10,
    data: path.join(root, 'data'),
    model: 'attn_reg_ds',
    width: 0.125,
    inputSize: [32, 32],
    epochs: 3,
    batchSize: 4,
    workers: 1,
    seed: 5,
    cache: false,
    optimizer: { name: 'adam', learningRate: 0.01 },
    backend: 'wasm',
    packageInfo: PACKAGE,
    ...extra,
  });

  /** Asserts that two runs' checkpoints hold the same epoch and byte-identical weights. */
  async function assertSameCheckpoint(a: string, b: string): Promise<void> {
    const x = await loadCheckpoint(path.join(a, 'checkpoint'));
    const y = await loadCheckpoint(path.join(b, 'checkpoint'));
    assert.equal(y.state.epoch, x.state.epoch);
    const wx = x.model.getWeights();
    const wy = y.model.getWeights();
    assert.equal(wy.length, wx.length);
    wx.forEach((w, i) =>
      assert.deepEqual(wy[i].dataSync(), w.dataSync(), `weight ${x.model.weights[i].name}`),
    );
    x.model.dispose();
    y.model.dispose();
    for (const s of Object.keys(x.state.optimizer.slots)) {
      assert.deepEqual(y.state.optimizer.slots[s].values, x.state.optimizer.slots[s].values, s);
    }
  }

  let straight: string;
  test('an uninterrupted run of 3 epochs (the reference below)', async () => {
    straight = path.join(root, 'straight');
    const result = await train(options(straight));
    assert.equal(result.logs.length, 3);
  });

  test('a run stopped inside its first epoch restarts from the beginning on resume', async () => {
    const out = path.join(root, 'killed-early');
    await assert.rejects(
      train(options(out), {
        onStep: (p) => {
          if (p.epoch === 1 && p.step === 2) throw new Error('killed in epoch 1');
        },
      }),
      /killed in epoch 1/,
    );
    assert.equal(await findCheckpoint(path.join(out, 'checkpoint')), undefined);
    const infos: string[] = [];
    const resumed = await resume(out, 'wasm', { onInfo: (l) => infos.push(l) });
    assert.ok(
      infos.some((l) =>
        /has no checkpoint \(no epoch had finished\): starting the run again/.test(l),
      ),
      infos.join('\n'),
    );
    assert.deepEqual(
      resumed.logs.map((l) => l.epoch),
      [1, 2, 3],
    );
    await assertSameCheckpoint(straight, out);
  });

  test('--epochs extends a finished run to the same weights as a longer run', async () => {
    const short = path.join(root, 'short');
    await train(options(short, { epochs: 2 }));
    const extended = await resume(short, 'wasm', {}, { epochs: 3 });
    assert.deepEqual(
      extended.logs.map((l) => [l.epoch, l.epochs]),
      [
        [1, 2],
        [2, 2],
        [3, 3],
      ],
    );
    const config = JSON.parse(await readFile(path.join(short, 'config.json'), 'utf8'));
    assert.equal(config.epochs, 3, 'config.json records the new length');
    await assertSameCheckpoint(straight, short);
    await assert.rejects(
      resume(short, 'wasm', {}, { epochs: 2 }),
      /^UserError: --epochs 2: the run has finished 3 epochs already; give at least 3$/,
    );
  });

  test('a finished run resumed without --epochs trains nothing and says so', async () => {
    const infos: string[] = [];
    const result = await resume(straight, 'wasm', { onInfo: (l) => infos.push(l) });
    assert.equal(result.logs.length, 3);
    assert.ok(infos.some((l) => /has finished all 3 epochs: nothing to train/.test(l)));
  });

  test('resume uses the recorded worker count (bit-identical), not the default', async () => {
    const infos: string[] = [];
    const warnings: string[] = [];
    await resume(straight, 'wasm', {
      onInfo: (l) => infos.push(l),
      onWarning: (l) => warnings.push(l),
    });
    assert.ok(
      infos.some((l) => /in this thread/.test(l)),
      infos.join('\n'),
    );
    assert.deepEqual(warnings, []);
  });

  test('an exploding learning rate stops the run; nothing non-finite is saved', async () => {
    for (const [name, optimizer] of [
      ['sgd-1e10', { name: 'sgd' as const, learningRate: 1e10 }],
      ['adam-1e3', { name: 'adam' as const, learningRate: 1e3 }],
      ['sgd-1e3', { name: 'sgd' as const, learningRate: 1e3 }],
    ] as const) {
      const out = path.join(root, name);
      await assert.rejects(train(options(out, { optimizer, epochs: 4 })), (err: unknown) => {
        assert.ok(err instanceof DivergenceError, String(err));
        assert.match(
          err.message,
          /^diverged at epoch \d+, step \d+: .*(NaN or infinite|above 1e\+8).*; (the checkpoint of epoch \d+ is kept|no epoch had finished, so nothing was saved)\. Start a new run \(another --out\) with a lower --lr$/,
        );
        return true;
      });
      // Whatever was saved (best/, the checkpoint) is finite.
      for (const dir of ['best', 'checkpoint']) {
        if (!(await pathExists(path.join(out, dir)))) continue;
        const model =
          dir === 'best'
            ? await loadModel(path.join(out, dir))
            : (await loadCheckpoint(path.join(out, dir))).model;
        model.getWeights().forEach((w, i) =>
          assert.ok(
            (w.dataSync() as Float32Array).every((v) => Number.isFinite(v) && Math.abs(v) < 1e8),
            `${name}/${dir}: ${model.weights[i].name}`,
          ),
        );
        model.dispose();
      }
    }
  });

  test('a full disk while saving epoch 2 ends in one line; resume after freeing space', async () => {
    const out = path.join(root, 'disk-full');
    injectWriteFault((file) => {
      if (file.includes(`${path.sep}checkpoint${path.sep}`) && /epoch-0002/.test(file)) {
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
          code: 'ENOSPC',
        });
      }
    });
    try {
      await assert.rejects(train(options(out)), (err: unknown) => {
        assert.ok(err instanceof DiskFullError, String(err));
        assert.match(
          err.message,
          /^no space left on device writing \S+checkpoint\/epoch-0002; the checkpoint of epoch 1 is kept\. Free some space, then continue with --resume$/,
        );
        return true;
      });
    } finally {
      injectWriteFault(undefined);
    }
    const files = (await readdir(out, { recursive: true })).map(String);
    assert.deepEqual(
      files.filter((f) => /\.tmp/.test(f)),
      [],
      'no temporary file is left',
    );
    await resume(out, 'wasm');
    await assertSameCheckpoint(straight, out);
  });

  test('a damaged log line is never dropped silently', async () => {
    const out = path.join(root, 'damaged-log');
    await train(options(out, { epochs: 2 }));
    const file = path.join(out, 'log.jsonl');
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    await writeFile(file, `${lines[0].slice(0, 20)}\n${lines[1]}\n`);
    await assert.rejects(
      resume(out, 'wasm', {}, { epochs: 3 }),
      /log\.jsonl: line 1 is damaged \(1 damaged line\(s\); epoch\(s\) 1 have no valid line\): repair it, or move log\.jsonl and log\.csv away/,
    );
    await rm(file);
    await rm(path.join(out, 'log.csv'));
    const warnings: string[] = [];
    const result = await resume(out, 'wasm', { onWarning: (l) => warnings.push(l) }, { epochs: 3 });
    assert.deepEqual(
      result.logs.map((l) => l.epoch),
      [3],
    );
    assert.ok(
      warnings.some((l) => /has no line for epoch\(s\) 1, 2/.test(l)),
      warnings.join('\n'),
    );
  });

  test('a fold that the split does not have, and a checkpoint past the run, are refused', async () => {
    const out = path.join(root, 'bad-files');
    await train(options(out, { epochs: 1 }));
    const configFile = path.join(out, 'config.json');
    const config = JSON.parse(await readFile(configFile, 'utf8'));
    await writeFile(configFile, JSON.stringify({ ...config, split: { ...config.split, fold: 7 } }));
    await assert.rejects(
      resume(out, 'wasm'),
      /"split\.fold" 7 does not exist: .* has folds 0 to 0/,
    );
    await writeFile(configFile, JSON.stringify({ ...config, loss: { ...config.loss, name: 'x' } }));
    await assert.rejects(
      resume(out, 'wasm'),
      /"loss\.name" must be one of dl, tl, ftl, bce-dice, got "x"/,
    );

    await writeFile(configFile, JSON.stringify(config));
    const folder = (await findCheckpoint(path.join(out, 'checkpoint'))) as string;
    const stateFile = path.join(folder, 'state.json');
    const state = JSON.parse(await readFile(stateFile, 'utf8'));
    await writeFile(stateFile, JSON.stringify({ ...state, epoch: 99 }));
    await assert.rejects(
      resume(out, 'wasm'),
      /state\.json is damaged: "epoch" is 99 but the folder holds epoch 1/,
    );
    // The same epoch in a folder that agrees with it: still not this 1-epoch run's.
    const moved = path.join(path.dirname(folder), 'epoch-0099');
    await rename(folder, moved);
    await writeFile(
      path.join(path.dirname(folder), 'latest.json'),
      JSON.stringify({ epoch: 99, dir: 'epoch-0099' }),
    );
    await assert.rejects(
      resume(out, 'wasm'),
      /epoch-0099\/state\.json: "epoch" 99 is beyond the run's 1 epochs \("epochs" in config\.json\)/,
    );
  });

  test('training on masks that are all empty is said, not silent', async () => {
    const data = path.join(root, 'bus-empty');
    const items = await makeBus(data, { count: 8, height: 16, width: 16 });
    const warningsOf = async (out: string) => {
      const warnings: string[] = [];
      const dataset = { dataset: 'bus' as const, data, model: 'unet' as const, epochs: 1 };
      await train(options(out, { ...dataset, syntheticCount: undefined }), {
        onWarning: (l) => warnings.push(l),
      });
      return warnings.filter((l) => /mask/.test(l));
    };
    assert.deepEqual(await warningsOf(path.join(root, 'bus-lesions')), []);
    for (const it of items) {
      await writeRaw(path.join(data, 'gt', `${it.stem}.png`), new Uint8Array(16 * 16), 16, 16, 1);
    }
    assert.deepEqual(await warningsOf(path.join(root, 'bus-no-lesions')), [
      'every mask of the 5 training images is empty: the network can only learn to predict no ' +
        'lesion (check the masks, or --mask-suffix for folder data sets)',
    ]);
  });

  test('a new run records the exact objective; one recorded before it resumes per pass', async () => {
    const out = path.join(root, 'objective-scope');
    await train(options(out, { epochs: 1 }));
    const configFile = path.join(out, 'config.json');
    const config = JSON.parse(await readFile(configFile, 'utf8'));
    assert.equal(config.objectiveScope, 'batch');
    assert.equal((await readTrainRunConfig(out)).objectiveScope, 'batch');
    // A version-1 config.json written before the field existed.
    delete config.objectiveScope;
    await writeFile(configFile, JSON.stringify({ ...config, version: 1 }));
    assert.equal((await readTrainRunConfig(out)).objectiveScope, 'pass');
    await writeFile(configFile, JSON.stringify({ ...config, objectiveScope: 'image' }));
    await assert.rejects(
      readTrainRunConfig(out),
      /"objectiveScope" must be one of batch, pass, got "image"/,
    );
  });

  test('the CLI refuses training flags with --resume, naming them (exit 2, one line)', async () => {
    const r = runCli([
      'train',
      '--resume',
      straight,
      '--lr',
      '0.1',
      '--optimizer',
      'sgd',
      '--backend',
      'cpu',
    ]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      'ftunet: --resume continues a run with the settings in its config.json: --optimizer, --lr ' +
        'cannot be changed (with --resume: --epochs N to train to N epochs, --workers, ' +
        '--max-pixels, --backend, --quiet, --json)\n',
    );
    assert.deepEqual(await readdir(straight).then((f) => f.includes('config.json')), true);
  });
});
