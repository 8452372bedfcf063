/**
 * The web app's state, notes, diagnostics and address options without a browser: images join
 * the work with their stem, status, truth and timing; timings are kept to the last
 * `TIMINGS_KEPT`; remembered settings are checked field by field; the plain words (the model
 * from its metadata, areas in mm², a picture's text alternative); notes on the image's
 * channels and on drift (the words of data/input_statistics.ts); the diagnostics' lines.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ExportMetadata } from '../../src/export/metadata.js';
import { computeInputStatistics, INPUT_STATISTICS_KEY } from '../../src/data/input_statistics.js';
import { diagnosticsText } from '../../src/webapp/diagnostics.js';
import {
  areaWords,
  channelNote,
  imageNotes,
  modelWords,
  pictureText,
} from '../../src/webapp/notes.js';
import { pageOptions } from '../../src/webapp/options.js';
import {
  addFailure,
  addFallback,
  addImage,
  clearWork,
  createState,
  enqueue,
  recordedSettings,
  readSettings,
  stemOf,
  TIMINGS_KEPT,
  type Predicted,
  type WorkPipeline,
} from '../../src/webapp/state.js';
import { checkQuality } from '../../src/eval/quality.js';
import { greyImage, standInModel } from './stand_in.js';

const TIMING = { decodeMs: 1.4, networkMs: 12.6, postMs: 3, totalMs: 17 };

/** What the pipeline gives of an image of `height` x `width`: a mask of a quarter of it. */
function predicted(height: number, width: number): Predicted {
  return {
    width,
    height,
    channels: 1,
    modelMask: { png: new Blob(['png']), pixels: (height * width) / 4 },
    notes: [],
    prediction: {
      probabilities: new Float32Array(4),
      inputSize: [2, 2],
      attention: [],
      engine: 'stand-in',
    },
    qc: checkQuality({ probabilities: new Float32Array(4), threshold: 0.5, lesionArea: 0.25 }),
    timing: TIMING,
  };
}

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

  test('an image joins the work with its stem, status, truth and timing; ids replace', () => {
    const state = createState();
    const settings = recordedSettings(undefined);
    const file = new File(['x'], 'dir/x.png');
    const truth = { png: new Blob(['t']), pixels: 3 };
    const image = addImage(state, { id: 'i1', file, truth }, predicted(2, 3), settings, 7);
    assert.deepEqual(state.images, [image]);
    assert.equal(image.stem, 'x');
    assert.equal(image.status, 'unreviewed');
    assert.equal(image.truth, truth);
    assert.equal(image.added, 7);
    assert.deepEqual(image.settings, {
      threshold: 0.5,
      keepLargest: false,
      minSize: 0,
      tta: 'none',
    });
    assert.notEqual(image.settings, settings, 'a copy: the settings for all images change apart');
    // A mask given as earlier work is the correction in force: corrected.
    const correction = { png: new Blob(['c']), pixels: 1 };
    const again = addImage(state, { id: 'i1', file, correction }, predicted(2, 3), settings);
    assert.deepEqual(state.images, [again]);
    assert.equal(again.status, 'corrected');
    assert.deepEqual(state.timings, [
      { name: 'dir/x.png', width: 3, height: 2, engine: 'stand-in', ...TIMING },
      { name: 'dir/x.png', width: 3, height: 2, engine: 'stand-in', ...TIMING },
    ]);
    clearWork(state);
    assert.deepEqual([state.images, state.queue, state.failures], [[], [], []]);
  });

  test('timings keep the last TIMINGS_KEPT; the queue keeps its order', () => {
    const state = createState();
    for (let k = 0; k < TIMINGS_KEPT + 3; k++) {
      const file = new File(['x'], `${k}.png`);
      addImage(state, { id: `${k}`, file }, predicted(2, 2), recordedSettings(undefined));
    }
    assert.equal(state.images.length, TIMINGS_KEPT + 3);
    assert.deepEqual(
      state.timings.map((t) => t.name),
      Array.from({ length: TIMINGS_KEPT }, (_, k) => `${k + 3}.png`),
    );
    const items = ['a', 'b', 'c'].map((n) => ({ id: n, file: new File([n], `${n}.png`) }));
    enqueue(state, items.slice(0, 2));
    enqueue(state, items.slice(2));
    assert.deepEqual(state.queue, items);
  });

  test('remembered settings: each field checked, the defaults for the rest', () => {
    const defaults = {
      mask: { threshold: 0.5, keepLargest: false, minSize: 0, tta: 'none' as const },
    };
    const saved = {
      mask: { threshold: 0.3, keepLargest: true, minSize: 12, tta: 'hflip' as const },
      spacing: 0.1,
    };
    assert.deepEqual(readSettings(JSON.stringify(saved), defaults), saved);
    assert.deepEqual(readSettings(null, defaults), defaults);
    assert.deepEqual(readSettings('{not json', defaults), defaults);
    assert.deepEqual(
      readSettings(
        JSON.stringify({
          mask: { threshold: 1.5, keepLargest: 'yes', minSize: -1, tta: 'x' },
          spacing: 0,
        }),
        defaults,
      ),
      defaults,
    );
    assert.deepEqual(readSettings(JSON.stringify({ mask: { minSize: 4 } }), defaults), {
      mask: { ...defaults.mask, minSize: 4 },
    });
  });

  test('plain words: the model from its metadata, areas in mm² with a spacing, the picture', () => {
    const metadata = {
      model: 'attn_reg',
      predict: { inputShape: [128, 128, 1], threshold: 0.5 },
      training: { dataset: 'bus', epochs: 100, testDsc: 0.8123, testImages: 33 },
    } as unknown as ExportMetadata;
    assert.equal(
      modelWords({ metadata, source: 'model/model.json' }),
      'Model attn_reg, trained on BUS 2017 data set B (breast ultrasound) for 100 epochs; ' +
        'its DSC on 33 test images was 0.812. It looks at each image resized to 128x128 pixels, in grey.',
    );
    const noTest = { ...metadata, training: { dataset: 'synthetic-isic', validationDsc: 0.7 } };
    assert.equal(
      modelWords({
        metadata: {
          ...noTest,
          predict: { ...metadata.predict, inputShape: [192, 256, 3] },
        } as ExportMetadata,
        source: 'm',
      }),
      'Model attn_reg, trained on synthetic dermoscopy images; its test DSC was not recorded ' +
        '(validation DSC 0.700). It looks at each image resized to 256x192 pixels, in colour.',
    );
    const bare = { ...metadata, training: undefined } as unknown as ExportMetadata;
    assert.equal(
      modelWords({ metadata: bare, source: 'model.json' }),
      'Model attn_reg (model.json): what it was trained on and its test DSC were not recorded ' +
        'with it. It looks at each image resized to 128x128 pixels, in grey.',
    );
    // 250 of 1000 pixels; at 0.1 mm a pixel is 0.01 mm²: 2.5 mm².
    assert.equal(areaWords(250, 1000), '250 px (25.0% of the image)');
    assert.equal(areaWords(250, 1000, 0.1), '2.50 mm² (25.0% of the image)');
    assert.equal(areaWords(2000, 4000, 0.5), '500.0 mm² (50.0% of the image)');
    const state = createState();
    const image = addImage(state, { id: 'p', file: new File(['x'], 'a.png') }, predicted(10, 100), {
      ...recordedSettings(undefined),
      threshold: 0.35,
    });
    assert.equal(
      pictureText(image),
      'a.png: lesion 250 px (25.0% of the image), threshold 0.35, not reviewed',
    );
    assert.equal(
      pictureText({ ...image, status: 'accepted' }, 0.1),
      'a.png: lesion 2.50 mm² (25.0% of the image), threshold 0.35, accepted',
    );
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
        'images: 0 in the work, 0 waiting, 0 not processed',
      ].join('\n'),
    );
    const state = createState();
    const engine = standInModel();
    state.pipeline = {
      model: {
        metadata: engine.loaded.metadata,
        source: engine.loaded.source,
        exported: true,
        gates: [],
        engineLabel: 'stand-in',
        threads: 1,
        gpu: {},
      },
    } as unknown as WorkPipeline;
    addImage(
      state,
      { id: 'a', file: new File(['x'], 'a.png') },
      predicted(3, 5),
      recordedSettings(undefined),
    );
    addFallback(state, { failed: 'tfjs-webgl', reason: 'context lost', next: 'onnxruntime-wasm' });
    addFailure(state, { id: 'b', name: 'b.txt', message: 'not an image' });
    addFailure(state, {
      id: 'c',
      name: 'c.gif',
      message: 'not an image: expected a PNG, JPEG or BMP file',
    });
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
        'images: 1 in the work, 0 waiting, 2 not processed',
        'fallbacks:',
        '  tfjs-webgl failed (context lost); now onnxruntime-wasm',
        'last error: c.gif: not an image: expected a PNG, JPEG or BMP file',
        'timings:',
        '  a.png: 5x3, decode 1 ms, network 13 ms, mask 3 ms, total 17 ms (stand-in)',
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
