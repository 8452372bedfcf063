/**
 * The TensorFlow.js export (`exportModel` with format 'tfjs'): the metadata it records and
 * reads back, `--outputs final` against the model's own `final` output, quantized weights
 * through both loaders (ours and tfjs-layers' own from the files), the training summary of a
 * run folder, and the errors that leave no file.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { openModel } from '../../src/eval/model_source.js';
import {
  EXPORT_METADATA_KEY,
  EXPORT_METADATA_VERSION,
  exportMetadataOf,
  parseExportMetadata,
  type ExportMetadata,
} from '../../src/export/metadata.js';
import { readExportMetadata } from '../../src/export/read.js';
import { exportModel, type ExportResult } from '../../src/export/write.js';
import { loadModel, saveModel } from '../../src/io/model_files.js';
import { buildModel } from '../../src/models/build.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { thresholdModel, writeBusItems, writeRunFolder } from '../eval/fixtures.js';
import { handLogs } from '../report/fixtures.js';
import { expectClose, useBackend } from '../helpers.js';

/**
 * Probabilities of a quantized export against float32, on random inputs of the seeded
 * attn_reg below (width 0.125, logits spread x30): float16 weights keep 11 significant bits,
 * uint8 weights 8 bits of each tensor's range.
 */
const FLOAT16_ATOL = 5e-3;
const UINT8_ATOL = 0.1;

let root: string;
let modelDir: string;
let net: tfl.LayersModel;
let x: tf.Tensor;

/** tfjs-layers' own loader on the files, with no code of ours (as a browser would). */
async function stockLoad(dir: string): Promise<tfl.LayersModel> {
  const json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
  const [group] = json.weightsManifest;
  const bytes = await readFile(path.join(dir, group.paths[0]));
  const weights = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return tfl.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: group.weights,
      weightData: weights,
      ...(json.userDefinedMetadata ? { userDefinedMetadata: json.userDefinedMetadata } : {}),
    }),
  );
}

/** The `final` output of `model` on `x`, as a flat array. */
function finalOf(model: tfl.LayersModel, input: tf.Tensor): Float32Array {
  return tf.tidy(() => {
    const out = [model.predict(input)].flat() as tf.Tensor[];
    const k = model.outputs.findIndex((o) => o.sourceLayer.name === 'final');
    return out[k].dataSync() as Float32Array;
  });
}

const weightsBytes = async (dir: string): Promise<number> => {
  const name = (await readdir(dir)).find((n) => n.endsWith('.bin'))!;
  return (await readFile(path.join(dir, name))).byteLength;
};

before(async () => {
  await useBackend('cpu');
  root = await makeTemp('ftunet-export-tfjs-');
  modelDir = path.join(root, 'model');
  net = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 3 });
  // Spread the final layer's logits so that the probabilities are not all near 0.5.
  const final = net.getLayer('final');
  const [kernel, bias] = final.getWeights();
  final.setWeights([tf.mul(kernel, 30), tf.fill(bias.shape, 0.05)]);
  await saveModel(net, modelDir);
  x = tf.randomUniform([2, 32, 32, 1], 0, 1, 'float32', 11);
});

after(async () => {
  net?.dispose();
  x?.dispose();
  if (root !== undefined) await removeTemp(root);
});

describe('exportModel tfjs', () => {
  const results = new Map<string, ExportResult>();
  const exported = async (
    name: string,
    options: Partial<Parameters<typeof exportModel>[0]> = {},
  ): Promise<ExportResult> => {
    if (!results.has(name)) {
      results.set(
        name,
        await exportModel({ model: modelDir, out: path.join(root, name), ...options }),
      );
    }
    return results.get(name)!;
  };

  test('--outputs final: one output named final, predictions identical to the original', async () => {
    const r = await exported('final');
    assert.deepEqual(r.outputs, ['final']);
    for (const load of [loadModel, stockLoad]) {
      const m = await load(path.join(root, 'final'));
      assert.deepEqual(
        m.outputs.map((o) => o.sourceLayer.name),
        ['final'],
      );
      assert.deepEqual(finalOf(m, x), finalOf(net, x));
      assert.ok(!m.layers.some((l) => /^pred\d$/.test(l.name)), 'no deep-supervision head');
      m.dispose();
    }
  });

  test('--outputs all keeps every output, in order', async () => {
    const r = await exported('all', { outputs: 'all' });
    assert.deepEqual(r.outputs, ['pred1', 'pred2', 'pred3', 'final']);
    const m = await stockLoad(path.join(root, 'all'));
    assert.deepEqual(finalOf(m, x), finalOf(net, x));
    m.dispose();
  });

  test('metadata: recorded, read back equal by both readers, build metadata kept', async () => {
    const r = await exported('meta', {
      threshold: 0.35,
      interpolation: 'bilinear',
      quantize: 'float16',
      producerVersion: '9.8.7',
    });
    const expected: ExportMetadata = {
      format: 'ftunet-export',
      version: 2,
      model: 'attn_reg',
      predict: {
        inputShape: [32, 32, 1],
        scaling: 'divide-by-255',
        interpolation: 'bilinear',
        threshold: 0.35,
        maskResize: 'nearest',
        output: 'final',
        postprocess: { keepLargest: false, minSize: 0 },
      },
      outputs: ['final'],
      quantization: 'float16',
      producer: 'focal-tversky-unet 9.8.7',
    };
    assert.deepEqual(r.metadata, expected);
    assert.deepEqual(await readExportMetadata(path.join(root, 'meta')), expected);
    const m = await stockLoad(path.join(root, 'meta'));
    const udm = m.getUserDefinedMetadata() as Record<string, unknown>;
    assert.deepEqual(exportMetadataOf(udm), expected);
    assert.deepEqual(udm.ftunet, { model: 'attn_reg', inputShape: [32, 32, 1], width: 0.125 });
    m.dispose();
    // Re-exported without flags, the recorded recipe is kept.
    const again = await exportModel({ model: path.join(root, 'meta'), out: path.join(root, 're') });
    assert.deepEqual(again.metadata?.predict, expected.predict);
    assert.equal(again.metadata?.quantization, 'none');
  });

  test('a model folder without export metadata reads as undefined', async () => {
    assert.equal(await readExportMetadata(modelDir), undefined);
    assert.equal(exportMetadataOf({ ftunet: {} }), undefined);
    assert.equal(exportMetadataOf(undefined), undefined);
  });

  for (const [quantize, divisor, atol] of [
    ['float16', 2, FLOAT16_ATOL],
    ['uint8', 4, UINT8_ATOL],
  ] as const) {
    test(`--quantize ${quantize}: weights / ${divisor}, both loaders, close to float32 (atol ${atol})`, async () => {
      await exported('final');
      const r = await exported(quantize, { quantize });
      const dir = path.join(root, quantize);
      const full = await weightsBytes(path.join(root, 'final'));
      // Every weight of the network is float32: the sizes divide exactly.
      assert.equal(await weightsBytes(dir), full / divisor);
      assert.equal(r.weightsBytes, full / divisor);
      const json = JSON.parse(
        await readFile(path.join(dir, 'model.json'), 'utf8'),
      ) as tf.io.ModelJSON;
      const specs = json.weightsManifest[0].weights;
      assert.ok(specs.every((s) => s.dtype === 'float32' && s.quantization?.dtype === quantize));
      const expected = finalOf(net, x);
      const ours = await loadModel(dir);
      const opened = await openModel(dir);
      const stock = await stockLoad(dir);
      const got = finalOf(ours, x);
      expectClose(got, expected, { rtol: 0, atol });
      assert.deepEqual(finalOf(opened.model, x), got, 'openModel loads the same weights');
      assert.deepEqual(finalOf(stock, x), got, 'stock tfjs dequantizes to the same weights');
      assert.notDeepEqual(got, expected, 'the weights were quantized');
      ours.dispose();
      opened.model.dispose();
      stock.dispose();
    });
  }
});

describe('exportModel from a run folder', () => {
  let run: string;
  before(async () => {
    const data = path.join(root, 'bus');
    run = path.join(root, 'run');
    await writeBusItems(data);
    await writeRunFolder(run, data, net);
    // The fixture's config records interpolation 'nearest'; make it bilinear to see it used.
    const config = JSON.parse(await readFile(path.join(run, 'config.json'), 'utf8')) as {
      dataset: { interpolation: string };
    };
    config.dataset.interpolation = 'bilinear';
    await writeFile(path.join(run, 'config.json'), JSON.stringify(config));
    // 5 epochs; the best is epoch 4 (handLogs: the last but one), validation DSC of final
    // 4/6 + 3/100 - 0.05.
    const logs = handLogs(['pred1', 'pred2', 'pred3', 'final'], 5);
    await writeFile(path.join(run, 'log.jsonl'), logs.map((l) => JSON.stringify(l)).join('\n'));
  });

  test("the training summary and the run's interpolation are recorded", async () => {
    const r = await exportModel({ model: run, out: path.join(root, 'from-run') });
    assert.equal(r.metadata?.predict.interpolation, 'bilinear');
    assert.deepEqual(r.metadata?.training, {
      dataset: 'synthetic-bus',
      loss: 'ftl',
      epochs: 5,
      bestEpoch: 4,
      validationDsc: 4 / 6 + 3 / 100 - 0.05,
      // config.json's loss (the fixture's records no beta nor weights: 1 - alpha, equal).
      objective: { loss: 'ftl', alpha: 0.7, beta: 0.3, gamma: 4 / 3, weights: 'equal' },
      // No augmentation; ultrasound is mirrored left-right anyway (`--tta auto` uses hflip).
      mirrors: { horizontal: true, vertical: false },
    });
    // The flag wins over the run's.
    const n = await exportModel({
      model: run,
      out: path.join(root, 'from-run-n'),
      interpolation: 'nearest',
    });
    assert.equal(n.metadata?.predict.interpolation, 'nearest');
  });

  test("an evaluated run's test DSC and image count are recorded", async () => {
    // The fixture summary of `ftunet evaluate` (version 1): mean DSC 0.538..., 4 images.
    const summary = JSON.parse(
      await readFile(
        new URL('../../../test/fixtures/formats/summary-v1.json', import.meta.url),
        'utf8',
      ),
    ) as { dsc: { mean: number }; count: number };
    await mkdir(path.join(run, 'eval'), { recursive: true });
    await writeFile(path.join(run, 'eval', 'summary.json'), JSON.stringify(summary));
    try {
      const r = await exportModel({ model: run, out: path.join(root, 'from-evaluated-run') });
      assert.equal(r.metadata?.training?.testDsc, summary.dsc.mean);
      assert.equal(r.metadata?.training?.testImages, 4);
      await writeFile(path.join(run, 'eval', 'summary.json'), '{"dsc": ');
      await assert.rejects(exportModel({ model: run, out: path.join(root, 'from-bad-eval') }), {
        name: 'UserError',
        message: `${path.join(run, 'eval', 'summary.json')} is not valid JSON: evaluate the run again`,
      });
    } finally {
      await rm(path.join(run, 'eval'), { recursive: true, force: true });
    }
  });

  test('--out may not be the model folder, the run folder or another run folder', async () => {
    for (const out of [run, path.join(run, 'best')]) {
      await assert.rejects(exportModel({ model: run, out }), {
        name: 'UserError',
        message: `export: --out ${out} is the folder of the model being exported; choose another folder`,
      });
    }
    await assert.rejects(exportModel({ model: modelDir, out: run }), {
      message: `export: --out ${run} is a run folder; choose another folder`,
    });
  });
});

describe('exportModel errors leave no file', () => {
  const refused = async (
    options: Omit<Parameters<typeof exportModel>[0], 'out'>,
    message: string,
  ): Promise<void> => {
    const out = path.join(root, 'refused');
    await assert.rejects(exportModel({ ...options, out }), { name: 'UserError', message });
    assert.ok(
      !existsSync(path.join(out, 'model.json')) && !existsSync(path.join(out, 'model.onnx')),
    );
  };

  test('a network not built by buildModel', async () => {
    const dir = path.join(root, 'threshold');
    const m = thresholdModel();
    await saveModel(m, dir);
    m.dispose();
    await refused(
      { model: dir },
      "export: model 'threshold_net' was not built by buildModel (its model.json has no " +
        'userDefinedMetadata.ftunet.model naming one of unet, attn_unet, attn_reg_ds, attn_reg)',
    );
  });

  test('ONNX with quantized weights', () =>
    refused(
      { model: modelDir, format: 'onnx', quantize: 'uint8' },
      "quantize 'uint8' applies to the tfjs format; ONNX exports store float32 weights (quantize 'none')",
    ));

  test('bad option values', async () => {
    await refused(
      { model: modelDir, quantize: 'int4' as 'uint8' },
      "quantize must be one of none, float16, uint8, got 'int4'",
    );
    await refused(
      { model: modelDir, outputs: 'some' as 'all' },
      "outputs must be one of final, all, got 'some'",
    );
    await refused(
      { model: modelDir, threshold: 2 },
      'threshold must be a number from 0 to 1, got 2',
    );
  });

  test('a weight beyond float16', async () => {
    const dir = path.join(root, 'huge');
    const m = buildModel('unet', { inputShape: [16, 16, 1], width: 0.125, seed: 1 });
    const layer = m.getLayer('final');
    const [kernel, bias] = layer.getWeights();
    layer.setWeights([kernel, tf.fill(bias.shape, 1e5)]);
    await saveModel(m, dir);
    m.dispose();
    await refused(
      { model: dir, quantize: 'float16' },
      "weight 'final/bias' holds 100000, beyond float16's range (±65504); " +
        'quantize with uint8 or store float32',
    );
  });
});

describe('parseExportMetadata', () => {
  const valid = (): Record<string, unknown> => ({
    format: 'ftunet-export',
    version: 2,
    model: 'unet',
    predict: {
      inputShape: [64, 48, 3],
      scaling: 'divide-by-255',
      interpolation: 'nearest',
      threshold: 0.5,
      maskResize: 'nearest',
      output: 'final',
      postprocess: { keepLargest: false, minSize: 0 },
    },
    outputs: ['final'],
    quantization: 'none',
    producer: 'focal-tversky-unet 0.1.0',
  });
  test('a valid value is returned as it is', () => {
    assert.deepEqual(parseExportMetadata(valid()), valid());
  });
  test('version 1 (test/fixtures/formats/export-metadata-v1.json) reads as today: no post-processing', async () => {
    const v1 = JSON.parse(
      await readFile(
        new URL('../../../test/fixtures/formats/export-metadata-v1.json', import.meta.url),
        'utf8',
      ),
    ) as Record<string, unknown>;
    assert.equal(v1.version, 1);
    const today = parseExportMetadata(v1);
    assert.deepEqual(today, {
      ...v1,
      version: 2,
      predict: { ...(v1.predict as object), postprocess: { keepLargest: false, minSize: 0 } },
    });
    assert.equal(today.version, EXPORT_METADATA_VERSION);
  });
  const P = 'model.json: userDefinedMetadata.ftunetExport: ';
  const cases: Array<[string, (v: Record<string, unknown>) => unknown, string]> = [
    ['not an object', () => [1], 'expected a JSON object'],
    ['format', (v) => ({ ...v, format: 'x' }), 'expected "format": "ftunet-export", got "x"'],
    [
      'version',
      (v) => ({ ...v, version: 3 }),
      'unsupported version 3 (this program reads versions up to 2): it was written by a newer ' +
        'focal-tversky-unet; upgrade to read it',
    ],
    [
      'model',
      (v) => ({ ...v, model: 'vgg' }),
      '"model" must be one of unet, attn_unet, attn_reg_ds, attn_reg, got "vgg"',
    ],
    ['predict', (v) => ({ ...v, predict: null }), '"predict" must be an object, got null'],
    [
      'post-processing',
      (v) => ({
        ...v,
        predict: { ...(v.predict as object), postprocess: { keepLargest: false, minSize: -1 } },
      }),
      '"predict.postprocess.minSize" must be an integer >= 0, got -1',
    ],
    [
      'input shape',
      (v) => ({ ...v, predict: { ...(v.predict as object), inputShape: [64, 48, 2] } }),
      '"predict.inputShape" must be [rows, cols, 1 or 3], got [64,48,2]',
    ],
    [
      'scaling',
      (v) => ({ ...v, predict: { ...(v.predict as object), scaling: 'z-score' } }),
      '"predict.scaling" must be "divide-by-255", got "z-score"',
    ],
    [
      'interpolation',
      (v) => ({ ...v, predict: { ...(v.predict as object), interpolation: 'cubic' } }),
      '"predict.interpolation" must be one of nearest, bilinear, got "cubic"',
    ],
    [
      'threshold',
      (v) => ({ ...v, predict: { ...(v.predict as object), threshold: 1.5 } }),
      '"predict.threshold" must be a number from 0 to 1, got 1.5',
    ],
    [
      'missing threshold',
      (v) => ({ ...v, predict: { ...(v.predict as object), threshold: undefined } }),
      '"predict.threshold" must be a number from 0 to 1, got nothing',
    ],
    [
      'mask resize',
      (v) => ({ ...v, predict: { ...(v.predict as object), maskResize: 'bilinear' } }),
      '"predict.maskResize" must be "nearest", got "bilinear"',
    ],
    [
      'output',
      (v) => ({ ...v, predict: { ...(v.predict as object), output: 'pred1' } }),
      '"predict.output" must be "final", got "pred1"',
    ],
    [
      'outputs',
      (v) => ({ ...v, outputs: ['pred1'] }),
      '"outputs" must be a list of output names with "final", got ["pred1"]',
    ],
    [
      'quantization',
      (v) => ({ ...v, quantization: 'int8' }),
      '"quantization" must be one of none, float16, uint8, got "int8"',
    ],
    ['training', (v) => ({ ...v, training: 3 }), '"training" must be an object, got 3'],
    [
      'producer',
      (v) => ({ ...v, producer: undefined }),
      '"producer" must be a string, got nothing',
    ],
  ];
  for (const [what, change, message] of cases) {
    test(what, () => {
      assert.throws(() => parseExportMetadata(change(valid())), {
        name: 'UserError',
        message: P + message,
      });
    });
  }
  test('exportMetadataOf names the file', () => {
    assert.throws(
      () => exportMetadataOf({ [EXPORT_METADATA_KEY]: { format: 1 } }, 'x/model.json'),
      {
        message:
          'x/model.json: userDefinedMetadata.ftunetExport: expected "format": "ftunet-export", got 1',
      },
    );
  });
});
