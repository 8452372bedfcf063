/**
 * `ftunet ablation` and `ftunet ablation-report` end to end, on the smallest configuration
 * that trains: 10 synthetic BUS-like items, 2 folds, 32x32 input, width 0.125, 1 epoch, two
 * variants (4 units). A second run skips every unit; units whose folders were cut back are
 * evaluated, resumed or restarted as their folders say; a unit locked elsewhere is left alone
 * with --no-wait and the exit code says the selection is not finished; an empty lock is
 * respected while fresh and taken over once stale; two processes sharing one study both exit
 * 0 once it is complete. Flag errors run in process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/program.js';
import { DSC_LEGEND } from '../../src/cli/train_progress.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { runCli, type CliResult } from './run.js';

const CLI_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

let root: string;
let study: string;
let env: NodeJS.ProcessEnv;
before(async () => {
  root = await makeTemp('ftunet-cli-ablation-');
  study = path.join(root, 'study');
  env = {
    XDG_CACHE_HOME: path.join(root, 'xdg'),
    SLURM_ARRAY_TASK_ID: '',
    JOB_COMPLETION_INDEX: '',
  };
});
after(() => removeTemp(root));

const TINY = (
  '--dataset synthetic-bus --count 10 --folds 2 --input-size 32,32 --width 0.125 ' +
  '--bn-momentum 0.9 --epochs 1 --batch-size 4 --backend wasm --no-cache'
).split(' ');
const SELECT = ['--variant', 'unet-dl,attn-mi-ftl'];
const UNITS = ['unet-dl/fold-0', 'unet-dl/fold-1', 'attn-mi-ftl/fold-0', 'attn-mi-ftl/fold-1'];
const unitDir = (name: string) => path.join(study, 'units', ...name.split('/'));
const summaryFile = (name: string) => path.join(unitDir(name), 'eval', 'summary.json');

/**
 * Runs the command line in this process (without a child's start-up cost), capturing stderr;
 * stdout is left alone (the test runner reports there), so only commands that print nothing
 * on stdout run this way.
 */
async function runMain(args: string[]): Promise<{ code: number; stderr: string }> {
  const err: string[] = [];
  const { stderr } = process;
  const writeErr = stderr.write;
  stderr.write = ((chunk: string) => err.push(String(chunk)) > 0) as typeof stderr.write;
  try {
    const code = await main(args);
    return { code, stderr: err.join('') };
  } finally {
    stderr.write = writeErr;
  }
}

/** The unit lines of a run's stderr: "unit i/n variant fold k: ..." with the prefix cut. */
const unitLines = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('ftunet ablation: unit '))
    .map((l) => l.slice('ftunet ablation: '.length));

describe('ftunet ablation, end to end', () => {
  test('trains and evaluates the selected units of one shared split', async () => {
    const r = runCli(['ablation', ...TINY, ...SELECT, '--out', study], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    const lines = unitLines(r.stderr);
    assert.deepEqual(
      lines.filter((l) => l.endsWith(': train')),
      [
        'unit 1/4 unet-dl fold 0 (U-Net + DL: unet, dl): train',
        'unit 2/4 unet-dl fold 1 (U-Net + DL: unet, dl): train',
        'unit 3/4 attn-mi-ftl fold 0 (Attn U-Net + Multi-Input + FTL: attn_reg, ftl): train',
        'unit 4/4 attn-mi-ftl fold 1 (Attn U-Net + Multi-Input + FTL: attn_reg, ftl): train',
      ],
    );
    assert.equal(
      lines.filter((l) =>
        /: DSC \d\.\d{3}, precision \d\.\d{3}, recall \d\.\d{3} \(means over 5 test images\), [\d.]+s$/.test(
          l,
        ),
      ).length,
      4,
    );
    // Epoch lines as train writes them (at most 80 columns), each after its unit's line, and
    // the legend of their dsc once.
    assert.match(
      r.stderr,
      /\nftunet ablation: unit 4\/4 attn-mi-ftl fold 1 \(.*\): train\n(?:ftunet ablation: .*\n)*epoch 1\/1 {2}loss \d\.\d{4} dsc \d\.\d{4} {2}val loss \d\.\d{4} dsc \d\.\d{4} {2}[\d.]+s {2}best\n/,
    );
    const epochLines = r.stderr.split('\n').filter((l) => l.startsWith('epoch '));
    assert.equal(epochLines.length, 4, r.stderr);
    for (const l of epochLines) assert.ok(l.length <= 80, l);
    assert.equal(r.stderr.split(`ftunet ablation: ${DSC_LEGEND}\n`).length, 2, r.stderr);
    assert.match(
      r.stderr,
      /ftunet ablation: 4 selected unit\(s\): 4 done now, 0 finished before, 0 finished by other processes, 0 busy elsewhere, 0 failed; study: 4 of 14 units done, 10 missing; report: .*ablation\.md\n/,
    );
    // Both variants have all their folds: the one with the higher mean DSC (read from the
    // units' summaries) is the ensemble the study suggests, in one last line.
    const meanDsc = async (variant: string) => {
      const dscs = await Promise.all(
        [0, 1].map(
          async (k) =>
            (
              JSON.parse(await readFile(summaryFile(`${variant}/fold-${k}`), 'utf8')) as {
                dsc: { mean: number };
              }
            ).dsc.mean,
        ),
      );
      return (dscs[0] + dscs[1]) / 2;
    };
    const [unetDsc, attnDsc] = [await meanDsc('unet-dl'), await meanDsc('attn-mi-ftl')];
    const best = attnDsc > unetDsc ? 'attn-mi-ftl' : 'unet-dl';
    const fold = (k: number) => path.join(study, 'units', best, `fold-${k}`);
    assert.ok(
      r.stderr.endsWith(
        `\nftunet ablation: ensemble of the 2 folds of ${best} (the highest mean DSC of the ` +
          `complete variants, ${Math.max(unetDsc, attnDsc).toFixed(3)}) for new images: ` +
          `npx ftunet predict --model ${fold(0)} --model ${fold(1)} IMAGES --out PREDICTIONS\n`,
      ),
      r.stderr,
    );

    const split = JSON.parse(await readFile(path.join(study, 'split.json'), 'utf8')) as {
      k: number;
      folds: Array<{ test: string[] }>;
    };
    assert.equal(split.k, 2);
    for (const name of UNITS) {
      const config = JSON.parse(await readFile(path.join(unitDir(name), 'config.json'), 'utf8'));
      const [variant, fold] = name.split('/');
      assert.deepEqual(
        [
          config.model.name,
          config.loss.name,
          config.loss.alpha,
          config.model.bnMomentum,
          config.split.fold,
        ],
        [
          variant === 'unet-dl' ? 'unet' : 'attn_reg',
          variant === 'unet-dl' ? 'dl' : 'ftl',
          0.7,
          0.9,
          Number(fold.slice(5)),
        ],
      );
      // Every unit trains on a copy of the one study split.
      assert.deepEqual(
        JSON.parse(await readFile(path.join(unitDir(name), 'split.json'), 'utf8')),
        split,
      );
      const summary = JSON.parse(await readFile(summaryFile(name), 'utf8'));
      assert.equal(summary.count, 5);
    }
  });

  test('a second run skips every finished unit', async () => {
    const before = await Promise.all(UNITS.map(async (u) => (await stat(summaryFile(u))).mtimeMs));
    const r = await runMain([
      'ablation',
      '--out',
      study,
      ...SELECT,
      '--backend',
      'wasm',
      '--no-cache',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(unitLines(r.stderr), [
      'unit 1/4 unet-dl fold 0: finished before, skipped',
      'unit 2/4 unet-dl fold 1: finished before, skipped',
      'unit 3/4 attn-mi-ftl fold 0: finished before, skipped',
      'unit 4/4 attn-mi-ftl fold 1: finished before, skipped',
    ]);
    assert.doesNotMatch(r.stderr, /epoch/);
    const after = await Promise.all(UNITS.map(async (u) => (await stat(summaryFile(u))).mtimeMs));
    assert.deepEqual(after, before);
  });

  test('units cut back are evaluated, resumed or restarted as their folders say', async () => {
    // unet-dl/fold-0: trained, not evaluated. unet-dl/fold-1: started, no checkpoint.
    // attn-mi-ftl/fold-1: interrupted after epoch 1 of 2 (its config asks for 2 epochs).
    await rm(path.join(unitDir(UNITS[0]), 'eval'), { recursive: true });
    await rm(path.join(unitDir(UNITS[1]), 'eval'), { recursive: true });
    await rm(path.join(unitDir(UNITS[1]), 'checkpoint'), { recursive: true });
    await rm(path.join(unitDir(UNITS[3]), 'eval'), { recursive: true });
    const configFile = path.join(unitDir(UNITS[3]), 'config.json');
    const config = JSON.parse(await readFile(configFile, 'utf8'));
    await writeFile(configFile, JSON.stringify({ ...config, epochs: 2 }));

    const r = runCli(
      ['ablation', '--out', study, ...SELECT, '--backend', 'wasm', '--no-cache'],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    const starts = unitLines(r.stderr).filter((l) => / \(.*\): \w+$/.test(l));
    assert.deepEqual(
      starts.map((l) => l.replace(/ \(.*\)/, '')),
      [
        'unit 1/4 unet-dl fold 0: evaluate',
        'unit 2/4 unet-dl fold 1: restart',
        'unit 4/4 attn-mi-ftl fold 1: resume',
      ],
    );
    assert.match(
      r.stderr,
      /\nftunet ablation: unit 4\/4 attn-mi-ftl fold 1 \(.*\): resume\n(?:ftunet ablation: .*\n)*epoch 2\/2 /,
    );
    // Resumed after its epoch 1 (the only unit of 2 epochs here): epoch 1 is not trained again.
    assert.doesNotMatch(r.stderr, /\nepoch 1\/2 /);
    const log = await readFile(path.join(unitDir(UNITS[3]), 'log.jsonl'), 'utf8');
    assert.equal(log.trim().split('\n').length, 2);
    for (const u of UNITS) await stat(summaryFile(u));
  });

  test('with --no-wait, a unit locked by a live process elsewhere is left to it; the exit code says so', async () => {
    await rm(path.join(unitDir(UNITS[0]), 'eval'), { recursive: true });
    const lock = `${unitDir(UNITS[0])}.lock`;
    const info = { host: 'other-node', pid: 1, time: '2025-01-01T00:00:00.000Z', token: 'abc' };
    await writeFile(lock, JSON.stringify(info));
    const r = await runMain([
      'ablation',
      '--out',
      study,
      '--variant',
      'unet-dl',
      '--fold',
      '0',
      '--backend',
      'wasm',
      '--no-cache',
      '--no-wait',
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.doesNotMatch(r.stderr, /waiting/);
    assert.match(
      unitLines(r.stderr)[0],
      /^unit 1\/1 unet-dl fold 0: skipped, locked by other-node pid 1 \(since 2025-01-01T00:00:00.000Z, refreshed /,
    );
    assert.match(
      r.stderr,
      /\nftunet: ablation: 1 of 1 selected unit\(s\) not finished \(1 locked by another process, 0 failed; see above\)\n$/,
    );
    assert.equal(await readFile(lock, 'utf8'), JSON.stringify(info), 'the lock is left alone');
    await rm(lock);
  });

  // A kill between creating a lock file and writing it leaves it empty.
  const emptyLock = () => `${unitDir(UNITS[0])}.lock`;
  const ONE_UNIT = ['--variant', 'unet-dl', '--fold', '0', '--backend', 'wasm', '--no-cache'];

  test('a fresh empty lock is respected: its creator may be writing it', async () => {
    await writeFile(emptyLock(), '');
    const r = await runMain(['ablation', '--out', study, ...ONE_UNIT, '--no-wait']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      unitLines(r.stderr)[0],
      /^unit 1\/1 unet-dl fold 0: skipped, locked by an unreadable lock \(refreshed /,
    );
    assert.equal(await readFile(emptyLock(), 'utf8'), '', 'the lock is left alone');
  });

  test('an empty lock older than a minute is taken over at once', async () => {
    const old = new Date(Date.now() - 2 * 60_000);
    await utimes(emptyLock(), old, old);
    const started = Date.now();
    const r = await runMain(['ablation', '--out', study, ...ONE_UNIT]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /ftunet ablation: warning: unet-dl\/fold-0: took over a stale lock \(empty or unreadable for 2m \(a holder writes it at once; stale after 1m\)\)\n/,
    );
    assert.doesNotMatch(r.stderr, /waiting/);
    assert.ok(Date.now() - started < 60_000, 'without waiting for the lock');
    await stat(summaryFile(UNITS[0]));
    await assert.rejects(stat(emptyLock()), { code: 'ENOENT' });
    // The report tests below expect this unit unfinished, as the --no-wait test left it.
    await rm(path.join(unitDir(UNITS[0]), 'eval'), { recursive: true });
  });
});

/** Starts the CLI in a child process; `done` resolves with its exit code and output. */
function startCli(args: string[], vars: NodeJS.ProcessEnv): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], {
    env: { ...process.env, ...vars },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += String(d)));
  child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('ftunet ablation: two processes sharing one study', () => {
  test('both exit 0 once the study is complete, each unit trained once', async () => {
    const shared = path.join(root, 'shared');
    const args = ['ablation', ...TINY, ...SELECT, '--out', shared];
    const first = startCli(args, env);
    // The second starts once the first holds its first unit, so that it finds units held.
    const firstLock = path.join(shared, 'units', 'unet-dl', 'fold-0.lock');
    for (let i = 0; !(await stat(firstLock).catch(() => null)); i++) {
      assert.ok(i < 6000, 'the first process never locked its first unit');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const second = startCli(args, env);
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    for (const u of UNITS) {
      await stat(path.join(shared, 'units', ...u.split('/'), 'eval', 'summary.json'));
    }
    const doneNow = (stderr: string) =>
      Number(/: (\d+) done now, /.exec(stderr)?.[1] ?? Number.NaN);
    assert.equal(doneNow(a.stderr) + doneNow(b.stderr), 4, 'each unit trained once');
    assert.ok(
      /: waiting for \d unit\(s\) that other processes hold: /.test(a.stderr + b.stderr),
      'one of them waited for the other',
    );
    for (const r of [a, b]) {
      assert.match(r.stderr, /; study: 4 of 14 units done, 10 missing; /);
    }
  });
});

describe('ftunet ablation-report', () => {
  test('prints the merged table as JSON on stdout', () => {
    const r = runCli(['ablation-report', study, '--format', 'json'], env);
    assert.equal(r.code, 0, r.stderr);
    const table = JSON.parse(r.stdout) as { units: unknown; missing: string[] };
    assert.deepEqual(table.units, { total: 14, finished: 3 });
    assert.deepEqual(table.missing.slice(0, 2), ['unet-dl/fold-0', 'unet-tl/fold-0']);
  });

  test('writes Markdown (default) or CSV to --out FILE', async () => {
    const mdFile = path.join(root, 'table.md');
    const md = await runMain(['ablation-report', study, '--out', mdFile]);
    assert.equal(md.code, 0, md.stderr);
    const text = await readFile(mdFile, 'utf8');
    assert.match(text, /^## Ablation: synthetic-bus, 2-fold cross-validation\n/);
    assert.match(
      text,
      /\n\| U-Net \+ DL \| `unet-dl` \| \d\.\d{3} ± \d\.\d{3} \| .* \| 1\/2 \| 0\.547 \| 0\.653 \| 0\.658 \|\n/,
    );
    assert.match(text, /\n\| U-Net \+ TL \| `unet-tl` \| — \| — \| — \| 0\/2 \| 0\.657 \|/);
    assert.match(text, /Missing units \(11\): unet-dl\/fold-0, unet-tl\/fold-0, /);
    assert.match(md.stderr, /^ftunet ablation-report: 3 of 14 units finished, 11 missing; wrote /);

    const out = path.join(root, 'table.csv');
    const csv = await runMain(['ablation-report', study, '--format', 'csv', '--out', out]);
    assert.equal(csv.code, 0, csv.stderr);
    const rows = (await readFile(out, 'utf8')).trim().split('\n');
    assert.equal(rows.length, 8);
    assert.match(
      rows[7],
      /^attn-mi-ftl,Attn U-Net \+ Multi-Input \+ FTL,attn_reg,ftl,2,2,[\d.e-]+,/,
    );
    assert.equal(
      await readFile(path.join(study, 'report', 'ablation.csv'), 'utf8'),
      await readFile(out, 'utf8'),
    );
  });
});

describe('ftunet ablation-report --metrics', () => {
  test('adds HD95, ASSD and the ISIC score as columns; the paper columns stay; bad lists in one line', async () => {
    const out = path.join(root, 'extra.md');
    const r = await runMain([
      'ablation-report',
      study,
      '--metrics',
      'dsc,hd95,assd,thresholded-jaccard',
      '--out',
      out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const text = await readFile(out, 'utf8');
    assert.match(
      text,
      /\n\| Variant \| ID \| DSC \| HD95 \(px\) \| ASSD \(px\) \| ISIC score \| Folds \| Paper DSC \| Paper Precision \| Paper Recall \|\n/,
    );
    assert.match(text, /\n\| U-Net \+ TL \| `unet-tl` \| — \| — \| — \| — \| 0\/2 \| 0\.657 \|/);
    const bad = await runMain(['ablation-report', study, '--metrics', 'dsc,hd99']);
    assert.deepEqual(
      [bad.code, bad.stderr],
      [
        2,
        "ftunet ablation-report: option '--metrics <list>' argument 'dsc,hd99' is invalid. " +
          "Unknown metric 'hd99'; expected a comma-separated list of dsc, precision, recall, " +
          'hd95, assd, nsd, thresholded-jaccard, thresholded-jaccard-plain. (see --help)\n',
      ],
    );
  });
});

describe('ftunet ablation: flag errors', () => {
  const errors: Array<[string[], string, NodeJS.ProcessEnv?]> = [
    [['--dataset', 'bus'], 'ftunet: --out is required: the study folder\n'],
    [
      ['--out', 'x', '--shard', 'auto/35'],
      "ftunet ablation: option '--shard <i/n>' argument 'auto/35' is invalid. Neither " +
        'SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set; run it as a SLURM array task or a ' +
        'Kubernetes Indexed Job, or give the index (I/N). (see --help)\n',
    ],
    [
      ['--out', 'x', '--shard', 'auto/35'],
      "ftunet ablation: option '--shard <i/n>' argument 'auto/35' is invalid. " +
        'SLURM_ARRAY_TASK_ID is 35, out of range 0 to 34 (number the tasks from 0, e.g. ' +
        '#SBATCH --array=0-34). (see --help)\n',
      { SLURM_ARRAY_TASK_ID: '35' },
    ],
    [
      ['--out', 'x', '--variant', 'unet'],
      "ftunet ablation: option '--variant <ids>' argument 'unet' is invalid. Unknown variant " +
        "'unet'; expected one of unet-dl, unet-tl, unet-ftl, attn-dl, attn-mi-dl, attn-mi-tl, " +
        'attn-mi-ftl, optionally followed by +aug-<none|light|default|heavy>, +<keras-decay|poly|cosine|plateau> ' +
        'and +<setting>=<value>. (see --help)\n',
    ],
    [
      ['--out', 'x', '--lock-timeout', 'soon'],
      "ftunet ablation: option '--lock-timeout <duration>' argument 'soon' is invalid. Expected " +
        'a duration such as 90s, 30m or 6h, or a number of seconds. (see --help)\n',
    ],
  ];
  for (const [args, message, vars] of errors) {
    test(`${args.join(' ')}${vars ? ` with ${JSON.stringify(vars)}` : ''}`, async () => {
      const saved = { ...process.env };
      delete process.env.SLURM_ARRAY_TASK_ID;
      delete process.env.JOB_COMPLETION_INDEX;
      Object.assign(process.env, vars ?? {});
      try {
        const r = await runMain(['ablation', ...args]);
        assert.deepEqual([r.code, r.stderr], [2, message]);
      } finally {
        process.env = saved;
      }
    });
  }

  test('a setting that differs from the study is refused', async () => {
    const r = await runMain(['ablation', '--out', study, '--epochs', '3', '--quiet']);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^ftunet: the study in .* was made with other settings: --epochs 3 \(the study has 1\)\. /,
    );
  });
});
