/**
 * The web app's state, notes, diagnostics and address options without a browser: results keep
 * their prediction and make the mask again at a new threshold, the model and engine are
 * replaced as one step, timings are kept to the last `TIMINGS_KEPT`; notes on the image's
 * channels and on drift (the words of data/input_statistics.ts); the diagnostics' lines.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LoadedModel } from '../../src/browser/model.js';
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
  lesionPixels,
  setEngine,
  setModel,
  setThreshold,
  stemOf,
  TIMINGS_KEPT,
} from '../../src/webapp/state.js';
import { greyImage, prediction, standInEngine } from './stand_in.js';

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

  test('a result keeps its prediction: a new threshold makes the mask again', () => {
    const state = createState();
    const engine = standInEngine({ threshold: 0.5 });
    setEngine(state, engine);
    const image = greyImage(2, 2);
    const r = addResult(state, engine, {
      name: 'dir/x.png',
      image,
      prediction: prediction([2, 2]),
      notes: ['a note'],
    });
    assert.deepEqual(state.results, [r]);
    assert.equal(r.stem, 'x');
    assert.equal(r.threshold, 0.5);
    assert.deepEqual([...r.mask.data], [0, 0, 1, 1]);
    assert.equal(lesionPixels(r.mask), 2);
    const before = r.mask;
    assert.equal(setThreshold(state, r, 0.7), true);
    assert.equal(r.threshold, 0.7);
    assert.deepEqual([...r.mask.data], [0, 0, 0, 1]);
    assert.notEqual(r.mask, before, 'a new mask object (the PNG and download caches key on it)');
    // While another model is being opened there is no engine: the result stays as it is.
    const kept = r.mask;
    setModel(state, engine.loaded);
    assert.equal(setThreshold(state, r, 0.1), false);
    assert.equal(r.mask, kept);
    assert.equal(r.threshold, 0.7);
    assert.deepEqual(state.timings, [
      {
        name: 'dir/x.png',
        width: 2,
        height: 2,
        preprocessMs: 1.4,
        networkMs: 12.6,
        engine: 'stand-in',
      },
    ]);
  });

  test('a result carries its quality control, made again at a new threshold', () => {
    const state = createState();
    const engine = standInEngine({ threshold: 0.5 });
    setEngine(state, engine);
    // Probabilities 0.2 0.4 / 0.6 0.8; the mirrored pass, mapped back: 0.4 0.2 / 0.8 0.6.
    const r = addResult(state, engine, {
      name: 'x.png',
      image: greyImage(2, 2),
      prediction: { ...prediction([2, 2]), mirrored: Float32Array.from([0.4, 0.2, 0.8, 0.6]) },
      notes: [],
    });
    // At 0.5 both passes call the bottom row lesion (DSC 1), whose entropy, (h(0.6) + h(0.8)) / 2
    // = (0.971 + 0.722) / 2, is above the limit: unsure. The stand-in model records no training
    // statistics: no input or area signal.
    assert.equal(r.qc.verdict, 'check');
    assert.deepEqual(r.qc.reasons, ['confidence']);
    assert.equal(r.qc.signals.flipDsc, 1);
    assert.equal(r.qc.signals.inputDistance, null);
    // At 0.7 one pass calls the bottom right pixel lesion, the other the bottom left: DSC 0.
    setThreshold(state, r, 0.7);
    assert.deepEqual(r.qc.reasons, ['confidence', 'flip']);
    assert.equal(r.qc.signals.flipDsc, 0);
  });

  test('timings keep the last TIMINGS_KEPT; the queue keeps its order', () => {
    const state = createState();
    const engine = standInEngine();
    for (let k = 0; k < TIMINGS_KEPT + 3; k++) {
      addResult(state, engine, {
        name: `${k}.png`,
        image: greyImage(2, 2),
        prediction: prediction([2, 2]),
        notes: [],
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

  test('a new model clears the engine and hands back the previous model and engine', () => {
    const state = createState();
    const first = standInEngine();
    assert.deepEqual(setModel(state, first.loaded), { model: undefined, engine: undefined });
    setEngine(state, first);
    const other = { source: 'other.json' } as LoadedModel;
    const previous = setModel(state, other);
    assert.equal(previous.model, first.loaded);
    assert.equal(previous.engine, first);
    assert.equal(state.model, other);
    assert.equal(state.engine, undefined);
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
    const engine = standInEngine({ userMetadata: { [INPUT_STATISTICS_KEY]: stats } });
    const like = { data: image(50), height: 2, width: 2, channels: 1 as const };
    const bright = { data: image(170), height: 2, width: 2, channels: 1 as const };
    assert.deepEqual(imageNotes(engine, like), []);
    assert.deepEqual(imageNotes(engine, bright), [
      "This image does not look like the model's 5 training images (brightness 170 there, " +
        '50 ± 7 in training; contrast 20, 20 ± 0 in training): its mask may be meaningless.',
    ]);
    // No statistics recorded (an older model), or recorded for other channels: no drift note.
    assert.deepEqual(imageNotes(standInEngine(), bright), []);
    const rgbEngine = standInEngine({
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
    setModel(state, engine.loaded);
    setEngine(state, engine);
    addResult(state, engine, {
      name: 'a.png',
      image: greyImage(3, 5),
      prediction: prediction([3, 5]),
      notes: [],
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
        '  a.png: 5x3, preprocess 1 ms, network 13 ms (stand-in)',
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
