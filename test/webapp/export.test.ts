/**
 * The web app's downloads without a browser: each mask's PNG equals `ftunet predict`'s (0 and
 * 255, the image's size), is made once per mask and again after a new threshold; the zip holds
 * every mask under its download's name and `areas.csv`, written by util/csv.ts, so that a file
 * name with a carriage return, a comma or a quote reads back as it was picked.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { unzipSync } from 'fflate';
import { decode } from 'fast-png';
import { csvText, parseCsvRecords } from '../../src/util/csv.js';
import { maskFileName, maskPng, masksZip } from '../../src/webapp/export.js';
import { addResult, createState, setThreshold } from '../../src/webapp/state.js';
import { greyImage, prediction, standInEngine } from './stand_in.js';

function results(names: string[]) {
  const state = createState();
  const engine = standInEngine();
  state.engine = engine;
  for (const [k, name] of names.entries()) {
    const image = greyImage(2 + k, 4);
    addResult(state, engine, {
      name,
      image,
      prediction: prediction([image.height, image.width]),
      notes: [],
    });
  }
  return state;
}

describe('the web app exports', () => {
  test("a mask's PNG is ftunet predict's: 0 and 255 at the image's size, made once per mask", () => {
    const state = results(['a.png']);
    const r = state.results[0];
    const png = maskPng(r.mask);
    assert.equal(maskPng(r.mask), png, 'the same mask gives the same bytes, not a new PNG');
    const decoded = decode(png);
    assert.deepEqual(
      [decoded.width, decoded.height, decoded.channels, decoded.depth],
      [4, 2, 1, 8],
    );
    // Probabilities [[0.2, 0.4], [0.6, 0.8]] at 0.5, resized to 2x4: the bottom row is lesion.
    assert.deepEqual([...decoded.data], [0, 0, 0, 0, 255, 255, 255, 255]);
    setThreshold(state, r, 0.3);
    assert.deepEqual([...decode(maskPng(r.mask)).data], [0, 0, 255, 255, 255, 255, 255, 255]);
    assert.equal(maskFileName(r), 'a_mask.png');
    assert.equal(maskFileName({ stem: '../x' }), '_x_mask.png');
  });

  test('the zip: every mask under its name, and areas.csv by util/csv.ts', () => {
    const names = ['scan,1.png', 'carriage\rreturn.png', 'say "hi".png', 'A.png', 'a.png'];
    const state = results(names);
    setThreshold(state, state.results[1], 0.7);
    const zip = unzipSync(masksZip(state.results));
    assert.deepEqual(Object.keys(zip), [
      'scan,1_mask.png',
      'carriage_return_mask.png',
      'say _hi__mask.png',
      'A_mask.png',
      'a_2_mask.png',
      'areas.csv',
    ]);
    state.results.forEach((r, k) => assert.deepEqual(zip[Object.keys(zip)[k]], maskPng(r.mask)));
    const text = new TextDecoder().decode(zip['areas.csv']);
    assert.equal(
      text,
      'file,mask,width,height,threshold,lesion_pixels,lesion_percent\n' +
        '"scan,1.png","scan,1_mask.png",4,2,0.5,4,50.0000\n' +
        // 0.7 keeps the 0.8 pixel alone: the last of 3 rows (nearest, tf's corner rule), 2 of 4 columns.
        '"carriage\rreturn.png",carriage_return_mask.png,4,3,0.7,2,16.6667\n' +
        '"say ""hi"".png",say _hi__mask.png,4,4,0.5,8,50.0000\n' +
        'A.png,A_mask.png,4,5,0.5,8,40.0000\n' +
        'a.png,a_2_mask.png,4,6,0.5,12,50.0000\n',
    );
    const rows = parseCsvRecords(text).slice(1);
    assert.deepEqual(
      rows.map((r) => csvText(r[0])),
      names,
    );
  });
});
