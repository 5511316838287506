import { describe, expect, test } from 'vitest';
import type { Context } from '../../src/autograd/context.js';
import { biasAdd } from '../../src/autograd/ops/bias.js';
import { add, mul, relu, scale } from '../../src/autograd/ops/elementwise.js';
import { matmul } from '../../src/autograd/ops/matmul.js';
import { sum } from '../../src/autograd/ops/reduce.js';
import type { Tensor } from '../../src/autograd/tensor.js';
import { Adam } from '../../src/train/adam.js';
import { randomArray, useContext } from '../helpers/gpu.js';

const getCtx = useContext();

/** A 2-layer MLP regressing a fixed random target, trained with Adam. */
function mlp(ctx: Context) {
  const [batch, inputs, hidden, outputs] = [16, 8, 32, 3];
  const x = ctx.tensor(randomArray(batch * inputs, 1), [batch, inputs]);
  const target = ctx.tensor(randomArray(batch * outputs, 2), [batch, outputs]);
  const w1 = ctx.tensor(randomArray(inputs * hidden, 3, -0.5, 0.5), [inputs, hidden], { requiresGrad: true });
  const b1 = ctx.zeros([hidden], { requiresGrad: true });
  const w2 = ctx.tensor(randomArray(hidden * outputs, 4, -0.3, 0.3), [hidden, outputs], { requiresGrad: true });
  const b2 = ctx.zeros([outputs], { requiresGrad: true });
  const adam = new Adam(ctx, [w1, b1, w2, b2], { lr: 0.01 });
  /** Records one training step and submits it; returns the loss `[1]` (read it to log it). */
  const step = async (): Promise<Tensor> => {
    const h = relu(biasAdd(matmul(x, w1), b1));
    const prediction = biasAdd(matmul(h, w2), b2);
    const error = add(prediction, scale(target, -1));
    const loss = scale(sum(mul(error, error)), 1 / (batch * outputs));
    await loss.backward();
    adam.step();
    ctx.submit();
    return loss;
  };
  return { step, adam, params: [w1, b1, w2, b2, x, target] };
}

describe('training steps', () => {
  test('one step of an MLP is one submit, and the loss falls', async () => {
    const ctx = getCtx();
    const inUseBefore = ctx.gpu.pool.stats().inUse;
    const model = mlp(ctx);
    const first = await ctx.tidy(async () => (await model.step()).read());
    for (let i = 0; i < 20; i++) {
      const before = ctx.gpu.stats.submits;
      await ctx.tidy(async () => {
        await model.step();
      });
      expect(ctx.gpu.stats.submits - before).toBe(1);
    }
    // Reading the loss rides in the step's own submit.
    const before = ctx.gpu.stats.submits;
    const last = await ctx.tidy(async () => {
      const loss = await model.step();
      return loss.read();
    });
    expect(ctx.gpu.stats.submits - before).toBe(2);
    expect(last[0]).toBeLessThan(first[0] * 0.7);
    model.adam.dispose();
    for (const t of model.params) t.dispose();
    expect(ctx.gpu.pool.stats().inUse).toBe(inUseBefore);
  });

  test('500 steps leave the buffer pool flat after warm-up', async () => {
    const ctx = getCtx();
    const inUseBefore = ctx.gpu.pool.stats().inUse;
    const model = mlp(ctx);
    let atStep50 = -1;
    let loss50 = Infinity;
    for (let i = 1; i <= 500; i++) {
      const logged = i % 50 === 0;
      const loss = await ctx.tidy(async () => {
        const l = await model.step();
        return logged ? (await l.read())[0] : undefined;
      });
      await ctx.gpu.device.queue.onSubmittedWorkDone();
      if (i === 50) {
        atStep50 = ctx.gpu.pool.stats().allocated;
        loss50 = loss!;
      }
      if (i === 500) expect(loss!).toBeLessThan(loss50);
    }
    const stats = ctx.gpu.pool.stats();
    expect(stats.allocated).toBe(atStep50);
    model.adam.dispose();
    for (const t of model.params) t.dispose();
    await ctx.sync();
    // Everything this test made is back in the pool.
    expect(ctx.gpu.pool.stats().inUse).toBe(inUseBefore);
  });
});

describe('tidy', () => {
  test('disposes intermediates and keeps returned and kept tensors', async () => {
    const ctx = getCtx();
    const created: Tensor[] = [];
    let kept: Tensor | undefined;
    const result = ctx.tidy(() => {
      const a = ctx.tensor([1, 2, 3], [3]);
      const b = add(a, a);
      const inner = ctx.tidy(() => {
        const c = mul(b, b);
        created.push(c);
        return { c, d: scale(c, 2) };
      });
      kept = relu(b).keep();
      created.push(a, b, inner.c);
      return [inner.d];
    });
    for (const t of created) expect(t.isDisposed).toBe(true);
    expect(result[0].isDisposed).toBe(false);
    expect(kept!.isDisposed).toBe(false);
    expect(Array.from(await result[0].read())).toEqual([8, 32, 72]);
    expect(Array.from(await kept!.read())).toEqual([2, 4, 6]);
    result[0].dispose();
    kept!.dispose();
  });

  test('an async scope keeps what it resolves to and cleans up on a throw', async () => {
    const ctx = getCtx();
    let inner: Tensor | undefined;
    const out = await ctx.tidy(async () => {
      inner = ctx.tensor([1, 2], [2]);
      await ctx.sync();
      return scale(inner, 3);
    });
    expect(inner!.isDisposed).toBe(true);
    expect(Array.from(await out.read())).toEqual([3, 6]);
    out.dispose();
    let leaked: Tensor | undefined;
    expect(() =>
      ctx.tidy(() => {
        leaked = ctx.tensor([1], [1]);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(leaked!.isDisposed).toBe(true);
  });
});
