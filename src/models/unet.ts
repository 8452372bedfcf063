/**
 * `unet`, the baseline of the paper's ablation (reference `newmodels.unet`): encoder
 * UnetConv2D 32, 64, 128, 256 with 2x2 max-pooling; centre two plain Conv 3x3 512 ReLU;
 * decoder Conv2DTranspose 2x2 stride 2 + skip concat + plain Conv 3x3 ReLU (x2, x2, x1, x2);
 * output Conv 1x1 sigmoid `final`. 7,726,433 parameters at full width with one channel.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { LayerFactory, concat, maxPool, scaled, unetConv2D } from './blocks.js';
import type { ResolvedModelOptions } from './options.js';

export function buildUnet(opts: ResolvedModelOptions): tfl.LayersModel {
  const f = new LayerFactory(opts.seed, opts.bnMomentum);
  const s = (c: number) => scaled(c, opts.width);
  const input = tfl.input({ shape: opts.inputShape, name: 'input_scale1' });

  const encoder: tfl.SymbolicTensor[] = [];
  let x = input;
  [32, 64, 128, 256].forEach((c, i) => {
    const conv = unetConv2D(f, x, s(c), `conv${i + 1}`);
    encoder.push(conv);
    x = maxPool(conv, `pool${i + 1}`);
  });
  x = f.conv(x, { filters: s(512), kernel: 3, activation: 'relu', name: 'conv5_1', kinit: true });
  x = f.conv(x, { filters: s(512), kernel: 3, activation: 'relu', name: 'conv5_2', kinit: true });

  // Decoder stages as in the reference: [filters, convolutions, which use glorot_normal].
  const stages: Array<{ filters: number; convs: number; kinitUp: boolean; kinitConv: boolean }> = [
    { filters: 256, convs: 2, kinitUp: true, kinitConv: false },
    { filters: 128, convs: 2, kinitUp: false, kinitConv: true },
    { filters: 64, convs: 1, kinitUp: true, kinitConv: true },
    { filters: 32, convs: 2, kinitUp: true, kinitConv: true },
  ];
  stages.forEach((stage, i) => {
    const level = 6 + i;
    const up = f.convTranspose(x, {
      filters: s(stage.filters),
      kernel: 2,
      strides: 2,
      name: `upconv${level}`,
      kinit: stage.kinitUp,
    });
    x = concat([up, encoder[3 - i]], `up${level}`);
    for (let k = 1; k <= stage.convs; k++) {
      x = f.conv(x, {
        filters: s(stage.filters),
        kernel: 3,
        activation: 'relu',
        name: `conv${level}_${k}`,
        kinit: stage.kinitConv,
      });
    }
  });
  const out = f.conv(x, { filters: 1, kernel: 1, activation: 'sigmoid', name: 'final' });
  return tfl.model({ inputs: input, outputs: out, name: 'unet' });
}
