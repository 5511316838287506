import { describe, expect, test } from 'vitest';
import { embeddingBag } from '../../src/autograd/ops/embedding.js';
import { sum } from '../../src/autograd/ops/reduce.js';
import { add, mul } from '../../src/autograd/ops/elementwise.js';
import { RowGrad } from '../../src/autograd/tensor.js';
import * as ref from '../../src/reference/adam.js';
import { Adam } from '../../src/train/adam.js';
import { maxRelativeError, randomArray, useContext } from '../helpers/gpu.js';

const getCtx = useContext();
const f64 = (a: Float32Array) => Float64Array.from(a);
const hyper = { lr: 0.01, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.1 };

describe('Adam', () => {
  test('dense steps match the reference', async () => {
    const ctx = getCtx();
    const n = 300;
    const init = randomArray(n, 1);
    const param = ctx.tensor(init, [3, 100], { label: 'w' });
    const adam = new Adam(ctx, [param], hyper);
    const expected = { p: f64(init), m: new Float64Array(n), v: new Float64Array(n) };
    for (let t = 1; t <= 5; t++) {
      const grad = randomArray(n, 10 + t, -2, 2);
      param.grad = ctx.tensor(grad, [3, 100]);
      adam.step();
      expect(param.grad).toBeNull();
      ref.adamDense(expected.p, expected.m, expected.v, f64(grad), t, hyper);
    }
    expect(maxRelativeError(await param.read(), expected.p, 1e-4, 1e-6)).toBeLessThanOrEqual(1);
    const { m, v } = adam.momentsOf(param)!;
    expect(maxRelativeError(await m.read(), expected.m, 1e-4, 1e-6)).toBeLessThanOrEqual(1);
    expect(maxRelativeError(await v.read(), expected.v, 1e-4, 1e-6)).toBeLessThanOrEqual(1);
    adam.dispose();
  });

  test('row gradients update only the touched rows, lazily, with the global step count', async () => {
    const ctx = getCtx();
    const [N, width] = [9, 5];
    const init = randomArray(N * width, 2);
    const table = ctx.tensor(init, [N, width], { label: 'table' });
    const adam = new Adam(ctx, [table], hyper);
    const expected = { p: f64(init), m: new Float64Array(N * width), v: new Float64Array(N * width) };
    const stepsRows = [[0, 3, 8], [3], [], [1, 3, 4]];
    for (let t = 1; t <= stepsRows.length; t++) {
      const rows = Int32Array.from(stepsRows[t - 1]);
      const values = randomArray(rows.length * width, 20 + t, -2, 2);
      table.grad = new RowGrad(rows, ctx.tensor(values, [rows.length, width]), table.shape);
      adam.step();
      expect(table.grad).toBeNull();
      ref.adamRows(expected.p, expected.m, expected.v, rows, f64(values), width, t, hyper);
    }
    const got = await table.read();
    expect(maxRelativeError(got, expected.p, 1e-4, 1e-6)).toBeLessThanOrEqual(1);
    const touched = new Set(stepsRows.flat());
    for (let r = 0; r < N; r++) {
      if (touched.has(r)) continue;
      expect(Array.from(got.subarray(r * width, (r + 1) * width)), `row ${r}`).toEqual(Array.from(init.subarray(r * width, (r + 1) * width)));
    }
    const { m, v } = adam.momentsOf(table)!;
    expect(maxRelativeError(await m.read(), expected.m, 1e-4, 1e-6)).toBeLessThanOrEqual(1);
    expect(maxRelativeError(await v.read(), expected.v, 1e-4, 1e-6)).toBeLessThanOrEqual(1);
    adam.dispose();
  });

  test('consumes gradients from backward, including one tensor shared by two parameters', async () => {
    const ctx = getCtx();
    const table = ctx.tensor(randomArray(12, 3), [4, 3], { requiresGrad: true });
    const a = ctx.tensor(randomArray(6, 4), [2, 3], { requiresGrad: true });
    const b = ctx.tensor(randomArray(6, 5), [2, 3], { requiresGrad: true });
    const adam = new Adam(ctx, [table, a, b], { lr: 0.1 });
    const [tableBefore, aBefore, bBefore] = [await table.read(), await a.read(), await b.read()];
    const bags = { offsets: Int32Array.from([0, 1, 2]), indices: Int32Array.from([2, 2]) };
    // add hands its one output gradient to both of its inputs: a and b share a gradient tensor.
    await sum(add(mul(embeddingBag(table, bags), ctx.fill([2, 3], 1)), add(a, b))).backward();
    expect(table.grad).toBeInstanceOf(RowGrad);
    expect(a.grad).toBe(b.grad);
    adam.step();
    for (const p of [table, a, b]) expect(p.grad).toBeNull();
    // The first Adam step moves each updated element by lr·sign(g) (up to eps): here by -0.1.
    const tableAfter = await table.read();
    for (let i = 0; i < 12; i++) {
      if (i >= 6 && i < 9) expect(tableAfter[i] - tableBefore[i]).toBeCloseTo(-0.1, 4);
      else expect(tableAfter[i]).toBe(tableBefore[i]);
    }
    for (const [after, before] of [
      [await a.read(), aBefore],
      [await b.read(), bBefore],
    ]) {
      for (let i = 0; i < 6; i++) expect(after[i] - before[i]).toBeCloseTo(-0.1, 4);
    }
    adam.dispose();
  });

  test('rejects bad hyper-parameters and mismatched gradients', () => {
    const ctx = getCtx();
    const p = ctx.zeros([2, 2]);
    expect(() => new Adam(ctx, [p], { beta1: 1 })).toThrow(/Adam: beta1 must be in \[0, 1\), got 1/);
    expect(() => new Adam(ctx, [p], { lr: NaN })).toThrow(/Adam: lr must be >= 0/);
    expect(() => new Adam(ctx, [p, p])).toThrow(/twice/);
    const adam = new Adam(ctx, [p]);
    p.grad = ctx.zeros([3]);
    expect(() => adam.step()).toThrow(/Adam: gradient \[3\] for fill \[2, 2\]/);
    expect(adam.stepCount).toBe(0);
  });
});
