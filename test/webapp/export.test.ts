/**
 * The web app's export without a browser: the zip's entries hold every image's mask in force
 * (the person's correction, else the model's) under its download's name, and `areas.csv`
 * written by util/csv.ts, so that a file name with a carriage return, a comma or a quote reads
 * back as it was picked.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeMaskPng } from '../../src/browser/png.js';
import { csvText, parseCsvRecords } from '../../src/util/csv.js';
import { masksZipEntries } from '../../src/webapp/export.js';
import { addImage, createState, modelSettings } from '../../src/webapp/state.js';
import type { StoredMask } from '../../src/webapp/work.js';

/** A 0/1 mask of `height` x 4 whose first `pixels` pixels are lesion, as the page stores it. */
function stored(height: number, pixels: number): { mask: StoredMask; png: Uint8Array } {
  const data = Uint8Array.from({ length: height * 4 }, (_, i) => (i < pixels ? 1 : 0));
  const png = encodeMaskPng({ data, height, width: 4 });
  return { mask: { png: new Blob([png as BlobPart]), pixels }, png };
}

describe('the web app exports', () => {
  test('the zip: every mask in force under its name, and areas.csv by util/csv.ts', async () => {
    const names = ['scan,1.png', 'carriage\rreturn.png', 'say "hi".png', 'A.png', 'a.png'];
    const state = createState();
    const pngs: Uint8Array[] = [];
    for (const [k, name] of names.entries()) {
      const model = stored(2 + k, 4);
      const settings = { ...modelSettings(undefined), threshold: k === 1 ? 0.7 : 0.5 };
      const image = addImage(
        state,
        { id: `${k}`, file: new File(['x'], name) },
        { width: 4, height: 2 + k, channels: 1, modelMask: model.mask, notes: [] },
        settings,
      );
      pngs.push(model.png);
      if (k === 2) {
        // The person's correction is the mask in force.
        const correction = stored(2 + k, 8);
        image.correction = correction.mask;
        pngs[k] = correction.png;
      }
    }
    const zip = await masksZipEntries(state.images);
    assert.deepEqual(Object.keys(zip), [
      'scan,1_mask.png',
      'carriage_return_mask.png',
      'say _hi__mask.png',
      'A_mask.png',
      'a_2_mask.png',
      'areas.csv',
    ]);
    pngs.forEach((png, k) => assert.deepEqual(zip[Object.keys(zip)[k]], png));
    const text = new TextDecoder().decode(zip['areas.csv']);
    assert.equal(
      text,
      'file,mask,width,height,threshold,lesion_pixels,lesion_percent\n' +
        '"scan,1.png","scan,1_mask.png",4,2,0.5,4,50.0000\n' +
        '"carriage\rreturn.png",carriage_return_mask.png,4,3,0.7,4,33.3333\n' +
        '"say ""hi"".png",say _hi__mask.png,4,4,0.5,8,50.0000\n' +
        'A.png,A_mask.png,4,5,0.5,4,20.0000\n' +
        'a.png,a_2_mask.png,4,6,0.5,4,16.6667\n',
    );
    const rows = parseCsvRecords(text).slice(1);
    assert.deepEqual(
      rows.map((r) => csvText(r[0])),
      names,
    );
  });
});
