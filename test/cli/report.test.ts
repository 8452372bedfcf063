/**
 * `ftunet report`, the report that `ftunet evaluate --run` refreshes (and `--no-report`
 * skips), and `ftunet ablation-report --html`. Runs that work spawn the built CLI; checks
 * that end before any work runs in process.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeFixtureStudy } from '../ablation/fixtures.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { useBackend } from '../helpers.js';
import { deadPid } from '../io/faults.js';
import { makeEvaluatedRun, squash } from '../report/fixtures.js';
import { runCli, runMain } from './run.js';

let root: string;
let run: string;
let env: NodeJS.ProcessEnv;
before(async () => {
  await useBackend('cpu');
  root = await makeTemp('ftunet-cli-report-');
  env = { XDG_CACHE_HOME: path.join(root, 'xdg') };
  run = await makeEvaluatedRun(root, 'run', 'threshold');
});
after(() => removeTemp(root));

const exists = async (file: string): Promise<boolean> =>
  stat(file).then(
    () => true,
    () => false,
  );

describe('ftunet report', () => {
  test('writes RUN/report.html and prints its path', async () => {
    const r = runCli(['report', run, '--backend', 'cpu'], env);
    assert.equal(r.code, 0, r.stderr);
    const file = path.join(run, 'report.html');
    assert.equal(r.stdout, `${file}\n`);
    assert.equal(r.stderr, 'ftunet report: backend: cpu (plain JavaScript, slow)\n');
    const page = squash(await readFile(file, 'utf8'));
    assert.match(page, /<title>Run report: run<\/title>/);
    assert.match(page, /by focal-tversky-unet \d+\.\d+\.\d+/);
    // Two per group of 3 test images: 3 pictured, 4 panels each (no attention gates).
    assert.equal([...page.matchAll(/<img src="data:image\/png;base64,/g)].length, 12);
  });

  test('--out, --cases and --quiet', async () => {
    const out = path.join(root, 'pages', 'one.html');
    const r = runCli(
      ['report', run, '--out', out, '--cases', '1', '--quiet', '--backend', 'cpu'],
      env,
    );
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, `${out}\n`, '']);
    const page = squash(await readFile(out, 'utf8'));
    // One per group: best, median, worst.
    assert.equal([...page.matchAll(/<tr data-case="/g)].length, 3);
  });

  test('user errors: one line on stderr, exit code 2', async () => {
    const missing = path.join(root, 'nope');
    const bare = await makeEvaluatedRun(root, 'bare', 'threshold', 1);
    await rm(path.join(bare, 'eval'), { recursive: true });
    const cases: Array<[string[], string]> = [
      [
        ['report', run, '--cases', '0'],
        "ftunet report: option '--cases <n>' argument '0' is invalid. Expected an integer from " +
          '1 to 50. (see --help)\n',
      ],
      [
        ['report', missing, '--backend', 'cpu', '--quiet'],
        `ftunet: run folder '${missing}' does not exist\n`,
      ],
      [
        ['report', bare, '--backend', 'cpu', '--quiet'],
        `ftunet: run ${bare} has no evaluation to report (evaluate it first: npx ftunet evaluate ` +
          `--run ${bare}): ${path.join(bare, 'eval', 'summary.json')} not found\n`,
      ],
      [['report'], "ftunet report: missing required argument 'run' (see --help)\n"],
    ];
    for (const [args, message] of cases) {
      const r = await runMain(args);
      assert.deepEqual([r.code, r.stdout, r.stderr], [2, '', message], args.join(' '));
    }
  });
});

describe('ftunet evaluate --run refreshes the report', () => {
  test('RUN/report.html after evaluating; --no-report leaves it alone', async () => {
    const fresh = await makeEvaluatedRun(root, 'fresh', 'threshold', 2);
    const file = path.join(fresh, 'report.html');
    const skipped = runCli(
      ['evaluate', '--run', fresh, '--backend', 'cpu', '--quiet', '--no-report'],
      env,
    );
    assert.equal(skipped.code, 0, skipped.stderr);
    assert.equal(await exists(file), false);
    const r = runCli(['evaluate', '--run', fresh, '--backend', 'cpu', '--quiet'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(await readFile(file, 'utf8'), /<section id="cases" data-section="cases">/);
  });
});

describe('ftunet ablation-report --html', () => {
  test('writes DIR/report/ablation.html beside the other formats and names it', async () => {
    const study = path.join(root, 'study');
    await writeFixtureStudy(study, 'bus');
    const file = path.join(study, 'report', 'ablation.html');
    const plain = await runMain(['ablation-report', study]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(await exists(file), false);
    const r = await runMain(['ablation-report', study, '--html']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stderr.trimEnd().endsWith(` and ${file}`), r.stderr);
    assert.match(await readFile(file, 'utf8'), /<body data-report="ablation">/);
  });
});

describe('report and ablation-report sweep their own temporaries of dead processes (issue 20, item 4)', () => {
  test("ftunet report: RUN/.report.html.tmp-* of a dead process goes, the run's other ones stay", async () => {
    const dead = await deadPid();
    const stale = `.report.html.tmp-${dead}-0a1b2c3d`;
    // Training's business (it sweeps them when it resumes), and a live process's.
    const kept = [`.log.jsonl.tmp-${dead}-0a1b2c3d`, `.report.html.tmp-${process.pid}-0a1b2c3d`];
    for (const name of [stale, ...kept]) await writeFile(path.join(run, name), 'partial');
    const r = await runMain(['report', run, '--backend', 'cpu', '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    const left = (await readdir(run)).filter((n) => n.includes('.tmp-')).sort();
    assert.deepEqual(left, [...kept].sort());
    for (const name of kept) await rm(path.join(run, name));
  });

  test('ftunet ablation-report: DIR/report/ and --out FILE lose their temporaries of dead processes', async () => {
    const study = path.join(root, 'study-sweep');
    await writeFixtureStudy(study, 'bus');
    const reportDir = path.join(study, 'report');
    await mkdir(reportDir, { recursive: true });
    const dead = await deadPid();
    const stale = ['md', 'csv', 'json', 'html'].map((f) => `.ablation.${f}.tmp-${dead}-0a1b2c3d`);
    for (const name of stale) await writeFile(path.join(reportDir, name), 'partial');
    const outDir = path.join(root, 'tables');
    await mkdir(outDir, { recursive: true });
    const staleOut = `.table.md.tmp-${dead}-0a1b2c3d`;
    const keptOut = `.other.md.tmp-${dead}-0a1b2c3d`;
    for (const name of [staleOut, keptOut]) await writeFile(path.join(outDir, name), 'partial');
    const r = await runMain([
      'ablation-report',
      study,
      '--html',
      '--out',
      path.join(outDir, 'table.md'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (await readdir(reportDir)).filter((n) => n.includes('.tmp-')),
      [],
    );
    assert.deepEqual((await readdir(outDir)).sort(), [keptOut, 'table.md']);
  });
});
