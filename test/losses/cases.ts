/**
 * Random input pairs shared by the loss and metric suites: binary, soft and empty masks, one
 * and several channels, made on the fly from seeded uniform tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core registers no gradients by itself; tfjs-layers' Node bundle registers them all (the
// library loads it with the models). Without this, tf.grad fails with "gradient function not
// found for Mean".
import '@tensorflow/tfjs-layers';
import { randomTensor } from '../helpers.js';
import { fromNhwc, toNhwc, type NhwcArray } from './reference.js';

export interface Case {
  name: string;
  g: NhwcArray;
  p: NhwcArray;
}

function nhwc(make: () => tf.Tensor): NhwcArray {
  const t = tf.tidy(make);
  const a = toNhwc(t);
  t.dispose();
  return a;
}

const binary = (shape: number[], seed: number, threshold: number) => () =>
  tf.cast(tf.greater(randomTensor(shape, seed), threshold), 'float32');
const zeros = (shape: number[]) => () => tf.zeros(shape);

/** Random cases on the current backend (tensors are made and read back, none kept). */
export function randomCases(): Case[] {
  const s1 = [2, 5, 6, 1];
  const s2 = [3, 4, 4, 2];
  const s3 = [2, 3, 5, 3];
  return [
    {
      name: 'sparse binary lesion',
      g: nhwc(binary(s1, 1, 0.8)),
      p: nhwc(() => randomTensor(s1, 2)),
    },
    {
      name: 'dense binary lesion',
      g: nhwc(binary(s1, 3, 0.3)),
      p: nhwc(() => randomTensor(s1, 4)),
    },
    {
      name: 'soft ground truth',
      g: nhwc(() => randomTensor(s1, 5)),
      p: nhwc(() => randomTensor(s1, 6)),
    },
    { name: 'empty ground truth', g: nhwc(zeros(s1)), p: nhwc(() => randomTensor(s1, 7)) },
    { name: 'empty prediction', g: nhwc(binary(s1, 8, 0.6)), p: nhwc(zeros(s1)) },
    { name: 'both empty', g: nhwc(zeros(s1)), p: nhwc(zeros(s1)) },
    {
      name: 'one image empty',
      g: nhwc(() => tf.concat([tf.zeros([1, 5, 6, 1]), binary([1, 5, 6, 1], 9, 0.5)()])),
      p: nhwc(() => randomTensor(s1, 10)),
    },
    { name: 'two channels', g: nhwc(binary(s2, 11, 0.7)), p: nhwc(() => randomTensor(s2, 12)) },
    {
      name: 'three channels, one empty',
      g: nhwc(() => tf.mul(binary(s3, 13, 0.6)(), tf.tensor4d([1, 0, 1], [1, 1, 1, 3]))),
      p: nhwc(() => randomTensor(s3, 14)),
    },
  ];
}

/** A loss or metric with the library's signature. */
export type ScalarFn<O> = (yTrue: tf.Tensor, yPred: tf.Tensor, options?: O) => tf.Scalar;

/** fn(g, p, options) as a number; asserts a scalar came back; disposes everything it made. */
export function evaluate<O>(fn: ScalarFn<O>, g: NhwcArray, p: NhwcArray, options?: O): number {
  const gt = fromNhwc(g);
  const pt = fromNhwc(p);
  const out = fn(gt, pt, options);
  const shape = out.shape;
  const value = out.dataSync()[0];
  tf.dispose([gt, pt, out]);
  if (shape.length !== 0) throw new Error(`evaluate: expected a scalar, got shape [${shape}]`);
  return value;
}

/** d fn(g, p) / dp by tf.grad, as a float64 array; disposes everything it made. */
export function gradient<O>(
  fn: ScalarFn<O>,
  g: NhwcArray,
  p: NhwcArray,
  options?: O,
): Float64Array {
  const gt = fromNhwc(g);
  const pt = fromNhwc(p);
  const dp = tf.grad((x: tf.Tensor) => fn(gt, x, options))(pt);
  const values = Float64Array.from(dp.dataSync());
  tf.dispose([gt, pt, dp]);
  return values;
}

/** An NhwcArray from a shape and values written out by hand. */
export function arr(shape: [number, number, number, number], values: number[]): NhwcArray {
  return { data: Float64Array.from(values.map(Math.fround)), shape };
}
