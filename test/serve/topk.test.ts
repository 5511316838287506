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
    // Few distinct scores: more than 2048 slots reach the fast path's bound, so the radix
    // fallback runs, with ties at the k-th key taken in id order.
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

  test('rejects a k out of range, naming it', async () => {
    const ctx = getCtx();
    const a = ctx.tensor(new Float32Array(4), [1, 4]);
    await expect(topKInnerProduct(a, a, 0)).rejects.toThrow('k must be an integer in [1, 256], got 0');
    await expect(topKInnerProduct(a, ctx.tensor(new Float32Array(3), [1, 3]), 1)).rejects.toThrow('differ in width');
    await expect(topKInnerProduct(a, a, 1, { blockRows: 0 })).rejects.toThrow('blockRows must be a positive integer, got 0');
  });
});
