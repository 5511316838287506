/**
 * The tape owns what a backward saves (src/autograd/tape.ts): backward may run outside the
 * forward's tidy scope and gives the same gradients, bit for bit, as inside it; every saved
 * tensor is released exactly once (the pool's in-use count returns to where it started, never
 * below: a double release would undercount); many steps leave the pool flat.
 */
import { describe, expect, test } from 'vitest';
import type { Context } from '../../src/autograd/context.js';
import { add, mul, relu } from '../../src/autograd/ops/elementwise.js';
import { batchedMatmul } from '../../src/autograd/ops/matmul.js';
import { RowGrad, type Tensor } from '../../src/autograd/tensor.js';
import { candidateSoftmaxLoss } from '../../src/mind/ops/candidate-softmax.js';
import { interestMax } from '../../src/mind/ops/interest-max.js';
import { labelAwareAttention } from '../../src/mind/ops/label-attention.js';
import { b2iRouting } from '../../src/mind/ops/routing.js';
import { sampledSoftmaxLoss } from '../../src/mind/ops/sampled-softmax.js';
import { div, exp, log, maskedSoftmax, rowMax, rowMean, sigmoid, sub, tanh } from '../../src/autograd/ops/primitives.js';
import { layerNorm } from '../../src/autograd/layers/layer-norm.js';
import { reshape } from '../../src/autograd/ops/reshape.js';
import { randomArray, useContext } from '../helpers/gpu.js';

const getCtx = useContext();
const [B, L, dIn, d, K, N, C] = [3, 5, 6, 8, 3, 11, 7];

/** Parameters (leaves) of a small graph through every fused op that saves tensors. */
function parameters(ctx: Context) {
  return {
    behaviors: ctx.tensor(randomArray(B * L * dIn, 1), [B, L, dIn], { requiresGrad: true }),
    S: ctx.tensor(randomArray(dIn * d, 2, -0.5, 0.5), [dIn, d], { requiresGrad: true }),
    target: ctx.tensor(randomArray(B * d, 3), [B, d], { requiresGrad: true }),
    table: ctx.tensor(randomArray(N * d, 4), [N, d], { requiresGrad: true }),
    columns: ctx.tensor(randomArray(C * d, 5), [C, d], { requiresGrad: true }),
  };
}
type Params = ReturnType<typeof parameters>;

/**
 * routing ('full' gradient: Ê, logits and z of every iteration saved) → label attention
 * (weights saved) → sampled softmax (logits, statistics saved), plus interest max (argmax saved)
 * → candidate softmax (statistics saved); mul, relu and matmul save their inputs. Every index
 * tensor is created here, inside the caller's tidy scope.
 */
function loss(ctx: Context, p: Params): Tensor {
  const lengths = ctx.tensor(Int32Array.from([5, 2, 4]), [B]);
  const U = b2iRouting(p.behaviors, lengths, p.S, { kMax: K, seed: 7, gradient: 'full' });
  const user = labelAwareAttention(U, relu(mul(p.target, p.target)));
  const sampled = sampledSoftmaxLoss(user, p.table, ctx.tensor(Int32Array.from([1, 4, 9]), [B]), ctx.tensor(Int32Array.from([2, 3, 4, 7]), [4]));
  const scores = interestMax(batchedMatmul(U, p.columns, { transB: true }));
  const candidate = candidateSoftmaxLoss(scores, ctx.tensor(Int32Array.from([0, 6, 2]), [B]), ctx.tensor(Int32Array.from([1, 3, 5]), [3]));
  return add(sampled, candidate);
}

async function readGrads(p: Params): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const t of Object.values(p)) {
    const g = t.grad!;
    out.push(g instanceof RowGrad ? await g.read() : ((await g.read()) as Float32Array));
  }
  return out;
}

function disposeGrads(p: Params): void {
  for (const t of Object.values(p)) {
    t.grad?.dispose();
    t.grad = null;
  }
}

describe('saved tensors belong to the tape', () => {
  test('backward outside the forward tidy scope gives the same gradients bit for bit, and frees everything once', async () => {
    const ctx = getCtx();
    const p = parameters(ctx);
    await ctx.sync();
    const baseline = ctx.gpu.pool.stats().inUse;

    // Inside the forward's scope (the pattern every caller used so far).
    const inside = await ctx.tidy(async () => {
      await loss(ctx, p).backward();
      return readGrads(p);
    });
    disposeGrads(p);
    expect(ctx.gpu.pool.stats().inUse).toBe(baseline);

    // Forward in a scope that ends before backward: its intermediates and index tensors are
    // disposed by the scope, except what the tape holds for the backward rules.
    const root = ctx.tidy(() => loss(ctx, p));
    expect(ctx.tape.length).toBeGreaterThan(5);
    await root.backward();
    expect(ctx.tape.length).toBe(0);
    const outside = await readGrads(p);
    expect(outside).toEqual(inside);
    expect(outside.every((g) => g.some((x) => x !== 0))).toBe(true);
    disposeGrads(p);
    root.dispose();
    expect(ctx.gpu.pool.stats().inUse).toBe(baseline);
    for (const t of Object.values(p)) t.dispose();
  });

  test('compositions of the primitives (layer norm, masked softmax, exp/log/tanh/sigmoid, row max, div) also run backward outside the forward scope', async () => {
    const ctx = getCtx();
    const x = ctx.tensor(randomArray(4 * 6, 21), [4, 6], { requiresGrad: true });
    const gain = ctx.tensor(randomArray(6, 22, 0.5, 1.5), [6], { requiresGrad: true });
    const bias = ctx.tensor(randomArray(6, 23), [6], { requiresGrad: true });
    const composed = () => {
      const lengths = ctx.tensor(Int32Array.from([6, 3, 1, 0]), [4]);
      const h = layerNorm(x, gain, bias);
      const a = maskedSoftmax(tanh(h), lengths);
      const b = div(exp(sigmoid(h)), log(exp(sigmoid(x))));
      return rowMean(sub(a, reshape(rowMax(b), [4, 1])));
    };
    const grads = async () => Promise.all([x, gain, bias].map(async (t) => (await t.grad!.read()) as Float32Array));
    const clear = () => [x, gain, bias].forEach((t) => { t.grad?.dispose(); t.grad = null; });
    const seed = () => ctx.tensor([1, -2, 0.5, 3], [4]);
    const inside = await ctx.tidy(async () => {
      await composed().backward(seed());
      return grads();
    });
    clear();
    const root = ctx.tidy(() => composed());
    const s = seed();
    await root.backward(s);
    const outside = await grads();
    expect(outside).toEqual(inside);
    expect(outside.every((g) => g.some((v) => v !== 0))).toBe(true);
    expect(ctx.tape.length).toBe(0);
    clear();
    for (const t of [root, s]) t.dispose();
    for (const t of [x, gain, bias]) t.dispose();
  });

  test('a held tensor disposed by its scope stays readable until its node has run, then is freed', async () => {
    const ctx = getCtx();
    const a = ctx.tensor([1, 2, 3], [3], { requiresGrad: true });
    let x!: Tensor;
    const y = ctx.tidy(() => {
      x = ctx.tensor([4, 5, 6], [3]);
      return mul(a, x);
    });
    // The scope asked x to go; mul's backward still reads it.
    expect(x.isDisposed).toBe(false);
    await y.backward(ctx.tensor([1, 1, 1], [3]));
    expect(Array.from((await a.grad!.read()) as Float32Array)).toEqual([4, 5, 6]);
    expect(x.isDisposed).toBe(true);
    for (const t of [a, y]) t.dispose();
  });

  test('clearing the tape without a backward frees what the nodes saved', async () => {
    const ctx = getCtx();
    const p = parameters(ctx);
    await ctx.sync();
    const baseline = ctx.gpu.pool.stats().inUse;
    const root = ctx.tidy(() => loss(ctx, p));
    expect(ctx.gpu.pool.stats().inUse).toBeGreaterThan(baseline + 1);
    ctx.tape.clear();
    root.dispose();
    expect(ctx.gpu.pool.stats().inUse).toBe(baseline);
    for (const t of Object.values(p)) t.dispose();
  });

  test('without gradients nothing is held: the fused ops free their saved tensors at once', async () => {
    const ctx = getCtx();
    const p = parameters(ctx);
    await ctx.sync();
    const baseline = ctx.gpu.pool.stats().inUse;
    const root = ctx.noGrad(() => ctx.tidy(() => loss(ctx, p)));
    expect(ctx.tape.length).toBe(0);
    root.dispose();
    expect(ctx.gpu.pool.stats().inUse).toBe(baseline);
    for (const t of Object.values(p)) t.dispose();
  });

  test('outside any tidy scope, what a fused op saved for itself is freed by the tape (after backward, or at once without gradients)', async () => {
    const ctx = getCtx();
    const interests = ctx.tensor(randomArray(B * K * d, 8), [B, K, d], { requiresGrad: true });
    const target = ctx.tensor(randomArray(B * d, 9), [B, d], { requiresGrad: true });
    const seed = ctx.tensor(randomArray(B * d, 10), [B, d]);
    await ctx.sync();
    const baseline = ctx.gpu.pool.stats().inUse;
    // label attention saves its weights, slopes and a default activeK; interest max its argmax.
    const attended = labelAwareAttention(interests, target);
    const best = interestMax(interests);
    const sumOfBoth = add(attended, best);
    await sumOfBoth.backward(seed);
    for (const t of [attended, best, sumOfBoth]) t.dispose();
    for (const t of [interests, target]) {
      t.grad!.dispose();
      t.grad = null;
    }
    expect(ctx.gpu.pool.stats().inUse).toBe(baseline);
    const frozen = ctx.noGrad(() => [labelAwareAttention(interests, target), interestMax(interests)]);
    for (const t of frozen) t.dispose();
    expect(ctx.gpu.pool.stats().inUse).toBe(baseline);
    for (const t of [interests, target, seed]) t.dispose();
  });

  test('many steps with backward outside the scope leave the pool flat', async () => {
    const ctx = getCtx();
    const p = parameters(ctx);
    const step = async () => {
      const root = ctx.tidy(() => loss(ctx, p));
      await root.backward();
      root.dispose();
      disposeGrads(p);
      await ctx.sync();
    };
    await step();
    const after1 = ctx.gpu.pool.stats();
    for (let i = 0; i < 30; i++) await step();
    const after = ctx.gpu.pool.stats();
    expect(after.inUse).toBe(after1.inUse);
    expect(after.allocated).toBe(after1.allocated);
    for (const t of Object.values(p)) t.dispose();
  });
});
