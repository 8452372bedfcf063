/**
 * A bad flag ends in exactly one line on stderr and exit code 2, in every command that starts
 * a backend: flags (and the folders they name) are checked before the backend starts, whose
 * line ("ftunet evaluate: backend: cpu ...") would otherwise come first. Each case runs the
 * built CLI in its own process without --quiet, so a backend started too early would print
 * its line (in this test process the backend is already running and would stay silent).
 * `train` is covered in train_flags.test.ts; `summary` builds on a silent cpu backend
 * (summary.test.ts); `inspect` and `synth` start none.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { runCli } from './run.js';

let root: string;
before(async () => {
  root = await makeTemp('ftunet-cli-backend-line-');
});
after(() => removeTemp(root));

describe('a bad flag: one line on stderr, exit code 2, no backend line', () => {
  const cases: Array<[string, (root: string) => string[], (root: string) => string]> = [
    [
      'quickstart --workers 0',
      (r) => ['quickstart', '--out', path.join(r, 'qs'), '--workers', '0'],
      () =>
        "ftunet quickstart: option '--workers <n>' argument '0' is invalid. Expected an integer " +
        'from 1 to 256. (see --help)\n',
    ],
    [
      'ablation --workers 0',
      (r) => ['ablation', '--out', path.join(r, 'study'), '--workers', '0'],
      () =>
        "ftunet ablation: option '--workers <n>' argument '0' is invalid. Expected an integer " +
        'from 1 to 256. (see --help)\n',
    ],
    [
      'evaluate --run MISSING',
      (r) => ['evaluate', '--run', path.join(r, 'missing')],
      (r) => `ftunet: run folder '${path.join(r, 'missing')}' does not exist\n`,
    ],
    [
      'evaluate --model MISSING',
      (r) => [
        'evaluate',
        '--model',
        path.join(r, 'missing'),
        '--dataset',
        'bus',
        '--data',
        r,
        '--out',
        path.join(r, 'out'),
      ],
      (r) => `ftunet: model folder '${path.join(r, 'missing')}' does not exist\n`,
    ],
    [
      'evaluate --threshold 2',
      (r) => ['evaluate', '--run', r, '--threshold', '2'],
      () =>
        "ftunet evaluate: option '--threshold <t>' argument '2' is invalid. Expected a number " +
        'from 0 to 1. (see --help)\n',
    ],
    [
      'predict --model MISSING',
      (r) => ['predict', '--model', path.join(r, 'missing'), 'a.png', '--out', path.join(r, 'p')],
      (r) => `ftunet: model folder '${path.join(r, 'missing')}' does not exist\n`,
    ],
    [
      'predict --overlay fill',
      (r) => ['predict', '--model', r, 'a.png', '--out', path.join(r, 'p'), '--overlay', 'fill'],
      () =>
        "ftunet predict: option '--overlay <style>' argument 'fill' is invalid. Allowed choices " +
        'are contour, tint. (see --help)\n',
    ],
    [
      'report MISSING',
      (r) => ['report', path.join(r, 'missing')],
      (r) => `ftunet: run folder '${path.join(r, 'missing')}' does not exist\n`,
    ],
    [
      'report --cases 0',
      (r) => ['report', r, '--cases', '0'],
      () =>
        "ftunet report: option '--cases <n>' argument '0' is invalid. Expected an integer from 1 " +
        'to 50. (see --help)\n',
    ],
  ];
  for (const [name, args, message] of cases) {
    test(name, () => {
      // cpu starts at once and names itself: "ftunet <command>: backend: cpu (...)".
      const r = runCli([...args(root), '--backend', 'cpu'], {
        XDG_CACHE_HOME: path.join(root, 'xdg'),
      });
      assert.deepEqual([r.code, r.stdout, r.stderr], [2, '', message(root)]);
    });
  }

  test('a bad --backend is named before the folders are looked at', () => {
    const missing = path.join(root, 'missing');
    for (const args of [
      ['evaluate', '--run', missing],
      ['predict', '--model', missing, 'a.png', '--out', root],
      ['report', missing],
    ]) {
      const r = runCli([...args, '--backend', 'gpu']);
      assert.deepEqual(
        [r.code, r.stdout, r.stderr],
        [
          2,
          '',
          `ftunet ${args[0]}: option '--backend <name>' argument 'gpu' is invalid. Allowed ` +
            'choices are auto, wasm, cpu, tensorflow. (Did you mean cpu?) (see --help)\n',
        ],
        args[0],
      );
    }
  });
});
