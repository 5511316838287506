/**
 * The 'maxInterest' training score: interestMax and candidateSoftmaxLoss against their float64
 * references (forward and analytic backward) and central finite differences, at awkward sizes
 * (K = 1, one active interest, ties, columns past a workgroup, duplicate negatives, hits).
 */
import { describe, expect, test } from 'vitest';
import { gradCheck } from '../../src/autograd/grad-check.js';
import { candidateSoftmaxLoss } from '../../src/mind/ops/candidate-softmax.js';
import { interestMax } from '../../src/mind/ops/interest-max.js';
import type { Tensor } from '../../src/autograd/tensor.js';
import * as candRef from '../../src/reference/candidate-softmax.js';
import * as maxRef from '../../src/reference/interest-max.js';
import { maxRelativeError, randomArray, useContext } from '../helpers/gpu.js';

const getCtx = useContext();
const f64 = (a: ArrayLike<number>) => Float64Array.from(a);

describe('interestMax', () => {
  test.each([
    [3, 4, 5, [4, 1, 2]],
    [2, 1, 300, undefined],
    [5, 3, 257, [1, 3, 2, 3, 1]],
  ] as const)('B=%i K=%i C=%i activeK=%j matches the reference forward and backward', async (B, K, C, active) => {
    const ctx = getCtx();
    const scores = randomArray(B * K * C, 7 + C);
    const g = randomArray(B * C, 11);
    const activeK = active ? Int32Array.from(active) : undefined;
    const gpu = await ctx.tidy(async () => {
      const x = ctx.tensor(scores, [B, K, C], { requiresGrad: true });
      const out = interestMax(x, activeK && ctx.tensor(activeK, [B]));
      await out.backward(ctx.tensor(g, [B, C]));
      return { out: await out.read(), grad: await (x.grad as Tensor).read() };
    });
    const ref = maxRef.interestMax(f64(scores), B, K, C, activeK);
    // A max and a routed copy are exact in f32.
    expect(Array.from(gpu.out)).toEqual(Array.from(Float32Array.from(ref.out)));
    expect(Array.from(gpu.grad)).toEqual(Array.from(Float32Array.from(maxRef.interestMaxBackward(f64(scores), f64(g), B, K, C, activeK))));
  });

  test('ties go to the lowest interest and inactive interests never win or get a gradient', async () => {
    const ctx = getCtx();
    // b = 0: interests 1 and 2 tie at 5; b = 1: interest 1 (score 9) is inactive.
    const scores = Float32Array.of(1, 5, 5, 0, 2, 9);
    const gpu = await ctx.tidy(async () => {
      const x = ctx.tensor(scores, [2, 3, 1], { requiresGrad: true });
      const out = interestMax(x, ctx.tensor(Int32Array.of(3, 1), [2]));
      await out.backward(ctx.tensor(Float32Array.of(1, 1), [2, 1]));
      return { out: Array.from(await out.read()), grad: Array.from(await (x.grad as Tensor).read()) };
    });
    expect(gpu.out).toEqual([5, 0]);
    expect(gpu.grad).toEqual([0, 1, 0, 1, 0, 0]);
  });

  test('rejects an active count outside [1, K]', () => {
    const ctx = getCtx();
    ctx.tidy(() => {
      const x = ctx.tensor(new Float32Array(2 * 3 * 4), [2, 3, 4]);
      expect(() => interestMax(x, ctx.tensor(Int32Array.of(1, 4), [2]))).toThrow('activeK[1] = 4 is outside [1, 3]');
    });
  });
});

describe('candidateSoftmaxLoss', () => {
  const cases = [
    { B: 4, C: 6, labels: [0, 1, 2, 0], negatives: [3, 4, 4, 5, 0], logQ: true, remove: true },
    { B: 3, C: 5, labels: [4, 4, 1], negatives: [4, 2, 3], logQ: false, remove: false },
    { B: 300, C: 9, labels: Array.from({ length: 300 }, (_, b) => b % 9), negatives: [8, 7, 1, 1, 0], logQ: true, remove: true },
    { B: 4, C: 6, labels: [0, 1, 2, 0], negatives: [3, 4, 4, 5, 0], logQ: true, remove: true, beta: 1.5 },
    { B: 3, C: 5, labels: [4, 4, 1], negatives: [4, 2, 3, 2], logQ: false, remove: false, beta: 0.3 },
    // Row 0's only negative is its label: no kept slot, loss 0.
    { B: 2, C: 3, labels: [2, 0], negatives: [2], logQ: false, remove: true, beta: 1 },
  ];
  test.each(cases)('B=$B C=$C remove=$remove beta=$beta matches the reference loss and gradient', async (c) => {
    const ctx = getCtx();
    const logits = randomArray(c.B * c.C, 3 + c.B, -4, 4);
    const logQ = c.logQ ? randomArray(c.C, 5, -2, 1) : undefined;
    const options = { logQ, removeAccidentalHits: c.remove, hardNegativeBeta: c.beta };
    const gpu = await ctx.tidy(async () => {
      const x = ctx.tensor(logits, [c.B, c.C], { requiresGrad: true });
      const loss = candidateSoftmaxLoss(x, ctx.tensor(Int32Array.from(c.labels), [c.B]), ctx.tensor(Int32Array.from(c.negatives), [c.negatives.length]), {
        logQ: logQ && ctx.tensor(logQ, [c.C]),
        removeAccidentalHits: c.remove,
        hardNegativeBeta: c.beta,
      });
      await loss.backward(ctx.tensor(Float32Array.of(2), [1]));
      return { loss: (await loss.read())[0], grad: await (x.grad as Tensor).read() };
    });
    const refOptions = { logQ: logQ && f64(logQ), removeAccidentalHits: options.removeAccidentalHits, hardNegativeBeta: c.beta };
    expect(maxRelativeError([gpu.loss], [candRef.candidateSoftmaxLoss(f64(logits), c.B, c.C, c.labels, c.negatives, refOptions)], 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    expect(maxRelativeError(gpu.grad, candRef.candidateSoftmaxBackward(f64(logits), c.B, c.C, c.labels, c.negatives, 2, refOptions), 1e-4, 1e-6)).toBeLessThanOrEqual(1);
  });

  test.each([0, 2])('the gradient of the composed max-interest loss (beta %s) passes a finite-difference check', async (beta) => {
    const ctx = getCtx();
    const [B, K, C] = [3, 3, 5];
    const labels = Int32Array.of(0, 2, 4);
    const negatives = Int32Array.of(1, 3, 3, 4);
    const activeK = Int32Array.of(3, 1, 2);
    const result = await gradCheck({
      ctx,
      inputs: [{ data: randomArray(B * K * C, 21, -2, 2), shape: [B, K, C], check: true }],
      gpu: ([x]) => candidateSoftmaxLoss(interestMax(x, ctx.tensor(activeK, [B])), ctx.tensor(labels, [B]), ctx.tensor(negatives, [4]), { hardNegativeBeta: beta }),
      reference: ([x]) => Float64Array.of(candRef.candidateSoftmaxLoss(maxRef.interestMax(x, B, K, C, activeK).out, B, C, labels, negatives, { hardNegativeBeta: beta })),
    });
    expect(result.maxError[0]).toBeLessThan(2e-3);
  });

  test.each([0, 4])('huge logits give a finite loss (beta %s)', async (beta) => {
    const ctx = getCtx();
    const loss = await ctx.tidy(async () =>
      (await candidateSoftmaxLoss(ctx.tensor(Float32Array.of(1e30, -1e30, 3e38), [1, 3]), ctx.tensor(Int32Array.of(0), [1]), ctx.tensor(Int32Array.of(1, 2), [2]), { hardNegativeBeta: beta }).read())[0],
    );
    expect(loss).toBeGreaterThan(1e38);
    expect(Number.isFinite(loss)).toBe(true);
  });

  test('rejects a negative column outside the candidates', () => {
    const ctx = getCtx();
    ctx.tidy(() => {
      expect(() =>
        candidateSoftmaxLoss(ctx.tensor(new Float32Array(6), [2, 3]), ctx.tensor(Int32Array.of(0, 1), [2]), ctx.tensor(Int32Array.of(3), [1])),
      ).toThrow('negatives[0] = 3 is outside the 3 candidate columns [0, 3)');
    });
  });
});
