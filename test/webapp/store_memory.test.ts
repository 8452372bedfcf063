/**
 * The store's parts that run without a browser (src/webapp/store.ts): where there is no
 * IndexedDB (as here, in Node), openStore rejects with the 'unavailable' sentence; memoryStore,
 * what the page goes on with then, keeps images in the order added and the session, and
 * refuses work once closed. The IndexedDB store itself is tested in Chromium (store.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { memoryStore, openStore, StoreError } from '../../src/webapp/store.js';
import { workImage } from './work_fixtures.js';

describe('the store without IndexedDB', () => {
  test('openStore rejects with what to do', async () => {
    await assert.rejects(openStore(), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.equal(err.problem, 'unavailable');
      assert.equal(
        err.message,
        'This browser does not let the page keep data (a private window, or site data turned ' +
          'off), so your work is not saved: export it as a zip before you close the page.',
      );
      return true;
    });
  });

  test('memoryStore: the order added, replacing by id, delete, the session, clear, close', async () => {
    const s = memoryStore();
    assert.equal(s.persistent, false);
    await s.put(workImage('b.png', { added: 20 }));
    await s.put(workImage('a.png', { added: 10 }));
    await s.put(workImage('c.png', { added: 20 }));
    await s.put({ ...workImage('b.png', { added: 20 }), status: 'accepted' });
    assert.deepEqual(
      (await s.all()).map((i) => [i.name, i.status]),
      [
        ['a.png', 'unreviewed'],
        ['b.png', 'accepted'],
        ['c.png', 'unreviewed'],
      ],
    );
    await s.delete('id-a.png');
    await s.delete('no such id');
    await s.putSession('open', { id: 'id-b.png' });
    assert.deepEqual(await s.getSession('open'), { id: 'id-b.png' });
    assert.equal(await s.getSession('other'), undefined);
    assert.deepEqual(
      (await s.all()).map((i) => i.name),
      ['b.png', 'c.png'],
    );
    await s.clear();
    assert.deepEqual(await s.all(), []);
    assert.equal(await s.getSession('open'), undefined);
    s.close();
    await assert.rejects(s.put(workImage('d.png')), { name: 'StoreError' });
  });
});
