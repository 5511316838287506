import { describe, expect, test } from 'vitest';
import { gradCheck } from '../../src/autograd/grad-check.js';
import { batchedMatmul, matmul } from '../../src/autograd/ops/matmul.js';
import type { Tensor } from '../../src/autograd/tensor.js';
import * as ref from '../../src/reference/matmul.js';
import { maxRelativeError, randomArray, useContext } from '../helpers/gpu.js';

const getCtx = useContext();
const f64 = (a: Float32Array) => Float64Array.from(a);
const TRANS = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const;

/** Stored shapes of a and b for op(a) [m, k] and op(b) [k, n]. */
function stored(m: number, k: number, n: number, transA: boolean, transB: boolean): [number[], number[]] {
  return [transA ? [k, m] : [m, k], transB ? [n, k] : [k, n]];
}

describe('matmul forward', () => {
  const shapes = [
    [1, 1, 1],
    [7, 5, 9],
    [33, 17, 65],
    [65, 33, 7],
    [64, 16, 64],
    [130, 70, 100],
    [0, 4, 5],
    [3, 4, 0],
    [4, 0, 5],
  ];
  test.each(TRANS)('transA=%s transB=%s on awkward shapes', async (transA, transB) => {
    const ctx = getCtx();
    for (const [m, k, n] of shapes) {
      const [sa, sb] = stored(m, k, n, transA, transB);
      const a = randomArray(m * k, m * 100 + k);
      const b = randomArray(k * n, n * 100 + k + 1);
      const out = ctx.tidy(() => matmul(ctx.tensor(a, sa), ctx.tensor(b, sb), { transA, transB }));
      expect(out.shape).toEqual([m, n]);
      const expected = ref.matmul(f64(a), f64(b), { m, k, n, transA, transB });
      expect(maxRelativeError(await out.read(), expected), `[${m}, ${k}, ${n}]`).toBeLessThanOrEqual(1);
      out.dispose();
    }
  });

  test('gives identical bits on every run', async () => {
    const ctx = getCtx();
    const a = ctx.tensor(randomArray(70 * 90, 1), [70, 90]);
    const b = ctx.tensor(randomArray(90 * 33, 2), [90, 33]);
    const first = await matmul(a, b).read();
    const second = await matmul(a, b).read();
    expect(second).toEqual(first);
  });

  test('rejects mismatched inner dimensions, naming the shapes', () => {
    const ctx = getCtx();
    const a = ctx.tensor(randomArray(6, 1), [2, 3]);
    const b = ctx.tensor(randomArray(8, 2), [4, 2]);
    expect(() => matmul(a, b)).toThrow(/matmul: a \[2, 3\] and b \[4, 2\] disagree on the inner dimension \(3 vs 4\)/);
    expect(() => matmul(a, a, { transA: true, transB: true })).toThrow(/a \[2, 3\]ᵀ and b \[2, 3\]ᵀ .* \(2 vs 3\)/);
    expect(() => batchedMatmul(a, b)).toThrow(/batchedMatmul: a must have rank 3/);
  });
});

describe('batchedMatmul forward', () => {
  test.each(TRANS)('transA=%s transB=%s, batched and shared b', async (transA, transB) => {
    const ctx = getCtx();
    for (const [bt, m, k, n] of [
      [3, 7, 5, 9],
      [2, 33, 65, 17],
      [1, 1, 1, 1],
      [0, 3, 4, 5],
      [4, 0, 3, 2],
    ]) {
      const [sa, sb] = stored(m, k, n, transA, transB);
      const a = randomArray(bt * m * k, 11 + m);
      for (const sharedB of [false, true]) {
        const b = randomArray((sharedB ? 1 : bt) * k * n, 12 + n);
        const out = ctx.tidy(() =>
          batchedMatmul(ctx.tensor(a, [bt, ...sa]), ctx.tensor(b, sharedB ? sb : [bt, ...sb]), { transA, transB }),
        );
        expect(out.shape).toEqual([bt, m, n]);
        const expected = ref.batchedMatmul(f64(a), f64(b), bt, { m, k, n, transA, transB, sharedB });
        expect(maxRelativeError(await out.read(), expected), `[${bt}, ${m}, ${k}, ${n}] shared=${sharedB}`).toBeLessThanOrEqual(1);
        out.dispose();
      }
    }
  });
});

describe('matmul backward', () => {
  test.each(TRANS)('gradCheck transA=%s transB=%s', async (transA, transB) => {
    const ctx = getCtx();
    const [m, k, n] = [5, 7, 3];
    const [sa, sb] = stored(m, k, n, transA, transB);
    const result = await gradCheck({
      ctx,
      inputs: [
        { data: randomArray(m * k, 3), shape: sa, check: true },
        { data: randomArray(k * n, 4), shape: sb, check: true },
      ],
      gpu: ([a, b]) => matmul(a, b, { transA, transB }),
      reference: ([a, b]) => ref.matmul(a, b, { m, k, n, transA, transB }),
    });
    for (const err of result.maxError) expect(err).toBeLessThan(2e-3);
  });

  test.each(TRANS)('batched gradCheck transA=%s transB=%s, batched and shared b', async (transA, transB) => {
    const ctx = getCtx();
    const [bt, m, k, n] = [3, 4, 5, 2];
    const [sa, sb] = stored(m, k, n, transA, transB);
    for (const sharedB of [false, true]) {
      const result = await gradCheck({
        ctx,
        inputs: [
          { data: randomArray(bt * m * k, 5), shape: [bt, ...sa], check: true },
          { data: randomArray((sharedB ? 1 : bt) * k * n, 6), shape: sharedB ? sb : [bt, ...sb], check: true },
        ],
        gpu: ([a, b]) => batchedMatmul(a, b, { transA, transB }),
        reference: ([a, b]) => ref.batchedMatmul(a, b, bt, { m, k, n, transA, transB, sharedB }),
      });
      for (const err of result.maxError) expect(err, `shared=${sharedB}`).toBeLessThan(2e-3);
    }
  });

  test('a gradient to only one operand leaves the other without', async () => {
    const ctx = getCtx();
    const a = ctx.tensor(randomArray(6, 1), [2, 3], { requiresGrad: true });
    const bData = randomArray(12, 2);
    const b = ctx.tensor(bData, [3, 4]);
    const out = matmul(a, b);
    await out.backward(ctx.fill([2, 4], 1));
    expect(b.grad).toBeNull();
    const expected = ref.matmul(new Float64Array(8).fill(1), f64(bData), { m: 2, k: 4, n: 3, transB: true });
    expect(maxRelativeError(await (a.grad as Tensor).read(), expected)).toBeLessThanOrEqual(1);
  });

  test('zero-length dimensions: empty gradients, and zeros where the sum is empty', async () => {
    const ctx = getCtx();
    for (const [m, k, n] of [
      [0, 3, 2],
      [4, 0, 2],
      [3, 2, 0],
    ]) {
      const a = ctx.tensor(randomArray(m * k, 1), [m, k], { requiresGrad: true });
      const b = ctx.tensor(randomArray(k * n, 2), [k, n], { requiresGrad: true });
      await matmul(a, b).backward(ctx.tensor(randomArray(m * n, 3), [m, n]));
      const ga = a.grad as Tensor;
      const gb = b.grad as Tensor;
      expect(ga.shape).toEqual([m, k]);
      expect(gb.shape).toEqual([k, n]);
      if (m === 0 || n === 0) {
        expect(Array.from(await ga.read()).every((x) => x === 0)).toBe(true);
        expect(Array.from(await gb.read()).every((x) => x === 0)).toBe(true);
      }
    }
  });
});
