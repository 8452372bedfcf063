/**
 * The wasm backend's numerics (src/kernels/numerics.ts) as options of its start: today's
 * defaults, the one-line messages, the environment override, `initBackend` setting them on the
 * backend, and workers computing with the same numerics as the thread that starts them.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import {
  CONV_ALGORITHM_ENV_VAR,
  initBackend,
  numericsWithOverride,
} from '../../src/backend/select.js';
import {
  backendNumerics,
  DEFAULT_NUMERICS,
  recordedNumerics,
  resolveNumerics,
  setBackendNumerics,
} from '../../src/kernels/numerics.js';
import { buildModel } from '../../src/models/build.js';
import { WorkerPool } from '../../src/parallel/pool.js';
import { useBackend } from '../helpers.js';

describe('numerics', () => {
  after(async () => {
    await useBackend('wasm'); // today's defaults again for the tests after these
  });

  test("the defaults are today's behaviour, and a file without numerics reads as them", () => {
    assert.deepEqual(DEFAULT_NUMERICS, {
      convAlgorithm: 'auto',
      relaxedSimd: true,
      filterGradient: 'auto',
    });
    assert.deepEqual(resolveNumerics(), DEFAULT_NUMERICS);
    assert.deepEqual(recordedNumerics(undefined, 'config.json'), DEFAULT_NUMERICS);
    assert.deepEqual(recordedNumerics({ relaxedSimd: false }, 'config.json'), {
      ...DEFAULT_NUMERICS,
      relaxedSimd: false,
    });
  });

  test('a bad recorded value is one line naming the file and the field', () => {
    assert.throws(
      () => recordedNumerics({ convAlgorithm: 'fft' }, 'config.json'),
      /^UserError: config\.json: "numerics\.convAlgorithm" must be one of auto, direct, winograd, winograd4, got "fft"$/,
    );
    assert.throws(
      () => recordedNumerics({ relaxedSimd: 'yes' }, 'summary.json'),
      /^UserError: summary\.json: "numerics\.relaxedSimd" must be true or false, got "yes"$/,
    );
    assert.throws(
      () => recordedNumerics({ fastMath: true }, 'config.json'),
      /^UserError: config\.json: "numerics\.fastMath" is an unknown field, got "fastMath"$/,
    );
  });

  test(`${CONV_ALGORITHM_ENV_VAR} overrides the algorithm and nothing else`, () => {
    const saved = process.env[CONV_ALGORITHM_ENV_VAR];
    try {
      process.env[CONV_ALGORITHM_ENV_VAR] = ' Direct ';
      assert.deepEqual(numericsWithOverride({ convAlgorithm: 'winograd', relaxedSimd: false }), {
        convAlgorithm: 'direct',
        relaxedSimd: false,
        filterGradient: 'auto',
      });
      process.env[CONV_ALGORITHM_ENV_VAR] = 'fft';
      assert.throws(
        () => numericsWithOverride(),
        /^BackendError: FTUNET_CONV_ALGORITHM: unknown algorithm 'fft'; expected one of auto, direct, winograd, winograd4$/,
      );
      delete process.env[CONV_ALGORITHM_ENV_VAR];
      assert.deepEqual(numericsWithOverride({ filterGradient: 'xnnpack' }), {
        ...DEFAULT_NUMERICS,
        filterGradient: 'xnnpack',
      });
    } finally {
      if (saved === undefined) delete process.env[CONV_ALGORITHM_ENV_VAR];
      else process.env[CONV_ALGORITHM_ENV_VAR] = saved;
    }
  });

  test('initBackend sets the numerics it is given on the backend and reports them', async () => {
    const info = await initBackend({ backend: 'wasm', numerics: { convAlgorithm: 'winograd' } });
    assert.deepEqual(info.numerics, { ...DEFAULT_NUMERICS, convAlgorithm: 'winograd' });
    assert.deepEqual(backendNumerics(tf.backend()), info.numerics);
    const again = await initBackend({ backend: 'wasm' });
    assert.deepEqual(again.numerics, DEFAULT_NUMERICS, 'each start sets them all');
    assert.deepEqual(backendNumerics(tf.backend()), DEFAULT_NUMERICS);
  });

  test('workers compute with the numerics of this thread, or those the pool is given', async () => {
    await useBackend('wasm');
    const model = buildModel('attn_reg', { inputShape: [16, 16, 1], width: 0.125, seed: 3 });
    const xs = tf.randomUniform([2, 16, 16, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
    /** The final output's values in this thread under `convAlgorithm`. */
    const here = (convAlgorithm: 'winograd4' | 'direct') => {
      setBackendNumerics(tf.backend(), { convAlgorithm });
      const ys = model.predict(xs) as tf.Tensor[];
      const values = ys[ys.length - 1].dataSync().slice();
      tf.dispose(ys);
      return values;
    };
    const inWorker = async (numerics?: { convAlgorithm: 'direct' }) => {
      const pool = await WorkerPool.start({
        model,
        workers: 1,
        backend: 'wasm',
        ...(numerics !== undefined ? { numerics: { ...DEFAULT_NUMERICS, ...numerics } } : {}),
      });
      try {
        const ys = await pool.predict(xs, 2);
        const values = ys[ys.length - 1].dataSync().slice();
        tf.dispose(ys);
        return values;
      } finally {
        await pool.close();
      }
    };
    try {
      const direct = here('direct');
      const winograd = here('winograd4');
      assert.notDeepEqual(winograd, direct, 'the algorithms differ in the last bits here');
      // This thread now runs F(4x4, 3x3): a worker started without numerics does too.
      assert.deepEqual(await inWorker(), winograd);
      assert.deepEqual(await inWorker({ convAlgorithm: 'direct' }), direct);
    } finally {
      setBackendNumerics(tf.backend(), DEFAULT_NUMERICS);
      xs.dispose();
      model.dispose();
    }
  });
});
