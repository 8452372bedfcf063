import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as v from 'valibot';
import { UserError } from '../../src/errors.js';
import { parseWith } from '../../src/util/schema.js';
import { defineFileFormat, readVersioned } from '../../src/util/versioned.js';

// A made-up format: version 1 had `size` as one number, version 2 as [rows, cols], version 3
// added `name` with a default.
const V3 = v.object({
  format: v.literal('demo'),
  version: v.literal(3),
  size: v.tuple([v.number('must be a number'), v.number('must be a number')]),
  name: v.string('must be a string'),
});

const DEMO = defineFileFormat({
  format: 'demo',
  version: 3,
  migrate: {
    1: (o) => ({ ...o, size: [o.size, o.size] }),
    2: (o) => ({ ...o, name: 'unnamed' }),
  },
  parse: (value, source) => parseWith(V3, value, source),
});

describe('versioned files', () => {
  it('reads every earlier version through one step per version', () => {
    assert.deepEqual(readVersioned(DEMO, { format: 'demo', version: 1, size: 4 }, 'f'), {
      format: 'demo',
      version: 3,
      size: [4, 4],
      name: 'unnamed',
    });
    assert.deepEqual(
      readVersioned(DEMO, { format: 'demo', version: 2, size: [2, 3] }, 'f').size,
      [2, 3],
    );
    assert.equal(
      readVersioned(DEMO, { format: 'demo', version: 3, size: [1, 1], name: 'x' }, 'f').name,
      'x',
    );
  });

  it('refuses another format, a newer version and a bad field with one line', () => {
    const refuse = (value: unknown, message: string): void => {
      assert.throws(
        () => readVersioned(DEMO, value, 'demo.json'),
        (e: unknown) => e instanceof UserError && e.message === message,
      );
    };
    refuse([], 'demo.json: expected a JSON object');
    refuse({ format: 'other', version: 1 }, 'demo.json: expected "format": "demo", got "other"');
    refuse({ format: 'demo' }, 'demo.json: "version" must be an integer >= 1, got nothing');
    refuse(
      { format: 'demo', version: 4 },
      'demo.json: unsupported version 4 (this program reads versions up to 3): it was written ' +
        'by a newer focal-tversky-unet; upgrade to read it',
    );
    refuse(
      { format: 'demo', version: 3, size: [1, 'a'], name: 'x' },
      'demo.json: "size.1" must be a number, got "a"',
    );
    refuse({ format: 'demo', version: 3, size: [1, 1] }, 'demo.json: "name" is missing');
  });

  it('refuses a format without a step for every earlier version', () => {
    assert.throws(
      () =>
        defineFileFormat({ format: 'gap', version: 3, migrate: { 1: (o) => o }, parse: () => 0 }),
      /no migration from version 2 to 3/,
    );
  });
});
