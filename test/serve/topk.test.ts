import { describe, expect, test } from 'vitest';
import { topKReference } from '../../src/reference/topk.js';
import { topKInnerProduct } from '../../src/serve/topk.js';
import { randomArray, useContext } from '../helpers/gpu.js';

describe('exact GPU top-k', () => {
  const getCtx = useContext();

  test.each([
    { Q: 3, N: 1, d: 4, k: 1 },
    { Q: 2, N: 5, d: 3, k: 8 },
    { Q: 4, N: 1000, d: 16, k: 20 },
    { Q: 2, N: 5000, d: 8, k: 50 },
    { Q: 1, N: 70_000, d: 4, k: 256 },
    // Several score blocks merged (the merge pass reads explicit ids).
    { Q: 3, N: 5000, d: 8, k: 50, blockRows: 700 },
    { Q: 2, N: 2000, d: 8, k: 256, blockRows: 300 },
    // Few distinct scores: many ties at the k-th score, taken in id order.
    { Q: 2, N: 9000, d: 1, k: 30 },
  ])('matches the reference for Q=$Q N=$N d=$d k=$k blockRows=$blockRows', async ({ Q, N, d, k, blockRows }) => {
    const ctx = getCtx();
    // Quantised values create many exact ties, which must go to the lower id.
    const q = Float32Array.from(randomArray(Q * d, 11 + N), (x) => Math.round(x * 4) / 4);
    const items = Float32Array.from(randomArray(N * d, 12 + N), (x) => Math.round(x * 4) / 4);
    const exclude = Array.from({ length: Q }, (_, i) => [i, 2 * i + 3, N - 1]);
    const result = await ctx.tidy(() =>
      topKInnerProduct(ctx.tensor(q, [Q, d]), ctx.tensor(items, [N, d]), k, { firstItem: 1, exclude, blockRows }),
    );
    const ref = topKReference(Float64Array.from(q), Float64Array.from(items), Q, N, d, k, 1, exclude);
    expect(Array.from(result.ids)).toEqual(Array.from(ref.ids));
    for (let i = 0; i < ref.ids.length; i++) {
      if (ref.ids[i] >= 0) expect(result.scores[i]).toBeCloseTo(ref.scores[i], 4);
    }
  });

  test('continuous scores: the fast path agrees with the reference at every k up to 256', async () => {
    const ctx = getCtx();
    const Q = 3;
    const N = 3000;
    const d = 16;
    const q = randomArray(Q * d, 5);
    const items = randomArray(N * d, 6);
    for (const k of [64, 65, 256]) {
      const result = await ctx.tidy(() => topKInnerProduct(ctx.tensor(q, [Q, d]), ctx.tensor(items, [N, d]), k));
      const ref = topKReference(Float64Array.from(q), Float64Array.from(items), Q, N, d, k, 0, undefined);
      expect(Array.from(result.ids), `k=${k}`).toEqual(Array.from(ref.ids));
    }
  });

  // More than 2048 items reach the fast path's bound (kernels/topk.wgsl), so the radix-select
  // fallback runs. d = 1 and q = [1]: each item's score is its value.
  test.each([
    {
      // 10 items above a tie of 4000 at the k-th score: 20 of the ties are needed, the lowest
      // eligible ids (1000 and 1003 are excluded).
      name: 'ties at the k-th score taken in id order',
      N: 5000,
      k: 30,
      value: (j: number) => (j >= 100 && j < 110 ? 2 : j >= 1000 ? 1 : (j % 7) / 10 - 0.5),
      exclude: [1000, 1003],
    },
    {
      // 200 distinct scores above a tie of exactly the 56 still needed, all in thread 0's stripe
      // (j = 64 i), and 3000 lower ties elsewhere that reach the bound.
      name: 'every tie at the k-th score needed',
      N: 16_000,
      k: 256,
      value: (j: number) => (j % 64 === 0 && j / 64 < 200 ? 3 + j / 64 / 1000 : j % 64 === 0 && j / 64 < 256 ? 2 : j % 5 === 1 ? 1 : 0),
      exclude: [],
    },
  ])('radix-select fallback: $name', async ({ N, k, value, exclude }) => {
    const ctx = getCtx();
    const items = Float32Array.from({ length: N }, (_, j) => value(j));
    const result = await ctx.tidy(() =>
      topKInnerProduct(ctx.tensor(new Float32Array([1]), [1, 1]), ctx.tensor(items, [N, 1]), k, { firstItem: 1, exclude: [exclude] }),
    );
    const ref = topKReference(new Float64Array([1]), Float64Array.from(items), 1, N, 1, k, 1, [exclude]);
    expect(Array.from(result.ids)).toEqual(Array.from(ref.ids));
  });

  test('rejects a k out of range, naming it', async () => {
    const ctx = getCtx();
    const a = ctx.tensor(new Float32Array(4), [1, 4]);
    await expect(topKInnerProduct(a, a, 0)).rejects.toThrow('k must be an integer in [1, 256], got 0');
    await expect(topKInnerProduct(a, ctx.tensor(new Float32Array(3), [1, 3]), 1)).rejects.toThrow('differ in width');
    await expect(topKInnerProduct(a, a, 1, { blockRows: 0 })).rejects.toThrow('blockRows must be a positive integer, got 0');
  });

  test('exclusion marks only its own block, and an excluded item is never returned even when k exceeds the eligible items', async () => {
    const ctx = getCtx();
    // d = 1, both queries 1: the score of item i is its value. Item 1 is the best.
    const values = new Float32Array([0.5, 10, 2, 3, 4, 5, 6, 7]);
    const queries = ctx.tensor(new Float32Array([1, 1]), [2, 1]);
    const items = ctx.tensor(values, [8, 1]);
    // Query 0 excludes item 5, in the second block of 4 rows: slot 5 of the first block's [2, 4]
    // scores would be query 1's item 1, which must stay.
    const blocked = await topKInnerProduct(queries, items, 3, { exclude: [[5], []], blockRows: 4 });
    expect(Array.from(blocked.ids)).toEqual([1, 7, 6, 1, 7, 6]);
    const firstTwo = await topKInnerProduct(queries, items, 3, { exclude: [[1, 7], [6]], blockRows: 4 });
    expect(Array.from(firstTwo.ids)).toEqual([6, 5, 4, 1, 7, 5]);
    // 8 slots, k = 8: the excluded items are missing, their places empty (−1).
    const all = await topKInnerProduct(queries, items, 8, { exclude: [[1, 2], []] });
    expect(Array.from(all.ids.subarray(0, 8))).toEqual([7, 6, 5, 4, 3, 0, -1, -1]);
    expect(Array.from(all.ids.subarray(8))).toEqual([1, 7, 6, 5, 4, 3, 2, 0]);
  });
});

