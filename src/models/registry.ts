/**
 * `MODELS`: every network, as one record from its name (the `--model` value, config.json's
 * `model.name`, the exported model's metadata) to what the rest of the program needs: its
 * builder, how its outputs are supervised, its down-sampling factor and whether it has
 * attention gates. `buildModel` (build.ts), the training objective (through
 * `MODEL_SUPERVISION`), the flags and the help texts that name networks read it.
 *
 * To add a network: its builder in this folder, its entry here, its parameter counts pinned in
 * test/models/models.test.ts (and, to compare it in the ablation study, a row in
 * src/ablation/variants.ts).
 *
 * Pure (tfjs-layers only).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { buildAttentionUnet } from './attention_unets.js';
import type { ResolvedModelOptions } from './options.js';
import type { ModelSupervision } from './supervision.js';
import { buildUnet } from './unet.js';
import { listWords } from '../util/messages.js';

/** What every network records. */
export interface ModelDefinition {
  /** Builds the network (options resolved, input shape checked). */
  build: (options: ResolvedModelOptions) => tfl.LayersModel;
  /** The loss of its `final` output where its definition fixes one (see supervision.ts). */
  supervision: ModelSupervision;
  /** Whether it has the side outputs pred1..pred3 (deep supervision) besides `final`. */
  deepSupervision: boolean;
  /** Whether it has attention gates (`--attention` maps, the report's gate pictures). */
  attentionGates: boolean;
  /** The spatial down-sampling of its deepest level: input sizes must divide by it. */
  downsampling: number;
}

const DEFINITIONS = {
  unet: {
    build: buildUnet,
    supervision: {},
    deepSupervision: false,
    attentionGates: false,
    downsampling: 16,
  },
  attn_unet: {
    build: (o) => buildAttentionUnet('attn_unet', o),
    supervision: {},
    deepSupervision: false,
    attentionGates: true,
    downsampling: 16,
  },
  attn_reg_ds: {
    build: (o) => buildAttentionUnet('attn_reg_ds', o),
    supervision: {},
    deepSupervision: true,
    attentionGates: true,
    downsampling: 16,
  },
  attn_reg: {
    build: (o) => buildAttentionUnet('attn_reg', o),
    // The paper: "supervise the last layer with the Tversky loss" (reference `newmodels.py`).
    supervision: { finalLoss: 'tl' },
    deepSupervision: true,
    attentionGates: true,
    downsampling: 16,
  },
} as const satisfies Record<string, ModelDefinition>;

/** A network's name. */
export type ModelName = keyof typeof DEFINITIONS;

/** Every network, in the order help texts list them. */
export const MODELS: Readonly<Record<ModelName, ModelDefinition>> = DEFINITIONS;

/** The networks' names, in order. */
export const MODEL_NAMES = Object.keys(MODELS) as readonly ModelName[];

/**
 * Which networks have attention gates, for help texts and messages: "attn_unet, attn_reg_ds
 * and attn_reg have them; unet does not".
 */
export function describeAttentionGates(): string {
  const have = MODEL_NAMES.filter((n) => MODELS[n].attentionGates);
  const lack = MODEL_NAMES.filter((n) => !MODELS[n].attentionGates);
  return (
    `${listWords(have)} ${have.length === 1 ? 'has' : 'have'} them` +
    (lack.length > 0 ? `; ${listWords(lack)} ${lack.length === 1 ? 'does' : 'do'} not` : '')
  );
}
