import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { InterruptedError } from '../../src/errors.js';
import { Interrupts, RESTORE_TERMINAL } from '../../src/cli/interrupt.js';
import { shellQuote } from '../../src/util/shell.js';
import { runCli } from './run.js';

/** An `Interrupts` on a fake process: signals are emitted by hand, exits are recorded. */
function fakeInterrupts(isTTY = false) {
  const source = new EventEmitter();
  const written: string[] = [];
  const exits: number[] = [];
  const interrupts = new Interrupts({
    source,
    stderr: Object.assign(new EventEmitter(), {
      isTTY,
      write: (s: string) => written.push(s) > 0,
    }) as unknown as NodeJS.WritableStream & { isTTY: boolean },
    exit: (code) => void exits.push(code),
  });
  const uninstall = interrupts.install();
  return { source, written, exits, interrupts, uninstall };
}

describe('Interrupts', () => {
  test('outside training a signal quits at once, restoring the terminal', () => {
    const f = fakeInterrupts(true);
    f.source.emit('SIGINT');
    assert.deepEqual(f.exits, [130]);
    assert.equal(f.written.join(''), `${RESTORE_TERMINAL}\r\x1b[Kftunet: SIGINT: quit at once\n`);
    f.uninstall();
  });

  test('in training the first signal asks to stop and the second quits at once', () => {
    const f = fakeInterrupts();
    let closed = 0;
    const callbacks = f.interrupts.stoppable(
      { close: () => void (closed += 1) },
      'ftunet train --resume runs/a',
    );
    assert.equal(callbacks.shouldStop(), false);
    f.source.emit('SIGINT');
    assert.equal(callbacks.shouldStop(), true);
    assert.equal(f.interrupts.signal.aborted, true);
    assert.deepEqual(f.exits, []);
    assert.equal(closed, 1, 'the progress bar is stopped at the signal');
    assert.deepEqual(f.written, [
      'ftunet: SIGINT: stopping before the next step (Ctrl-C again to quit at once)\n',
    ]);
    f.source.emit('SIGINT');
    assert.deepEqual(f.exits, [130]);
    assert.equal(
      f.written[1],
      'ftunet: SIGINT: quit at once; the epoch in progress is lost; ' +
        'continue with: ftunet train --resume runs/a\n',
    );
    f.uninstall();
  });

  test('SIGTERM gives exit code 143 and the interrupted line names epoch and checkpoint', () => {
    const f = fakeInterrupts();
    f.interrupts.stoppable({}, "ftunet train --resume 'my runs/a'");
    f.source.emit('SIGTERM');
    assert.deepEqual(f.exits, []);
    assert.equal(f.interrupts.exitCode(), 143);
    assert.equal(
      f.interrupts.describe(new InterruptedError(3, 2)),
      "interrupted at epoch 3; the checkpoint of epoch 2 is kept; continue with: ftunet train --resume 'my runs/a'",
    );
    assert.equal(
      f.interrupts.describe(new InterruptedError(1, 0)),
      "interrupted at epoch 1; no epoch had finished; continue with: ftunet train --resume 'my runs/a'",
    );
    f.uninstall();
    f.source.emit('SIGTERM');
    assert.deepEqual(f.exits, [], 'uninstalled handlers see nothing');
  });

  test('shellQuote quotes only what a shell would split or expand', () => {
    assert.equal(shellQuote('runs/bus-ftl_2.x'), 'runs/bus-ftl_2.x');
    assert.equal(shellQuote('my runs'), "'my runs'");
    assert.equal(shellQuote("it's"), "'it'\\''s'");
    assert.equal(shellQuote('$HOME'), "'$HOME'");
  });
});

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const DRIVER = fileURLToPath(new URL('../../../test/cli/pty_driver.py', import.meta.url));

interface PtyResult {
  code: number | null;
  signal: string | null;
  output: string;
  timedOut: boolean;
}

type Step = ['wait', string] | ['type', string] | ['kill', string];

/** Runs the built `ftunet` on a pseudo-terminal (test/cli/pty_driver.py), driven by `steps`. */
function runOnTerminal(args: string[], steps: Step[], timeoutS = 150): PtyResult {
  const r = spawnSync(
    'python3',
    [DRIVER, JSON.stringify(steps), String(timeoutS), '--', process.execPath, MAIN, ...args],
    { encoding: 'utf8', timeout: (timeoutS + 30) * 1000 },
  );
  assert.equal(r.status, 0, `pty driver failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as PtyResult;
}

/** Whether every `on` sequence in `output` is followed later by its `off` one. */
function restoredAfterLast(output: string, set: string, reset: string): boolean {
  return output.lastIndexOf(reset) > output.lastIndexOf(set);
}

async function listRecursive(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.map(String);
}

const NO_PTY =
  process.platform === 'win32'
    ? 'pseudo-terminals are POSIX only'
    : spawnSync('python3', ['-c', 'import pty']).status !== 0
      ? 'python3 with its pty module is not installed'
      : undefined;

describe('Ctrl-C and SIGTERM on a terminal', { skip: NO_PTY }, () => {
  let root: string;
  let data: string;
  let cache: string;
  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'ftunet-interrupt-'));
    data = path.join(root, 'data');
    cache = path.join(root, 'cache');
  });
  after(() => rm(root, { recursive: true, force: true }));

  /** A tiny run (about 0.2 s an epoch) in the main thread. */
  const tiny = (out: string, epochs: number) => [
    'train',
    '--dataset',
    'synthetic-bus',
    '--count',
    '24',
    '--input-size',
    '32,32',
    '--width',
    '0.125',
    '--epochs',
    String(epochs),
    '--batch-size',
    '4',
    '--workers',
    '1',
    '--backend',
    'wasm',
    '--data',
    data,
    '--cache',
    cache,
    '--out',
    out,
  ];

  test('Ctrl-C stops at a step boundary with exit 130, the terminal restored; --resume finishes the run', async () => {
    const out = path.join(root, 'sigint');
    const r = runOnTerminal(tiny(out, 12), [
      ['wait', 'epoch 1/12  loss'],
      ['type', '\u0003'],
    ]);
    assert.equal(r.timedOut, false, r.output);
    assert.equal(r.code, 130, r.output);
    const m =
      /ftunet: interrupted at epoch (\d+); the checkpoint of epoch (\d+) is kept; continue with: npx ftunet train --resume (\S+)\r\n/.exec(
        r.output,
      );
    assert.ok(m, `no interrupted line in: ${JSON.stringify(r.output.slice(-600))}`);
    assert.equal(Number(m[2]), Number(m[1]) - 1);
    assert.equal(m[3], out);
    assert.ok(r.output.includes('\x1b[?25l'), 'the progress bar hid the cursor');
    assert.ok(restoredAfterLast(r.output, '\x1b[?25l', '\x1b[?25h'), 'cursor shown at the end');
    assert.ok(restoredAfterLast(r.output, '\x1b[?7l', '\x1b[?7h'), 'line wrap on at the end');
    assert.deepEqual(
      (await listRecursive(out)).filter((f) => f.includes('.tmp')),
      [],
      'no temporary files',
    );

    const resumed = runCli(['train', '--resume', out, '--backend', 'wasm', '--workers', '1']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.ok(resumed.stderr.includes(`resuming ${out} after epoch ${m[2]} of 12`), resumed.stderr);
    const epochs = (await readFile(path.join(out, 'log.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { epoch: number }).epoch);
    assert.deepEqual(
      epochs,
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
  });

  test('SIGTERM stops the same way with exit code 143', () => {
    const out = path.join(root, 'sigterm');
    const r = runOnTerminal(tiny(out, 12), [
      ['wait', 'epoch 1/12  loss'],
      ['kill', 'SIGTERM'],
    ]);
    assert.equal(r.timedOut, false, r.output);
    assert.equal(r.code, 143, r.output);
    assert.match(r.output, /ftunet: SIGTERM: stopping before the next step \(SIGTERM again/);
    assert.match(
      r.output,
      /ftunet: interrupted at epoch \d+; the checkpoint of epoch \d+ is kept; continue with: npx ftunet train --resume /,
    );
    assert.ok(restoredAfterLast(r.output, '\x1b[?25l', '\x1b[?25h'), 'cursor shown at the end');
  });

  test('a second Ctrl-C during a step quits at once with exit 130', () => {
    // Data-parallel workers: the main thread waits for them during a step, so signals are
    // handled at once; a step of this size takes about a second.
    const out = path.join(root, 'twice');
    const args = tiny(out, 20);
    args.splice(args.indexOf('--input-size') + 1, 1, '64,64');
    args.splice(args.indexOf('--width') + 1, 1, '0.25');
    args.splice(args.indexOf('--batch-size') + 1, 1, '8');
    args.splice(args.indexOf('--workers') + 1, 1, '2');
    args.splice(args.indexOf('--data') + 1, 1, path.join(root, 'data64'));
    const r = runOnTerminal(args, [
      ['wait', 'epoch 1/20 \\S+ 1/\\d+ loss'],
      ['type', '\u0003'],
      ['wait', 'stopping before the next step'],
      ['type', '\u0003'],
    ]);
    assert.equal(r.timedOut, false, r.output);
    assert.equal(r.code, 130, r.output);
    assert.ok(
      r.output.includes(
        `ftunet: SIGINT: quit at once; the epoch in progress is lost; continue with: npx ftunet train --resume ${out}\r\n`,
      ),
      JSON.stringify(r.output.slice(-600)),
    );
    assert.ok(!r.output.includes('interrupted at epoch'), 'it did not wait for the step');
    assert.ok(restoredAfterLast(r.output, '\x1b[?25l', '\x1b[?25h'), 'cursor shown at the end');
    assert.ok(restoredAfterLast(r.output, '\x1b[?7l', '\x1b[?7h'), 'line wrap on at the end');
  });
});
