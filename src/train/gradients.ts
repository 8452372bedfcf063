/**
 * `tf.variableGrads` with the memory of the backward pass given back as soon as it is spent.
 *
 * tfjs-core's `engine.gradients` (4.22) keeps two things alive until the whole backward pass
 * ends: the tensors each tape node saved for its gradient (clones of layer inputs and outputs,
 * `node.saved`) and the gradient of every intermediate tensor (its `accumulatedGradientMap`),
 * so a training pass peaks at about the saved activations plus a gradient for each of them.
 * Here the tape is walked in the same reverse order, and:
 * - once a node's gradient has run, its saved tensors are disposed (each node holds clones of
 *   its own, made by `engine.saveTensorsForBackwardMode`), and so are the gradients of its
 *   outputs: every consumer of an output comes later on the tape, so in reverse order the
 *   gradient of an output is complete when its producer is reached;
 * - a partial gradient is disposed once it has been added to its tensor's running sum, and the
 *   temporaries of a node's gradient (zeros for unused outputs, shared terms) with the node;
 * - the saved tensors of nodes that do not lie between the variables and the result (metrics
 *   computed inside `f`, moving-average updates) are disposed before the backward pass starts.
 * The arithmetic, and its order, is tfjs's, so the gradients are the same to the bit; the
 * peak memory of a training pass is then the forward pass's end, not the backward pass's.
 *
 * Only tensors this function made during the backward pass are disposed early: never the
 * variables' gradients it returns, nor a tensor a gradient function returned from elsewhere
 * (a saved tensor, a captured constant), nor one the map still holds under another tensor.
 * Inside an outer gradient (higher-order gradients) the outer tape still needs the saved
 * tensors, which are then left alone, as tfjs does.
 *
 * `recordForward` splits the same work in two: the forward pass is recorded now and its
 * backward pass runs later from a seed given then (a gradient of the result, not only ones),
 * with any other computation in between; a training step uses this to back-propagate a pass
 * with coefficients known only once every pass of the batch has run forward (step.ts).
 *
 * Reads the engine's tape, which tfjs-core does not export, through `kernels/tfjs_internals.ts`
 * (the one module that knows tfjs's private shapes, checked against the installed version).
 * Browser-safe (tfjs-core only).
 */
import * as tf from '@tensorflow/tfjs-core';
import { tapeEngine, type EngineInternals, type TapeNode } from '../kernels/tfjs_internals.js';

/** A tape node on the path from the variables to the result, with only the inputs on it. */
interface PathNode {
  node: TapeNode;
  inputs: Array<[name: string, tensor: tf.Tensor]>;
}

export interface VariableGrads {
  /** The value of `f`. */
  value: tf.Scalar;
  /** The gradient of each trainable variable that `f` depends on, by variable name. */
  grads: Record<string, tf.Tensor>;
}

/**
 * The value of `f` and its gradient with respect to each trainable variable of `varList`, as
 * `tf.variableGrads(f, varList)`, freeing saved activations and intermediate gradients during
 * the backward pass (see the module comment). The caller disposes of `value` and `grads`.
 *
 * Differences from `tf.variableGrads`: `varList` is required; a non-trainable variable in it is
 * left out of `grads` (tfjs maps its name to null, against its declared type); when `f` throws,
 * or returns no scalar, or no variable reaches its result, nothing stays allocated (tfjs keeps
 * the saved tensors, or the value, in those cases).
 */
export function variableGradsLowMemory(f: () => tf.Scalar, varList: tf.Variable[]): VariableGrads {
  if (typeof f !== 'function') {
    throw new Error('variableGradsLowMemory: f must be a function');
  }
  if (!Array.isArray(varList) || !varList.every((v) => v instanceof tf.Variable)) {
    throw new Error('variableGradsLowMemory: varList must be an array of variables');
  }
  const vars = varList.filter((v) => v.trainable);
  if (vars.length === 0) {
    throw new Error(
      'variableGradsLowMemory: expects at least one of the input variables to be trainable, ' +
        `but none of the ${varList.length} variables is trainable`,
    );
  }
  const { value, grads } = gradients(f, vars);
  if (!grads.some((g) => g !== undefined)) {
    tf.dispose([value, ...grads.filter((g): g is tf.Tensor => g !== undefined)]);
    throw new Error(
      'variableGradsLowMemory: cannot find a connection between any variable and the result ' +
        'of the loss function y=f(x); make sure the operations that use variables are inside f',
    );
  }
  const named: Record<string, tf.Tensor> = {};
  vars.forEach((v, i) => {
    const g = grads[i];
    if (g !== undefined) named[v.name] = g;
  });
  return { value, grads: named };
}

/**
 * A forward pass recorded on a tape of its own whose backward pass has not run yet. Holds the
 * tensors the backward pass needs (the saved activations) until `backward` or `dispose`.
 */
export interface RecordedForward {
  /** The value of `f`; the caller disposes of it. */
  readonly value: tf.Tensor;
  /**
   * The gradient of sum(dy * value) with respect to each trainable variable that `value`
   * depends on, by variable name (as `variableGradsLowMemory`, which uses dy = ones), freeing
   * the tape as it goes; `dy` has `value`'s shape and is not consumed. Runs once. The caller
   * disposes of the gradients.
   */
  backward(dy: tf.Tensor): Record<string, tf.Tensor>;
  /** Frees what the backward pass would have needed (nothing after `backward`). */
  dispose(): void;
}

/**
 * Runs `f` on a tape and keeps what its backward pass needs for a later `backward(dy)`; the
 * tensors computed in `f` off the path from `varList` to its value (metrics, moving averages)
 * give back their saved tensors at once. Not inside another gradient computation (the tape
 * must be this call's own). Other TensorFlow.js work may run between the two calls, but the
 * variables must keep their values.
 */
export function recordForward(f: () => tf.Tensor, varList: tf.Variable[]): RecordedForward {
  const engine = tapeEngine();
  if (engine.state.gradientDepth !== 0) {
    throw new Error('recordForward: cannot run inside another gradient computation');
  }
  const xs = varList.filter((v) => v.trainable);
  engine.startTape();
  let y: tf.Tensor;
  try {
    y = tf.tidy('forward', f);
  } catch (err) {
    engine.endTape();
    releaseTape(engine, new Set());
    throw err;
  }
  engine.endTape();
  const tape = engine.state.activeTape ?? [];
  engine.state.activeTape = null;
  let path: PathNode[];
  try {
    if (!(y instanceof tf.Tensor)) throw new Error('recordForward: f must return a tensor');
    path = pathFromXsToY(tape, xs, y);
  } catch (err) {
    disposeSaved(tape, new Set());
    throw err;
  }
  const onPath = new Set(path.map((p) => p.node.id));
  for (const node of tape) if (!onPath.has(node.id)) node.saved?.forEach((t) => t.dispose());
  let done = false;
  return {
    value: y,
    backward(dy) {
      if (done) throw new Error('recordForward: backward runs once');
      if (!tf.util.arraysEqual(dy.shape, y.shape)) {
        throw new Error(
          `recordForward: dy shape [${dy.shape}] does not match the value's [${y.shape}]`,
        );
      }
      done = true;
      let grads: Array<tf.Tensor | undefined> = [];
      try {
        grads = gradientsAlong(path, xs, y, true, dy);
      } finally {
        disposeSaved(tape, new Set(grads));
      }
      const named: Record<string, tf.Tensor> = {};
      xs.forEach((v, i) => {
        const g = grads[i];
        if (g !== undefined) named[v.name] = g;
      });
      return named;
    },
    dispose() {
      if (done) return;
      done = true;
      disposeSaved(tape, new Set());
    },
  };
}

/**
 * `engine.gradients(f, xs, null, allowNoGradients = true)` with early disposal: the value of
 * `f` and the gradient of each of `xs` (undefined where the value does not depend on it).
 */
function gradients(
  f: () => tf.Scalar,
  xs: readonly tf.Tensor[],
): { value: tf.Scalar; grads: Array<tf.Tensor | undefined> } {
  const engine = tapeEngine();
  let y: tf.Scalar;
  engine.startTape();
  try {
    y = tf.tidy('forward', f);
  } catch (err) {
    engine.endTape();
    if (engine.state.gradientDepth === 0) releaseTape(engine, new Set());
    throw err;
  }
  engine.endTape();
  // Not inside an outer gradient: the tape is this call's, its saved tensors may go.
  const ownTape = engine.state.gradientDepth === 0;
  const tape = engine.state.activeTape ?? [];
  let grads: Array<tf.Tensor | undefined> = [];
  try {
    if (!(y instanceof tf.Tensor)) {
      throw new Error('variableGradsLowMemory: f must return a tensor');
    }
    if (y.rank !== 0) {
      throw new Error(
        `variableGradsLowMemory: f must return a scalar, but it returned a rank-${y.rank} tensor`,
      );
    }
    const path = pathFromXsToY(tape, xs, y);
    if (ownTape) {
      const onPath = new Set(path.map((p) => p.node.id));
      for (const node of tape) if (!onPath.has(node.id)) node.saved?.forEach((t) => t.dispose());
    }
    grads = gradientsAlong(path, xs, y, ownTape);
  } catch (err) {
    tf.dispose(y);
    throw err;
  } finally {
    if (ownTape) releaseTape(engine, new Set(grads));
  }
  return { value: y, grads };
}

/**
 * Disposes every saved tensor of the tape except `keep` (Tensor.dispose does nothing the second
 * time, so those already disposed are safe) and clears the tape, as `engine.gradients` does
 * at gradient depth 0.
 */
function releaseTape(engine: EngineInternals, keep: ReadonlySet<tf.Tensor | undefined>): void {
  disposeSaved(engine.state.activeTape ?? [], keep);
  engine.state.activeTape = null;
}

/** Disposes every saved tensor of `tape` except `keep`. */
function disposeSaved(tape: readonly TapeNode[], keep: ReadonlySet<tf.Tensor | undefined>): void {
  for (const node of tape) {
    for (const t of node.saved ?? []) if (!keep.has(t)) t.dispose();
  }
}

/**
 * The tape nodes that depend on `xs` and lead to `y`, in tape order, each with only its inputs
 * that depend on `xs` (tfjs-core tape.ts `getFilteredNodesXToY`).
 */
function pathFromXsToY(
  tape: readonly TapeNode[],
  xs: readonly tf.Tensor[],
  y: tf.Tensor,
): PathNode[] {
  const fromX = new Set(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromX.has(t.id))) {
      node.outputs.forEach((o) => fromX.add(o.id));
      nodesFromX.add(node.id);
    }
  }
  const toY = new Set([y.id]);
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    const inputs = Object.values(node.inputs);
    // A node without inputs leads nowhere (tfjs marks a node through its inputs).
    if (inputs.length > 0 && node.outputs.some((o) => toY.has(o.id))) {
      inputs.forEach((t) => toY.add(t.id));
      nodesToY.add(node.id);
    }
  }
  return tape
    .filter((node) => nodesFromX.has(node.id) && nodesToY.has(node.id))
    .map((node) => ({
      node,
      inputs: Object.entries(node.inputs).filter(([, t]) => fromX.has(t.id)),
    }));
}

/**
 * Back-propagates from `y` (with gradient `dy`, default ones) through `path` in reverse tape
 * order (tfjs-core tape.ts `backpropagateGradients`), disposing what each node no longer needs
 * once it has run; returns the gradients left, those of `xs` among them.
 */
/**
 * The backward pass over `path` from `y` (seeded with `dy`, default ones): the gradient of
 * each of `xs`, undefined where `y` does not depend on it. See `backpropagate` for `freeSaved`.
 */
function gradientsAlong(
  path: readonly PathNode[],
  xs: readonly tf.Tensor[],
  y: tf.Tensor,
  freeSaved: boolean,
  dy?: tf.Tensor,
): Array<tf.Tensor | undefined> {
  const found = tf.tidy('backward', () => {
    const map = backpropagate(path, xs, y, freeSaved, dy);
    const byIndex: Record<number, tf.Tensor> = {};
    xs.forEach((x, i) => {
      const g = map.get(x.id);
      if (g !== undefined) byIndex[i] = g;
    });
    return byIndex;
  });
  return xs.map((_, i) => found[i]);
}

function backpropagate(
  path: readonly PathNode[],
  xs: readonly tf.Tensor[],
  y: tf.Tensor,
  freeSaved: boolean,
  dy?: tf.Tensor,
): GradientMap {
  // A tensor of this pass's own (a clone shares dy's data), so that it may be disposed here.
  const seed = dy === undefined ? tf.ones(y.shape) : tf.clone(dy);
  const grads = new GradientMap(seed.id);
  grads.accumulate(y.id, seed);
  const xIds = new Set(xs.map((x) => x.id));
  for (let i = path.length - 1; i >= 0; i--) {
    const { node, inputs } = path[i];
    const gradient = node.gradient;
    if (gradient === undefined) {
      throw new Error(
        `Cannot compute gradient: gradient function not found for ${node.kernelName}.`,
      );
    }
    const dys = node.outputs.map((o) => grads.get(o.id) ?? null);
    // One scope per node: the zeros made for unused outputs and terms the input gradients share
    // go with it; one scope per input, as tfjs, for each input gradient's temporaries.
    const dxs = tf.tidy(() => {
      const fns = gradient(dys);
      return inputs.map(([name, x]) => {
        const fn = fns[name];
        if (fn === undefined) {
          throw new Error(
            `Cannot backprop through input ${name}. ` +
              `Available gradients found: ${Object.keys(fns).join(',')}.`,
          );
        }
        const dx = tf.tidy(fn);
        if (dx.dtype !== 'float32') {
          throw new Error(
            `Error in gradient for op ${node.kernelName}. The gradient of input ${name} must ` +
              `have 'float32' dtype, but has '${dx.dtype}'`,
          );
        }
        if (!tf.util.arraysEqual(dx.shape, x.shape)) {
          throw new Error(
            `Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has ` +
              `shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`,
          );
        }
        return dx;
      });
    });
    inputs.forEach(([, x], k) => grads.accumulate(x.id, dxs[k]));
    // Every consumer of the outputs came later on the tape: their gradients are complete and
    // spent (an x's is the answer, kept).
    for (const o of node.outputs) if (!xIds.has(o.id)) grads.drop(o.id);
    if (freeSaved) for (const t of node.saved ?? []) if (!grads.holds(t)) t.dispose();
  }
  return grads;
}

/**
 * Gradients by tensor id. A tensor is counted by the entries holding it (a gradient function
 * may hand an output's gradient on to an input unchanged) and disposed when none does, if it
 * was made in this backward pass (its id at least `ownedFrom`) and not kept.
 */
class GradientMap {
  private readonly byId = new Map<number, tf.Tensor>();
  private readonly holders = new Map<tf.Tensor, number>();

  constructor(private readonly ownedFrom: number) {}

  get(id: number): tf.Tensor | undefined {
    return this.byId.get(id);
  }

  holds(t: tf.Tensor): boolean {
    return this.holders.has(t);
  }

  /** Adds `dx` to the gradient of tensor `id`, in tfjs's order (previous + dx). */
  accumulate(id: number, dx: tf.Tensor): void {
    const previous = this.byId.get(id);
    if (previous === undefined) {
      this.hold(id, dx);
      return;
    }
    this.hold(id, tf.add(previous, dx));
    this.unhold(previous);
    if (!this.holders.has(dx)) this.disposeIfOwned(dx);
  }

  /** Drops the entry of tensor `id`, disposing its gradient if no other entry holds it. */
  drop(id: number): void {
    const t = this.byId.get(id);
    if (t === undefined) return;
    this.byId.delete(id);
    this.unhold(t);
  }

  private hold(id: number, t: tf.Tensor): void {
    this.byId.set(id, t);
    this.holders.set(t, (this.holders.get(t) ?? 0) + 1);
  }

  private unhold(t: tf.Tensor): void {
    const count = (this.holders.get(t) ?? 0) - 1;
    if (count > 0) {
      this.holders.set(t, count);
      return;
    }
    this.holders.delete(t);
    this.disposeIfOwned(t);
  }

  private disposeIfOwned(t: tf.Tensor): void {
    if (t.id >= this.ownedFrom && !t.kept) t.dispose();
  }
}
