/** config.json's Tversky weights as a person reads them. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveTrainSettings, type TrainRunOptions } from '../../src/run/settings.js';

/** The settings of a synthetic-bus run with `extra`. */
const settings = (extra: Partial<TrainRunOptions> = {}) =>
  resolveTrainSettings(
    {
      out: '/runs/r',
      dataset: 'synthetic-bus',
      backend: 'cpu',
      packageInfo: { name: 'focal-tversky-unet', version: '0.0.0' },
      ...extra,
    },
    '/runs/r',
  );

describe('resolveTrainSettings: beta', () => {
  test('the default beta, 1 - alpha, is stored as 0.3, not 0.30000000000000004', () => {
    const { loss } = settings();
    assert.equal(loss.alpha, 0.7);
    assert.equal(loss.beta, 0.3);
    assert.match(JSON.stringify(loss), /"alpha":0\.7,"beta":0\.3,/);
  });

  test('another alpha gives its complement to 12 decimals; a given beta is stored as given', () => {
    assert.equal(settings({ alpha: 0.9 }).loss.beta, 0.1);
    assert.equal(settings({ alpha: 0.65 }).loss.beta, 0.35);
    assert.equal(settings({ alpha: 0.7, beta: 0.25 }).loss.beta, 0.25);
  });
});
