/**
 * Which layers fine-tuning may hold fixed (`--freeze`): none, or the encoder — the contracting
 * path and its bottleneck, whose features a model trained on one data set carries to another,
 * while the decoder, the attention gates and the heads learn the new images. The rule is one
 * for the four networks, read from the layer names their builders give: `conv1_*` to `conv4_*`
 * (each level's two convolutions with their BatchNorm), `conv5_*` (unet's bottleneck),
 * `center_*` (the attention networks' bottleneck) and `conv_scale*` (the input pyramid's side
 * convolutions, which feed the encoder). The decoder's `conv6_*` to `conv9_*` are not in it.
 *
 * A frozen layer's weights are not trainable (no gradient, no update, kept as loaded), and a
 * frozen BatchNormalization normalises with its moving statistics in training and does not
 * update them (as Keras under TensorFlow 2 does, so a small fine-tuning set cannot shift the
 * statistics the encoder's later layers were trained with). Pure (tfjs-layers only).
 */
import type * as tfl from '@tensorflow/tfjs-layers';

/** What `--freeze` takes. */
export type FreezePart = 'none' | 'encoder';
export const FREEZE_PARTS: readonly FreezePart[] = ['none', 'encoder'];
/** The default: every layer trains. */
export const DEFAULT_FREEZE: FreezePart = 'none';

/** The names of the encoder's layers (see the module comment). */
const ENCODER_LAYER = /^(conv[1-5]_\d|center_\d|conv_scale\d)/;

/** Whether the layer named `name` belongs to the encoder. */
export function isEncoderLayer(name: string): boolean {
  return ENCODER_LAYER.test(name);
}

/**
 * Makes the layers of `part` not trainable (and every other layer trainable); returns how many
 * weights are frozen. Call it before training starts: the trainer and its workers read which
 * weights train from the layers (`model.trainableWeights`, and the topology they are sent).
 */
export function freezeLayers(model: tfl.LayersModel, part: FreezePart): number {
  let frozen = 0;
  for (const layer of model.layers) {
    const freeze = part === 'encoder' && isEncoderLayer(layer.name);
    layer.trainable = !freeze;
    if (freeze) frozen += layer.weights.length;
  }
  return frozen;
}
