/**
 * A row-sparse gradient is readable: `table.grad.read()` after the backward of an embedding
 * gather gives the dense `[N, d]` gradient, compared with central finite differences of the
 * same loss computed in float64 on the host (src/autograd/grad-check.ts finiteDifference).
 */
import { describe, expect, test } from 'vitest';
import { finiteDifference } from '../../src/autograd/grad-check.js';
import { mul } from '../../src/autograd/ops/elementwise.js';
import { embeddingBag } from '../../src/autograd/ops/embedding.js';
import { sum } from '../../src/autograd/ops/reduce.js';
import { RowGrad } from '../../src/autograd/tensor.js';
import { maxRelativeError, randomArray, useContext } from '../helpers/gpu.js';

const getCtx = useContext();

describe('RowGrad.read / toDense', () => {
  test('the dense gradient of an embedding gather matches finite differences; untouched rows are 0', async () => {
    const ctx = getCtx();
    const [N, d] = [9, 5];
    // Three bags over rows {1, 4}, {4, 7, 7}, {2}; rows 0, 3, 5, 6, 8 untouched.
    const offsets = Int32Array.from([0, 2, 5, 6]);
    const indices = Int32Array.from([1, 4, 4, 7, 7, 2]);
    const weights = Float32Array.from([0.5, -1, 2, 0.25, 1.5, -0.75]);
    const tableData = randomArray(N * d, 21);
    const probe = randomArray(3 * d, 22);
    const table = ctx.tensor(tableData, [N, d], { requiresGrad: true });
    // Forward in a scope, backward after it (the gradient is created outside any scope).
    const root = ctx.tidy(() => sum(mul(embeddingBag(table, { offsets, indices, weights }), ctx.tensor(probe, [3, d]))));
    await root.backward();
    root.dispose();
    const g = table.grad!;
    expect(g).toBeInstanceOf(RowGrad);
    const dense = await (g as RowGrad).read();
    expect(dense.length).toBe(N * d);

    // loss(T) = Σ_bags Σ_c probe[bag, c] · Σ_{k in bag} w_k T[idx_k, c], in float64.
    const loss = ([t]: Float64Array[]) => {
      let total = 0;
      for (let bag = 0; bag < 3; bag++) {
        for (let k = offsets[bag]; k < offsets[bag + 1]; k++) {
          for (let c = 0; c < d; c++) total += probe[bag * d + c] * weights[k] * t[indices[k] * d + c];
        }
      }
      return total;
    };
    const numeric = finiteDifference(loss, [Float64Array.from(tableData)], 0, 1e-3);
    expect(maxRelativeError(dense, numeric, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
    for (const row of [0, 3, 5, 6, 8]) expect(Array.from(dense.subarray(row * d, (row + 1) * d))).toEqual([0, 0, 0, 0, 0]);
    // Row 7 gathers twice in one bag: its gradient is the sum (0.25 + 1.5) · probe[1].
    for (let c = 0; c < d; c++) expect(dense[7 * d + c]).toBeCloseTo(1.75 * probe[d + c], 5);

    // toDense(): the same values as a GPU tensor of the table's shape.
    const onGpu = ctx.tidy(() => (g as RowGrad).toDense());
    expect(onGpu.shape).toEqual([N, d]);
    expect(await onGpu.read()).toEqual(dense);
    for (const t of [onGpu, table]) t.dispose();
  });
});
