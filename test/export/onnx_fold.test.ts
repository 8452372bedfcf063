/**
 * The batch-norm folding pass on its own, over small graphs built by hand, with the folded
 * weights worked out by hand: s = γ/√(σ² + ε), W' = W·s, b' = (b − μ)·s + β per output channel.
 * test/export/onnx.test.ts checks the folded models end to end against ONNX Runtime.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { foldBatchNorms } from '../../src/export/onnx_fold.js';
import { float, OnnxGraph } from '../../src/export/onnx_graph.js';

/**
 * x → `op` (1x1, 2 output channels) → BatchNormalization → y, with ε = 1 so that the scales
 * are s = [1/√4, 2/√4] = [0.5, 1].
 */
function convThenBatchNorm(op: 'Conv' | 'ConvTranspose', kernelShape: number[]): OnnxGraph {
  const g = new OnnxGraph();
  const f = (values: number[], shape = [values.length]) => ({
    data: Float32Array.from(values),
    shape,
  });
  const w = g.constant('c/kernel', f([2, 3, 4, 5], kernelShape));
  const b = g.constant('c/bias', f([1, -1]));
  g.node(op, ['x', w, b], 'c', 'c');
  const stats = [
    g.constant('bn/gamma', f([1, 2])),
    g.constant('bn/beta', f([0.5, 0])),
    g.constant('bn/moving_mean', f([1, 0])),
    g.constant('bn/moving_variance', f([3, 3])),
  ];
  g.node('BatchNormalization', ['c', ...stats], 'y', 'bn', [float('epsilon', 1)]);
  return g;
}

const values = (g: OnnxGraph, name: string) => [
  ...g.initializers.find((w) => w.name === name)!.data,
];

describe('foldBatchNorms', () => {
  test('Conv [out, in, kh, kw]: each output channel scaled, the node and statistics gone', () => {
    const g = convThenBatchNorm('Conv', [2, 2, 1, 1]);
    assert.equal(foldBatchNorms(g, ['y']), 1);
    assert.deepEqual(
      g.nodes.map((n) => [n.opType, n.input, n.output]),
      [['Conv', ['x', 'c/kernel', 'c/bias'], ['y']]],
    );
    assert.deepEqual(
      g.initializers.map((w) => w.name),
      ['c/kernel', 'c/bias'],
    );
    // Output channel 0 is [2, 3] (scale 0.5), channel 1 is [4, 5] (scale 1).
    assert.deepEqual(values(g, 'c/kernel'), [1, 1.5, 4, 5]);
    // (1 − 1)·0.5 + 0.5 and (−1 − 0)·1 + 0.
    assert.deepEqual(values(g, 'c/bias'), [0.5, -1]);
  });

  test('ConvTranspose [in, out, kh, kw]: output channel o is every (in, o) block', () => {
    const g = convThenBatchNorm('ConvTranspose', [2, 2, 1, 1]);
    assert.equal(foldBatchNorms(g, ['y']), 1);
    assert.deepEqual(values(g, 'c/kernel'), [1, 3, 2, 5]);
    assert.deepEqual(values(g, 'c/bias'), [0.5, -1]);
  });

  test('the epsilon is used as the layer gives it, not rounded to float32 first', () => {
    const g = convThenBatchNorm('Conv', [2, 2, 1, 1]);
    const epsilon = 1e-3;
    g.nodes[1].attribute = [float('epsilon', epsilon)];
    // Variance 0 and kernel values for which √ε and √fround(ε) round apart in float32.
    const kernel = [0.1875, 0.046875, 0.09375, 0.171875];
    g.initializers.find((w) => w.name === 'c/kernel')!.data = Float32Array.from(kernel);
    g.initializers.find((w) => w.name === 'bn/moving_variance')!.data = new Float32Array(2);
    foldBatchNorms(g, ['y']);
    const folded = (eps: number) =>
      kernel.map((w, j) => Math.fround(w * ((j < 2 ? 1 : 2) / Math.sqrt(eps))));
    assert.notDeepEqual(folded(epsilon), folded(Math.fround(epsilon)));
    assert.deepEqual(values(g, 'c/kernel'), folded(epsilon));
  });

  for (const [what, change] of [
    ['the convolution is also a graph output', () => ['y', 'c']],
    [
      'another node reads the convolution',
      (g: OnnxGraph) => {
        g.node('Relu', ['c'], 'r', 'r');
        return ['y', 'r'];
      },
    ],
    [
      'an activation between them',
      (g: OnnxGraph) => {
        g.nodes[0].output = ['pre'];
        g.nodes.splice(1, 0, { opType: 'Relu', input: ['pre'], output: ['c'], name: 'c/Relu' });
        return ['y'];
      },
    ],
  ] as Array<[string, (g: OnnxGraph) => string[]]>) {
    test(`not folded when ${what}`, () => {
      const g = convThenBatchNorm('Conv', [2, 2, 1, 1]);
      const outputs = change(g);
      const nodes = structuredClone(g.nodes);
      assert.equal(foldBatchNorms(g, outputs), 0);
      assert.deepEqual(g.nodes, nodes);
      assert.equal(g.initializers.length, 6);
      assert.deepEqual(values(g, 'c/kernel'), [2, 3, 4, 5]);
    });
  }
});
