import { describe, expect, test } from 'vitest';
import { gradCheck } from '../../src/autograd/grad-check.js';
import { sampledSoftmaxLoss, touchedRowsPlan } from '../../src/mind/ops/sampled-softmax.js';
import { RowGrad, type Tensor } from '../../src/autograd/tensor.js';
import * as ref from '../../src/reference/sampled-softmax.js';
import { maxRelativeError, randomArray, useContext } from '../helpers/gpu.js';

const getCtx = useContext();
const f64 = (a: ArrayLike<number>) => Float64Array.from(a);

interface Case {
  B: number;
  S: number;
  N: number;
  d: number;
  user: Float32Array;
  table: Float32Array;
  labels: Int32Array;
  negatives: Int32Array;
  bias?: Float32Array;
  logQ?: Float32Array;
  removeAccidentalHits?: boolean;
}

/** Seeded ids in [0, N). */
function randomIds(n: number, N: number, seed: number): Int32Array {
  return Int32Array.from(randomArray(n, seed, 0, 1), (u) => Math.min(N - 1, Math.floor(u * N)));
}

function makeCase(B: number, S: number, N: number, d: number, seed: number, extra: Partial<Case> = {}): Case {
  return {
    B,
    S,
    N,
    d,
    user: randomArray(B * d, seed),
    table: randomArray(N * d, seed + 1),
    labels: randomIds(B, N, seed + 2),
    negatives: randomIds(S, N, seed + 3),
    ...extra,
  };
}

function reference(c: Case): ref.SampledSoftmaxReferenceInputs {
  return {
    user: f64(c.user),
    itemTable: f64(c.table),
    labels: c.labels,
    negatives: c.negatives,
    d: c.d,
    bias: c.bias && f64(c.bias),
    logQ: c.logQ && f64(c.logQ),
    removeAccidentalHits: c.removeAccidentalHits,
  };
}

/** Loss and gradients (user dense; table and bias as RowGrads, read back) on the GPU. */
async function runGpu(c: Case, upstream = 1) {
  const ctx = getCtx();
  return ctx.tidy(async () => {
    const user = ctx.tensor(c.user, [c.B, c.d], { requiresGrad: true });
    const table = ctx.tensor(c.table, [c.N, c.d], { requiresGrad: true });
    const bias = c.bias && ctx.tensor(c.bias, [c.N], { requiresGrad: true });
    const loss = sampledSoftmaxLoss(user, table, ctx.tensor(c.labels, [c.B]), ctx.tensor(c.negatives, [c.S]), {
      bias,
      logQ: c.logQ && ctx.tensor(c.logQ, [c.N]),
      removeAccidentalHits: c.removeAccidentalHits,
    });
    expect(loss.shape).toEqual([1]);
    await loss.backward(ctx.tensor([upstream], [1]));
    const tableGrad = table.grad as RowGrad;
    const biasGrad = bias?.grad as RowGrad | undefined;
    return {
      loss: (await loss.read())[0],
      gradUser: await (user.grad as Tensor).read(),
      rows: tableGrad.rows,
      tableRows: await tableGrad.values.read(),
      biasRows: biasGrad && (await biasGrad.values.read()),
      biasGradRows: biasGrad?.rows,
    };
  });
}

type GpuResult = Awaited<ReturnType<typeof runGpu>>;

function expectedRows(c: Case): number[] {
  return [...new Set([...c.labels, ...c.negatives])].sort((a, b) => a - b);
}

/** GPU loss and gradients against the float64 reference (analytic gradients). */
async function expectMatchesReference(c: Case, upstream = 1): Promise<GpuResult> {
  const gpu = await runGpu(c, upstream);
  const inputs = reference(c);
  expect(maxRelativeError([gpu.loss], [ref.sampledSoftmaxLoss(inputs)], 1e-4, 1e-6)).toBeLessThanOrEqual(1);
  const grads = ref.sampledSoftmaxGrads(inputs);
  const scaled = (a: Float64Array) => a.map((x) => x * upstream);
  expect(maxRelativeError(gpu.gradUser, scaled(grads.gradUser), 1e-3, 1e-6)).toBeLessThanOrEqual(1);
  const rows = expectedRows(c);
  expect(Array.from(gpu.rows)).toEqual(rows);
  const tableRows = rows.flatMap((r) => Array.from(grads.gradTable.subarray(r * c.d, (r + 1) * c.d)));
  expect(maxRelativeError(gpu.tableRows, scaled(f64(tableRows)), 1e-3, 1e-6)).toBeLessThanOrEqual(1);
  if (c.bias) {
    expect(Array.from(gpu.biasGradRows!)).toEqual(rows);
    expect(maxRelativeError(gpu.biasRows!, scaled(f64(rows.map((r) => grads.gradBias[r]))), 1e-3, 1e-6)).toBeLessThanOrEqual(1);
  }
  return gpu;
}

/** A case whose labels also appear among the negatives, some negatives repeated. */
function hitCase(seed: number, extra: Partial<Case> = {}): Case {
  const c = makeCase(5, 9, 12, 6, seed, extra);
  c.negatives.set([c.labels[0], c.labels[2], c.labels[0]], 2);
  c.negatives[8] = c.negatives[1];
  return c;
}

describe('against the reference', () => {
  test.each([
    [true, false, false],
    [false, false, false],
    [true, true, false],
    [true, false, true],
    [false, true, true],
    [true, true, true],
  ])('removeAccidentalHits %s, bias %s, logQ %s', async (removeAccidentalHits, withBias, withLogQ) => {
    const c = hitCase(1, {
      removeAccidentalHits,
      bias: withBias ? randomArray(12, 7) : undefined,
      logQ: withLogQ ? randomArray(12, 8, -6, -1) : undefined,
    });
    await expectMatchesReference(c, 0.75);
  });

  test('S = 1 and B = 1', async () => {
    await expectMatchesReference(makeCase(1, 1, 4, 5, 11));
    await expectMatchesReference(makeCase(3, 1, 4, 5, 12));
    await expectMatchesReference(makeCase(1, 6, 4, 5, 13, { bias: randomArray(4, 3) }));
    // The only negative is the label: with hits removed the loss is exactly 0.
    const alone = makeCase(1, 1, 4, 5, 14);
    alone.negatives[0] = alone.labels[0];
    const gpu = await expectMatchesReference(alone);
    expect(gpu.loss).toBe(0);
    expect(gpu.gradUser.every((x) => x === 0)).toBe(true);
  });

  test('several tiles along every axis and a split product (B = 70, S = 600, d = 70)', async () => {
    await expectMatchesReference(makeCase(70, 600, 300, 70, 21, { bias: randomArray(300, 4), logQ: randomArray(300, 5, -8, 0) }));
  });

  test('a 50 000-row table: indexing, and rows never touched get nothing', async () => {
    const N = 50_000;
    const c = makeCase(33, 100, N, 8, 31);
    c.labels[0] = N - 1;
    c.negatives[0] = 0;
    c.negatives[1] = N - 1;
    const gpu = await expectMatchesReference(c);
    expect(gpu.rows.length).toBeLessThan(133);
  });

  test('huge logits (±1e4): the loss is finite and equal to the reference', async () => {
    const c = makeCase(6, 20, 30, 4, 41);
    c.user = c.user.map((x) => x * 100);
    c.table = c.table.map((x) => x * 100);
    // Sample 0's label is the best candidate by far: its loss underflows to a tiny number.
    c.table.set(c.user.slice(0, 4), c.labels[0] * 4);
    const gpu = await expectMatchesReference(c);
    expect(Number.isFinite(gpu.loss)).toBe(true);
    expect(gpu.loss).toBeGreaterThan(100);
    // Sample 1's best candidate by far is negative slot 0 (exp of the unshifted gap overflows).
    const first = makeCase(6, 20, 30, 4, 42);
    first.user = first.user.map((x) => x * 100);
    first.table = first.table.map((x) => x * 100);
    const best = [...Array(30).keys()].find((r) => !first.negatives.includes(r) && !first.labels.includes(r))!;
    first.negatives[0] = best;
    first.table.set(first.user.slice(4, 8).map((x) => 3 * x), best * 4);
    const second = await expectMatchesReference(first);
    expect(second.loss).toBeGreaterThan(100);
  });
});

describe.each([true, false])('removeAccidentalHits %s', (removeAccidentalHits) => {
  test('gradients match finite differences (user, table, bias; logQ given)', async () => {
    const c = hitCase(51, { removeAccidentalHits });
    const B = 4;
    const N = 10;
    const d = 3;
    const labels = Int32Array.from([2, 5, 2, 9]);
    const negatives = Int32Array.from([5, 1, 2, 1, 7, 2]);
    const result = await gradCheck({
      ctx: getCtx(),
      inputs: [
        { data: c.user.slice(0, B * d), shape: [B, d], check: true },
        { data: c.table.slice(0, N * d), shape: [N, d], check: true },
        { data: labels, shape: [B] },
        { data: negatives, shape: [6] },
        { data: randomArray(N, 61), shape: [N], check: true },
        { data: randomArray(N, 62, -5, -1), shape: [N] },
      ],
      gpu: ([user, table, y, n, bias, logQ]) => sampledSoftmaxLoss(user, table, y, n, { bias, logQ, removeAccidentalHits }),
      reference: ([user, itemTable, y, n, bias, logQ]) =>
        Float64Array.of(ref.sampledSoftmaxLoss({ user, itemTable, labels: y, negatives: n, d, bias, logQ, removeAccidentalHits })),
    });
    for (const err of result.maxError) expect(err).toBeLessThan(2e-3);
    // Rows 0, 3, 4, 6 and 8 are never touched.
    for (const row of [0, 3, 4, 6, 8]) {
      expect(Array.from(result.gpuGrads[1].subarray(row * d, (row + 1) * d))).toEqual([0, 0, 0]);
      expect(result.gpuGrads[2][row]).toBe(0);
    }
  });
});

test('gradients are bitwise identical across runs (duplicate negatives, several splits)', async () => {
  const c = makeCase(40, 700, 90, 20, 71, { bias: randomArray(90, 9) });
  const first = await runGpu(c);
  const second = await runGpu(c);
  expect(second.loss).toBe(first.loss);
  for (const key of ['gradUser', 'tableRows', 'biasRows'] as const) {
    expect(Array.from(second[key]!)).toEqual(Array.from(first[key]!));
  }
});

test('without a backward to feed the loss is bitwise the same (no probabilities written)', async () => {
  const ctx = getCtx();
  const c = hitCase(91, { bias: randomArray(12, 3), logQ: randomArray(12, 4) });
  const withGrad = await runGpu(c);
  const without = await ctx.tidy(async () => {
    const loss = ctx.noGrad(() =>
      sampledSoftmaxLoss(ctx.tensor(c.user, [c.B, c.d], { requiresGrad: true }), ctx.tensor(c.table, [c.N, c.d]), ctx.tensor(c.labels, [c.B]), ctx.tensor(c.negatives, [c.S]), {
        bias: ctx.tensor(c.bias!, [c.N]),
        logQ: ctx.tensor(c.logQ!, [c.N]),
      }),
    );
    expect(loss.requiresGrad).toBe(false);
    return (await loss.read())[0];
  });
  expect(without).toBe(withGrad.loss);
});

test('gradients to only some of user, table and bias are bitwise those of the full backward', async () => {
  const ctx = getCtx();
  // d = 8 and d = 6: the four-column and the one-column finish; B = 8 and B = 5: no padding and padding.
  for (const c of [makeCase(8, 9, 12, 8, 101, { bias: randomArray(12, 5) }), hitCase(102, { bias: randomArray(12, 6) })]) {
    const full = await runGpu(c);
    for (const wanted of [['user'], ['table'], ['bias'], ['table', 'bias']]) {
      const got = await ctx.tidy(async () => {
        const user = ctx.tensor(c.user, [c.B, c.d], { requiresGrad: wanted.includes('user') });
        const table = ctx.tensor(c.table, [c.N, c.d], { requiresGrad: wanted.includes('table') });
        const bias = ctx.tensor(c.bias!, [c.N], { requiresGrad: wanted.includes('bias') });
        const loss = sampledSoftmaxLoss(user, table, ctx.tensor(c.labels, [c.B]), ctx.tensor(c.negatives, [c.S]), { bias });
        await loss.backward();
        return {
          user: user.grad && (await (user.grad as Tensor).read()),
          table: table.grad && (await (table.grad as RowGrad).values.read()),
          bias: bias.grad && (await (bias.grad as RowGrad).values.read()),
        };
      });
      const label = `d = ${c.d}, B = ${c.B}, ${wanted.join(' + ')}`;
      expect(got.user && Array.from(got.user), label).toEqual(wanted.includes('user') ? Array.from(full.gradUser) : null);
      expect(got.table && Array.from(got.table), label).toEqual(wanted.includes('table') ? Array.from(full.tableRows) : null);
      expect(got.bias && Array.from(got.bias), label).toEqual(wanted.includes('bias') ? Array.from(full.biasRows!) : null);
    }
  }
});

test('the touched-rows plan lists slots then labels for each row, rows ascending', () => {
  const { rows, plan } = touchedRowsPlan(Int32Array.from([4, 1, 4]), Int32Array.from([7, 4, 1, 4]));
  expect(Array.from(rows)).toEqual([1, 4, 7]);
  // Offsets [R + 1] then entries: slot s as s, sample b as −b − 1.
  expect(Array.from(plan)).toEqual([0, 2, 6, 7, 2, -2, 1, 3, -1, -3, 0]);
});

test('forward is 4 dispatches, backward 4 with a bias (3 without); the products are the matmul family', async () => {
  // B = 5 pads Lᵀ to 8 columns, so Pᵀ·V reads Vᵀ transposed (matmul.nt); B = 8 needs no padding.
  const ctx = getCtx();
  const stats = ctx.gpu.stats;
  const snapshot = () => new Map(stats.dispatchesByKernel);
  const delta = (before: Map<string, number>) => {
    const out: Record<string, number> = {};
    for (const [k, v] of stats.dispatchesByKernel) if (v !== (before.get(k) ?? 0)) out[k] = v - (before.get(k) ?? 0);
    return out;
  };
  for (const [withBias, B] of [[true, 5], [false, 8]] as const) {
    const c = makeCase(B, 9, 12, 6, 81, { bias: randomArray(12, 1), logQ: randomArray(12, 2) });
    await ctx.tidy(async () => {
      const user = ctx.tensor(c.user, [c.B, c.d], { requiresGrad: true });
      const table = ctx.tensor(c.table, [c.N, c.d], { requiresGrad: true });
      const bias = withBias ? ctx.tensor(c.bias!, [c.N], { requiresGrad: true }) : undefined;
      const labels = ctx.tensor(c.labels, [c.B]);
      const negatives = ctx.tensor(c.negatives, [c.S]);
      const logQ = ctx.tensor(c.logQ!, [c.N]);
      const seed = ctx.tensor([1], [1]);
      const beforeForward = snapshot();
      const loss = sampledSoftmaxLoss(user, table, labels, negatives, { bias, logQ });
      expect(delta(beforeForward)).toEqual({
        'sampled_softmax.prepare': 1,
        'matmul.nn': 1,
        'sampled_softmax.forward_lse': 1,
        'sampled_softmax.forward_mean': 1,
      });
      const beforeBackward = snapshot();
      await loss.backward(seed);
      // (P·G)ᵀ = Gᵀ·Pᵀ and Pᵀ·V (plain; with padding Pᵀ·(Vᵀ)ᵀ), and Pᵀ·1 for the bias.
      const plain = 1 + (B % 4 === 0 ? 1 : 0) + (withBias ? 1 : 0);
      expect(delta(beforeBackward)).toEqual({
        'matmul.nn': plain,
        ...(B % 4 === 0 ? {} : { 'matmul.nt': 1 }),
        'sampled_softmax.grad_finish': 1,
      });
      await ctx.sync();
    });
  }
});

describe('validation', () => {
  test('rejects bad arguments before dispatching, naming them', () => {
    const ctx = getCtx();
    ctx.tidy(() => {
      const user = ctx.tensor(randomArray(6, 1), [2, 3]);
      const table = ctx.tensor(randomArray(15, 2), [5, 3]);
      const ids = (...v: number[]) => ctx.tensor(Int32Array.from(v), [v.length]);
      const labels = ids(1, 4);
      const negatives = ids(0, 2, 3);
      const narrow = ctx.tensor(randomArray(10, 3), [5, 2]);
      const short = ctx.tensor(randomArray(4, 4), [4]);
      const noHost = ctx.empty([3], 'i32');
      const empty = ctx.tensor(new Int32Array(0), [0]);
      const noUsers = ctx.tensor(new Float32Array(0), [0, 3]);
      const dispatches = ctx.gpu.stats.dispatches;
      const op = sampledSoftmaxLoss;
      expect(() => op(user, table, ids(1, 5), negatives)).toThrow(/labels\[1\] = 5 is outside \[0, 5\)/);
      expect(() => op(user, table, labels, ids(0, -1, 3))).toThrow(/negatives\[1\] = -1 is outside \[0, 5\)/);
      expect(() => op(user, table, labels, empty)).toThrow(/negatives \[0\] is empty \(S must be ≥ 1\)/);
      expect(() => op(noUsers, table, empty, negatives)).toThrow(/B must be ≥ 1/);
      expect(() => op(user, narrow, labels, negatives)).toThrow(/itemTable \[5, 2\] and user \[2, 3\] differ in width/);
      expect(() => op(user, table, ids(1), negatives)).toThrow(/labels \[1\] must have shape \[2\]/);
      expect(() => op(user, table, labels, negatives, { bias: short })).toThrow(/bias \[4\] must have shape \[5\]/);
      expect(() => op(user, table, labels, negatives, { logQ: short })).toThrow(/logQ \[4\] must have shape \[5\]/);
      expect(() => op(user, table, labels, noHost)).toThrow(/negatives needs its host copy/);
      expect(() => op(user, table, user, negatives)).toThrow(/labels must be i32, got f32/);
      expect(ctx.gpu.stats.dispatches).toBe(dispatches);
    });
  });
});
