/**
 * What `ftunet train --resume` checks before it continues a run: the checkpoint's network
 * against the run's config.json (input shape, channels, outputs, width), the worker count that
 * config.json records, and an early-stopped run given --epochs (finished: config.json is left
 * as it was). Each refusal is one line with exit code 2, the message pinned.
 */
import assert from 'node:assert/strict';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_NUMERICS } from '../../src/kernels/numerics.js';
import { readTrainRunConfig } from '../../src/run/config.js';
import { train, type TrainRunOptions } from '../../src/run/train.js';
import { describeStop } from '../../src/train/trainer.js';
import { runCli } from '../cli/run.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { useBackend } from '../helpers.js';

const PACKAGE = { name: 'focal-tversky-unet', version: 'test' };

/** A run's config.json as parsed JSON, for editing. */
interface ConfigJson {
  model: { name: string; width: number; inputShape: number[] };
  dataset: { inputSize: number[]; channels: number };
  epochs: number;
  workers: number;
  numerics?: unknown;
}

let root: string;
let base: string;
before(async () => {
  await useBackend('wasm');
  root = await makeTemp('ftunet-resume-checks-');
  base = path.join(root, 'base');
  await train(options(base));
});
after(() => removeTemp(root));

function options(out: string, extra: Partial<TrainRunOptions> = {}): TrainRunOptions {
  return {
    out,
    dataset: 'synthetic-bus',
    syntheticCount: 10,
    data: path.join(root, 'data'),
    model: 'attn_reg_ds',
    width: 0.125,
    inputSize: [32, 32],
    epochs: 2,
    batchSize: 4,
    microBatch: 2,
    workers: 1,
    seed: 5,
    cache: false,
    optimizer: { name: 'adam', learningRate: 0.01 },
    backend: 'wasm',
    packageInfo: PACKAGE,
    ...extra,
  };
}

/** A copy of the base run (2 epochs finished) whose config.json `edit` changes. */
async function copyOfBase(name: string, edit?: (config: ConfigJson) => void) {
  const run = path.join(root, name);
  await cp(base, run, { recursive: true });
  if (edit !== undefined) {
    const file = path.join(run, 'config.json');
    const config = JSON.parse(await readFile(file, 'utf8')) as ConfigJson;
    edit(config);
    await writeFile(file, JSON.stringify(config, null, 2));
  }
  return run;
}

const resumeArgs = (run: string, ...more: string[]) => [
  'train',
  '--resume',
  run,
  '--backend',
  'wasm',
  '--quiet',
  ...more,
];

describe('train --resume: the checkpoint must hold the network of config.json', () => {
  const mismatch = (run: string, difference: string) =>
    `ftunet: ${path.join(run, 'checkpoint', 'epoch-0002')} does not hold the network that ` +
    `${path.join(run, 'config.json')} describes: ${difference} (the checkpoint is from ` +
    'another run, or config.json was edited)\n';

  const cases: Array<[string, (c: ConfigJson) => void, string]> = [
    [
      'an edited width',
      (c) => (c.model.width = 0.25),
      'width 0.125 in the checkpoint, 0.25 in config.json',
    ],
    [
      'an edited input size',
      (c) => {
        c.model.inputShape = [48, 48, 1];
        c.dataset.inputSize = [48, 48];
      },
      'input shape [32,32,1] in the checkpoint, [48,48,1] in config.json',
    ],
    [
      'edited channels',
      (c) => {
        c.model.inputShape = [32, 32, 3];
        c.dataset.channels = 3;
      },
      '1 channel(s) in the checkpoint, 3 in config.json',
    ],
    [
      'an edited network',
      (c) => (c.model.name = 'unet'),
      'outputs [pred1, pred2, pred3, final] in the checkpoint, [final] in config.json (unet)',
    ],
  ];
  for (const [what, edit, difference] of cases) {
    test(`${what}: exit 2, one line naming the difference`, async () => {
      const run = await copyOfBase(what.replace(/ /g, '-'), (c) => {
        edit(c);
        c.epochs = 3;
      });
      const r = runCli(resumeArgs(run));
      assert.deepEqual([r.code, r.stderr], [2, mismatch(run, difference)]);
      assert.deepEqual(
        (await readdir(path.join(run, 'checkpoint'))).sort(),
        ['epoch-0001', 'epoch-0002', 'latest.json'],
        'nothing trained',
      );
    });
  }

  test('a final-only export put in place of the newest checkpoint is refused', async () => {
    const run = await copyOfBase('export-in-checkpoint');
    const exported = path.join(root, 'exported');
    const e = runCli(['export', '--model', base, '--out', exported]);
    assert.equal(e.code, 0, e.stderr);
    const folder = path.join(run, 'checkpoint', 'epoch-0002');
    for (const f of await readdir(folder)) {
      if (f === 'model.json' || f.startsWith('weights-')) await rm(path.join(folder, f));
    }
    await cp(exported, folder, { recursive: true });
    const r = runCli(resumeArgs(run, '--epochs', '3'));
    assert.deepEqual(
      [r.code, r.stderr],
      [
        2,
        mismatch(
          run,
          'outputs [final] in the checkpoint, [pred1, pred2, pred3, final] in config.json (attn_reg_ds)',
        ),
      ],
    );
  });
});

describe('train --resume: config.json is checked as a new run would be', () => {
  test('"workers": 100000 is one line, exit 2 (no thread is started)', async () => {
    const run = await copyOfBase('workers', (c) => (c.workers = 100000));
    const message = `'${path.join(run, 'config.json')}': "workers" must be an integer from 1 to 256, got 100000`;
    // In process first: on a program without the check, the CLI below would start the threads.
    await assert.rejects(readTrainRunConfig(run), { name: 'UserError', message });
    const r = runCli(resumeArgs(run));
    assert.deepEqual([r.code, r.stderr], [2, `ftunet: ${message}\n`]);
  });
});

describe('config.json records the numerics', () => {
  test('of the backend that trained; older runs without them read as the defaults; a bad one is one line', async () => {
    const saved = JSON.parse(await readFile(path.join(base, 'config.json'), 'utf8')) as ConfigJson;
    assert.deepEqual(saved.numerics, DEFAULT_NUMERICS);
    const older = await copyOfBase('no-numerics', (c) => delete c.numerics);
    assert.deepEqual((await readTrainRunConfig(older)).numerics, DEFAULT_NUMERICS);
    const bad = await copyOfBase('bad-numerics', (c) => (c.numerics = { convAlgorithm: 'fft' }));
    await assert.rejects(readTrainRunConfig(bad), {
      name: 'UserError',
      message:
        `'${path.join(bad, 'config.json')}': "numerics.convAlgorithm" must be one of auto, ` +
        'direct, winograd, winograd4, got "fft"',
    });
  });
});

describe('train --resume --epochs on a run that stopped early', () => {
  test('says it is finished, trains nothing and leaves config.json as it was', async () => {
    const run = path.join(root, 'stopped');
    const result = await train(options(run, { epochs: 12, patience: 1 }));
    assert.ok(result.stopped !== undefined, 'the run stopped early');
    const config = await readFile(path.join(run, 'config.json'), 'utf8');
    const log = await readFile(path.join(run, 'log.jsonl'), 'utf8');
    const r = runCli(['train', '--resume', run, '--backend', 'wasm', '--epochs', '20']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.deepEqual(
      lines.filter((l) => /training to|nothing to train/.test(l)),
      [
        `ftunet train: ${run} is finished: ${describeStop(result.stopped)}; nothing to ` +
          'train (--epochs cannot extend a run that stopped early)',
      ],
    );
    assert.equal(await readFile(path.join(run, 'config.json'), 'utf8'), config);
    assert.equal(await readFile(path.join(run, 'log.jsonl'), 'utf8'), log);
  });
});
