/**
 * `MODELS` says what each network is; these tests hold it to what the built networks are, so
 * that an entry cannot claim attention gates or deep supervision its builder does not make.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { attentionGateNames, buildModel, outputNames } from '../../src/models/build.js';
import { DOWNSAMPLING, MODEL_NAMES as OPTION_NAMES } from '../../src/models/options.js';
import { describeAttentionGates, MODEL_NAMES, MODELS } from '../../src/models/registry.js';
import { MODEL_SUPERVISION } from '../../src/models/supervision.js';
import { useBackend } from '../helpers.js';

describe('MODELS', () => {
  before(() => useBackend('cpu'));

  test('MODEL_NAMES are its keys, in order, also where callers found them before', () => {
    assert.deepEqual(MODEL_NAMES, ['unet', 'attn_unet', 'attn_reg_ds', 'attn_reg']);
    assert.equal(OPTION_NAMES, MODEL_NAMES);
    assert.equal(DOWNSAMPLING, 16);
  });

  for (const name of MODEL_NAMES) {
    test(`${name}: gates, outputs and supervision as the entry says`, () => {
      const m = buildModel(name, { inputShape: [32, 32, 1], width: 0.125, seed: 1 });
      try {
        const def = MODELS[name];
        assert.equal(attentionGateNames(m).length > 0, def.attentionGates, 'attention gates');
        assert.deepEqual(
          outputNames(m),
          def.deepSupervision ? ['pred1', 'pred2', 'pred3', 'final'] : ['final'],
        );
        assert.equal(MODEL_SUPERVISION[name], def.supervision);
      } finally {
        m.dispose();
      }
    });
  }

  test('an input size the network cannot halve enough is refused', () => {
    assert.throws(
      () => buildModel('unet', { inputShape: [40, 32, 1], width: 0.125 }),
      /^ShapeError: input shape \[40,32,1\]: height and width must be multiples of 16 /,
    );
  });

  test('the messages that list networks with attention gates read it', () => {
    assert.equal(
      describeAttentionGates(),
      'attn_unet, attn_reg_ds and attn_reg have them; unet does not',
    );
  });
});
