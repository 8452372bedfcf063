/**
 * Unit locks: when a lock is stale (pure, table-driven with a fixed "now"), and the files:
 * one claimer wins, the holder refreshes and releases only its own lock, stale locks (old, of
 * a dead process on this host, or empty for over a minute) are taken over, live ones elsewhere
 * and fresh empty ones are left alone.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  claimLock,
  formatDuration,
  lockStaleReason,
  parseDuration,
  readLock,
  type FoundLock,
} from '../../src/io/lock.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';

const HOUR = 3_600_000;
const NOW = Date.UTC(2025, 0, 1, 12);

describe('lockStaleReason', () => {
  const info = { host: 'node1', pid: 100, time: '2025-01-01T11:00:00.000Z', token: 't' };
  const check = {
    nowMs: NOW,
    timeoutMs: 3 * HOUR,
    unreadableStaleMs: 60_000,
    host: 'node1',
    isAlive: (pid: number): boolean => pid === 100 || pid === 7,
    pid: 7,
    holds: (token: string): boolean => token === 'mine',
  };
  const cases: Array<[string, FoundLock, Partial<typeof check>, string | null]> = [
    ['refreshed a minute ago, process alive', { info, mtimeMs: NOW - 60_000 }, {}, null],
    ['refreshed exactly at the timeout', { info, mtimeMs: NOW - 3 * HOUR }, {}, null],
    [
      'not refreshed for longer than the timeout',
      { info, mtimeMs: NOW - 3 * HOUR - 5 * 60_000 },
      {},
      'not refreshed for 3h 5m (timeout 3h)',
    ],
    [
      'this host, process gone',
      { info, mtimeMs: NOW - 1000 },
      { isAlive: () => false },
      'its process 100 on this host is gone',
    ],
    [
      'another host, its pid not alive here',
      { info, mtimeMs: NOW - 1000 },
      { host: 'node2', isAlive: () => false },
      null,
    ],
    [
      'this host and this pid, not held by this process',
      { info: { ...info, pid: 7 }, mtimeMs: NOW - 1000 },
      {},
      'made by an earlier process with this host name and pid 7 (a restarted container)',
    ],
    [
      'this host and this pid, held by this process',
      { info: { ...info, pid: 7, token: 'mine' }, mtimeMs: NOW - 1000 },
      {},
      null,
    ],
    ['unreadable content, fresh', { mtimeMs: NOW - 1000 }, { isAlive: () => false }, null],
    ['unreadable content, exactly at the threshold', { mtimeMs: NOW - 60_000 }, {}, null],
    [
      'unreadable content, older than the threshold',
      { mtimeMs: NOW - 150_000 },
      {},
      'empty or unreadable for 2m 30s (a holder writes it at once; stale after 1m)',
    ],
    [
      'unreadable content, old',
      { mtimeMs: NOW - 4 * HOUR },
      {},
      'not refreshed for 4h (timeout 3h)',
    ],
  ];
  for (const [what, lock, change, reason] of cases) {
    test(what, () => assert.equal(lockStaleReason(lock, { ...check, ...change }), reason));
  }
});

describe('durations', () => {
  test('parseDuration: seconds, or s/m/h/d', () => {
    assert.equal(parseDuration('90'), 90_000);
    assert.equal(parseDuration('90s'), 90_000);
    assert.equal(parseDuration('30m'), 1_800_000);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('2d'), 172_800_000);
    for (const bad of ['', '0', '3w', '-1h', 'h']) {
      assert.throws(() => parseDuration(bad), {
        name: 'UserError',
        message: `--lock-timeout: expected a duration such as 90s, 30m or 6h, or a number of seconds, got '${bad}'`,
      });
    }
  });

  test('formatDuration', () => {
    assert.deepEqual([45_000, 200_000, 3_600_000, 7_500_000].map(formatDuration), [
      '45s',
      '3m 20s',
      '1h',
      '2h 5m',
    ]);
  });
});

describe('claimLock', () => {
  let root: string;
  let n = 0;
  const fresh = () => path.join(root, `unit-${n++}.lock`);
  before(async () => {
    root = await makeTemp('ftunet-lock-');
  });
  after(() => removeTemp(root));

  test('one claimer wins; the lock file says who holds it; release removes it', async () => {
    const file = fresh();
    const first = await claimLock(file, { host: 'node1', pid: process.pid });
    assert.ok(first.claimed);
    const second = await claimLock(file, { host: 'node2', pid: 4242 });
    assert.equal(second.claimed, false);
    assert.ok(!second.claimed && second.heldBy.info?.host === 'node1');
    const content = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(content).sort(), ['host', 'pid', 'time', 'token']);
    assert.equal(content.pid, process.pid);
    await first.lock.release();
    assert.equal(await readLock(file), undefined);
    const third = await claimLock(file, { host: 'node2', pid: 4242 });
    assert.ok(third.claimed);
    await third.lock.release();
  });

  test('two claims at once in one process: exactly one wins', async () => {
    const file = fresh();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => claimLock(file, { host: `h${i}` })),
    );
    assert.equal(results.filter((r) => r.claimed).length, 1);
  });

  test('touch refreshes the modification time', async () => {
    const file = fresh();
    const r = await claimLock(file);
    assert.ok(r.claimed);
    const old = new Date(Date.now() - HOUR);
    await utimes(file, old, old);
    await r.lock.touch();
    assert.ok((await stat(file)).mtimeMs > Date.now() - 60_000);
    await r.lock.release();
  });

  test('a lock not refreshed within the timeout is taken over', async () => {
    const file = fresh();
    const holder = await claimLock(file, { host: 'elsewhere', pid: 1 });
    assert.ok(holder.claimed);
    const old = new Date(Date.now() - 2 * HOUR);
    await utimes(file, old, old);
    const held = await claimLock(file, { host: 'here', timeoutMs: 3 * HOUR });
    assert.equal(held.claimed, false, 'within the timeout: still held');
    const taken = await claimLock(file, { host: 'here', timeoutMs: HOUR });
    assert.ok(taken.claimed);
    assert.equal(taken.tookOver?.from?.host, 'elsewhere');
    assert.match(taken.tookOver?.reason ?? '', /^not refreshed for 2h/);
    // The old holder no longer holds it: its release leaves the new lock alone.
    assert.equal(await holder.lock.held(), false);
    await holder.lock.release();
    assert.equal((await readLock(file))?.info?.token, taken.lock.info.token);
    await taken.lock.release();
  });

  test('a lock of a process of this host that is gone is taken over at once', async () => {
    const file = fresh();
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    assert.ok(typeof dead === 'number');
    await writeFile(
      file,
      JSON.stringify({ host: 'node1', pid: dead, time: new Date().toISOString(), token: 'x' }),
    );
    const other = await claimLock(file, { host: 'node2' });
    assert.equal(other.claimed, false, 'another host cannot tell whether the pid is alive');
    const here = await claimLock(file, { host: 'node1' });
    assert.ok(here.claimed);
    assert.equal(here.tookOver?.reason, `its process ${dead} on this host is gone`);
    await here.lock.release();
  });

  for (const [what, content] of [
    ['an empty lock', ''],
    ['a half-written lock', '{"host":"node1","pi'],
  ]) {
    test(`${what} is respected while fresh, taken over once older than a minute`, async () => {
      const file = fresh();
      await writeFile(file, content);
      const young = new Date(Date.now() - 50_000);
      await utimes(file, young, young);
      const held = await claimLock(file, { host: 'node2' });
      assert.equal(held.claimed, false, 'fresh: its creator may be writing it');
      assert.equal(await readFile(file, 'utf8'), content, 'left alone');

      const old = new Date(Date.now() - 61_000);
      await utimes(file, old, old);
      const taken = await claimLock(file, { host: 'node2' });
      assert.ok(taken.claimed);
      assert.equal(taken.tookOver?.from, undefined);
      assert.match(
        taken.tookOver?.reason ?? '',
        /^empty or unreadable for 1m( 1s)? \(a holder writes it at once; stale after 1m\)$/,
      );
      assert.equal((await readLock(file))?.info?.token, taken.lock.info.token);
      await taken.lock.release();
    });
  }

  test('the threshold of unreadable locks is an option', async () => {
    const file = fresh();
    await writeFile(file, '');
    const old = new Date(Date.now() - 5_000);
    await utimes(file, old, old);
    assert.equal((await claimLock(file)).claimed, false);
    const taken = await claimLock(file, { unreadableStaleMs: 1_000 });
    assert.ok(taken.claimed);
    await taken.lock.release();
  });

  test('a lock naming this host and pid that this process does not hold is taken over', async () => {
    const file = fresh();
    const left = {
      host: os.hostname(),
      pid: process.pid,
      time: '2025-01-01T00:00:00.000Z',
      token: 'old',
    };
    await writeFile(file, JSON.stringify(left));
    const r = await claimLock(file);
    assert.ok(r.claimed);
    assert.match(
      r.tookOver?.reason ?? '',
      /^made by an earlier process with this host name and pid/,
    );
    // While this process holds it, a second claim here waits its turn.
    assert.equal((await claimLock(file)).claimed, false);
    await r.lock.release();
  });
});
