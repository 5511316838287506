/**
 * No NaN or infinity from finite input (SPEC 1.5, issue #10): each fused kernel with inputs of
 * extreme magnitude (around 1e19-1e20, where products of two values overflow f32, and sums of
 * terms of both signs give inf − inf) against its float64 reference.
 */
import { describe, expect, test } from 'vitest';
import { b2iRouting } from '../../src/mind/ops/routing.js';
import { labelAwareAttention } from '../../src/mind/ops/label-attention.js';
import { sampledSoftmaxLoss } from '../../src/mind/ops/sampled-softmax.js';
import { RowGrad, type Tensor } from '../../src/autograd/tensor.js';
import * as attentionRef from '../../src/reference/label-attention.js';
import { routingForwardReference } from '../../src/reference/routing.js';
import * as softmaxRef from '../../src/reference/sampled-softmax.js';
import { maxRelativeError, randomArray, useContext } from '../helpers/gpu.js';

const getCtx = useContext();
const f64 = (a: ArrayLike<number>) => Float64Array.from(a);
const finite = (a: ArrayLike<number>) => Array.from(a).every(Number.isFinite);

/** Seeded values of magnitude in [lo, hi), random signs. */
function magnitudes(n: number, seed: number, lo: number, hi: number): Float32Array {
  const u = randomArray(n, seed, 0, 1);
  const sign = randomArray(n, seed + 100);
  return Float32Array.from(u, (x, i) => Math.sign(sign[i] || 1) * (lo + x * (hi - lo)));
}

describe('routing with behaviours near 1e19-1e20', () => {
  test.each([
    ['interests', 3],
    ['behaviors', 3],
    ['interests', 5],
  ] as const)('softmaxOver %s, %i iterations: finite capsules matching float64', async (softmaxOver, iterations) => {
    const ctx = getCtx();
    const [B, L, dIn, d, kMax] = [3, 9, 8, 8, 4];
    const E = magnitudes(B * L * dIn, 1, 1e19, 1e20);
    const S = randomArray(dIn * d, 2, -0.5, 0.5);
    const b0 = randomArray(B * kMax * L, 3);
    const lengths = Int32Array.from([9, 4, 1]);
    const U = await ctx.tidy(async () => {
      const out = b2iRouting(ctx.tensor(E, [B, L, dIn]), ctx.tensor(lengths, [B]), ctx.tensor(S, [dIn, d]), {
        kMax, iterations, softmaxOver, initLogits: ctx.tensor(b0, [B, kMax, L]),
      });
      return out.read();
    });
    expect(finite(U)).toBe(true);
    // Samples 0 and 1 against float64. Sample 2 has one behaviour: there every interest's logit
    // is b0 + |ê_0| ≈ 1e20, so the weights hang on rounding far below f32's (and float64's)
    // resolution of 1e20, and only finiteness and ‖u_j‖ ≤ 1 are well defined.
    const ref = routingForwardReference({ E, S, b0, lengths, B, L, dIn, d, kMax, iterations, softmaxOver });
    const sample = kMax * d;
    expect(maxRelativeError(U.subarray(0, 2 * sample), ref.subarray(0, 2 * sample), 1e-3, 1e-4)).toBeLessThanOrEqual(1);
    for (let j = 0; j < kMax; j++) {
      const u = U.subarray(2 * sample + j * d, 2 * sample + (j + 1) * d);
      expect(Math.hypot(...u)).toBeLessThanOrEqual(1 + 1e-6);
    }
  });
});

describe('label-aware attention when a score overflows', () => {
  // Sample 0: V_0·e overflows with same-sign terms (1e40 each). Sample 1: its terms alternate
  // in sign (inf − inf in a plain sum) and the true score is 1.5e40. The other interests are
  // of ordinary size, so the overflowing score is the only maximum.
  const [B, K, d] = [2, 3, 4];
  const V = new Float32Array(B * K * d);
  V.set(randomArray(B * K * d, 7));
  V.set([1e20, 1e20, 1e20, 1e20], 0);
  V.set([1e20, 1e20, 1e20, 1e20], K * d);
  const e = Float32Array.from([1e20, 1e20, 1e20, 1e20, 1e20, -1e20, 1e20, 0.5e20]);
  const dv = randomArray(B * d, 8);

  test.each([
    ['scale', 1],
    ['scale', 0.5],
    ['pow', 1],
    ['pow', 1.5],
  ] as const)('mode %s, p = %d: finite outputs and gradients matching float64', async (mode, p) => {
    const ctx = getCtx();
    const got = await ctx.tidy(async () => {
      const Vt = ctx.tensor(V, [B, K, d], { requiresGrad: true });
      const et = ctx.tensor(e, [B, d], { requiresGrad: true });
      const out = labelAwareAttention(Vt, et, { p, mode });
      await out.backward(ctx.tensor(dv, [B, d]));
      return { out: await out.read(), gV: await (Vt.grad as Tensor).read(), ge: await (et.grad as Tensor).read() };
    });
    expect(finite(got.out) && finite(got.gV) && finite(got.ge)).toBe(true);
    const options = { p, mode };
    const out = attentionRef.labelAwareAttention(f64(V), f64(e), { B, K, d }, options);
    const grads = attentionRef.labelAwareAttentionBackward(f64(V), f64(e), f64(dv), { B, K, d }, options);
    expect(maxRelativeError(got.out, out, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
    expect(maxRelativeError(got.gV, grads.gradInterests, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
    expect(maxRelativeError(got.ge, grads.gradTarget, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
  });
});

describe('sampled softmax when a logit overflows', () => {
  const [B, S, N, d] = [3, 5, 8, 4];
  const table = randomArray(N * d, 11);
  // Row 1: every term +1e40 (overflows); row 2: terms of both signs (inf − inf), true sum 1.5e40.
  table.set([1e20, 1e20, 1e20, 1e20], 1 * d);
  table.set([1e20, -1e20, 1e20, 0.5e20], 2 * d);
  const user = randomArray(B * d, 12);
  user.set([1e20, 1e20, 1e20, 1e20], 0);
  user.set([1e20, 1e20, 1e20, 1e20], d);

  async function run(labels: number[], negatives: number[]) {
    const ctx = getCtx();
    return ctx.tidy(async () => {
      const u = ctx.tensor(user, [B, d], { requiresGrad: true });
      const W = ctx.tensor(table, [N, d], { requiresGrad: true });
      const loss = sampledSoftmaxLoss(u, W, ctx.tensor(Int32Array.from(labels), [B]), ctx.tensor(Int32Array.from(negatives), [S]));
      await loss.backward();
      return { loss: (await loss.read())[0], gUser: await (u.grad as Tensor).read(), gTable: await (W.grad as RowGrad).read() };
    });
  }

  function reference(labels: number[], negatives: number[]) {
    const inputs = { user: f64(user), itemTable: f64(table), labels, negatives, d };
    return { loss: softmaxRef.sampledSoftmaxLoss(inputs), ...softmaxRef.sampledSoftmaxGrads(inputs) };
  }

  test('the label logit overflows (same-sign and mixed-sign terms): the limit, loss 0 and zero gradients', async () => {
    const labels = [1, 2, 3];
    const negatives = [0, 3, 4, 5, 6];
    const got = await run(labels, negatives);
    const want = reference(labels, negatives);
    expect(finite([got.loss]) && finite(got.gUser) && finite(got.gTable)).toBe(true);
    expect(Math.abs(got.loss - want.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want.loss)));
    expect(maxRelativeError(got.gUser, want.gradUser, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
    expect(maxRelativeError(got.gTable, want.gradTable, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
  });

  test('a negative logit overflows: a saturated, finite loss and the limit gradients', async () => {
    // Only table row 1 overflows against user rows 0 and 1, so no two logits tie at the limit.
    const labels = [4, 5, 6];
    const negatives = [0, 1, 7, 3, 3];
    const got = await run(labels, negatives);
    const want = reference(labels, negatives);
    expect(finite([got.loss]) && finite(got.gUser) && finite(got.gTable)).toBe(true);
    expect(got.loss).toBeGreaterThan(1e37);
    expect(maxRelativeError(got.gUser, want.gradUser, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
    expect(maxRelativeError(got.gTable, want.gradTable, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
  });
});

describe('sampled softmax when the terms of a dot product overflow but its value does not', () => {
  // One sample against rows of size ~1e-20 (moderate logits), but for row 1, whose terms with the
  // user vector are ±1e40: the plain sum is inf − inf, the true logit exactly 0. Only the scaled
  // recompute, taken when the row magnitudes say the product may overflow, gives 0; read as
  // anything saturated, the row's probability would be 0 or 1 instead of a moderate value. The
  // user vector (first case) or the row (second case) has no positive entry, so the magnitudes
  // must be absolute values.
  const [S, N, d] = [5, 8, 4];
  const labels = [3];
  const negatives = [0, 1, 2, 4, 5];

  async function run(user: Float32Array, table: Float32Array, bias?: Float32Array) {
    const ctx = getCtx();
    return ctx.tidy(async () => {
      const u = ctx.tensor(user, [1, d], { requiresGrad: true });
      const W = ctx.tensor(table, [N, d], { requiresGrad: true });
      const c = bias && ctx.tensor(bias, [N], { requiresGrad: true });
      const loss = sampledSoftmaxLoss(u, W, ctx.tensor(Int32Array.from(labels), [1]), ctx.tensor(Int32Array.from(negatives), [S]), { bias: c });
      await loss.backward();
      return { loss: (await loss.read())[0], gUser: await (u.grad as Tensor).read(), gTable: await (W.grad as RowGrad).read() };
    });
  }

  test.each([
    ['user', [-1e20, -1e20, -1e20, -1e20], [1e20, -1e20, 0, 0]],
    ['row', [1e20, -1e20, 1e20, 1e20], [-1e20, -1e20, 0, 0]],
  ] as const)('no positive entry in the %s: the exact logit 0, the loss and gradients of float64', async (_, userRow, row1) => {
    const user = Float32Array.from(userRow);
    const table = randomArray(N * d, 13).map((x) => x * 1e-20);
    table.set(row1, d);
    const got = await run(user, table);
    const inputs = { user: f64(user), itemTable: f64(table), labels, negatives, d };
    const want = { loss: softmaxRef.sampledSoftmaxLoss(inputs), ...softmaxRef.sampledSoftmaxGrads(inputs) };
    // Row 1's probability is moderate (its logit 0 against logits of order 1).
    const p1 = want.gradBias[1];
    expect(p1).toBeGreaterThan(0.01);
    expect(p1).toBeLessThan(0.99);
    expect(Math.abs(got.loss - want.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want.loss)));
    expect(maxRelativeError(got.gUser, want.gradUser, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
    expect(maxRelativeError(got.gTable, want.gradTable, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
  });

  test('a saturated logit plus a bias near the f32 maximum stays saturated: finite loss and the limit gradients', async () => {
    const user = Float32Array.from([1e20, 1e20, 1e20, 1e20]);
    const table = randomArray(N * d, 14).map((x) => x * 1e-20);
    table.set([1e20, 1e20, 1e20, 1e20], d);
    const bias = new Float32Array(N);
    bias[1] = 3e38;
    const got = await run(user, table, bias);
    const want = softmaxRef.sampledSoftmaxGrads({ user: f64(user), itemTable: f64(table), labels, negatives, d, bias: f64(bias) });
    expect(finite([got.loss]) && finite(got.gUser) && finite(got.gTable)).toBe(true);
    expect(got.loss).toBeGreaterThan(1e37);
    expect(maxRelativeError(got.gUser, want.gradUser, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
    expect(maxRelativeError(got.gTable, want.gradTable, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
  });
});
