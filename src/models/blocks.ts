/**
 * The building blocks of the reference networks (nabsabraham/focal-tversky-unet,
 * `newmodels.py`), written once: the double convolution block, the gating signal and the
 * additive attention gate (Oktay et al. 2018; the paper's Eq. 5-6 and Fig. 3).
 *
 * Layer names follow the reference so weights and pictures can be matched to it.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { Initializer } from '@tensorflow/tfjs-layers/dist/initializers.js';

type Sym = tfl.SymbolicTensor;

/** Creates layers with deterministic names and per-layer initialiser seeds. */
export class LayerFactory {
  private counter = 0;

  constructor(
    private readonly seed: number | undefined,
    private readonly bnMomentum: number,
  ) {}

  /** BatchNormalization with Keras's epsilon 1e-3 and the model's momentum. */
  batchNorm(x: Sym, name: string): Sym {
    return tfl.layers
      .batchNormalization({ name, momentum: this.bnMomentum, epsilon: 1e-3 })
      .apply(x) as Sym;
  }

  /** The next layer's seed, derived from the model seed. */
  private nextSeed(): number | undefined {
    this.counter += 1;
    return this.seed === undefined ? undefined : this.seed * 1009 + this.counter;
  }

  /** `glorot_normal`, the reference's `kinit`. */
  glorotNormal(): Initializer {
    return tfl.initializers.glorotNormal({ seed: this.nextSeed() });
  }

  /** Keras's default kernel initialiser, used where the reference names none. */
  glorotUniform(): Initializer {
    return tfl.initializers.glorotUniform({ seed: this.nextSeed() });
  }

  conv(
    x: Sym,
    args: {
      filters: number;
      kernel: number;
      strides?: number;
      activation?: 'relu' | 'sigmoid' | 'linear';
      name: string;
      kinit?: boolean;
    },
  ): Sym {
    return tfl.layers
      .conv2d({
        filters: args.filters,
        kernelSize: args.kernel,
        strides: args.strides ?? 1,
        padding: 'same',
        activation: args.activation ?? 'linear',
        kernelInitializer: args.kinit ? this.glorotNormal() : this.glorotUniform(),
        name: args.name,
      })
      .apply(x) as Sym;
  }

  convTranspose(
    x: Sym,
    args: {
      filters: number;
      kernel: number;
      strides: number;
      activation?: 'relu' | 'linear';
      name: string;
      kinit?: boolean;
    },
  ): Sym {
    return tfl.layers
      .conv2dTranspose({
        filters: args.filters,
        kernelSize: args.kernel,
        strides: args.strides,
        padding: 'same',
        activation: args.activation ?? 'linear',
        kernelInitializer: args.kinit ? this.glorotNormal() : this.glorotUniform(),
        name: args.name,
      })
      .apply(x) as Sym;
  }
}

export function activation(x: Sym, fn: 'relu' | 'sigmoid', name: string): Sym {
  return tfl.layers.activation({ activation: fn, name }).apply(x) as Sym;
}

export function maxPool(x: Sym, name: string): Sym {
  return tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name }).apply(x) as Sym;
}

export function concat(xs: Sym[], name: string): Sym {
  return tfl.layers.concatenate({ axis: -1, name }).apply(xs) as Sym;
}

/** Static [h, w, c] of a symbolic NHWC tensor. */
export function spatial(x: Sym): [number, number, number] {
  const [, h, w, c] = x.shape;
  if (h == null || w == null || c == null) {
    throw new Error(`expected a static NHWC shape, got [${x.shape.join(',')}]`);
  }
  return [h, w, c];
}

/**
 * `UnetConv2D`: [Conv 3x3 (glorot_normal) → BatchNorm → ReLU] x 2, layers `<name>_1`,
 * `<name>_1_bn`, `<name>_1_act`, `<name>_2`, ...
 */
export function unetConv2D(f: LayerFactory, x: Sym, filters: number, name: string): Sym {
  let y = x;
  for (const i of [1, 2]) {
    y = f.conv(y, { filters, kernel: 3, name: `${name}_${i}`, kinit: true });
    y = f.batchNorm(y, `${name}_${i}_bn`);
    y = activation(y, 'relu', `${name}_${i}_act`);
  }
  return y;
}

/** `UnetGatingSignal`: Conv 1x1 with as many filters as x has channels → BatchNorm → ReLU. */
export function gatingSignal(f: LayerFactory, x: Sym, name: string): Sym {
  const [, , c] = spatial(x);
  let y = f.conv(x, { filters: c, kernel: 1, name: `${name}_conv`, kinit: true });
  y = f.batchNorm(y, `${name}_bn`);
  return activation(y, 'relu', `${name}_act`);
}

/** The name of the layer whose output is a gate's attention map (before up-sampling). */
export function attentionLayerName(suffix: string): string {
  return `psi_sigmoid${suffix}`;
}

/**
 * `AttnGatingBlock(x, g, inter)`, additive attention:
 * theta_x = Conv 2x2 stride 2 (inter) on x; phi_g = Conv 1x1 (inter) on g, up-sampled by a
 * Conv2DTranspose 3x3 with stride size(theta_x)/size(g); alpha = sigmoid(Conv 1x1 (1)
 * (relu(theta_x + phi_g))); alpha is up-sampled (nearest) to x's size, multiplied with x
 * (broadcast over channels, as the reference's `repeat_elements`), then Conv 1x1 (channels of
 * x) → BatchNorm.
 */
export function attentionGate(f: LayerFactory, x: Sym, g: Sym, inter: number, suffix: string): Sym {
  const [xh, xw, xc] = spatial(x);
  const [gh, gw] = spatial(g);
  const thetaX = f.conv(x, { filters: inter, kernel: 2, strides: 2, name: `xl${suffix}` });
  const [th, tw] = spatial(thetaX);
  if (th % gh !== 0 || tw % gw !== 0 || th / gh !== tw / gw) {
    throw new Error(`attention gate${suffix}: gating size ${gh}x${gw} does not divide ${th}x${tw}`);
  }
  const phiG = f.conv(g, { filters: inter, kernel: 1, name: `phi_g${suffix}` });
  const upG = f.convTranspose(phiG, {
    filters: inter,
    kernel: 3,
    strides: th / gh,
    name: `g_up${suffix}`,
  });
  const sum = tfl.layers.add({ name: `xg_add${suffix}` }).apply([upG, thetaX]) as Sym;
  const act = activation(sum, 'relu', `xg_act${suffix}`);
  const psi = f.conv(act, { filters: 1, kernel: 1, name: `psi${suffix}` });
  const alpha = activation(psi, 'sigmoid', attentionLayerName(suffix));
  const upAlpha = tfl.layers
    .upSampling2d({ size: [xh / th, xw / tw], interpolation: 'nearest', name: `psi_up${suffix}` })
    .apply(alpha) as Sym;
  const y = tfl.layers.multiply({ name: `q_attn${suffix}` }).apply([upAlpha, x]) as Sym;
  const result = f.conv(y, { filters: xc, kernel: 1, name: `q_attn_conv${suffix}` });
  return f.batchNorm(result, `q_attn_bn${suffix}`);
}

/** Scales a reference filter count by the width multiplier. */
export function scaled(filters: number, width: number): number {
  return Math.max(1, Math.round(filters * width));
}
