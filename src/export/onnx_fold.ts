/**
 * Batch-norm folding, a pass over a converted ONNX graph (`OnnxGraph`, before it is encoded).
 *
 * A BatchNormalization node whose input is the output of a Conv or ConvTranspose that nothing
 * else reads (no other node, no graph output) is removed, and the convolution absorbs it, per
 * output channel o:
 *
 *   W'[o] = W[o]·s,  b'[o] = (b[o] − μ[o])·s + β[o],  s = γ[o]/√(σ²[o] + ε)
 *
 * computed in float64 from the float32 weights and statistics and the epsilon as the layer
 * gives it (a float attribute is still a JavaScript number before encoding), each result
 * rounded once to float32. The convolution then writes the BatchNormalization's output tensor,
 * so its readers and the graph outputs are unchanged, and the four statistics' initializers
 * go. A BatchNormalization after another one, after an activation, or on a tensor that
 * something else also reads stays a node. No Node-only API.
 */
import type { Initializer, NodeProto, OnnxGraph } from './onnx_graph.js';

/** ONNX BatchNormalization's default epsilon, for a node without the attribute. */
const ONNX_BATCH_NORM_EPSILON = 1e-5;

/**
 * Folds each BatchNormalization node that alone reads a convolution's output into that
 * convolution, in place; `outputs` are the graph's output tensors. Returns how many it folded.
 */
export function foldBatchNorms(graph: OnnxGraph, outputs: readonly string[]): number {
  const readers = new Map<string, number>();
  const read = (t: string) => readers.set(t, (readers.get(t) ?? 0) + 1);
  for (const node of graph.nodes) for (const t of node.input ?? []) read(t);
  for (const t of outputs) read(t);
  const producer = new Map<string, NodeProto>();
  for (const node of graph.nodes) for (const t of node.output ?? []) producer.set(t, node);
  const initializer = new Map(graph.initializers.map((w) => [w.name, w]));
  // A tensor read by this node alone, as an initializer; undefined for anything else.
  const own = (name: string | undefined): Initializer | undefined =>
    name !== undefined && readers.get(name) === 1 ? initializer.get(name) : undefined;

  const removed = new Set<NodeProto>();
  const unused = new Set<string>();
  for (const bn of graph.nodes) {
    if (bn.opType !== 'BatchNormalization') continue;
    const [x, ...statistics] = bn.input ?? [];
    const conv = producer.get(x);
    if (conv === undefined || (conv.opType !== 'Conv' && conv.opType !== 'ConvTranspose')) continue;
    if (readers.get(x) !== 1) continue;
    const kernel = own(conv.input?.[1]);
    const bias = own(conv.input?.[2]);
    const [gamma, beta, mean, variance] = statistics.map(own);
    if (!kernel || !bias || !gamma || !beta || !mean || !variance) continue;
    const epsilon = bn.attribute?.find((a) => a.name === 'epsilon')?.f ?? ONNX_BATCH_NORM_EPSILON;
    const scales = Array.from(gamma.data, (g, o) => g / Math.sqrt(variance.data[o] + epsilon));
    scaleKernel(kernel, scales, conv.opType === 'ConvTranspose');
    bias.data = Float32Array.from(
      bias.data,
      (b, o) => (b - mean.data[o]) * scales[o] + beta.data[o],
    );
    conv.output = bn.output;
    removed.add(bn);
    for (const name of statistics) unused.add(name);
  }
  replace(
    graph.nodes,
    graph.nodes.filter((n) => !removed.has(n)),
  );
  replace(
    graph.initializers,
    graph.initializers.filter((w) => !unused.has(w.name)),
  );
  return removed.size;
}

/**
 * Multiplies each output channel o of a convolution's kernel by `scales[o]`: Conv's kernel is
 * [out, in, kh, kw]; ConvTranspose's is [in, out, kh, kw], so channel o is every (in, o) block.
 */
function scaleKernel(kernel: Initializer, scales: readonly number[], transposed: boolean): void {
  const k = Float32Array.from(kernel.data);
  const outChannels = scales.length;
  if (transposed) {
    const [inChannels, , kh, kw] = kernel.shape;
    const block = kh * kw;
    for (let i = 0; i < inChannels; i++) {
      for (let o = 0; o < outChannels; o++) {
        const base = (i * outChannels + o) * block;
        for (let j = 0; j < block; j++) k[base + j] = k[base + j] * scales[o];
      }
    }
  } else {
    const perOut = k.length / outChannels;
    for (let o = 0; o < outChannels; o++) {
      for (let j = 0; j < perOut; j++) k[o * perOut + j] = k[o * perOut + j] * scales[o];
    }
  }
  kernel.data = k;
}

/** Replaces the contents of `array` with `items`. */
function replace<T>(array: T[], items: T[]): void {
  array.splice(0, array.length, ...items);
}
