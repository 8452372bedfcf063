/**
 * The web app's downloads without a browser: each mask's PNG equals `ftunet predict`'s (0 and
 * 255, the image's size); the zip holds
 * every mask under its download's name and `areas.csv`, written by util/csv.ts, so that a file
 * name with a carriage return, a comma or a quote reads back as it was picked.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { unzipSync } from 'fflate';
import { decode } from 'fast-png';
import { csvText, parseCsvRecords } from '../../src/util/csv.js';
import { encodeMaskPng } from '../../src/browser/png.js';
import { maskFileName, masksZip } from '../../src/webapp/export.js';
import { maskOf } from '../../src/webapp/mask_of.js';
import { addResult, createState, recordedSettings, setMask } from '../../src/webapp/state.js';
import { predictResult, standInEngine } from './stand_in.js';

/** Results of images 4 wide and 2, 3, ... high, with the masks' PNGs as the worker makes them. */
function results(names: string[]) {
  const state = createState();
  const engine = standInEngine();
  state.engine = engine;
  for (const [k, name] of names.entries()) {
    const result = predictResult(engine.notes, 2 + k, 4);
    const { mask } = maskOf(
      engine.notes,
      result.prediction,
      [2 + k, 4],
      recordedSettings(engine.model),
    );
    addResult(state, {
      name,
      file: new Blob([]),
      settings: recordedSettings(engine.model),
      result,
      png: encodeMaskPng(mask),
    });
  }
  return { state, engine };
}

describe('the web app exports', () => {
  test("a mask's PNG is ftunet predict's: 0 and 255 at the image's size", () => {
    const { state } = results(['a.png']);
    const r = state.results[0];
    const decoded = decode(r.mask.png);
    assert.deepEqual(
      [decoded.width, decoded.height, decoded.channels, decoded.depth],
      [4, 2, 1, 8],
    );
    // Probabilities [[0.2, 0.4], [0.6, 0.8]] at 0.5, resized to 2x4: the bottom row is lesion.
    assert.deepEqual([...decoded.data], [0, 0, 0, 0, 255, 255, 255, 255]);
    assert.equal(maskFileName(r), 'a_mask.png');
    assert.equal(maskFileName({ stem: '../x' }), '_x_mask.png');
  });

  test('the zip: every mask under its name, and areas.csv by util/csv.ts', () => {
    const names = ['scan,1.png', 'carriage\rreturn.png', 'say "hi".png', 'A.png', 'a.png'];
    const { state, engine } = results(names);
    const r1 = state.results[1];
    const at70 = { ...r1.settings, threshold: 0.7 };
    const made = maskOf(engine.notes, r1.prediction, [r1.height, r1.width], at70);
    setMask(r1, at70, { png: encodeMaskPng(made.mask), pixels: made.pixels, preview: made.mask });
    const zip = unzipSync(masksZip(state.results));
    assert.deepEqual(Object.keys(zip), [
      'scan,1_mask.png',
      'carriage_return_mask.png',
      'say _hi__mask.png',
      'A_mask.png',
      'a_2_mask.png',
      'areas.csv',
    ]);
    state.results.forEach((r, k) => assert.deepEqual(zip[Object.keys(zip)[k]], r.mask.png));
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
