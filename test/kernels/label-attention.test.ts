import { describe, expect, test } from 'vitest';
import { gradCheck } from '../../src/autograd/grad-check.js';
import { labelAwareAttention } from '../../src/mind/ops/label-attention.js';
import type { Tensor } from '../../src/autograd/tensor.js';
import * as ref from '../../src/reference/label-attention.js';
import { maxRelativeError, randomArray, useContext } from '../helpers/gpu.js';

const getCtx = useContext();
const f64 = (a: ArrayLike<number>) => Float64Array.from(a);

type Mode = 'pow' | 'scale';
const POWERS = [0, 0.5, 1, 2, 100, Infinity];
const MODES: Mode[] = ['pow', 'scale'];

interface Case {
  V: Float32Array;
  e: Float32Array;
  shape: ref.LabelAttentionShape;
  activeK?: Int32Array;
}

function randomCase(B: number, K: number, d: number, seed: number, activeK?: number[]): Case {
  return {
    V: randomArray(B * K * d, seed),
    e: randomArray(B * d, seed + 1),
    shape: { B, K, d },
    activeK: activeK ? Int32Array.from(activeK) : undefined,
  };
}

/** GPU forward and backward (output gradient `dv`) of a case. */
async function runGpu(c: Case, p: number, mode: Mode, dv: Float32Array) {
  const ctx = getCtx();
  return ctx.tidy(async () => {
    const { B, K, d } = c.shape;
    const V = ctx.tensor(c.V, [B, K, d], { requiresGrad: true });
    const e = ctx.tensor(c.e, [B, d], { requiresGrad: true });
    const activeK = c.activeK ? ctx.tensor(c.activeK, [B]) : undefined;
    const out = labelAwareAttention(V, e, { p, mode, activeK });
    await out.backward(ctx.tensor(dv, [B, d]));
    return {
      out: await out.read(),
      gradInterests: await (V.grad as Tensor).read(),
      gradTarget: await (e.grad as Tensor).read(),
    };
  });
}

/** Forward and analytic backward of the GPU against the reference. */
async function expectMatchesReference(c: Case, p: number, mode: Mode, gradTolerance = 1): Promise<void> {
  const dv = randomArray(c.shape.B * c.shape.d, 99);
  const gpu = await runGpu(c, p, mode, dv);
  const options = { p, mode, activeK: c.activeK };
  const expected = ref.labelAwareAttention(f64(c.V), f64(c.e), c.shape, options);
  const grads = ref.labelAwareAttentionBackward(f64(c.V), f64(c.e), f64(dv), c.shape, options);
  for (const x of [gpu.out, gpu.gradInterests, gpu.gradTarget]) expect(x.every(Number.isFinite)).toBe(true);
  expect(maxRelativeError(gpu.out, expected, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
  expect(maxRelativeError(gpu.gradInterests, grads.gradInterests, 1e-3 * gradTolerance, 1e-4)).toBeLessThanOrEqual(1);
  expect(maxRelativeError(gpu.gradTarget, grads.gradTarget, 1e-3 * gradTolerance, 1e-4)).toBeLessThanOrEqual(1);
}

describe.each(MODES)('mode %s', (mode) => {
  test.each(POWERS)('p = %s: forward and gradients match the reference, with and without activeK', async (p) => {
    await expectMatchesReference(randomCase(5, 4, 7, 1), p, mode);
    await expectMatchesReference(randomCase(5, 4, 7, 3, [4, 1, 2, 3, 1]), p, mode);
  });

  test.each(POWERS.filter((p) => p !== Infinity))('p = %s: gradients match finite differences', async (p) => {
    const { V, e, shape } = randomCase(3, 3, 5, 11);
    const activeK = Int32Array.from([3, 1, 2]);
    const result = await gradCheck({
      ctx: getCtx(),
      inputs: [
        { data: V, shape: [3, 3, 5], check: true },
        { data: e, shape: [3, 5], check: true },
        { data: activeK, shape: [3] },
      ],
      gpu: ([v, t, k]) => labelAwareAttention(v, t, { p, mode, activeK: k }),
      reference: ([v, t, k]) => ref.labelAwareAttention(v, t, shape, { p, mode, activeK: k }),
    });
    for (const err of result.maxError) expect(err).toBeLessThan(2e-3);
  });
});

test('hard attention (p = Infinity): the gradient reaches only the chosen interest, away from ties also by finite differences', async () => {
  const { V, e, shape } = randomCase(3, 4, 5, 21);
  const result = await gradCheck({
    ctx: getCtx(),
    inputs: [
      { data: V, shape: [3, 4, 5], check: true },
      { data: e, shape: [3, 5], check: true },
    ],
    gpu: ([v, t]) => labelAwareAttention(v, t, { p: Infinity }),
    reference: ([v, t]) => ref.labelAwareAttention(v, t, shape, { p: Infinity }),
  });
  for (const err of result.maxError) expect(err).toBeLessThan(2e-3);
  expect(result.gpuGrads[1].every((x) => x === 0)).toBe(true);
});

test('K = 1 returns the single interest for every p and mode', async () => {
  const c = randomCase(4, 1, 6, 31);
  for (const mode of MODES) {
    for (const p of POWERS) {
      const gpu = await runGpu(c, p, mode, randomArray(24, 5));
      expect(Array.from(gpu.out)).toEqual(Array.from(c.V));
      expect(gpu.gradTarget.every((x) => x === 0)).toBe(true);
    }
  }
});

/** A case whose scores V_j · e are exactly `scores` (e = [1, 0, ...]). */
function scoreCase(scores: number[][], d = 3, activeK?: number[]): Case {
  const B = scores.length;
  const K = scores[0].length;
  const V = randomArray(B * K * d, 41, -0.5, 0.5);
  const e = new Float32Array(B * d);
  scores.forEach((row, b) => {
    e[b * d] = 1;
    row.forEach((s, j) => (V[(b * K + j) * d] = s));
  });
  return { V, e, shape: { B, K, d }, activeK: activeK && Int32Array.from(activeK) };
}

describe('scores whose power overflows f32', () => {
  const huge = scoreCase([
    [1e4, -1e4, 9000, 2],
    [-1e4, -2e4, -9000, -1e4],
    [1, 0.99999, -1e4, 0.5],
    [3e3, 3e3, -1e4, 3e3],
    [-1e4, 0, -2e4, 1e4],
  ]);

  test.each([
    ['pow', 100],
    ['pow', 2],
    ['scale', 100],
    ['pow', Infinity],
  ] as [Mode, number][])('%s, p = %s: finite, equal to the reference limit (forward and analytic gradient)', async (mode, p) => {
    await expectMatchesReference(huge, p, mode);
  });

  test('p = 1e6 and p = 1e40 give the limit too', async () => {
    for (const p of [1e6, 1e40]) {
      const gpu = await runGpu(huge, p, 'pow', new Float32Array(15));
      const expected = ref.labelAwareAttention(f64(huge.V), f64(huge.e), huge.shape, { p });
      expect(maxRelativeError(gpu.out, expected, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
    }
  });

  test('the limit: one-hot at the maximum, uniform over exact ties, moderate scores unaffected by an overflowing one', async () => {
    const gpu = await runGpu(huge, 100, 'pow', new Float32Array(15));
    const d = 3;
    // Sample 2 by hand: t = sign(s)|s|^100 is [1, 0.99999^100, −∞ (overflow), 0.5^100]; the
    // overflowing negative score gets weight 0 and the two moderate ones share the rest.
    const t = [1, 0.99999 ** 100, 0.5 ** 100];
    const a = t.map((x) => Math.exp(x) / t.reduce((acc, y) => acc + Math.exp(y), 0));
    expect(a[1]).toBeGreaterThan(0.4);
    for (let c = 0; c < d; c++) {
      const row = (j: number) => huge.V[(2 * 4 + j) * d + c];
      expect(gpu.out[2 * d + c]).toBeCloseTo(a[0] * row(0) + a[1] * row(1) + a[2] * row(3), 5);
    }
    // Sample 0: one-hot at j = 0 (V_0 = [1e4, ...]).
    expect(gpu.out[0]).toBe(1e4);
    // Sample 1 (all negative): one-hot at the least negative score, j = 2.
    expect(gpu.out[d]).toBe(-9000);
    // Sample 3: three exact ties at 3e3 share the weight equally.
    expect(gpu.out[3 * d]).toBeCloseTo(3e3, 2);
    expect(gpu.gradTarget.every((x) => x === 0 || Number.isFinite(x))).toBe(true);
  });
});

test('a score of exactly 0: dt/ds is p·|s|^(p−1) (1 for p = 1), taken as 0 for p < 1', async () => {
  const c = scoreCase([
    [0, 0.3, -0.2, 0.1],
    [0, -0.5, -0.25, -1],
  ]);
  for (const mode of MODES) for (const p of [0.5, 1, 2]) await expectMatchesReference(c, p, mode);
});

test('hard attention breaks ties towards the lowest interest', async () => {
  const c = scoreCase([
    [1, 3, 3, 2],
    [5, 5, 5, 5],
    [-2, -1, -1, -3],
  ]);
  const dv = new Float32Array(9).fill(1);
  for (const mode of MODES) {
    const gpu = await runGpu(c, Infinity, mode, dv);
    expect([gpu.out[0], gpu.out[3], gpu.out[6]]).toEqual([3, 5, -1]);
    // Only the chosen interests (1, 0, 1) receive dv.
    const chosen = [1, 0, 1];
    for (let b = 0; b < 3; b++) {
      for (let j = 0; j < 4; j++) {
        const row = Array.from(gpu.gradInterests.slice((b * 4 + j) * 3, (b * 4 + j + 1) * 3));
        expect(row).toEqual(j === chosen[b] ? [1, 1, 1] : [0, 0, 0]);
      }
    }
    expect(gpu.gradTarget.every((x) => x === 0)).toBe(true);
  }
});

test('inactive interests never reach the output, even when huge, and get zero gradients', async () => {
  const c = scoreCase(
    [
      [0.5, 3e37, -3e37, 1e30],
      [0.25, -0.5, 3e37, 2e30],
    ],
    3,
    [1, 2],
  );
  for (const [mode, p] of [
    ['pow', 2],
    ['scale', 1],
    ['pow', Infinity],
  ] as [Mode, number][]) {
    const gpu = await runGpu(c, p, mode, new Float32Array(6).fill(1));
    expect(gpu.out.every(Number.isFinite)).toBe(true);
    expect(Array.from(gpu.out.slice(0, 3))).toEqual(Array.from(c.V.slice(0, 3)));
    for (const [b, j] of [
      [0, 1],
      [0, 2],
      [0, 3],
      [1, 2],
      [1, 3],
    ]) {
      expect(Array.from(gpu.gradInterests.slice((b * 4 + j) * 3, (b * 4 + j + 1) * 3))).toEqual([0, 0, 0]);
    }
    await expectMatchesReference(c, p, mode);
  }
});

test('forward and backward are one dispatch each', async () => {
  const ctx = getCtx();
  const c = randomCase(3, 4, 5, 51, [4, 2, 1]);
  const count = (name: string) => ctx.gpu.stats.dispatchesByKernel.get(name) ?? 0;
  const before = [count('label_attention.forward'), count('label_attention.backward'), ctx.gpu.stats.dispatches];
  await ctx.tidy(async () => {
    const V = ctx.tensor(c.V, [3, 4, 5], { requiresGrad: true });
    const e = ctx.tensor(c.e, [3, 5], { requiresGrad: true });
    const out = labelAwareAttention(V, e, { p: 2, activeK: ctx.tensor(c.activeK!, [3]) });
    await out.backward(ctx.tensor(randomArray(15, 1), [3, 5]));
    await ctx.sync();
  });
  const after = [count('label_attention.forward'), count('label_attention.backward'), ctx.gpu.stats.dispatches];
  expect(after[0] - before[0]).toBe(1);
  expect(after[1] - before[1]).toBe(1);
  expect(after[2] - before[2]).toBe(2);
});

describe('validation', () => {
  test('rejects bad arguments before dispatching, naming them', () => {
    const ctx = getCtx();
    ctx.tidy(() => {
      const V = ctx.zeros([2, 3, 4]);
      const e = ctx.zeros([2, 4]);
      const wideTarget = ctx.zeros([2, 5]);
      const flat = ctx.zeros([2, 4]);
      const dispatches = ctx.gpu.stats.dispatches;
      expect(() => labelAwareAttention(V, e, { activeK: ctx.tensor(Int32Array.from([1, 4]), [2]) })).toThrow(
        /activeK\[1\] = 4 is outside \[1, 3\]/,
      );
      expect(() => labelAwareAttention(V, e, { activeK: ctx.tensor(Int32Array.from([0, 1]), [2]) })).toThrow(
        /activeK\[0\] = 0 is outside \[1, 3\]/,
      );
      expect(() => labelAwareAttention(V, e, { activeK: ctx.tensor(Int32Array.from([1, 1, 1]), [3]) })).toThrow(/activeK \[3\]/);
      expect(() => labelAwareAttention(V, e, { p: -1 })).toThrow(/p must be a number ≥ 0.*-1/);
      expect(() => labelAwareAttention(V, e, { p: NaN })).toThrow(/p must be/);
      expect(() => labelAwareAttention(V, e, { mode: 'cube' as Mode })).toThrow(/mode must be 'pow' or 'scale', got cube/);
      expect(() => labelAwareAttention(V, wideTarget)).toThrow(/target \[2, 5\] does not match interests \[2, 3, 4\]/);
      expect(() => labelAwareAttention(flat, e)).toThrow(/interests must have rank 3/);
      expect(ctx.gpu.stats.dispatches).toBe(dispatches);
    });
  });
});
