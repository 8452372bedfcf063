import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryLimiter } from '../../src/util/memory_limit.js';

/**
 * Jobs that run until the test finishes them, recording which ones run together: no timers,
 * so the schedule is the limiter's alone.
 */
function harness(limiter: MemoryLimiter) {
  const running = new Set<string>();
  const started: string[] = [];
  const together: string[][] = [];
  const finishers = new Map<string, () => void>();
  const results: Array<Promise<string>> = [];
  const submit = (name: string, bytes: number): void => {
    results.push(
      limiter.run(bytes, async () => {
        running.add(name);
        started.push(name);
        together.push([...running].sort());
        await new Promise<void>((resolve) => finishers.set(name, resolve));
        running.delete(name);
        return name;
      }),
    );
  };
  /** Lets the queued jobs start (each start is a few microtasks away). */
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };
  const finish = async (name: string): Promise<void> => {
    const done = finishers.get(name);
    assert.ok(done, `${name} is not running`);
    done();
    await settle();
  };
  return { running, started, together, results, submit, settle, finish };
}

describe('MemoryLimiter', () => {
  test('two jobs each over half the budget never run at once; small ones run side by side', async () => {
    const limiter = new MemoryLimiter(100);
    const h = harness(limiter);
    h.submit('big1', 60);
    h.submit('big2', 60);
    await h.settle();
    assert.deepEqual([...h.running], ['big1']);
    assert.equal(limiter.inUse, 60);
    await h.finish('big1');
    assert.deepEqual([...h.running], ['big2']);
    await h.finish('big2');
    assert.equal(limiter.inUse, 0);

    for (const name of ['s1', 's2', 's3', 's4', 's5']) h.submit(name, 20);
    await h.settle();
    assert.deepEqual([...h.running].sort(), ['s1', 's2', 's3', 's4', 's5']);
    assert.equal(limiter.inUse, 100);
    for (const name of ['s1', 's2', 's3', 's4', 's5']) await h.finish(name);
    assert.deepEqual(await Promise.all(h.results), ['big1', 'big2', 's1', 's2', 's3', 's4', 's5']);
    assert.ok(
      h.together.every((group) => !(group.includes('big1') && group.includes('big2'))),
      JSON.stringify(h.together),
    );
  });

  test('a job larger than the budget runs, alone', async () => {
    const limiter = new MemoryLimiter(100);
    const h = harness(limiter);
    h.submit('small', 10);
    h.submit('huge', 150);
    h.submit('after', 10);
    await h.settle();
    // huge waits for small; after waits behind huge (first in, first out).
    assert.deepEqual([...h.running], ['small']);
    await h.finish('small');
    assert.deepEqual([...h.running], ['huge']);
    assert.equal(limiter.inUse, 150);
    await h.finish('huge');
    assert.deepEqual([...h.running], ['after']);
    await h.finish('after');
    assert.deepEqual(h.started, ['small', 'huge', 'after']);
    assert.deepEqual(h.together, [['small'], ['huge'], ['after']]);
  });

  test('a waiting large job is not overtaken by small jobs asking after it', async () => {
    const limiter = new MemoryLimiter(100);
    const h = harness(limiter);
    h.submit('a', 50);
    h.submit('big', 80);
    h.submit('b', 10);
    await h.settle();
    // b would fit beside a, but big asked first.
    assert.deepEqual([...h.running], ['a']);
    await h.finish('a');
    assert.deepEqual([...h.running].sort(), ['b', 'big']);
    await h.finish('big');
    await h.finish('b');
    assert.deepEqual(h.started, ['a', 'big', 'b']);
  });

  test('a job that throws releases its bytes and the next one starts', async () => {
    const limiter = new MemoryLimiter(100);
    const failing = limiter.run(90, async () => {
      throw new Error('decode failed');
    });
    const next = limiter.run(90, async () => limiter.inUse);
    await assert.rejects(failing, { message: 'decode failed' });
    assert.equal(await next, 90);
    assert.equal(limiter.inUse, 0);
  });

  test('bad budgets and sizes are refused', async () => {
    for (const budget of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => new MemoryLimiter(budget), {
        name: 'UserError',
        message: `a memory budget must be a number of bytes > 0, got ${budget}`,
      });
    }
    await assert.rejects(
      new MemoryLimiter(10).run(-5, async () => 1),
      {
        name: 'UserError',
        message: 'a memory request must be a number of bytes >= 0, got -5',
      },
    );
  });
});
