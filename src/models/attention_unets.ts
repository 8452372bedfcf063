/**
 * The attention U-Nets of the reference (`newmodels.py`):
 * - `attn_unet`: attention gates, no pyramid, no deep supervision; output `final`.
 * - `attn_reg_ds`: attention gates and deep supervision: outputs `pred1` (1/8 size), `pred2`
 *   (1/4), `pred3` (1/2) and `final` (full size). 5,302,247 parameters (1 channel).
 * - `attn_reg`: the paper's model, `attn_reg_ds` plus an input image pyramid (2x2 average
 *   pooling) injected before conv2, conv3 and conv4. 5,638,503 parameters (1 channel).
 *
 * As in the reference, the third gate takes its gating signal from `up1` (not `up2`).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import {
  LayerFactory,
  attentionGate,
  concat,
  gatingSignal,
  maxPool,
  scaled,
  unetConv2D,
} from './blocks.js';
import type { ResolvedModelOptions } from './options.js';

type Sym = tfl.SymbolicTensor;

interface AttentionVariant {
  name: 'attn_unet' | 'attn_reg_ds' | 'attn_reg';
  /** Encoder filters conv1..conv4 and the centre. */
  encoder: [number, number, number, number, number];
  pyramid: boolean;
  deepSupervision: boolean;
}

const VARIANTS: Record<AttentionVariant['name'], AttentionVariant> = {
  attn_unet: {
    name: 'attn_unet',
    encoder: [32, 32, 64, 64, 128],
    pyramid: false,
    deepSupervision: false,
  },
  attn_reg_ds: {
    name: 'attn_reg_ds',
    encoder: [32, 64, 128, 64, 512],
    pyramid: false,
    deepSupervision: true,
  },
  attn_reg: {
    name: 'attn_reg',
    encoder: [32, 64, 128, 64, 512],
    pyramid: true,
    deepSupervision: true,
  },
};

/** Pyramid convolution filters before conv2, conv3, conv4. */
const PYRAMID_FILTERS = [64, 128, 256];

export function buildAttentionUnet(
  variantName: AttentionVariant['name'],
  opts: ResolvedModelOptions,
): tfl.LayersModel {
  const variant = VARIANTS[variantName];
  const f = new LayerFactory(opts.seed, opts.bnMomentum);
  const s = (c: number) => scaled(c, opts.width);
  const input = tfl.input({ shape: opts.inputShape, name: 'input_scale1' });

  // Input pyramid: 1/2, 1/4, 1/8 by 2x2 average pooling.
  const scales: Sym[] = [];
  if (variant.pyramid) {
    let level = input;
    for (const k of [2, 3, 4]) {
      level = tfl.layers
        .averagePooling2d({ poolSize: 2, strides: 2, name: `input_scale${k}` })
        .apply(level) as Sym;
      scales.push(level);
    }
  }

  const encoder: Sym[] = [];
  let x: Sym = input;
  for (let i = 0; i < 4; i++) {
    if (variant.pyramid && i > 0) {
      const side = f.conv(scales[i - 1], {
        filters: s(PYRAMID_FILTERS[i - 1]),
        kernel: 3,
        activation: 'relu',
        name: `conv_scale${i + 1}`,
      });
      x = concat([side, x], `concat_scale${i + 1}`);
    }
    const conv = unetConv2D(f, x, s(variant.encoder[i]), `conv${i + 1}`);
    encoder.push(conv);
    x = maxPool(conv, `pool${i + 1}`);
  }
  const center = unetConv2D(f, x, s(variant.encoder[4]), 'center');
  const [conv1, conv2, conv3, conv4] = encoder;

  const upT = (y: Sym, filters: number, level: number) =>
    f.convTranspose(y, {
      filters: s(filters),
      kernel: 3,
      strides: 2,
      activation: 'relu',
      name: `upconv${level}`,
      kinit: true,
    });

  const g1 = gatingSignal(f, center, 'g1');
  const attn1 = attentionGate(f, conv4, g1, s(128), '_1');
  const up1 = concat([upT(center, 32, 1), attn1], 'up1');

  const g2 = gatingSignal(f, up1, 'g2');
  const attn2 = attentionGate(f, conv3, g2, s(64), '_2');
  const up2 = concat([upT(up1, 64, 2), attn2], 'up2');

  const g3 = gatingSignal(f, up1, 'g3');
  const attn3 = attentionGate(f, conv2, g3, s(32), '_3');
  const up3 = concat([upT(up2, 32, 3), attn3], 'up3');

  const up4 = concat([upT(up3, 32, 4), conv1], 'up4');

  if (!variant.deepSupervision) {
    const out = f.conv(up4, {
      filters: 1,
      kernel: 1,
      activation: 'sigmoid',
      name: 'final',
      kinit: true,
    });
    return tfl.model({ inputs: input, outputs: out, name: variant.name });
  }

  const heads: Array<[Sym, number, string]> = [
    [up1, 256, 'pred1'],
    [up2, 128, 'pred2'],
    [up3, 64, 'pred3'],
    [up4, 32, 'final'],
  ];
  const outputs = heads.map(([y, filters, name], i) => {
    const conv = unetConv2D(f, y, s(filters), `conv${6 + i}`);
    return f.conv(conv, { filters: 1, kernel: 1, activation: 'sigmoid', name });
  });
  return tfl.model({ inputs: input, outputs, name: variant.name });
}
