/**
 * Every kernel at the sizes that cross its workgroup, tile and stride boundaries, against the
 * float64 references: just below, at and above each size a kernel splits work by.
 *
 * - label_attention.wgsl: 64 threads per sample stride over d (d = 63, 64, 65, 130, and > 64 is
 *   what the default d = 64 never exercises).
 * - sampled_softmax.wgsl: samples in quads (Lᵀ padded to a multiple of 4 columns) and 64 per
 *   forward_lse workgroup (B = 3/4/5, 63/64/65), one thread per row in 256-thread prepare
 *   workgroups (S + B4 = 255/256/257), four columns per grad_finish4 thread (d = 15/16/17,
 *   255/256/257 and 300); the products are matmul's.
 * - routing.wgsl: 32-thread workgroups over L and d (L, d = 31/32/33).
 * - matmul.wgsl: 4·8 = 32 rows × 8·8 = 64 columns per workgroup, K in steps of 4.
 * - topk.wgsl: 1024-item chunks, then merges of chunk lists (N = 1023/1024/1025/2049, k up to 256).
 * - flat 256-thread kernels: past 65535 workgroups the dispatch goes 2-D (n > 65535·256).
 */
import { describe, expect, test } from 'vitest';
import { add, b2iRouting, labelAwareAttention, matmul, relu, RowGrad, sampledSoftmaxLoss, topKInnerProduct, type Tensor } from '../../src/index.js';
import * as attentionRef from '../../src/reference/label-attention.js';
import * as matmulRef from '../../src/reference/matmul.js';
import * as routingRef from '../../src/reference/routing.js';
import * as softmaxRef from '../../src/reference/sampled-softmax.js';
import { topKReference } from '../../src/reference/topk.js';
import { maxRelativeError, randomArray, useContext } from '../helpers/gpu.js';

const getCtx = useContext();
const f64 = (a: ArrayLike<number>) => Float64Array.from(a);
const ids = (n: number, N: number, seed: number) => Int32Array.from(randomArray(n, seed, 0, 1), (u) => Math.min(N - 1, Math.floor(u * N)));

describe('label-aware attention across the 64-thread stride over d', () => {
  test.each([63, 64, 65, 130])('d = %i: forward and gradients equal the reference', async (d) => {
    const ctx = getCtx();
    const [B, K] = [3, 4];
    const V = randomArray(B * K * d, d);
    const e = randomArray(B * d, d + 1);
    const dv = randomArray(B * d, d + 2);
    const activeK = Int32Array.from([4, 1, 3]);
    const got = await ctx.tidy(async () => {
      const Vt = ctx.tensor(V, [B, K, d], { requiresGrad: true });
      const et = ctx.tensor(e, [B, d], { requiresGrad: true });
      const out = labelAwareAttention(Vt, et, { p: 2, activeK: ctx.tensor(activeK, [B]) });
      await out.backward(ctx.tensor(dv, [B, d]));
      return { out: await out.read(), dV: await (Vt.grad as Tensor).read(), de: await (et.grad as Tensor).read() };
    });
    const options = { p: 2, activeK };
    const shape = { B, K, d };
    const out = attentionRef.labelAwareAttention(f64(V), f64(e), shape, options);
    const grads = attentionRef.labelAwareAttentionBackward(f64(V), f64(e), f64(dv), shape, options);
    expect(maxRelativeError(got.out, out, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
    expect(maxRelativeError(got.dV, grads.gradInterests, 1e-3, 1e-4)).toBeLessThanOrEqual(1);
    expect(maxRelativeError(got.de, grads.gradTarget, 1e-3, 1e-4)).toBeLessThanOrEqual(1);
  });
});

describe('sampled softmax across its sample quads, workgroups and column quads', () => {
  test.each([
    [63, 63, 15],
    [64, 64, 16],
    [65, 65, 17],
    [3, 5, 255],
    [3, 5, 256],
    [3, 5, 257],
    [4, 70, 300],
    [128, 127, 8],
    [128, 128, 8],
    [125, 129, 8],
  ])('B = %i, S = %i, d = %i: loss and gradients equal the reference', async (B, S, d) => {
    const ctx = getCtx();
    const N = 90;
    const user = randomArray(B * d, B + d, -0.3, 0.3);
    const table = randomArray(N * d, B + d + 1, -0.3, 0.3);
    const labels = ids(B, N, B + d + 2);
    const negatives = ids(S, N, B + d + 3);
    const logQ = randomArray(N, B + d + 4, -2, 0);
    const got = await ctx.tidy(async () => {
      const u = ctx.tensor(user, [B, d], { requiresGrad: true });
      const t = ctx.tensor(table, [N, d], { requiresGrad: true });
      const loss = sampledSoftmaxLoss(u, t, ctx.tensor(labels, [B]), ctx.tensor(negatives, [S]), { logQ: ctx.tensor(logQ, [N]) });
      await loss.backward();
      const rowGrad = t.grad as RowGrad;
      return { loss: (await loss.read())[0], dUser: await (u.grad as Tensor).read(), rows: rowGrad.rows, dRows: await rowGrad.values.read() };
    });
    const inputs = { user: f64(user), itemTable: f64(table), labels, negatives, d, logQ: f64(logQ) };
    const loss = softmaxRef.sampledSoftmaxLoss(inputs);
    const grads = softmaxRef.sampledSoftmaxGrads(inputs);
    expect(Math.abs(got.loss - loss)).toBeLessThan(1e-4 * Math.abs(loss) + 1e-5);
    expect(maxRelativeError(got.dUser, grads.gradUser, 1e-3, 1e-6)).toBeLessThanOrEqual(1);
    // Dense table gradient from the touched rows; every row not listed must be zero in the reference.
    const dense = new Float64Array(N * d);
    got.rows.forEach((row, r) => dense.set(got.dRows.subarray(r * d, (r + 1) * d), row * d));
    expect(maxRelativeError(dense, grads.gradTable, 1e-3, 1e-6)).toBeLessThanOrEqual(1);
  });
});

describe('B2I routing across its 32-thread workgroups over L and d', () => {
  test.each([
    [31, 31],
    [32, 32],
    [33, 33],
    [33, 65],
  ])('L = %i, d = %i: capsules and the stop gradient equal the reference', async (L, d) => {
    const ctx = getCtx();
    const [B, K, dIn] = [3, 3, d];
    const E = randomArray(B * L * dIn, L + d, -0.5, 0.5);
    const S = randomArray(dIn * d, L + d + 1, -0.3, 0.3);
    const b0 = randomArray(B * K * L, L + d + 2);
    const lengths = Int32Array.from([L, L - 1, 1]);
    const dU = randomArray(B * K * d, L + d + 3);
    const got = await ctx.tidy(async () => {
      const Et = ctx.tensor(E, [B, L, dIn], { requiresGrad: true });
      const St = ctx.tensor(S, [dIn, d], { requiresGrad: true });
      const U = b2iRouting(Et, ctx.tensor(lengths, [B]), St, { kMax: K, iterations: 3, initLogits: ctx.tensor(b0, [B, K, L]), dynamicK: true });
      await U.backward(ctx.tensor(dU, [B, K, d]));
      return { U: await U.read(), dE: await (Et.grad as Tensor).read(), dS: await (St.grad as Tensor).read() };
    });
    const args = { E, lengths, S, b0, B, L, dIn, d, kMax: K, iterations: 3, dynamicK: true };
    expect(maxRelativeError(got.U, routingRef.routingForwardReference(args), 1e-4, 1e-5)).toBeLessThanOrEqual(1);
    const grads = routingRef.routingStopGradientReference(args, dU);
    expect(maxRelativeError(got.dE, grads.dE, 1e-3, 1e-4)).toBeLessThanOrEqual(1);
    expect(maxRelativeError(got.dS, grads.dS, 1e-3, 1e-4)).toBeLessThanOrEqual(1);
  });
});

describe('matmul across its 32 × 64 workgroup blocks and K steps of 4', () => {
  test.each([
    [31, 63, 3, false, false],
    [32, 64, 4, false, true],
    [33, 65, 5, true, false],
    [65, 129, 9, true, true],
  ])('M = %i, N = %i, K = %i (transA %s, transB %s)', async (M, N, K, transA, transB) => {
    const ctx = getCtx();
    const a = randomArray(M * K, M + N);
    const b = randomArray(K * N, M + N + 1);
    const got = await ctx.tidy(() => matmul(ctx.tensor(a, transA ? [K, M] : [M, K]), ctx.tensor(b, transB ? [N, K] : [K, N]), { transA, transB }).read());
    const expected = matmulRef.matmul(f64(a), f64(b), { m: M, n: N, k: K, transA, transB });
    expect(maxRelativeError(got, expected, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
  });
});

describe('top-k across 1024-item chunks and their merges', () => {
  test.each([
    [1023, 50],
    [1024, 256],
    [1025, 1],
    [2049, 256],
  ])('N = %i, k = %i, with exclusions past id 1024', async (N, k) => {
    const ctx = getCtx();
    const [Q, d] = [3, 5];
    // Rounded values make exact ties, broken by the lower id.
    const queries = Float32Array.from(randomArray(Q * d, N), (x) => Math.round(x * 4) / 4);
    const items = Float32Array.from(randomArray(N * d, N + 1), (x) => Math.round(x * 4) / 4);
    // The last item (in the last, partial chunk) is query 1's best; item N - 2 would be query 2's
    // best but is excluded, and so is query 0's best, item N - 1.
    for (let c = 0; c < d; c++) {
      items[(N - 1) * d + c] = 4 * queries[d + c];
      items[(N - 2) * d + c] = 4 * queries[2 * d + c];
    }
    const exclude = [[0, 1, 1023, 1024, 1025, N - 1], [], [5, N - 2]];
    const got = await ctx.tidy(() => topKInnerProduct(ctx.tensor(queries, [Q, d]), ctx.tensor(items, [N, d]), k, { firstItem: 1, exclude }));
    const expected = topKReference(f64(queries), f64(items), Q, N, d, k, 1, exclude);
    expect(Array.from(got.ids)).toEqual(Array.from(expected.ids));
    expect(got.ids[k]).toBe(N - 1);
    expect(Array.from(got.ids.subarray(2 * k, 3 * k))).not.toContain(N - 2);
    expect(maxRelativeError(got.scores, expected.scores, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
  });
});

describe('flat kernels past 65535 workgroups of 256 (the 2-D dispatch)', () => {
  test('add and relu over 65535 · 256 + 257 elements: every element', async () => {
    const ctx = getCtx();
    const n = 65535 * 256 + 257;
    const a = new Float32Array(n);
    const b = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      a[i] = (i % 1000) - 500;
      b[i] = i % 7;
    }
    const { sum, rect } = await ctx.tidy(async () => {
      const s = add(ctx.tensor(a, [n]), ctx.tensor(b, [n]));
      return { sum: (await s.read()) as Float32Array, rect: (await relu(s).read()) as Float32Array };
    });
    let wrongSum = -1;
    let wrongRelu = -1;
    for (let i = 0; i < n; i++) {
      const want = a[i] + b[i];
      if (wrongSum < 0 && sum[i] !== want) wrongSum = i;
      if (wrongRelu < 0 && rect[i] !== Math.max(0, want)) wrongRelu = i;
    }
    expect(wrongSum, 'first wrong element of add').toBe(-1);
    expect(wrongRelu, 'first wrong element of relu').toBe(-1);
  });
});
