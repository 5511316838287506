/**
 * The TensorFlow.js baseline (bench/tf) against the float64 references, and the whole TfMind
 * step against MindModel's, on tfjs-cpu and tiny shapes: if the baseline computed something
 * else, the benchmark's speed-ups would mean nothing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { finiteDifference } from '../../src/autograd/grad-check.js';
import { labelAwareAttention, labelAwareAttentionBackward } from '../../src/reference/label-attention.js';
import { routingForwardReference, routingStopGradientReference } from '../../src/reference/routing.js';
import { sampledSoftmaxGrads, sampledSoftmaxLoss } from '../../src/reference/sampled-softmax.js';
import { loadTfjs } from '../../bench/platform.js';
import { activeInterests, interestPenalty, labelAttentionTf, routingMasks, routingTf, sampledSoftmaxTf } from '../../bench/tf/ops.js';
import { relativeDifference } from '../../bench/bench.js';
import { SHAPES, trainStepCase } from '../../bench/cases.js';
import type { MindConfig } from '../../src/mind/config.js';
import { maxRelativeError, randomArray, useContext } from '../helpers/gpu.js';

beforeAll(async () => {
  await loadTfjs(['cpu']);
});

const f64 = (a: ArrayLike<number>) => Float64Array.from(a);

describe('routingTf', () => {
  const B = 4;
  const L = 5;
  const d = 3;
  const K = 3;
  // Empty, single, partial and full histories.
  const lengths = Int32Array.from([0, 1, 3, 5]);
  const E = randomArray(B * L * d, 1);
  const S = randomArray(d * d, 2);
  const b0 = randomArray(B * K * L, 3, -2, 2);
  const dU = randomArray(B * K * d, 4);

  function run(softmaxOver: 'interests' | 'behaviors', dynamicK: boolean, gradient: 'stop' | 'full', iterations = 3) {
    const masks = routingMasks(lengths, L, activeInterests(lengths, K, dynamicK), K, softmaxOver);
    const init = tf.tensor3d(b0, [B, K, L]);
    const route = (e: tf.Tensor, s: tf.Tensor) => routingTf(e as tf.Tensor3D, s as tf.Tensor2D, init, masks, { iterations, softmaxOver, gradient });
    const { value, grads } = tf.valueAndGrads(route)([tf.tensor3d(E, [B, L, d]), tf.tensor2d(S, [d, d])], tf.tensor3d(dU, [B, K, d]));
    return { U: value.dataSync(), dE: grads[0].dataSync(), dS: grads[1].dataSync() };
  }

  const args = (softmaxOver: 'interests' | 'behaviors', dynamicK: boolean, iterations = 3) => ({
    E,
    S,
    b0,
    lengths,
    B,
    L,
    dIn: d,
    d,
    kMax: K,
    iterations,
    softmaxOver,
    dynamicK,
  });

  test.each([
    ['interests', true],
    ['interests', false],
    ['behaviors', true],
    ['behaviors', false],
  ] as const)('softmax over %s, dynamicK %s: forward and stop gradient match the reference', (softmaxOver, dynamicK) => {
    const out = run(softmaxOver, dynamicK, 'stop');
    expect(maxRelativeError(out.U, routingForwardReference(args(softmaxOver, dynamicK)))).toBeLessThan(1);
    const ref = routingStopGradientReference(args(softmaxOver, dynamicK), dU);
    expect(maxRelativeError(out.dE, ref.dE)).toBeLessThan(1);
    expect(maxRelativeError(out.dS, ref.dS)).toBeLessThan(1);
  });

  test('full gradient matches finite differences of the reference', () => {
    const out = run('interests', true, 'full', 2);
    const loss = (xs: Float64Array[]) => {
      const U = routingForwardReference({ ...args('interests', true, 2), E: xs[0], S: xs[1] });
      return U.reduce((acc, u, i) => acc + u * dU[i], 0);
    };
    const xs = [f64(E), f64(S)];
    expect(maxRelativeError(out.dE, finiteDifference(loss, xs, 0), 1e-3, 1e-4)).toBeLessThan(1);
    expect(maxRelativeError(out.dS, finiteDifference(loss, xs, 1), 1e-3, 1e-4)).toBeLessThan(1);
  });

  test('full and stop gradients differ (the stop really stops)', () => {
    const full = run('interests', true, 'full');
    const stop = run('interests', true, 'stop');
    expect(maxRelativeError(stop.U, full.U)).toBeLessThan(1);
    expect(maxRelativeError(stop.dS, full.dS)).toBeGreaterThan(10);
  });
});

describe('labelAttentionTf', () => {
  const B = 5;
  const K = 3;
  const d = 4;
  const activeK = Int32Array.from([1, 2, 3, 3, 2]);
  const V = randomArray(B * K * d, 5);
  const e = randomArray(B * d, 6);
  const dv = randomArray(B * d, 7);

  test.each([
    [1, 'pow'],
    [2, 'pow'],
    [0.5, 'pow'],
    [0, 'pow'],
    [3, 'scale'],
    [Infinity, 'pow'],
  ] as const)('p = %s, %s: output and gradients match the reference', (p, mode) => {
    const penalty = interestPenalty(activeK, K);
    const attend = (x: tf.Tensor, y: tf.Tensor) => labelAttentionTf(x as tf.Tensor3D, y as tf.Tensor2D, penalty, { p, mode });
    const { value, grads } = tf.valueAndGrads(attend)([tf.tensor3d(V, [B, K, d]), tf.tensor2d(e, [B, d])], tf.tensor2d(dv, [B, d]));
    const options = { p, mode, activeK };
    expect(maxRelativeError(value.dataSync(), labelAwareAttention(f64(V), f64(e), { B, K, d }, options))).toBeLessThan(1);
    const ref = labelAwareAttentionBackward(f64(V), f64(e), f64(dv), { B, K, d }, options);
    // Inactive interests get exact zeros in the reference; tfjs's softmax gives them 0 weight too.
    expect(maxRelativeError(grads[0].dataSync(), ref.gradInterests)).toBeLessThan(1);
    expect(maxRelativeError(grads[1].dataSync(), ref.gradTarget)).toBeLessThan(1);
  });
});

describe('sampledSoftmaxTf', () => {
  const B = 4;
  const d = 3;
  const N = 9;
  const user = randomArray(B * d, 8);
  const table = randomArray(N * d, 9);
  const bias = randomArray(N, 10);
  const logQ = randomArray(N, 11, -3, 0);
  const labels = Int32Array.from([1, 4, 4, 8]);
  // Negative 4 is an accidental hit for samples 1 and 2; 7 appears twice.
  const negatives = Int32Array.from([4, 2, 7, 7, 5]);

  test.each([
    [true, true],
    [true, false],
    [false, true],
  ])('logQ and bias %s, accidental hits removed %s: loss and gradients match the reference', (corrections, removeAccidentalHits) => {
    const inputs = {
      labels: tf.tensor1d(labels, 'int32'),
      negatives: tf.tensor1d(negatives, 'int32'),
      logQ: corrections ? tf.tensor1d(logQ) : undefined,
      bias: corrections ? tf.tensor1d(bias) : undefined,
      removeAccidentalHits,
    };
    const loss = (v: tf.Tensor, w: tf.Tensor) => sampledSoftmaxTf(v as tf.Tensor2D, w as tf.Tensor2D, inputs);
    const { value, grads } = tf.valueAndGrads(loss)([tf.tensor2d(user, [B, d]), tf.tensor2d(table, [N, d])]);
    const refInputs = {
      user: f64(user),
      itemTable: f64(table),
      labels,
      negatives,
      d,
      logQ: corrections ? f64(logQ) : undefined,
      bias: corrections ? f64(bias) : undefined,
      removeAccidentalHits,
    };
    expect(maxRelativeError(value.dataSync(), [sampledSoftmaxLoss(refInputs)])).toBeLessThan(1);
    const ref = sampledSoftmaxGrads(refInputs);
    expect(maxRelativeError(grads[0].dataSync(), ref.gradUser)).toBeLessThan(1);
    expect(maxRelativeError(grads[1].dataSync(), ref.gradTable)).toBeLessThan(1);
  });
});

// The whole baseline model against ours: the benchmark's speed-ups compare the same function only
// if TfMind's loss and every gradient equal MindModel's (once they did not: TfMind had neither
// the global interest nor the max-interest candidate score after both became the defaults).
describe('TfMind against MindModel (one training step, tiny shape, tfjs-cpu)', () => {
  const getCtx = useContext();
  test.each([
    ['the defaults (global interest, max-interest scores)', {}],
    ['the paper (label-aware attention, no global interest)', { globalInterest: false, candidateScore: 'labelAware' }],
    ['label-aware attention with the global interest', { candidateScore: 'labelAware' }],
    ['max-interest scores, no global interest, all K active', { globalInterest: false, dynamicK: false }],
  ] as const)('%s: loss and every gradient agree', async (_, overrides) => {
    const prepared = await trainStepCase(overrides as Partial<MindConfig>).prepare(SHAPES.tiny, getCtx());
    const ours = prepared.ours(getCtx());
    const theirs = prepared.tf(async () => {});
    const want = await ours.outputs();
    const got = await theirs.outputs();
    ours.dispose();
    theirs.dispose();
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    expect(want.size).toBeGreaterThan(5);
    for (const [name, values] of want) {
      expect(values.some((v) => v !== 0), name).toBe(true);
      expect(relativeDifference(values, got.get(name)!), name).toBeLessThan(1e-4);
    }
  });
});
