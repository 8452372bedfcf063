/**
 * The web app's state, notes, diagnostics and address options without a browser: results keep
 * the worker's prediction, mask and timings, and take a new mask; a new engine replaces the
 * model and hands back the previous engine; timings are kept to the last `TIMINGS_KEPT`; notes on the image's
 * channels and on drift (the words of data/input_statistics.ts); the diagnostics' lines.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { computeInputStatistics, INPUT_STATISTICS_KEY } from '../../src/data/input_statistics.js';
import { diagnosticsText } from '../../src/webapp/diagnostics.js';
import { channelNote, imageNotes } from '../../src/webapp/notes.js';
import { pageOptions } from '../../src/webapp/options.js';
import {
  addFailure,
  addFallback,
  addResult,
  createState,
  enqueue,
  recordedSettings,
  setEngine,
  setMask,
  stemOf,
  TIMINGS_KEPT,
} from '../../src/webapp/state.js';
import { greyImage, predictResult, standInEngine, standInModel } from './stand_in.js';

const rgb = (pixels: number[][]) => ({
  data: Uint8Array.from(pixels.flat()),
  height: 1,
  width: pixels.length,
  channels: 3 as const,
});

describe('the web app state', () => {
  test('stemOf drops the folder and the extension, not a leading dot', () => {
    const cases: Array<[string, string]> = [
      ['a.png', 'a'],
      ['dir/b.c.png', 'b.c'],
      ['dir\\d.bmp', 'd'],
      ['.png', '.png'],
      ['noext', 'noext'],
    ];
    for (const [name, stem] of cases) assert.equal(stemOf(name), stem, name);
  });

  test("a result keeps the worker's prediction, mask PNG and timings; a new mask replaces it", () => {
    const state = createState();
    const engine = standInEngine({ threshold: 0.5 });
    setEngine(state, engine);
    const settings = recordedSettings(engine.model);
    assert.deepEqual(settings, { threshold: 0.5, keepLargest: false, minSize: 0, tta: 'none' });
    const result = predictResult(engine.notes, 2, 2);
    const file = new Blob(['x']);
    const r = addResult(state, {
      name: 'dir/x.png',
      file,
      settings,
      result,
      png: Uint8Array.of(1),
    });
    assert.deepEqual(state.results, [r]);
    assert.equal(r.stem, 'x');
    assert.equal(r.file, file);
    assert.equal(r.threshold, 0.5);
    assert.deepEqual(r.mask, { png: Uint8Array.of(1), pixels: 2 });
    const before = r.mask;
    setMask(
      r,
      { ...settings, threshold: 0.7 },
      {
        png: Uint8Array.of(2),
        pixels: 1,
        preview: { data: Uint8Array.of(0, 0, 0, 1), height: 2, width: 2 },
      },
    );
    assert.equal(r.threshold, 0.7);
    assert.deepEqual(r.mask, { png: Uint8Array.of(2), pixels: 1 });
    assert.notEqual(r.mask, before, 'a new mask object (the download cache keys on it)');
    assert.deepEqual([...r.preview.mask.data], [0, 0, 0, 1]);
    assert.deepEqual(state.timings, [
      {
        name: 'dir/x.png',
        width: 2,
        height: 2,
        decodeMs: 1.4,
        networkMs: 12.6,
        postMs: 2.2,
        engine: 'stand-in',
      },
    ]);
  });

  test('timings keep the last TIMINGS_KEPT; the queue keeps its order', () => {
    const state = createState();
    const engine = standInEngine();
    const settings = recordedSettings(engine.model);
    for (let k = 0; k < TIMINGS_KEPT + 3; k++) {
      addResult(state, {
        name: `${k}.png`,
        file: new Blob([]),
        settings,
        result: predictResult(engine.notes, 2, 2),
        png: new Uint8Array(0),
      });
    }
    assert.equal(state.results.length, TIMINGS_KEPT + 3);
    assert.deepEqual(
      state.timings.map((t) => t.name),
      Array.from({ length: TIMINGS_KEPT }, (_, k) => `${k + 3}.png`),
    );
    const files = ['a', 'b', 'c'].map((n) => new File([n], `${n}.png`));
    enqueue(state, files.slice(0, 2));
    enqueue(state, files.slice(2));
    assert.deepEqual(state.queue, files);
  });

  test('a new engine takes over the model and hands back the previous engine', () => {
    const state = createState();
    const first = standInEngine();
    assert.equal(setEngine(state, first), undefined);
    assert.equal(state.model, first.model);
    const other = standInEngine({ threshold: 0.3 });
    assert.equal(setEngine(state, other), first);
    assert.equal(state.engine, other);
    assert.equal(state.model, other.model);
  });

  test('notes: channels converted to fit the model; drift in the words of input_statistics', () => {
    assert.match(
      channelNote(rgb([[10, 20, 30]]), 1) ?? '',
      /^This is a colour image and the model takes grey images/,
    );
    assert.equal(channelNote(rgb([[10, 10, 10]]), 1), undefined);
    assert.match(
      channelNote(greyImage(1, 2), 3) ?? '',
      /^This is a grey image and the model takes colour images/,
    );
    assert.equal(channelNote(rgb([[10, 20, 30]]), 3), undefined);

    // Training images of brightness 40..60, contrast 20.
    const image = (base: number) =>
      Uint8Array.from({ length: 4 }, (_, i) => base + (i % 2 === 0 ? -20 : 20));
    const stats = computeInputStatistics([40, 45, 50, 55, 60].map(image), 1);
    const engine = standInModel({ userMetadata: { [INPUT_STATISTICS_KEY]: stats } });
    const like = { data: image(50), height: 2, width: 2, channels: 1 as const };
    const bright = { data: image(170), height: 2, width: 2, channels: 1 as const };
    assert.deepEqual(imageNotes(engine, like), []);
    assert.deepEqual(imageNotes(engine, bright), [
      "This image does not look like the model's 5 training images (brightness 170 there, " +
        '50 ± 7 in training; contrast 20, 20 ± 0 in training): its mask may be meaningless.',
    ]);
    // No statistics recorded (an older model), or recorded for other channels: no drift note.
    assert.deepEqual(imageNotes(standInModel(), bright), []);
    const rgbEngine = standInModel({
      channels: 3,
      userMetadata: { [INPUT_STATISTICS_KEY]: stats },
    });
    const notes = imageNotes(rgbEngine, {
      ...bright,
      data: Uint8Array.from([...bright.data].flatMap((v) => [v, v, v])),
      channels: 3,
    });
    assert.equal(notes.length, 1);
    assert.match(notes[0], /^This is a grey image/);
  });

  test('diagnostics: engine, model, browser, fallbacks, last error, timings', () => {
    const env = { crossOriginIsolated: false, cores: 4, userAgent: 'test-agent' };
    const empty = diagnosticsText(createState(), env);
    assert.equal(
      empty,
      [
        'engine: not started',
        'threads: - (cross-origin isolated: false, cores: 4)',
        'WebGL renderer: none',
        'WebGPU adapter: none',
        'model: -',
        'input: -, interpolation -, threshold -',
        'weights: -; producer: -',
        'browser memory: not reported by this browser',
        'user agent: test-agent',
        'images: 0 predicted',
      ].join('\n'),
    );
    const state = createState();
    const engine = standInEngine();
    setEngine(state, engine);
    addResult(state, {
      name: 'a.png',
      file: new Blob([]),
      settings: recordedSettings(engine.model),
      result: predictResult(engine.notes, 3, 5),
      png: new Uint8Array(0),
    });
    addFallback(state, { failed: 'tfjs-webgl', reason: 'context lost', next: 'onnxruntime-wasm' });
    addFailure(state, 'b.txt', 'not an image');
    addFailure(state, 'c.gif', 'not an image: expected a PNG, JPEG or BMP file');
    const text = diagnosticsText(state, {
      ...env,
      memory: { usedJSHeapSize: 3 * 2 ** 20, jsHeapSizeLimit: 2 ** 30 },
    });
    assert.equal(
      text,
      [
        'engine: stand-in',
        'threads: 1 (cross-origin isolated: false, cores: 4)',
        'WebGL renderer: none',
        'WebGPU adapter: none',
        'model: attn_reg from model/model.json',
        'input: 2x2x1, interpolation bilinear, threshold 0.5',
        'weights: -; producer: -',
        'browser memory: 3 MiB used of 1024 MiB',
        'user agent: test-agent',
        'images: 1 predicted',
        'fallbacks:',
        '  tfjs-webgl failed (context lost); now onnxruntime-wasm',
        'last error: c.gif: not an image: expected a PNG, JPEG or BMP file',
        'timings:',
        '  a.png: 5x3, decode 1 ms, network 13 ms, post-processing 2 ms (stand-in)',
      ].join('\n'),
    );
  });

  test('address options: known values kept, unknown ones auto with a notice', () => {
    assert.deepEqual(pageOptions(''), {
      options: { backend: 'auto', engine: 'auto' },
      notices: [],
    });
    assert.deepEqual(pageOptions('?backend=wasm&engine=tfjs&threads=2.7'), {
      options: { backend: 'wasm', engine: 'tfjs', threads: 2 },
      notices: [],
    });
    assert.deepEqual(pageOptions('?backend=cuda&engine=x&threads=0'), {
      options: { backend: 'auto', engine: 'auto' },
      notices: [
        "Unknown backend 'cuda' in the address; using auto.",
        "Unknown engine 'x' in the address; using auto.",
      ],
    });
  });
});
