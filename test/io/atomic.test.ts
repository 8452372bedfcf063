import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, mock, test } from 'node:test';
import { DiskFullError, UserError } from '../../src/errors.js';
import { sweepStaleTemporaries, temporaryPath, writeFileAtomic } from '../../src/io/atomic.js';
import { clearFaults, deadPid, failWrites, mountTmpfs, unmountTmpfs } from './faults.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ftunet-atomic-'));
});
after(() => rm(dir, { recursive: true, force: true }));
afterEach(clearFaults);

describe('writeFileAtomic', () => {
  test('replaces the file and leaves no temporary file', async () => {
    const sub = path.join(dir, 'replace');
    await mkdir(sub);
    const file = path.join(sub, 'a.json');
    await writeFileAtomic(file, 'old');
    await writeFileAtomic(file, new Uint8Array([104, 105]));
    assert.equal(await readFile(file, 'utf8'), 'hi');
    assert.deepEqual(await readdir(sub), ['a.json']);
  });

  test('fsyncs the temporary file and the folder', async () => {
    const probe = await open(path.join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
    await probe.close();
    const sync = mock.method(proto, 'sync');
    try {
      await writeFileAtomic(path.join(dir, 'synced.txt'), 'data');
    } finally {
      sync.mock.restore();
    }
    // One fsync of the temporary file, one of the folder.
    assert.equal(sync.mock.callCount(), 2);
  });

  for (const code of ['ENOSPC', 'EDQUOT'] as const) {
    test(`${code} is a DiskFullError naming the file, the old file kept, no temporary`, async () => {
      const sub = path.join(dir, `full-${code}`);
      await mkdir(sub);
      const file = path.join(sub, 'log.jsonl');
      await writeFileAtomic(file, 'epoch 1');
      failWrites(() => true, code);
      const err = await writeFileAtomic(file, 'epoch 1\nepoch 2').then(
        () => assert.fail('expected a DiskFullError'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof DiskFullError);
      assert.ok(err instanceof UserError);
      assert.equal(err.message, `no space left on device writing ${file}`);
      assert.equal(err.path, file);
      assert.equal((err.cause as { code?: string }).code, code);
      assert.deepEqual(await readdir(sub), ['log.jsonl']);
      assert.equal(await readFile(file, 'utf8'), 'epoch 1');
    });
  }

  test('a real full tmpfs gives the same DiskFullError and leaves no temporary', async (t) => {
    const mount = path.join(dir, 'tmpfs');
    const why = await mountTmpfs(mount, 64 * 1024);
    if (why !== undefined) {
      t.skip(`${why}; the injected ENOSPC tests above cover this path`);
      return;
    }
    try {
      const file = path.join(mount, 'big.bin');
      await assert.rejects(
        writeFileAtomic(file, new Uint8Array(256 * 1024)),
        (e: unknown) =>
          e instanceof DiskFullError && e.message === `no space left on device writing ${file}`,
      );
      assert.deepEqual(await readdir(mount), []);
      // After freeing space (a smaller write here), writing works again.
      await writeFileAtomic(file, new Uint8Array(1024));
      assert.deepEqual(await readdir(mount), ['big.bin']);
    } finally {
      await unmountTmpfs(mount);
    }
  });
});

describe('sweepStaleTemporaries', () => {
  test('removes the temporaries of a dead process and keeps those of live ones', async () => {
    const sub = path.join(dir, 'sweep');
    await mkdir(sub);
    const dead = await deadPid();
    const live = process.pid;
    const stale = [
      `.weights-0123456789abcdef.bin.tmp-${dead}-a1b2c3d4`,
      `.model.json.tmp-${dead}-00ff00ff`,
      `.latest.json.tmp-${dead}-deadbeef`,
      `.bus-128x128x1-nearest-0123.ftds.tmp-${dead}-12345678`,
    ];
    const kept = [
      `.model.json.tmp-${live}-00ff00ff`,
      `.epoch-0004.tmp-${live}`,
      'model.json',
      '.hidden',
      `x.tmp-${dead}-abcd`, // no leading dot: not one of ours
      `.notes.tmp-${dead}-xyz`, // suffix not hex: not one of ours
    ];
    for (const name of [...stale, ...kept.filter((n) => !n.startsWith('.epoch'))]) {
      await writeFile(path.join(sub, name), 'x');
    }
    await mkdir(path.join(sub, `.epoch-0003.tmp-${dead}`));
    await writeFile(path.join(sub, `.epoch-0003.tmp-${dead}`, 'optimizer.bin'), 'x');
    await mkdir(path.join(sub, `.epoch-0004.tmp-${live}`));

    const removed = await sweepStaleTemporaries(sub);
    assert.deepEqual(removed.sort(), [...stale, `.epoch-0003.tmp-${dead}`].sort());
    assert.deepEqual((await readdir(sub)).sort(), [...kept].sort());
  });

  test("with a name: only that target's temporaries, never the folder's others", async () => {
    // Issue 20, item 2: `ftunet app --out DIR/app` sweeps what it leaves, not its neighbours'.
    const sub = path.join(dir, 'sweep-name');
    await mkdir(sub);
    const dead = await deadPid();
    const stale = [`.app.tmp-${dead}`, `.app.tmp-${dead}-0a1b2c3d`];
    const kept = [
      `.app.tmp-${process.pid}`, // a live process's
      `.other.tmp-${dead}`, // another target's
      `.app.json.tmp-${dead}-0a1b2c3d`,
      `.my-app.tmp-${dead}`,
      `.app.old-${dead}`, // not a temporary name
      'app',
    ];
    for (const name of [...stale, ...kept]) await mkdir(path.join(sub, name));
    assert.deepEqual((await sweepStaleTemporaries(sub, { name: 'app' })).sort(), stale.sort());
    assert.deepEqual((await readdir(sub)).sort(), kept.sort());
  });

  test("writeFileAtomic with sweep removes the file's temporaries of dead processes only", async () => {
    // Issue 20, item 4: report and ablation-report sweep their own temporaries.
    const sub = path.join(dir, 'sweep-write');
    await mkdir(sub);
    const dead = await deadPid();
    const stale = `.report.html.tmp-${dead}-0a1b2c3d`;
    const kept = [`.report.html.tmp-${process.pid}-0a1b2c3d`, `.config.json.tmp-${dead}-0a1b2c3d`];
    for (const name of [stale, ...kept]) await writeFile(path.join(sub, name), 'x');
    await writeFileAtomic(path.join(sub, 'report.html'), 'page', { sweep: true });
    assert.deepEqual((await readdir(sub)).sort(), [...kept, 'report.html'].sort());
  });

  test('a missing folder has nothing to sweep', async () => {
    assert.deepEqual(await sweepStaleTemporaries(path.join(dir, 'absent')), []);
  });

  test('every temporary name carries this process id', () => {
    const name = path.basename(temporaryPath(path.join(dir, 'state.json')));
    assert.match(name, new RegExp(`^\\.state\\.json\\.tmp-${process.pid}-[0-9a-f]{8}$`));
  });
});
