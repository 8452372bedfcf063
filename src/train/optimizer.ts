/**
 * The optimisers of the reference training scripts, written out so that their arithmetic is
 * Keras's (2.x, the paper's framework) and their whole state can be saved in a checkpoint:
 *
 * - `sgd`: Keras SGD with momentum and time decay, per update t (counted from 0):
 *   lr_t = lr / (1 + decay * t); v = momentum * v - lr_t * g; w = w + v.
 *   (TensorFlow.js's MomentumOptimizer keeps v' = momentum * v' + g and steps by lr * v',
 *   which differs from Keras as soon as the learning rate changes.)
 * - `adam`: Keras Adam, epsilon 1e-7 outside the square root, with the same time decay.
 *
 * With `gradClip` N, the gradients are first scaled together so that their global norm (the
 * square root of the sum of every element's square, over every weight) is at most N:
 * g * N / max(norm, N), as `tf.clip_by_global_norm` (Keras's `global_clipnorm`). The
 * gradients are the whole batch's (summed over passes and workers), so the norm is too.
 *
 * Browser-safe (tfjs-core only).
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';

export const OPTIMIZER_NAMES = ['sgd', 'adam'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/** The paper's optimiser and its settings; Adam's learning rate is Keras's default. */
export const DEFAULT_OPTIMIZER: OptimizerName = 'sgd';
export const DEFAULT_LEARNING_RATE: Readonly<Record<OptimizerName, number>> = {
  sgd: 0.01,
  adam: 0.001,
};
export const DEFAULT_DECAY = 1e-6;
export const DEFAULT_MOMENTUM = 0.9;

export interface OptimizerConfig {
  /** Default 'sgd' (the paper). */
  name?: OptimizerName;
  /** Initial learning rate. Default 0.01 for sgd (the paper), 0.001 for adam. */
  learningRate?: number;
  /** Keras time decay per update. Default 1e-6 (the paper). */
  decay?: number;
  /** SGD momentum. Default 0.9 (the paper). */
  momentum?: number;
  /** Adam's beta1 and beta2. Default 0.9 and 0.999. */
  beta1?: number;
  beta2?: number;
  /** Clip the gradients' global norm to this before each update; null: no clipping. Default null. */
  gradClip?: number | null;
}

export type ResolvedOptimizerConfig = Required<OptimizerConfig>;

/** Keras's Adam epsilon (added to sqrt(v) so an untouched weight divides by it, not by 0). */
export const ADAM_EPSILON = 1e-7;

export function parseOptimizerName(value: string, source = '--optimizer'): OptimizerName {
  if ((OPTIMIZER_NAMES as readonly string[]).includes(value)) return value as OptimizerName;
  throw new UserError(
    `${source}: unknown optimizer '${value}'; expected one of ${OPTIMIZER_NAMES.join(', ')}`,
  );
}

export function resolveOptimizerConfig(config: OptimizerConfig = {}): ResolvedOptimizerConfig {
  const name = config.name ?? DEFAULT_OPTIMIZER;
  const resolved: ResolvedOptimizerConfig = {
    name,
    learningRate: config.learningRate ?? DEFAULT_LEARNING_RATE[name],
    decay: config.decay ?? DEFAULT_DECAY,
    momentum: config.momentum ?? DEFAULT_MOMENTUM,
    beta1: config.beta1 ?? 0.9,
    beta2: config.beta2 ?? 0.999,
    gradClip: config.gradClip ?? null,
  };
  parseOptimizerName(name, 'optimizer');
  if (!(resolved.learningRate > 0)) {
    throw new UserError(`learning rate must be > 0, got ${resolved.learningRate}`);
  }
  if (!(resolved.decay >= 0)) throw new UserError(`decay must be >= 0, got ${resolved.decay}`);
  for (const k of ['momentum', 'beta1', 'beta2'] as const) {
    if (!(resolved[k] >= 0 && resolved[k] < 1)) {
      throw new UserError(`${k} must be in [0, 1), got ${resolved[k]}`);
    }
  }
  if (
    resolved.gradClip !== null &&
    !(resolved.gradClip > 0 && Number.isFinite(resolved.gradClip))
  ) {
    throw new UserError(`gradient clipping must be a positive number, got ${resolved.gradClip}`);
  }
  return resolved;
}

/**
 * `grads` scaled together so that their global norm is at most `clipNorm`:
 * g * clipNorm / max(norm, clipNorm), norm = sqrt(sum of every element's square). New tensors.
 */
export function clipByGlobalNorm(grads: readonly tf.Tensor[], clipNorm: number): tf.Tensor[] {
  return tf.tidy(() => {
    const squares = grads.map((g) => tf.sum(tf.square(g)));
    const norm = tf.sqrt(squares.length === 1 ? squares[0] : tf.addN(squares));
    const scale = tf.div(clipNorm, tf.maximum(norm, clipNorm));
    return grads.map((g) => tf.mul(g, scale));
  });
}

/** The saved state: the update count and each slot's values, by `<variable>/<slot>`. */
export interface OptimizerState {
  iterations: number;
  slots: Record<string, { shape: number[]; values: Float32Array }>;
}

/** A trainable weight under a stable name (e.g. `conv1_1/kernel`) that checkpoints use. */
export interface Param {
  name: string;
  variable: tf.Variable;
}

let instances = 0;

export class Optimizer {
  readonly config: ResolvedOptimizerConfig;
  private iterationCount = 0;
  /** The schedule's factor of the learning rate for the current epoch (schedule.ts). */
  private factor = 1;
  private readonly slots = new Map<string, tf.Variable>();
  /** Prefix of the slot variables' engine names, unique per optimiser in the process. */
  private readonly prefix = `optimizer${instances++}`;

  constructor(config: OptimizerConfig = {}) {
    this.config = resolveOptimizerConfig(config);
  }

  /** Updates applied so far. */
  get iterations(): number {
    return this.iterationCount;
  }

  /** The learning rate of the next update: lr * factor / (1 + decay * t). */
  currentLearningRate(): number {
    return (this.config.learningRate * this.factor) / (1 + this.config.decay * this.iterationCount);
  }

  /** Sets the schedule's factor of the learning rate (1: the rate as configured). */
  setScheduleFactor(factor: number): void {
    if (!(factor >= 0 && Number.isFinite(factor))) {
      throw new Error(`setScheduleFactor: expected a finite factor >= 0, got ${factor}`);
    }
    this.factor = factor;
  }

  private slot(param: Param, name: string): tf.Variable {
    const key = `${param.name}/${name}`;
    let v = this.slots.get(key);
    if (v === undefined) {
      v = tf.variable(tf.zerosLike(param.variable), false, `${this.prefix}/${key}`);
      this.slots.set(key, v);
    }
    return v;
  }

  /** Applies one update; `grads[i]` is the gradient of `params[i]`. */
  applyGradients(params: readonly Param[], grads: readonly tf.Tensor[]): void {
    if (grads.length !== params.length) {
      throw new Error(`applyGradients: ${grads.length} gradients for ${params.length} weights`);
    }
    const c = this.config;
    const lr = this.currentLearningRate();
    const t = this.iterationCount + 1;
    tf.tidy(() => {
      const clipped = c.gradClip === null ? grads : clipByGlobalNorm(grads, c.gradClip);
      params.forEach((param, i) => {
        const w = param.variable;
        const g = clipped[i];
        switch (c.name) {
          case 'sgd': {
            const v = this.slot(param, 'momentum');
            const vNew = tf.sub(tf.mul(v, c.momentum), tf.mul(g, lr));
            v.assign(vNew);
            w.assign(tf.add(w, vNew));
            break;
          }
          case 'adam': {
            const m = this.slot(param, 'm');
            const v = this.slot(param, 'v');
            const lrT = (lr * Math.sqrt(1 - c.beta2 ** t)) / (1 - c.beta1 ** t);
            const mNew = tf.add(tf.mul(m, c.beta1), tf.mul(g, 1 - c.beta1));
            const vNew = tf.add(tf.mul(v, c.beta2), tf.mul(tf.square(g), 1 - c.beta2));
            m.assign(mNew);
            v.assign(vNew);
            w.assign(tf.sub(w, tf.div(tf.mul(mNew, lrT), tf.add(tf.sqrt(vNew), ADAM_EPSILON))));
            break;
          }
          default:
            throw new UserError(`unknown optimizer '${String(c.name)}'`);
        }
      });
    });
    this.iterationCount = t;
  }

  /** A copy of the state, for a checkpoint. */
  async getState(): Promise<OptimizerState> {
    const slots: OptimizerState['slots'] = {};
    for (const [key, v] of this.slots) {
      slots[key] = { shape: [...v.shape], values: (await v.data()) as Float32Array };
    }
    return { iterations: this.iterationCount, slots };
  }

  /** The slot variables (momentum, Adam's moments) by `<variable>/<slot>`, for health checks. */
  slotVariables(): Array<{ name: string; variable: tf.Variable }> {
    return [...this.slots].map(([name, variable]) => ({ name, variable }));
  }

  /** Restores a state saved by `getState` (slots are matched by parameter name). */
  setState(state: OptimizerState): void {
    this.dispose();
    this.iterationCount = state.iterations;
    for (const [key, { shape, values }] of Object.entries(state.slots)) {
      const init = tf.tensor(values, shape, 'float32');
      this.slots.set(key, tf.variable(init, false, `${this.prefix}/${key}`));
      init.dispose();
    }
  }

  dispose(): void {
    for (const v of this.slots.values()) v.dispose();
    this.slots.clear();
  }
}
