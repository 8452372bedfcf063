/**
 * Which folders a quick start may take over (issue 10, item 1). An earlier quick start is
 * replaced in every state a kill can leave it in; anything else (a `train` run, other files, a
 * damaged config.json or marker) is refused with one message and left byte for byte as it
 * was. The kills are real: a child process running `quickstart` sends itself SIGKILL from a
 * progress callback, during its synthetic data and after its first epoch.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeApp } from '../../src/app/write.js';
import { evaluateRun } from '../../src/eval/run.js';
import {
  checkQuickstartDir,
  quickstart,
  QUICKSTART_MARKER,
  type QuickstartOptions,
} from '../../src/experiments/quickstart.js';
import { train } from '../../src/run/train.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { useBackend } from '../helpers.js';
import { hashTree } from './tree.js';

const PACKAGE = { name: 'focal-tversky-unet', version: 'test' };
const MARKER = JSON.stringify({ format: 'ftunet-quickstart', version: 1 });

/** Writes files (path → content) and folders (path ending in '/') under `root`. */
async function writeTree(root: string, entries: Record<string, string>): Promise<void> {
  await mkdir(root, { recursive: true });
  for (const [rel, content] of Object.entries(entries)) {
    const p = path.join(root, rel);
    if (rel.endsWith('/')) {
      await mkdir(p, { recursive: true });
    } else {
      await mkdir(path.dirname(p), { recursive: true });
      await writeFile(p, content);
    }
  }
}

/** The fields of config.json that mark a quick start (as `train` writes them for one). */
const quickConfig = (out: string) =>
  JSON.stringify({
    format: 'ftunet-run',
    version: 1,
    seed: 0,
    model: { name: 'attn_reg', inputShape: [64, 64, 1], width: 0.25, bnMomentum: 0.9 },
    dataset: { kind: 'synthetic-bus', data: path.join(out, 'data') },
    loss: { name: 'ftl' },
    optimizer: { name: 'adam', learningRate: 0.003 },
    epochs: 20,
  });

let root: string;
let n = 0;
const fresh = (name: string) => path.join(root, `${n++}-${name}`);
before(async () => {
  await useBackend('wasm');
  root = await makeTemp('ftunet-quickdir-');
});
after(() => removeTemp(root));

describe('checkQuickstartDir: what a new quick start removes', () => {
  const cases: Array<[string, (out: string) => Record<string, string> | null, string[]]> = [
    ['a missing folder', () => null, []],
    ['an empty folder', () => ({}), []],
    [
      'only synthetic data (a quick start killed in its data, before the marker existed)',
      () => ({ 'data/gt/000001.png': 'x', 'data/.ftunet-synth-partial/original/': '' }),
      [],
    ],
    [
      'only the temporary file of the marker (killed while writing it)',
      () => ({ '.quickstart.json.tmp-123-abcd': '{"fo' }),
      ['.quickstart.json.tmp-123-abcd'],
    ],
    [
      'marker and synthetic data (killed before the split)',
      () => ({ [QUICKSTART_MARKER]: MARKER, 'data/ftunet-synth.json': '{}' }),
      [],
    ],
    [
      'marker, data, split and a temporary config (killed while writing its config)',
      () => ({
        [QUICKSTART_MARKER]: MARKER,
        'data/ftunet-synth.json': '{}',
        'split.json': '{}',
        '.config.json.tmp-99-0a0b': '{"format"',
      }),
      ['.config.json.tmp-99-0a0b', 'split.json'],
    ],
    [
      'a quick start killed while training: its run lock is left (issue 20, item 10)',
      (out) => ({
        [QUICKSTART_MARKER]: MARKER,
        'config.json': quickConfig(out),
        'data/ftunet-synth.json': '{}',
        'split.json': '{}',
        'train.lock': '{"host":"h","pid":1,"time":"t","token":"x"}',
      }),
      ['config.json', 'split.json', 'train.lock'],
    ],
    [
      'a whole earlier quick start',
      (out) => ({
        [QUICKSTART_MARKER]: MARKER,
        'config.json': quickConfig(out),
        'data/ftunet-synth.json': '{}',
        'split.json': '{}',
        'log.jsonl': '{}\n',
        'log.csv': 'epoch\n',
        'best/model.json': '{}',
        'checkpoint/epoch-1/state.json': '{}',
        'eval/summary.json': '{}',
        'report.html': '<html>',
        'report/plot.svg': '<svg>',
      }),
      [
        'best',
        'checkpoint',
        'config.json',
        'eval',
        'log.csv',
        'log.jsonl',
        'report',
        'report.html',
        'split.json',
      ],
    ],
    [
      'an earlier quick start with the app ftunet app wrote in it, and its temporaries',
      (out) => ({
        [QUICKSTART_MARKER]: MARKER,
        'config.json': quickConfig(out),
        'data/ftunet-synth.json': '{}',
        'best/model.json': '{}',
        'app/ftunet-app.json': '{}',
        'app/index.html': '<html>',
        'app/_headers': '/*',
        '.app.tmp-123/index.html': '<html>',
        '.app.old-123/index.html': '<html>',
      }),
      ['best', 'config.json'],
    ],
  ];
  for (const [what, layout, remove] of cases) {
    test(what, async () => {
      const out = fresh('accept');
      const entries = layout(out);
      if (entries !== null) await writeTree(out, entries);
      const before = entries === null ? undefined : await hashTree(out);
      const check = await checkQuickstartDir(out);
      assert.deepEqual([check.out, [...check.remove].sort()], [out, remove]);
      if (before !== undefined) assert.deepEqual(await hashTree(out), before, 'only looks');
    });
  }
});

describe('quickstart refuses a folder that is not a quick-start run, untouched', () => {
  let trainRun: string;
  before(async () => {
    // A real train run: config, split, logs, checkpoint, best/ and eval/.
    trainRun = fresh('train-run');
    await train({
      out: trainRun,
      dataset: 'synthetic-bus',
      syntheticCount: 8,
      model: 'unet',
      loss: 'dl',
      inputSize: [32, 32],
      width: 0.125,
      epochs: 1,
      batchSize: 4,
      cache: false,
      backend: 'wasm',
      workers: 1,
      packageInfo: PACKAGE,
    });
    await evaluateRun({ run: trainRun, workers: 1 });
  });

  const refused = async (out: string, message: string): Promise<void> => {
    const before = await hashTree(out);
    await assert.rejects(quickstart({ out, backend: 'wasm', packageInfo: PACKAGE }), {
      name: 'UserError',
      message,
    });
    assert.deepEqual(await hashTree(out), before, 'the folder is left as it was');
  };

  test('a train run', async () => {
    assert.deepEqual((await readdir(trainRun)).sort(), [
      'best',
      'checkpoint',
      'config.json',
      'data',
      'eval',
      'log.csv',
      'log.jsonl',
      'split.json',
    ]);
    await refused(
      trainRun,
      `--out ${trainRun} is not a quick-start run (no quickstart.json; it holds best, ` +
        'checkpoint, config.json, eval, log.csv and 2 more): choose another --out',
    );
  });

  test('a train run over the folder of a killed quick start (its marker left there)', async () => {
    await writeFile(path.join(trainRun, QUICKSTART_MARKER), MARKER);
    await refused(
      trainRun,
      `--out ${trainRun} is not a quick-start run (its config.json has model.name "unet", ` +
        'a quick start "attn_reg"): choose another --out',
    );
  });

  const handMade: Array<[string, (out: string) => Record<string, string>, string]> = [
    [
      'other files',
      () => ({ 'thesis.tex': 'x', 'data/ftunet-synth.json': '{}' }),
      'it holds thesis.tex',
    ],
    [
      'a damaged config.json',
      () => ({ [QUICKSTART_MARKER]: MARKER, 'config.json': '{"format": "ftunet-ru' }),
      'its config.json cannot be read',
    ],
    [
      'a config.json of another origin, without marker',
      (out) => ({ 'config.json': quickConfig(out), 'data/ftunet-synth.json': '{}' }),
      'no quickstart.json; it holds config.json',
    ],
    [
      'a damaged marker',
      (out) => ({ [QUICKSTART_MARKER]: '', 'config.json': quickConfig(out) }),
      'quickstart.json is damaged',
    ],
    [
      'an app/ folder that ftunet app did not write',
      (out) => ({ [QUICKSTART_MARKER]: MARKER, 'config.json': quickConfig(out), 'app/x.html': '' }),
      'it holds app',
    ],
    [
      'a data folder that is not synthetic',
      () => ({ 'data/images/case1.png': 'x' }),
      'its data folder is not a synthetic data set',
    ],
  ];
  for (const [what, layout, why] of handMade) {
    test(what, async () => {
      const out = fresh('refuse');
      await writeTree(out, layout(out));
      await refused(out, `--out ${out} is not a quick-start run (${why}): choose another --out`);
    });
  }

  test('a file', async () => {
    const out = fresh('file');
    await writeFile(out, 'x');
    await assert.rejects(quickstart({ out, backend: 'wasm', packageInfo: PACKAGE }), {
      message: `--out ${out} is a file, expected a folder`,
    });
    assert.equal(await readFile(out, 'utf8'), 'x');
  });
});

/**
 * Runs `quickstart` in a child process that kills itself with SIGKILL at `point`: 'data'
 * (after 2 of the synthetic items) or 'epoch' (after epoch 1 of 2).
 */
async function killedQuickstart(out: string, point: 'data' | 'epoch'): Promise<void> {
  const src = (file: string) => JSON.stringify(new URL(`../../src/${file}`, import.meta.url).href);
  const script = `
    const { initBackend } = await import(${src('backend/select.js')});
    const { quickstart } = await import(${src('experiments/quickstart.js')});
    await initBackend({ backend: 'wasm' });
    const kill = () => process.kill(process.pid, 'SIGKILL');
    await quickstart(
      { out: ${JSON.stringify(out)}, backend: 'wasm', workers: 1, epochs: 2, count: 8,
        packageInfo: { name: 'x', version: 'test' } },
      { ${point === 'data' ? "onDataProgress: (done, _n, phase) => { if (phase === 'synth' && done >= 2) kill(); }" : 'onEpoch: kill'} },
    );`;
  // A file, not -e: worker threads inherit the process's flags.
  const file = path.join(root, `kill-${point}.mjs`);
  await writeFile(file, script);
  const r = spawnSync(process.execPath, [file], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.signal, 'SIGKILL', `the child was not killed: ${r.stderr}`);
}

describe('a quick start killed at any point is replaced', () => {
  const options = (out: string): QuickstartOptions => ({
    out,
    backend: 'wasm',
    workers: 1,
    epochs: 1,
    count: 8,
    packageInfo: PACKAGE,
  });

  test('killed while writing its synthetic data', async () => {
    const out = fresh('killed-data');
    await killedQuickstart(out, 'data');
    // The killed process held the run's lock (train.lock) while it wrote the data.
    assert.deepEqual((await readdir(out)).sort(), ['data', QUICKSTART_MARKER, 'train.lock']);
    assert.ok((await readdir(path.join(out, 'data'))).includes('.ftunet-synth-partial'));
    const r = await quickstart(options(out));
    assert.equal(r.train.logs.length, 1);
    assert.ok((await readdir(path.join(out, 'data'))).includes('ftunet-synth.json'));
  });

  test('killed after its first epoch (config, checkpoint, best; no evaluation)', async () => {
    const out = fresh('killed-epoch');
    await killedQuickstart(out, 'epoch');
    const left = await readdir(out);
    for (const e of ['config.json', 'checkpoint', 'best', 'log.jsonl', QUICKSTART_MARKER]) {
      assert.ok(left.includes(e), e);
    }
    assert.ok(!left.includes('eval'));
    const r = await quickstart(options(out));
    // A new run of 1 epoch, not the killed run of 2 continued.
    assert.equal(r.train.logs.length, 1);
    const log = await readFile(path.join(out, 'log.jsonl'), 'utf8');
    assert.equal(log.trim().split('\n').length, 1);
    const config = JSON.parse(await readFile(path.join(out, 'config.json'), 'utf8')) as {
      epochs: number;
    };
    assert.equal(config.epochs, 1);
    assert.ok((await readdir(out)).includes('eval'));
  });
});

describe('a quick start with its web app in it (issue 20, item 14)', () => {
  test('a second quick start after ftunet app --model RUN keeps the app as it is', async () => {
    const out = fresh('with-app');
    const options: QuickstartOptions = {
      out,
      backend: 'wasm',
      workers: 1,
      epochs: 1,
      count: 8,
      packageInfo: PACKAGE,
    };
    await quickstart(options);
    // The README's next step: `ftunet app --model runs/quickstart` (into RUN/app).
    const app = await writeApp({ model: out });
    assert.equal(app.out, path.join(out, 'app'));
    await writeFile(path.join(app.out, '_headers'), '/*');
    const before = await hashTree(app.out);
    const r = await quickstart(options);
    assert.equal(r.train.logs.length, 1);
    assert.deepEqual(await hashTree(app.out), before);
  });
});
