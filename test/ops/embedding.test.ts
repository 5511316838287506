import { describe, expect, test } from 'vitest';
import { gradCheck } from '../../src/autograd/grad-check.js';
import { add, mul } from '../../src/autograd/ops/elementwise.js';
import { type Bags, embeddingBag, embeddingMean } from '../../src/autograd/ops/embedding.js';
import { sum } from '../../src/autograd/ops/reduce.js';
import { RowGrad } from '../../src/autograd/tensor.js';
import * as elementwise from '../../src/reference/elementwise.js';
import * as ref from '../../src/reference/embedding.js';
import { maxRelativeError, randomArray, useContext } from '../helpers/gpu.js';

const getCtx = useContext();
const f64 = (a: Float32Array) => Float64Array.from(a);

/** Bags from a list of index lists. */
function bagsOf(lists: number[][], weights?: number[]): Bags {
  const offsets = [0];
  for (const l of lists) offsets.push(offsets[offsets.length - 1] + l.length);
  return {
    offsets: Int32Array.from(offsets),
    indices: Int32Array.from(lists.flat()),
    weights: weights ? Float32Array.from(weights) : undefined,
  };
}

// Duplicates inside and across bags, an empty bag, the last row, a single-entry bag.
const lists = [[2, 0, 2], [], [5], [1, 2, 5, 5, 0], [3]];
const weights = [0.5, -1, 2, 1.5, 0.25, 3, -0.5, 1, 2, 0.75];

describe('embeddingBag forward', () => {
  test.each([1, 7, 65])('width %i, with and without weights, and the mean', async (width) => {
    const ctx = getCtx();
    const N = 6;
    const table = randomArray(N * width, width);
    for (const bags of [bagsOf(lists), bagsOf(lists, weights)]) {
      const out = ctx.tidy(() => embeddingBag(ctx.tensor(table, [N, width]), bags));
      expect(out.shape).toEqual([lists.length, width]);
      const expected = ref.embeddingBag(f64(table), width, bags.offsets, bags.indices, bags.weights);
      expect(maxRelativeError(await out.read(), expected)).toBeLessThanOrEqual(1);
      out.dispose();
    }
    const { offsets, indices } = bagsOf(lists);
    const meanOut = ctx.tidy(() => embeddingMean(ctx.tensor(table, [N, width]), offsets, indices));
    expect(maxRelativeError(await meanOut.read(), ref.embeddingMean(f64(table), width, offsets, indices))).toBeLessThanOrEqual(1);
    meanOut.dispose();
  });

  test('no bags and only empty bags', async () => {
    const ctx = getCtx();
    const table = ctx.tensor(randomArray(8, 1), [4, 2]);
    expect(embeddingBag(table, bagsOf([])).shape).toEqual([0, 2]);
    expect(Array.from(await embeddingBag(table, bagsOf([[], []])).read())).toEqual([0, 0, 0, 0]);
  });
});

describe('embeddingBag backward', () => {
  const N = 7;
  const width = 3;
  test('gradCheck with duplicates, empty bags and weights', async () => {
    for (const bags of [bagsOf(lists), bagsOf(lists, weights)]) {
      const result = await gradCheck({
        ctx: getCtx(),
        inputs: [{ data: randomArray(N * width, 70), shape: [N, width], check: true }],
        gpu: ([t]) => embeddingBag(t, bags),
        reference: ([t]) => ref.embeddingBag(t, width, bags.offsets, bags.indices, bags.weights),
      });
      expect(result.maxError[0]).toBeLessThan(2e-3);
    }
  });

  test('gradCheck with a rank-3 outShape (histories [B, L, d]) and empty bags', async () => {
    // 2 samples × 4 positions; positions past each history are empty (padding) bags.
    const bags = bagsOf([[3], [4], [5], [], [6], [0], [1], [2]]);
    const result = await gradCheck({
      ctx: getCtx(),
      inputs: [{ data: randomArray(N * width, 71), shape: [N, width], check: true }],
      gpu: ([t]) => embeddingBag(t, bags, [2, 4, width]),
      reference: ([t]) => ref.embeddingBag(t, width, bags.offsets, bags.indices, bags.weights),
    });
    expect(result.maxError[0]).toBeLessThan(2e-3);
  });

  test('the gradient is a RowGrad over the touched rows only', async () => {
    const ctx = getCtx();
    const table = ctx.tensor(randomArray(N * width, 71), [N, width], { requiresGrad: true });
    const out = embeddingBag(table, bagsOf(lists, weights));
    await sum(out).backward();
    const g = table.grad as RowGrad;
    expect(g).toBeInstanceOf(RowGrad);
    expect(Array.from(g.rows)).toEqual([0, 1, 2, 3, 5]);
    expect(g.values.shape).toEqual([5, width]);
  });

  test('two bags of one table in one graph merge their RowGrads', async () => {
    const ctx = getCtx();
    const first = bagsOf([[0, 4], [2]], [1, -2, 0.5]);
    const second = bagsOf([[4, 6, 4], []]);
    const data = randomArray(N * width, 72);
    const wData = randomArray(2 * width, 73);
    const reference = ([t, w]: Float64Array[]) =>
      elementwise.add(
        elementwise.mul(ref.embeddingBag(t, width, first.offsets, first.indices, first.weights), w),
        ref.embeddingBag(t, width, second.offsets, second.indices),
      );
    const result = await gradCheck({
      ctx,
      inputs: [
        { data, shape: [N, width], check: true },
        { data: wData, shape: [2, width], check: true },
      ],
      gpu: ([t, w]) => add(mul(embeddingBag(t, first), w), embeddingBag(t, second)),
      reference,
    });
    for (const err of result.maxError) expect(err).toBeLessThan(2e-3);

    const table = ctx.tensor(data, [N, width], { requiresGrad: true });
    const out = add(embeddingBag(table, first), embeddingBag(table, second));
    await sum(out).backward();
    const g = table.grad as RowGrad;
    expect(g).toBeInstanceOf(RowGrad);
    expect(Array.from(g.rows)).toEqual([0, 2, 4, 6]);
    // Each bag entry contributes its weight to every column of its row.
    const perRow = [1, 0.5, -2 + 2, 1];
    expect(Array.from(await g.values.read())).toEqual(perRow.flatMap((v) => [v, v, v]));
  });

  test('a table used by a bag and densely gets the RowGrad added to the dense gradient', async () => {
    const bags = bagsOf([[3], [0, 3], [], [6, 6], [1], [2], [5]]);
    const result = await gradCheck({
      ctx: getCtx(),
      inputs: [{ data: randomArray(N * width, 74), shape: [N, width], check: true }],
      gpu: ([t]) => add(embeddingBag(t, bags), mul(t, t)),
      reference: ([t]) => elementwise.add(ref.embeddingBag(t, width, bags.offsets, bags.indices), elementwise.mul(t, t)),
    });
    expect(result.maxError[0]).toBeLessThan(2e-3);
  });
});
