/**
 * The GEMM family's variants (kernels/matmul.wgsl through `gemm`, src/autograd/ops/matmul.ts)
 * that the plain matmul tests do not reach:
 * - the tile list folded over x, y and z when it passes the per-dimension workgroup limit
 *   (forced to 4 with RuntimeOptions.maxWorkgroupsPerDimension): float64 reference, and bitwise
 *   the result of the unfolded grid;
 * - split-K (a tall K cut into ranges whose partial products are added in a fixed order):
 *   float64 reference, with batches, a K tail past the last whole vec4, and the fold at once;
 * - leading dimensions: padded operand rows (the padding holds NaN, so a read of it shows) and
 *   a padded output whose padding columns are written as zeros (over a recycled NaN buffer),
 *   the three shapes routing's projections use.
 */
import { describe, expect, test } from 'vitest';
import type { Context } from '../../src/autograd/context.js';
import type { Tensor } from '../../src/autograd/tensor.js';
import { type GemmSpec, gemm, gemmPlan, splitKParts } from '../../src/autograd/ops/matmul.js';
import { gridFor3 } from '../../src/gpu/runtime.js';
import * as ref from '../../src/reference/matmul.js';
import { maxRelativeError, randomArray, useContext } from '../helpers/gpu.js';

const CAP = 4;
const getCapped = useContext({ maxWorkgroupsPerDimension: CAP });
const getFull = useContext();

const TRANS = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const;

/** A product's dense operands (float32 values) and what `gemm` gets: the same rows padded. */
interface Case {
  m: number;
  k: number;
  n: number;
  transA?: boolean;
  transB?: boolean;
  batches?: number;
  sharedB?: boolean;
  /** Padding of the stored rows of A, B and C (0: packed). */
  padA?: number;
  padB?: number;
  padC?: number;
  splitK?: number | 'auto';
}

/** Copies `rows` rows of `cols` floats into rows of `cols + pad`, the padding NaN. */
function padRows(dense: Float32Array, rows: number, cols: number, pad: number): Float32Array {
  const out = new Float32Array(rows * (cols + pad)).fill(NaN);
  for (let r = 0; r < rows; r++) out.set(dense.subarray(r * cols, (r + 1) * cols), r * (cols + pad));
  return out;
}

function operands(c: Case, seed: number) {
  const { m, k, n, transA = false, transB = false, batches = 1, sharedB = false, padA = 0, padB = 0 } = c;
  const [rowsA, colsA] = transA ? [k, m] : [m, k];
  const [rowsB, colsB] = transB ? [n, k] : [k, n];
  const bBatches = sharedB ? 1 : batches;
  const a = randomArray(batches * rowsA * colsA, seed);
  const b = randomArray(bBatches * rowsB * colsB, seed + 1);
  return {
    a,
    b,
    storedA: padRows(a, batches * rowsA, colsA, padA),
    storedB: padRows(b, bBatches * rowsB, colsB, padB),
    lda: colsA + padA,
    ldb: colsB + padB,
  };
}

/** The float64 product, each row padded with padC zeros. */
function expected(c: Case, a: Float32Array, b: Float32Array): Float64Array {
  const { m, k, n, batches = 1, padC = 0 } = c;
  const dense = ref.batchedMatmul(Float64Array.from(a), Float64Array.from(b), batches, { ...c, m, k, n });
  const out = new Float64Array(batches * m * (n + padC));
  for (let r = 0; r < batches * m; r++) out.set(dense.subarray(r * n, (r + 1) * n), r * (n + padC));
  return out;
}

/** Uploads `data` as it is (ctx.tensor refuses NaN, which is the point here). */
function raw(ctx: Context, data: Float32Array, shape: readonly number[]): Tensor {
  const t = ctx.empty(shape);
  ctx.gpu.upload(t.buffer, data);
  return t;
}

/** Runs the case through `gemm`, first recycling a NaN-filled buffer of the output's size class. */
async function run(ctx: Context, c: Case, seed: number): Promise<Float32Array> {
  const { m, k, n, batches = 1, padC = 0 } = c;
  const o = operands(c, seed);
  const size = batches * m * (n + padC);
  // Leaves a NaN buffer in the pool where the output (or the split's partials) may land.
  raw(ctx, new Float32Array(Math.max(size, 1)).fill(NaN), [Math.max(size, 1)]).dispose();
  ctx.submit();
  await ctx.sync();
  return ctx.tidy(async () => {
    const spec: GemmSpec = {
      a: raw(ctx, o.storedA, [o.storedA.length]),
      b: raw(ctx, o.storedB, [o.storedB.length]),
      m,
      k,
      n,
      transA: c.transA,
      transB: c.transB,
      batches,
      sharedB: c.sharedB,
      lda: o.lda,
      ldb: o.ldb,
      ldc: n + padC,
      splitK: c.splitK,
    };
    const out = gemm(ctx, spec);
    expect(out.shape).toEqual(batches === 1 ? [m, n + padC] : [batches, m, n + padC]);
    return (await out.read()) as Float32Array;
  });
}

async function check(ctx: Context, c: Case, seed: number, tol = { rtol: 1e-4, atol: 1e-5 }): Promise<Float32Array> {
  const got = await run(ctx, c, seed);
  const o = operands(c, seed);
  expect(maxRelativeError(got, expected(c, o.a, o.b), tol.rtol, tol.atol), JSON.stringify(c)).toBeLessThanOrEqual(1);
  return got;
}

const same = (x: Float32Array, y: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));

describe('the tile list folded past the workgroup limit', () => {
  test('the plans really fold over x, y and z under the cap', () => {
    // 300 rows of 40 columns: 19 row tiles of 16, one column tile of 64.
    expect(gemmPlan({ m: 300, k: 9, ldc: 40 }, CAP)).toMatchObject({ rowTiles: 19, colTiles: 1, parts: 1, grid: [4, 3, 2] });
    expect(gemmPlan({ m: 300, k: 9, ldc: 40 }, 65535).grid).toEqual([19, 1, 1]);
    // Three batches of 40 rows and 70 columns (three column tiles of 32): 3·3·3 = 27 tiles.
    expect(gemmPlan({ m: 40, k: 9, ldc: 70, batches: 3 }, CAP).grid).toEqual([4, 4, 2]);
  });

  test.each(TRANS)('transA=%s transB=%s: float64 reference, and bitwise the unfolded grid', async (transA, transB) => {
    for (const c of [
      { m: 300, k: 9, n: 40, transA, transB },
      { m: 40, k: 9, n: 70, transA, transB, batches: 3 },
      { m: 40, k: 9, n: 70, transA, transB, batches: 3, sharedB: true },
    ]) {
      const folded = await check(getCapped(), c, 7);
      const whole = await run(getFull(), c, 7);
      expect(same(folded, whole), JSON.stringify(c)).toBe(true);
    }
  });
});

describe('split-K', () => {
  test('the plan: parts only for a tall K over few tiles, at most 32, each a multiple of 4 and at least 256 long', () => {
    expect(splitKParts(4, 5120)).toEqual({ parts: 16, kChunk: 320 });
    expect(splitKParts(1, 1037)).toEqual({ parts: 4, kChunk: 260 });
    expect(splitKParts(1, 100_000)).toEqual({ parts: 32, kChunk: 3128 });
    expect(splitKParts(3, 100_000)).toEqual({ parts: 22, kChunk: 4548 });
    expect(splitKParts(64, 100_000)).toEqual({ parts: 1, kChunk: 100_000 });
    expect(splitKParts(100, 100_000)).toEqual({ parts: 1, kChunk: 100_000 });
    expect(splitKParts(1, 511)).toEqual({ parts: 1, kChunk: 511 });
    expect(gemmPlan({ m: 9, k: 1037, ldc: 13 }, 65535)).toMatchObject({ parts: 1, reduce: false, grid: [1, 1, 1] });
    expect(gemmPlan({ m: 9, k: 1037, ldc: 13, splitK: 'auto' }, 65535)).toMatchObject({ parts: 4, kChunk: 260, reduce: true, grid: [4, 1, 1] });
    expect(gemmPlan({ m: 9, k: 37, ldc: 13, splitK: 'auto' }, 65535)).toMatchObject({ parts: 1, kChunk: 37, reduce: true });
    expect(gemmPlan({ m: 9, k: 1037, ldc: 13, splitK: 5 }, 65535)).toMatchObject({ parts: 5, kChunk: 208 });
    expect(gemmPlan({ m: 9, k: 1037, ldc: 13, splitK: 1 }, 65535)).toMatchObject({ parts: 1, kChunk: 1037, reduce: false });
  });

  test.each(TRANS)('transA=%s transB=%s: tall K = 1037 in explicit and automatic parts, with batches', async (transA, transB) => {
    const ctx = getFull();
    const tol = { rtol: 1e-4, atol: 1e-4 };
    for (const c of [
      { m: 9, k: 1037, n: 13, transA, transB, splitK: 5 },
      { m: 9, k: 1037, n: 16, transA, transB, splitK: 'auto' as const },
      { m: 9, k: 37, n: 16, transA, transB, splitK: 'auto' as const },
      { m: 6, k: 1037, n: 5, transA, transB, batches: 3, splitK: 4 },
      { m: 6, k: 1037, n: 5, transA, transB, batches: 3, sharedB: true, splitK: 7 },
    ]) {
      const got = await check(ctx, c, 11, tol);
      expect(same(got, await run(ctx, c, 11)), `${JSON.stringify(c)} run to run`).toBe(true);
    }
  });

  test("'auto' takes two dispatches whatever K is (one part or many), none takes one", () => {
    const ctx = getFull();
    const dispatches = (k: number, splitK?: 'auto') =>
      ctx.tidy(() => {
        const [a, b] = [ctx.zeros([k, 8]), ctx.zeros([k, 8])];
        const before = ctx.gpu.stats.dispatches;
        gemm(ctx, { a, b, m: 8, k, n: 8, transA: true, splitK });
        return ctx.gpu.stats.dispatches - before;
      });
    expect([dispatches(40, 'auto'), dispatches(4000, 'auto'), dispatches(40), dispatches(4000)]).toEqual([2, 2, 1, 1]);
  });

  test('split and folded at once: bitwise the unfolded grid', async () => {
    // 2 batches · 5 parts · 2 row tiles of 16 = 20 tiles, over a cap of 4.
    const c = { m: 20, k: 1300, n: 8, transA: true, batches: 2, splitK: 5 };
    expect(gemmPlan({ m: 20, k: 1300, ldc: 8, batches: 2, splitK: 5 }, CAP).grid).toEqual([4, 3, 2]);
    const folded = await check(getCapped(), c, 3, { rtol: 1e-4, atol: 1e-4 });
    expect(same(folded, await run(getFull(), c, 3))).toBe(true);
  });
});

describe('leading dimensions: padded rows read and written in place', () => {
  test("routing's three products: Ê = E·S into vec4 rows, dE = dÊ·Sᵀ from them, dS = Eᵀ·dÊ split over K", async () => {
    const ctx = getFull();
    // d = 6 padded to 8; dIn = 5; B·L = 600 rows.
    await check(ctx, { m: 600, k: 5, n: 6, padC: 2 }, 21);
    await check(ctx, { m: 600, k: 6, n: 5, padA: 2, transB: true }, 22);
    await check(ctx, { m: 5, k: 600, n: 6, padB: 2, transA: true, splitK: 'auto' }, 23, { rtol: 1e-4, atol: 1e-4 });
    expect(gemmPlan({ m: 5, k: 600, ldc: 6, splitK: 'auto' }, 65535).parts).toBe(2);
  });

  test.each(TRANS)('transA=%s transB=%s: NaN padding never reaches the product, C padding is zeros', async (transA, transB) => {
    const ctx = getFull();
    for (const c of [
      // vec4-aligned padded rows (loads through a4 / b4), M and N not multiples of 4.
      { m: 6, k: 8, n: 6, padA: (transA ? 8 - 6 : 0) + 4, padB: (transB ? 0 : 8 - 6) + 4, padC: 2, transA, transB },
      // K not a multiple of 4 inside vec4-aligned rows: scalar loads, the tail masked; C rows of
      // 11 (f32 stores) and of 12 (vec4 stores).
      { m: 7, k: 6, n: 9, padA: transA ? 1 : 2, padB: transB ? 2 : 3, padC: 2, transA, transB },
      { m: 7, k: 6, n: 9, padA: transA ? 1 : 2, padB: transB ? 2 : 3, padC: 3, transA, transB },
      { m: 33, k: 13, n: 30, padA: 3, padB: 5, padC: 2, transA, transB, batches: 2 },
    ]) {
      await check(ctx, c, 31);
    }
  });
});

describe('gemm arguments', () => {
  test('refuses bad dimensions, leading dimensions, operands, shapes and parts, naming them', () => {
    const ctx = getFull();
    ctx.tidy(() => {
      const a = ctx.tensor(randomArray(20, 1), [4, 5]);
      const b = ctx.tensor(randomArray(15, 2), [5, 3]);
      const base = { a, b, m: 4, k: 5, n: 3 };
      expect(() => gemm(ctx, { ...base, m: 1.5 })).toThrow('gemm.nn: m must be an integer ≥ 0, got 1.5');
      expect(() => gemm(ctx, { ...base, lda: 4 })).toThrow('gemm.nn: lda must be an integer ≥ 5, got 4');
      expect(() => gemm(ctx, { ...base, ldb: 2, label: 'x' })).toThrow('x: ldb must be an integer ≥ 3, got 2');
      expect(() => gemm(ctx, { ...base, ldc: 2 })).toThrow('gemm.nn: ldc must be an integer ≥ 3, got 2');
      expect(() => gemm(ctx, { ...base, lda: 6 })).toThrow('gemm.nn: a [4, 5] holds 20 elements; 1 batch(es) of 4 rows of 6 need 24');
      expect(() => gemm(ctx, { ...base, batches: 2, sharedA: true })).toThrow('gemm.nn: b [5, 3] holds 15 elements; 2 batch(es) of 5 rows of 3 need 30');
      expect(() => gemm(ctx, { ...base, shape: [3, 5] })).toThrow('gemm.nn: shape [3, 5] must hold batches·m·ldc = 1·4·3 = 12 elements');
      expect(() => gemm(ctx, { ...base, splitK: 0 })).toThrow("gemm.nn: splitK must be 'auto' or an integer ≥ 1, got 0");
    });
  });

  test('gridFor3 keeps every dimension within the limit and covers the count', () => {
    expect(gridFor3(4, 4)).toEqual([4, 1, 1]);
    expect(gridFor3(5, 4)).toEqual([4, 2, 1]);
    expect(gridFor3(17, 4)).toEqual([4, 3, 2]);
    expect(gridFor3(64, 4)).toEqual([4, 4, 4]);
    expect(() => gridFor3(65, 4)).toThrow('gridFor3: 65 workgroups exceed 4³ (the per-dimension limit cubed)');
    for (const count of [1, 65535, 65536, 2 ** 31]) {
      const g = gridFor3(count, 65535);
      expect(g.every((x) => x <= 65535) && g[0] * g[1] * g[2] >= count, String(count)).toBe(true);
    }
  });
});
