import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { runCli } from './run.js';

let root: string;
before(async () => {
  root = await makeTemp('ftunet-synth-cli-');
});
after(async () => {
  await removeTemp(root);
});

describe('ftunet synth', () => {
  test('writes the BUS layout and prints the measured lesion area; inspect agrees', () => {
    const out = path.join(root, 'bus');
    const r = runCli(['synth', '--kind', 'bus', '--count', '3', '--out', out, '--seed', '4']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(
      lines[0],
      new RegExp(
        `^wrote 3 bus-like image/mask pairs to ${out.replace(/[/\\.]/g, '\\$&')} \\(--dataset bus: original/, gt/\\) in \\d+\\.\\d s, seed 4$`,
      ),
    );
    assert.match(lines[1], /^original sizes \(rows x cols\): \d+-\d+ x \d+-\d+$/);
    assert.match(
      lines[2],
      /^lesion area: \d+\.\d\d% ± \d+\.\d\d% \(min \d+\.\d\d%, max \d+\.\d\d%\)$/,
    );
    const inspect = runCli(['inspect', '--dataset', 'bus', '--data', out, '--no-cache']);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.ok(inspect.stdout.includes(lines[2]), `${inspect.stdout} vs ${lines[2]}`);
  });

  test('a non-empty folder is refused (exit 2) unless --force (--json here); an earlier output is rewritten', async () => {
    const foreign = path.join(root, 'foreign');
    await mkdir(foreign);
    await writeFile(path.join(foreign, 'keep.txt'), 'x');
    const refused = runCli(['synth', '--kind', 'bus', '--count', '1', '--out', foreign]);
    assert.deepEqual([refused.code, refused.stdout], [2, '']);
    assert.equal(
      refused.stderr,
      `ftunet: synth: ${foreign} is not empty and is not a synth output (it holds keep.txt); ` +
        'choose an empty or new folder, or use --force to write there anyway\n',
    );
    const forced = runCli([
      'synth',
      '--kind',
      'isic',
      '--count',
      '1',
      '--out',
      foreign,
      '--force',
      '--json',
    ]);
    assert.equal(forced.code, 0, forced.stderr);
    const j = JSON.parse(forced.stdout) as Record<string, unknown>;
    assert.deepEqual(
      [j.kind, j.dataset, j.count, j.seed, j.out],
      ['isic', 'isic2018', 1, 0, foreign],
    );
    assert.deepEqual(Object.keys(j.lesionArea as object).sort(), ['max', 'mean', 'min', 'std']);
    // Now it is a synth output: writing again needs no --force, and keep.txt stays.
    const again = runCli(['synth', '--kind', 'bus', '--count', '2', '--out', foreign]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual((await readdir(foreign)).sort(), [
      'ftunet-synth.json',
      'gt',
      'keep.txt',
      'original',
    ]);
    assert.equal((await readdir(path.join(foreign, 'gt'))).length, 2);
  });

  const bad: Array<[string[], string]> = [
    [
      ['--kind', 'ct'],
      "ftunet synth: option '--kind <kind>' argument 'ct' is invalid. Allowed choices are bus, " +
        'isic. (see --help)\n',
    ],
    [
      ['--kind', 'bus', '--seed', '-4'],
      "ftunet synth: option '--seed <s>' argument '-4' is invalid. Expected an integer from 0 " +
        'to 4294967295. (see --help)\n',
    ],
  ];
  for (const [args, message] of bad) {
    test(`${args.join(' ')}: exit 2 with "${message.trim()}"`, () => {
      const r = runCli(['synth', '--out', path.join(root, 'never'), ...args]);
      assert.deepEqual([r.code, r.stderr, r.stdout], [2, message, '']);
    });
  }
});
