/**
 * ONNX export against ONNX Runtime: each layer type exported on its own in a tiny model with
 * random weights (and BatchNorm statistics that are not the identity), then the four networks
 * at both presets' channel counts. ONNX Runtime's outputs must equal TensorFlow.js's within
 * PROBABILITY_ATOL, and the masks (p > 0.5) must be the same.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
import { predictionRecipe } from '../../src/data/recipe.js';
import { UnsupportedLayerError } from '../../src/errors.js';
import { parseExportMetadata, type ExportMetadata } from '../../src/export/metadata.js';
import {
  ONNX_INPUT_NAME,
  convTransposePads,
  readOnnxExportInfo,
  toOnnx,
} from '../../src/export/onnx.js';
import { LAYER_CONVERTERS } from '../../src/export/onnx_layers.js';
import { buildModel } from '../../src/models/build.js';
import { MODEL_NAMES } from '../../src/models/options.js';
import { NUMERIC_BACKENDS, expectClose, useBackend } from '../helpers.js';

/** The bound on |ORT − tfjs| for every output value (float32 arithmetic in both). */
const PROBABILITY_ATOL = 1e-4;

type Sym = tfl.SymbolicTensor;

/** Sets every weight of `model` to seeded random values; BatchNorm statistics not the identity. */
function randomizeWeights(model: tfl.LayersModel, seed: number, spread = 1): void {
  let k = seed;
  for (const layer of model.layers) {
    const values = layer.weights.map((w) => {
      const shape = w.shape as number[];
      k += 1;
      if (w.name.endsWith('moving_variance'))
        return tf.randomUniform(shape, 0.5, 1.5, 'float32', k);
      if (w.name.endsWith('gamma')) return tf.randomUniform(shape, 0.5, 1.5, 'float32', k);
      if (w.name.endsWith('beta') || w.name.endsWith('moving_mean')) {
        return tf.randomUniform(shape, -0.3, 0.3, 'float32', k);
      }
      return tf.randomUniform(shape, -spread, spread, 'float32', k);
    });
    if (values.length > 0) layer.setWeights(values);
    tf.dispose(values);
  }
}

/** Runs the exported model in ONNX Runtime on an NHWC batch; outputs by name. */
async function runOrt(
  bytes: Uint8Array,
  x: tf.Tensor,
): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const feeds = {
      [ONNX_INPUT_NAME]: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape),
    };
    const result = await session.run(feeds);
    const out: Record<string, { data: Float32Array; dims: readonly number[] }> = {};
    for (const name of session.outputNames) {
      out[name] = { data: result[name].data as Float32Array, dims: result[name].dims };
    }
    return out;
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Exports `model` with all outputs, runs both engines on `x`, asserts they agree. */
async function expectSameAsTfjs(model: tfl.LayersModel, x: tf.Tensor): Promise<number> {
  const exported = toOnnx(model, { outputs: 'all' });
  const ortOut = await runOrt(exported.bytes, x);
  const tfOut = [model.predict(x)].flat() as tf.Tensor[];
  let worst = 0;
  model.outputs.forEach((o, i) => {
    const name = o.sourceLayer.name;
    assert.deepEqual([...ortOut[name].dims], tfOut[i].shape, `${name}: shape`);
    const expected = tfOut[i].dataSync();
    worst = Math.max(worst, maxAbsDiff(ortOut[name].data, expected));
    expectClose(ortOut[name].data, expected, { rtol: 0, atol: PROBABILITY_ATOL }, name);
  });
  tf.dispose(tfOut);
  return worst;
}

/** A one-input model made by `body`, with random weights. */
function tiny(shape: [number, number, number], body: (x: Sym) => Sym | Sym[], seed = 1) {
  const input = tfl.input({ shape, name: 'x' });
  const model = tfl.model({ inputs: input, outputs: body(input) });
  randomizeWeights(model, seed);
  return model;
}

const conv = (args: Parameters<typeof tfl.layers.conv2d>[0]) => (x: Sym) =>
  tfl.layers.conv2d(args).apply(x) as Sym;
const convT = (args: Parameters<typeof tfl.layers.conv2dTranspose>[0]) => (x: Sym) =>
  tfl.layers.conv2dTranspose(args).apply(x) as Sym;
const bn = (name?: string) => (x: Sym) =>
  tfl.layers.batchNormalization({ epsilon: 1e-3, ...(name ? { name } : {}) }).apply(x) as Sym;

/**
 * Moves the `final` convolution's bias so that its median logit on `x` is 0: about half the
 * pixels are lesion, so that comparing masks compares something.
 */
function centreFinalBias(model: tfl.LayersModel, x: tf.Tensor): void {
  const final = model.getLayer('final');
  const features = tfl.model({ inputs: model.inputs, outputs: final.input as Sym });
  const [kernel, bias] = final.getWeights();
  const median = tf.tidy(() => {
    const f = features.predict(x) as tf.Tensor;
    const logits = tf.add(tf.conv2d(f as tf.Tensor4D, kernel as tf.Tensor4D, 1, 'same'), bias);
    const sorted = tf.topk(tf.reshape(logits, [-1]), logits.size).values.dataSync();
    return sorted[Math.floor(sorted.length / 2)];
  });
  const shifted = tf.sub(bias, median);
  final.setWeights([kernel, shifted]);
  shifted.dispose();
}

interface LayerCase {
  what: string;
  shape: [number, number, number];
  body: (x: Sym) => Sym | Sym[];
  /** BatchNorms folded into a convolution. */
  folded?: number;
}

const LAYER_CASES: LayerCase[] = [
  {
    what: 'Conv2D 3x3 same, stride 1, relu',
    shape: [6, 8, 3],
    body: conv({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }),
  },
  {
    what: 'Conv2D 3x3 valid, linear',
    shape: [6, 8, 3],
    body: conv({ filters: 4, kernelSize: 3, padding: 'valid' }),
  },
  {
    what: 'Conv2D 2x2 same, stride 2, sigmoid, odd size',
    shape: [7, 9, 2],
    body: conv({ filters: 3, kernelSize: 2, strides: 2, padding: 'same', activation: 'sigmoid' }),
  },
  {
    what: 'Conv2D 3x3 same, stride 2, odd size',
    shape: [7, 9, 2],
    body: conv({ filters: 3, kernelSize: 3, strides: 2, padding: 'same' }),
  },
  {
    what: 'Conv2D 1x1 without bias',
    shape: [4, 4, 3],
    body: conv({ filters: 2, kernelSize: 1, useBias: false }),
  },
  ...(
    [
      [2, 2, 'same'],
      [3, 2, 'same'],
      [3, 1, 'same'],
      [2, 1, 'same'],
      [1, 2, 'same'],
      [3, 2, 'valid'],
      [2, 2, 'valid'],
    ] as Array<[number, number, 'same' | 'valid']>
  ).map(([k, s, padding]): LayerCase => ({
    what: `Conv2DTranspose ${k}x${k} ${padding}, stride ${s}, relu`,
    shape: [5, 6, 3],
    body: convT({ filters: 4, kernelSize: k, strides: s, padding, activation: 'relu' }),
  })),
  {
    what: 'Conv2D → BatchNormalization, folded',
    shape: [6, 8, 3],
    body: (x) => bn()(conv({ filters: 4, kernelSize: 3, padding: 'same' })(x)),
    folded: 1,
  },
  {
    what: 'Conv2DTranspose → BatchNormalization, folded',
    shape: [5, 6, 3],
    body: (x) => bn()(convT({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' })(x)),
    folded: 1,
  },
  {
    what: 'BatchNormalization on the input (an ONNX BatchNormalization node)',
    shape: [6, 8, 3],
    body: bn(),
    folded: 0,
  },
  {
    what: 'Conv2D relu → BatchNormalization (activation between: not folded)',
    shape: [6, 8, 3],
    body: (x) => bn()(conv({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' })(x)),
    folded: 0,
  },
  {
    what: 'Conv2D read by a BatchNormalization and an Add (not folded)',
    shape: [6, 8, 3],
    body: (x) => {
      const c = conv({ filters: 3, kernelSize: 3, padding: 'same' })(x);
      return tfl.layers.add().apply([bn()(c), c]) as Sym;
    },
    folded: 0,
  },
  {
    what: 'Activation relu and sigmoid',
    shape: [4, 5, 2],
    body: (x) => [
      tfl.layers.activation({ activation: 'relu' }).apply(x) as Sym,
      tfl.layers.activation({ activation: 'sigmoid' }).apply(x) as Sym,
    ],
  },
  {
    what: 'MaxPooling2D and AveragePooling2D 2x2 valid',
    shape: [6, 8, 3],
    body: (x) => [
      tfl.layers.maxPooling2d({ poolSize: 2, strides: 2 }).apply(x) as Sym,
      tfl.layers.averagePooling2d({ poolSize: 2, strides: 2 }).apply(x) as Sym,
    ],
  },
  {
    what: 'MaxPooling2D and AveragePooling2D 3x3 same, stride 2, odd size',
    shape: [7, 9, 2],
    body: (x) => [
      tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(x) as Sym,
      tfl.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(x) as Sym,
    ],
  },
  {
    what: 'UpSampling2D nearest 2x2 and 2x3',
    shape: [3, 4, 2],
    body: (x) => [
      tfl.layers.upSampling2d({ size: [2, 2] }).apply(x) as Sym,
      tfl.layers.upSampling2d({ size: [2, 3] }).apply(x) as Sym,
    ],
  },
  {
    what: 'Concatenate on the channels',
    shape: [4, 5, 2],
    body: (x) =>
      tfl.layers
        .concatenate({ axis: -1 })
        .apply([conv({ filters: 3, kernelSize: 1 })(x), x]) as Sym,
  },
  {
    what: 'Add',
    shape: [4, 5, 2],
    body: (x) =>
      tfl.layers.add().apply([conv({ filters: 2, kernelSize: 3, padding: 'same' })(x), x]) as Sym,
  },
  {
    what: 'Multiply of a 1-channel map with C channels (broadcast)',
    shape: [4, 6, 3],
    body: (x) => {
      const map = conv({ filters: 1, kernelSize: 1, activation: 'sigmoid' })(x);
      return tfl.layers.multiply().apply([map, x]) as Sym;
    },
  },
];

for (const backend of NUMERIC_BACKENDS) {
  describe(`ONNX export of each layer type, against ONNX Runtime (tfjs ${backend})`, () => {
    before(() => useBackend(backend));
    for (const [i, c] of LAYER_CASES.entries()) {
      test(c.what, async (t) => {
        const model = tiny(c.shape, c.body, 10 + i);
        const x = tf.randomUniform([2, ...c.shape], -1, 1, 'float32', 100 + i);
        if (c.folded !== undefined) {
          assert.equal(toOnnx(model, { outputs: 'all' }).foldedBatchNorms, c.folded, 'folded');
        }
        const worst = await expectSameAsTfjs(model, x);
        t.diagnostic(`max |ORT - tfjs| = ${worst.toExponential(2)}`);
        x.dispose();
        model.dispose();
      });
    }
  });
}

describe('ONNX export of the four networks, against ONNX Runtime', () => {
  before(() => useBackend('cpu'));
  const shapes: Array<[number, number, number]> = [
    [32, 32, 1],
    [32, 64, 3],
  ];
  for (const name of ['unet', 'attn_unet', 'attn_reg_ds', 'attn_reg']) {
    for (const shape of shapes) {
      test(`${name} ${shape.join('x')}: probabilities within ${PROBABILITY_ATOL}, same masks`, async (t) => {
        const model = buildModel(name, { inputShape: shape, width: 0.125, seed: 3 });
        // Glorot kernels keep activations in range; BatchNorm statistics made not the identity.
        for (const layer of model.layers) {
          if (layer.getClassName() !== 'BatchNormalization') continue;
          const c = layer.weights[0].shape[0] as number;
          const seed = layer.name.length * 31 + c;
          const values = [
            tf.randomUniform([c], 0.5, 1.5, 'float32', seed),
            tf.randomUniform([c], -0.3, 0.3, 'float32', seed + 1),
            tf.randomUniform([c], -0.3, 0.3, 'float32', seed + 2),
            tf.randomUniform([c], 0.5, 1.5, 'float32', seed + 3),
          ];
          layer.setWeights(values);
          tf.dispose(values);
        }
        const x = tf.randomUniform([2, ...shape], 0, 1, 'float32', 7);
        centreFinalBias(model, x);
        const exported = toOnnx(model);
        assert.deepEqual(exported.outputs, ['final']);
        const ortOut = await runOrt(exported.bytes, x);
        const all = [model.predict(x)].flat() as tf.Tensor[];
        const final = all[model.outputs.findIndex((o) => o.sourceLayer.name === 'final')];
        const expected = final.dataSync();
        assert.deepEqual([...ortOut.final.dims], final.shape);
        const worst = maxAbsDiff(ortOut.final.data, expected);
        expectClose(ortOut.final.data, expected, { rtol: 0, atol: PROBABILITY_ATOL }, 'final');
        const masks = (p: ArrayLike<number>) => Array.from(p, (v) => (v > 0.5 ? 1 : 0));
        const tfMask = masks(expected);
        assert.deepEqual(masks(ortOut.final.data), tfMask, 'masks');
        const lesion = tfMask.reduce((a: number, b) => a + b, 0);
        assert.ok(
          lesion > 0.1 * tfMask.length && lesion < 0.9 * tfMask.length,
          `${lesion} lesion pixels`,
        );
        t.diagnostic(
          `max |ORT - tfjs| = ${worst.toExponential(2)}; ${exported.foldedBatchNorms} BatchNorms folded; ` +
            `${lesion} of ${tfMask.length} pixels above 0.5`,
        );
        tf.dispose(all);
        x.dispose();
        model.dispose();
      });
    }
  }

  test("outputs 'all' gives the deep-supervision outputs in the model's order", async () => {
    const model = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 4 });
    const x = tf.randomUniform([1, 32, 32, 1], 0, 1, 'float32', 8);
    assert.deepEqual(toOnnx(model, { outputs: 'all' }).outputs, [
      'pred1',
      'pred2',
      'pred3',
      'final',
    ]);
    await expectSameAsTfjs(model, x);
    x.dispose();
    model.dispose();
  });

  test('the metadata records the preprocessing, the threshold and the model', () => {
    const model = buildModel('attn_unet', { inputShape: [32, 64, 3], width: 0.125 });
    const { metadata, bytes } = toOnnx(model, { mirrors: { horizontal: true, vertical: false } });
    // The tfjs export's JSON under one key: the recipe under `predict`.
    assert.deepEqual(Object.keys(metadata), ['ftunetExport']);
    const expected = {
      format: 'ftunet-export',
      version: 2,
      model: 'attn_unet',
      // The recipe's JSON as the tfjs export records it (pinned field by field in tfjs.test.ts).
      predict: predictionRecipe({ inputShape: [32, 64, 3] }),
      outputs: ['final'],
      quantization: 'none',
      training: { mirrors: { horizontal: true, vertical: false } },
      producer: 'focal-tversky-unet',
    };
    assert.deepEqual(JSON.parse(metadata.ftunetExport), expected);
    const info = readOnnxExportInfo(bytes, 'model.onnx');
    assert.deepEqual(info.metadata, expected);
    assert.equal(info.threshold, 0.5);
    assert.equal(info.interpolation, 'nearest');
    assert.deepEqual(info.mirrors, { horizontal: true, vertical: false });
    model.dispose();
  });

  test("version 1's flat metadata_props (test/fixtures/formats/onnx-metadata-v1.json) read as today's", async () => {
    const model = buildModel('attn_reg', { inputShape: [64, 64, 1], width: 0.125, seed: 1 });
    const props = JSON.parse(
      await readFile(
        new URL('../../../test/fixtures/formats/onnx-metadata-v1.json', import.meta.url),
        'utf8',
      ),
    ) as Record<string, string>;
    const tfjsV1 = JSON.parse(
      await readFile(
        new URL('../../../test/fixtures/formats/export-metadata-v1.json', import.meta.url),
        'utf8',
      ),
    ) as ExportMetadata;
    const proto = onnxProto.onnx.ModelProto.decode(
      toOnnx(model, { producerVersion: '0.1.0' }).bytes,
    );
    proto.metadataProps = Object.entries(props).map(([key, value]) => ({ key, value }));
    const bytes = onnxProto.onnx.ModelProto.encode(proto).finish();
    const info = readOnnxExportInfo(bytes, 'old.onnx');
    // The same recipe as the tfjs export of version 1 made, migrated to today's.
    assert.deepEqual(info.metadata, {
      ...parseExportMetadata(tfjsV1),
      quantization: 'none',
      training: { mirrors: { horizontal: true, vertical: false } },
    });
    assert.equal(info.threshold, 0.45);
    assert.equal(info.interpolation, 'bilinear');
    assert.deepEqual(info.mirrors, { horizontal: true, vertical: false });
    // A damaged value names the file and the field.
    const damaged = { ...info.metadata!, predict: { ...info.metadata!.predict, threshold: 2 } };
    proto.metadataProps = [{ key: 'ftunetExport', value: JSON.stringify(damaged) }];
    assert.throws(
      () => readOnnxExportInfo(onnxProto.onnx.ModelProto.encode(proto).finish(), 'x.onnx'),
      {
        name: 'UserError',
        message:
          'x.onnx: metadata_props.ftunetExport: "predict.threshold" must be a number from 0 to 1, got 2',
      },
    );
    model.dispose();
  });
});

describe('LAYER_CONVERTERS', () => {
  before(() => useBackend('cpu'));
  test('every layer class of the four networks has a converter, and a case above', () => {
    const classes = new Set<string>();
    for (const name of MODEL_NAMES) {
      const model = buildModel(name, { inputShape: [32, 32, 1], width: 0.125 });
      for (const layer of model.layers) classes.add(layer.getClassName());
      model.dispose();
    }
    const tested = new Set(
      LAYER_CASES.flatMap((c) => {
        const model = tiny(c.shape, c.body);
        const names = model.layers.map((l) => l.getClassName());
        model.dispose();
        return names;
      }),
    );
    for (const cls of classes) {
      assert.ok(Object.hasOwn(LAYER_CONVERTERS, cls), `${cls}: no converter`);
      assert.ok(tested.has(cls), `${cls}: no case in LAYER_CASES`);
    }
    for (const cls of Object.keys(LAYER_CONVERTERS)) {
      assert.ok(tested.has(cls), `${cls}: a converter without a case in LAYER_CASES`);
    }
  });
});

describe('ONNX export: what it cannot express', () => {
  before(() => useBackend('cpu'));
  test('a layer type without an ONNX export names the layer', () => {
    const model = tiny([4, 4, 1], (x) => tfl.layers.flatten({ name: 'flat' }).apply(x) as Sym);
    assert.throws(
      () => toOnnx(model, { outputs: 'all' }),
      (err: unknown) =>
        err instanceof UnsupportedLayerError &&
        err.message === "layer 'flat' cannot be exported: layer type Flatten has no ONNX export",
    );
    model.dispose();
  });
  test('bilinear up-sampling names the layer and its setting', () => {
    const model = tiny(
      [4, 4, 1],
      (x) =>
        tfl.layers
          .upSampling2d({ size: [2, 2], interpolation: 'bilinear', name: 'up' })
          .apply(x) as Sym,
    );
    assert.throws(() => toOnnx(model, { outputs: 'all' }), {
      message: "layer 'up' cannot be exported: interpolation 'bilinear' (only nearest)",
    });
    model.dispose();
  });
  test("outputs 'final' on a model without a final output", () => {
    const model = tiny([4, 4, 1], conv({ filters: 1, kernelSize: 1, name: 'out' }));
    assert.throws(() => toOnnx(model), /has no output named 'final'/);
    model.dispose();
  });
});

describe('convTransposePads', () => {
  // out = s(in - 1) + output_padding + k - begin - end must be tfjs's size.
  for (const [inSize, k, s, padding] of [
    [5, 3, 2, 'same'],
    [5, 2, 2, 'same'],
    [5, 1, 2, 'same'],
    [5, 1, 3, 'same'],
    [5, 3, 1, 'same'],
    [5, 3, 2, 'valid'],
    [5, 1, 2, 'valid'],
  ] as Array<[number, number, number, 'same' | 'valid']>) {
    test(`in ${inSize}, kernel ${k}, stride ${s}, ${padding}`, () => {
      const p = convTransposePads(inSize, k, s, padding);
      assert.equal(s * (inSize - 1) + p.outputPadding + k - p.begin - p.end, p.outSize);
      assert.ok(p.outputPadding < s, 'ONNX needs output_padding < stride');
      assert.equal(p.outSize, padding === 'same' ? inSize * s : inSize * s + Math.max(k - s, 0));
    });
  }
});
