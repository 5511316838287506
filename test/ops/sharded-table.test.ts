/**
 * Row tables split over several GPU buffers (issue #14): a context whose shard cap
 * (maxTableShardBytes) is a few rows splits small tables, and everything done with them (read,
 * write, the embedding gather and its row gradient, lazy Adam over several steps with export and
 * import of the moments, the sampled softmax and its row gradients, exact top-k) is compared bit for bit with the same work on one buffer, in a second
 * context without the cap. Shards of 7 rows, a last partial shard, bags whose rows straddle
 * shard boundaries (the first and last row of a shard, the last row of the table).
 */
import { describe, expect, test } from 'vitest';
import { type Bags, type Context, type Tensor, Adam, RowGrad, createContext, embeddingBag, mul, sampledSoftmaxLoss, sum, topKInnerProduct } from '../../src/index.js';
import * as softmaxRef from '../../src/reference/sampled-softmax.js';
import { topKReference } from '../../src/reference/topk.js';
import { randomArray, useContext } from '../helpers/gpu.js';

const D = 5;
/** 7 rows of 5 f32 per shard. */
const SHARD_BYTES = 7 * D * 4 + 3;
const N = 7 * 4 + 3;

const bits = (a: Float32Array | Int32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** Bags touching both sides of every shard boundary, the table's last row, duplicates and an empty bag. */
function bagsOf(): Bags {
  const lists = [[0, 6, 7], [13, 14], [], [N - 1, 20, 21, 6], [27, 28, 28, 1], [N - 1], [3]];
  const offsets = Int32Array.from([0, ...lists.map((_, i) => lists.slice(0, i + 1).flat().length)]);
  const indices = Int32Array.from(lists.flat());
  return { offsets, indices, weights: Float32Array.from(randomArray(indices.length, 5, 0.1, 2)) };
}

describe('row tables split over several buffers', () => {
  const getOne = useContext();
  const getSplit = useContext({ maxTableShardBytes: SHARD_BYTES });
  const data = randomArray(N * D, 17);

  test('the layout follows the cap; read, write, and every use of a shard as one buffer', async () => {
    const ctx = getSplit();
    expect(ctx.rowsPerShard([N, D])).toBe(7);
    const table = ctx.table([N, D], data, { label: 'items' });
    expect(table.shards.map((s) => s.shape[0])).toEqual([7, 7, 7, 7, 3]);
    expect(table.rowsPerShard).toBe(7);
    expect(bits((await table.read()) as Float32Array)).toEqual(bits(data));
    // Each shard holds its rows: shard 3 starts at row 21.
    expect(bits((await table.shards[3].read()) as Float32Array)).toEqual(bits(data.subarray(21 * D, 28 * D)));
    const other = randomArray(N * D, 18);
    table.write(other);
    expect(bits((await table.read()) as Float32Array)).toEqual(bits(other));
    expect(() => table.buffer).toThrow('items [31, 5] is split over 5 GPU buffers of at most 7 rows');
    expect(() => ctx.view(table, [N * D])).toThrow('split over 5 buffers and has no views');
    expect(() => table.write(new Float32Array(3))).toThrow('needs a Float32Array of 155 values, got a Float32Array of 3');
    expect(() => ctx.table([2, 40], new Float32Array(80), { label: 'wide' })).toThrow(
      'wide [2, 40]: one row is 160 bytes, more than a buffer may hold (143 bytes)',
    );
    // A table that fits is an ordinary tensor; zeros are zeros in every shard.
    expect(ctx.table([7, D]).shards).toHaveLength(1);
    const zeros = ctx.tableLike(table);
    expect(zeros.shards.map((s) => s.shape[0])).toEqual([7, 7, 7, 7, 3]);
    expect(Array.from((await zeros.read()) as Float32Array)).toEqual(new Array(N * D).fill(0));
    table.dispose();
    zeros.dispose();
    expect(table.shards.every((s) => s.isDisposed)).toBe(true);
    await expect(createContext({ maxTableShardBytes: 2 })).rejects.toThrow('maxTableShardBytes must be an integer ≥ 4, got 2');
  });

  test('stackShards checks that the parts line up', () => {
    const ctx = getSplit();
    const a = ctx.tensor(new Float32Array(6), [3, 2]);
    const b = ctx.tensor(new Float32Array(8), [4, 2]);
    expect(() => ctx.stackShards([a, b])).toThrow('part 1 [4, 2] f32 does not follow part 0 [3, 2] f32');
    expect(ctx.stackShards([a])).toBe(a);
  });

  /** The gather's output and its row gradient, on `ctx`'s table of `data`. */
  async function gatherAndGrad(ctx: Context) {
    return ctx.tidy(async () => {
      const table = ctx.table([N, D], data, { requiresGrad: true, label: 'items' });
      const bags = bagsOf();
      const out = embeddingBag(table, bags);
      const upstream = ctx.tensor(randomArray(out.size, 9), out.shape);
      await sum(mul(out, upstream)).backward();
      const grad = table.grad as RowGrad;
      return {
        shards: table.shards.length,
        out: (await out.read()) as Float32Array,
        rows: Array.from(grad.rows),
        values: (await grad.values.read()) as Float32Array,
      };
    });
  }

  test('the embedding gather and its row gradient are bitwise those of one buffer', async () => {
    const one = await gatherAndGrad(getOne());
    const split = await gatherAndGrad(getSplit());
    expect([one.shards, split.shards]).toEqual([1, 5]);
    // Independent check of one entry: bag 1 = w0·row 13 + w1·row 14.
    const w = bagsOf().weights!;
    expect(one.out[D]).toBeCloseTo(w[3] * data[13 * D] + w[4] * data[14 * D], 6);
    expect(bits(split.out)).toEqual(bits(one.out));
    expect(split.rows).toEqual([0, 1, 3, 6, 7, 13, 14, 20, 21, 27, 28, N - 1]);
    expect(split.rows).toEqual(one.rows);
    expect(bits(split.values)).toEqual(bits(one.values));
  });

  /** Four lazy Adam steps on `ctx`, the moments exported after two and imported into a new optimiser. */
  async function adamSteps(ctx: Context) {
    const table = ctx.table([N, D], data, { requiresGrad: true, label: 'items' });
    let opt = new Adam(ctx, [table], { lr: 0.05, weightDecay: 0.01 });
    const touched = [[0, 6, 7, 30], [13, 14, 21], [], [1, 20, 27, 28, 29, 30]];
    for (let step = 0; step < touched.length; step++) {
      const rows = Int32Array.from(touched[step]);
      if (step === 2) {
        const state = await opt.exportState();
        opt.dispose();
        opt = new Adam(ctx, [table], { lr: 0.05, weightDecay: 0.01 });
        opt.importState(state);
      }
      table.grad = new RowGrad(rows, ctx.tensor(randomArray(rows.length * D, 40 + step), [rows.length, D]), [N, D]);
      opt.step();
    }
    const moments = opt.momentsOf(table)!;
    const result = {
      param: (await table.read()) as Float32Array,
      m: (await moments.m.read()) as Float32Array,
      v: (await moments.v.read()) as Float32Array,
      momentShards: moments.m.shards.length,
    };
    opt.dispose();
    table.dispose();
    return result;
  }

  test('lazy Adam over several steps, with the moments exported and imported, is bitwise that of one buffer', async () => {
    const one = await adamSteps(getOne());
    const split = await adamSteps(getSplit());
    expect([one.momentShards, split.momentShards]).toEqual([1, 5]);
    // Untouched rows keep their values; touched ones moved.
    expect(bits(one.param.subarray(2 * D, 3 * D))).toEqual(bits(data.subarray(2 * D, 3 * D)));
    expect(one.param[30 * D]).not.toBe(data[30 * D]);
    expect(bits(split.param)).toEqual(bits(one.param));
    expect(bits(split.m)).toEqual(bits(one.m));
    expect(bits(split.v)).toEqual(bits(one.v));
  });

  test('Adam refuses a dense gradient for a split table, naming it', () => {
    const ctx = getSplit();
    const table = ctx.table([N, D], data, { requiresGrad: true, label: 'items' });
    const opt = new Adam(ctx, [table]);
    table.grad = ctx.zeros([N, D]);
    expect(() => opt.step()).toThrow('Adam: items [31, 5] is split over 5 buffers and takes row gradients only, got a dense one');
    opt.dispose();
    table.dispose();
  });

  /** Sampled softmax loss and gradients (user dense; table and bias rows) on `ctx`'s table of `data`. */
  async function softmaxAndGrads(ctx: Context, labels: Int32Array, negatives: Int32Array) {
    const B = labels.length;
    return ctx.tidy(async () => {
      const table = ctx.table([N, D], data, { requiresGrad: true, label: 'items' });
      const user = ctx.tensor(randomArray(B * D, 31), [B, D], { requiresGrad: true });
      const bias = ctx.tensor(randomArray(N, 32), [N], { requiresGrad: true });
      const logQ = ctx.tensor(randomArray(N, 33, -4, -1), [N]);
      const loss = sampledSoftmaxLoss(user, table, ctx.tensor(labels, [B]), ctx.tensor(negatives, [negatives.length]), { bias, logQ });
      await loss.backward();
      const tableGrad = table.grad as RowGrad;
      return {
        shards: table.shards.length,
        loss: (await loss.read()) as Float32Array,
        user: (await (user.grad as Tensor).read()) as Float32Array,
        rows: Array.from(tableGrad.rows),
        tableRows: (await tableGrad.values.read()) as Float32Array,
        biasRows: (await (bias.grad as RowGrad).values.read()) as Float32Array,
      };
    });
  }

  test('the sampled softmax and its row gradients are bitwise those of one buffer', async () => {
    // Labels and negatives on both sides of shard boundaries, the table's last row, a hit and a repeat;
    // shard 2 (rows 14-20) holds only row 20.
    const labels = Int32Array.from([6, 7, 13, N - 1, 28, 0]);
    const negatives = Int32Array.from([21, 7, 27, N - 1, 1, 20, 1, 14]);
    const one = await softmaxAndGrads(getOne(), labels, negatives);
    const split = await softmaxAndGrads(getSplit(), labels, negatives);
    expect([one.shards, split.shards]).toEqual([1, 5]);
    // Independent check of the loss against float64.
    const want = softmaxRef.sampledSoftmaxLoss({
      user: Float64Array.from(randomArray(labels.length * D, 31)),
      itemTable: Float64Array.from(data),
      labels,
      negatives,
      d: D,
      bias: Float64Array.from(randomArray(N, 32)),
      logQ: Float64Array.from(randomArray(N, 33, -4, -1)),
    });
    expect(Math.abs(one.loss[0] - want)).toBeLessThan(1e-5 * Math.abs(want));
    expect(split.rows).toEqual([0, 1, 6, 7, 13, 14, 20, 21, 27, 28, N - 1]);
    expect(split.rows).toEqual(one.rows);
    for (const key of ['loss', 'user', 'tableRows', 'biasRows'] as const) expect(bits(split[key]), key).toEqual(bits(one[key]));
  });

  test('exact top-k over a split table, in blocks inside the shards, is that of one buffer and of the float64 reference', async () => {
    const Q = 3;
    const k = 6;
    const queries = randomArray(Q * D, 23);
    const search = async (ctx: Context, blockRows?: number) =>
      ctx.tidy(async () => {
        const items = ctx.table([N, D], data);
        return topKInnerProduct(ctx.tensor(queries, [Q, D]), items, k, { firstItem: 1, blockRows });
      });
    const one = await search(getOne());
    const ref = topKReference(Float64Array.from(queries), Float64Array.from(data), Q, N, D, k, 1);
    expect(Array.from(one.ids)).toEqual(Array.from(ref.ids));
    for (const blockRows of [undefined, 3]) {
      const split = await search(getSplit(), blockRows);
      expect(Array.from(split.ids), `blockRows ${blockRows}`).toEqual(Array.from(one.ids));
      expect(bits(split.scores), `blockRows ${blockRows}`).toEqual(bits(one.scores));
    }
  });
});
