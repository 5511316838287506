/**
 * Matrix products on the GEMM family (kernels/matmul.wgsl): the public ops `matmul` and
 * `batchedMatmul`, with either operand transposed in place through flags so the backward
 * products need no transposed copies, and `gemm`, the one dispatcher of the family that they
 * and routing's projections (src/mind/ops/routing.ts) share: padded rows (leading dimensions),
 * a grid folded over y and z past the per-dimension workgroup limit, and a deterministic
 * split-K for a tall K.
 */
import type { Context } from '../context.js';
import { gridFor3 } from '../../gpu/runtime.js';
import { type Tensor, formatShape } from '../tensor.js';
import { expectTensor } from './common.js';
import { matmulKernels } from './kernels.js';
import { sumMiddle } from './reduce.js';
export interface MatmulOptions {
  /** Use aᵀ: a is stored `[K, M]` (`[Bt, K, M]` when batched). */
  transA?: boolean;
  /** Use bᵀ: b is stored `[N, K]` (`[Bt, N, K]` when batched). */
  transB?: boolean;
}

/** [rows, cols] of the matrix an operand stands for, after the optional transpose. */
function opShape(t: Tensor, trans: boolean): [number, number] {
  const r = t.shape[t.rank - 2];
  const c = t.shape[t.rank - 1];
  return trans ? [c, r] : [r, c];
}

/**
 * One product of the GEMM family: C[z] = op(A[z]) · op(B[z]) for z < batches, op(A) `[M, K]`,
 * op(B) `[K, N]`, C `[M, N]`, all f32, row-major, with stored row lengths lda, ldb, ldc.
 */
export interface GemmSpec {
  /** Stored A: `[M, lda]` per batch, or `[K, lda]` with transA (flat; any shape of that size). */
  a: Tensor;
  /** Stored B: `[K, ldb]` per batch, or `[N, ldb]` with transB. */
  b: Tensor;
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  /** Stored row length of A, ≥ K (≥ M with transA); default exactly that. */
  lda?: number;
  /** Stored row length of B, ≥ N (≥ K with transB); default exactly that. */
  ldb?: number;
  /** Row length of C, ≥ N; columns N .. ldc-1 are written as zeros. Default N. */
  ldc?: number;
  /** Number of products (default 1). */
  batches?: number;
  /** One A (or B) for every batch, instead of one per batch. */
  sharedA?: boolean;
  sharedB?: boolean;
  /** Shape of the result, of size batches·M·ldc (default `[batches, M, ldc]`, `[M, ldc]` for one). */
  shape?: readonly number[];
  /**
   * Split-K, for a tall K over few output tiles (e.g. a weight gradient summed over every row
   * of a batch): the K ranges' partial products, then their sum in ascending order.
   * - absent or 1: no split, one dispatch;
   * - n ≥ 2: n ranges (fewer when K is short), two dispatches;
   * - 'auto': the ranges splitKParts plans (possibly one) and always the sum pass, so the
   *   product takes two dispatches whatever K is (a step's dispatch count does not move with
   *   the batch or history size).
   */
  splitK?: number | 'auto';
  /** Name of the dispatches in errors, statistics and profiles (default `gemm.<nn|tn|nt|tt>`). */
  label?: string;
}

/** Output tiles below which 'auto' splits K; about what fills a GPU, and plenty for a CPU's cores. */
const SPLIT_TARGET_TILES = 64;
/** The shortest K range worth a part of its own (the partial C it writes costs M·N stores). */
const MIN_K_CHUNK = 256;
/** The most parts: one 32-row pass of sum_middle adds them. */
const MAX_PARTS = 32;

/**
 * The split-K plan for a product of `tiles` output workgroup tiles and inner dimension `k`:
 * `parts` K ranges of `kChunk` (a multiple of 4) each, the last one shorter. One part unless
 * the tiles are fewer than 64 and K holds at least two ranges of 256; then enough parts to give
 * about 64 tiles, at most 32, each at least 256 long.
 */
export function splitKParts(tiles: number, k: number): { parts: number; kChunk: number } {
  // ceil(64 / tiles) is 1 from 64 tiles on, and floor(k / 256) is 1 below K = 512: no split.
  return kRanges(k, Math.min(MAX_PARTS, Math.ceil(SPLIT_TARGET_TILES / tiles), Math.floor(k / MIN_K_CHUNK)));
}

/** `parts` (at most) K ranges of equal length, a multiple of 4; fewer when rounding leaves some empty. */
function kRanges(k: number, parts: number): { parts: number; kChunk: number } {
  if (parts <= 1) return { parts: 1, kChunk: k };
  const kChunk = 4 * Math.ceil(k / parts / 4);
  return { parts: Math.ceil(k / kChunk), kChunk };
}

/** How `gemm` lays a product out on the device (see gemmPlan). */
export interface GemmPlan {
  /** Rows × columns of C one workgroup computes (threads of 4 rows × 8 columns). */
  tileM: number;
  tileN: number;
  colTiles: number;
  rowTiles: number;
  /** Split-K parts and the K range of each (the last one shorter). */
  parts: number;
  kChunk: number;
  /** Whether the parts are written apart and summed by a second dispatch. */
  reduce: boolean;
  /** Workgroups per dimension: colTiles·rowTiles·batches·parts tiles, folded past `limit`. */
  grid: [number, number, number];
}

/**
 * The tiles, split-K parts and grid of a product with output rows `m`, inner dimension `k`,
 * output row length `ldc` and `batches` products, under `limit` workgroups per dimension
 * (GpuRuntime.maxWorkgroupsPerDimension). A tile is 32 columns when that wastes fewer clamped
 * duplicates past ldc, else 64; 16 rows unless the output is large (more, smaller workgroups
 * balance better over the cores of a CPU driver), else 32.
 */
export function gemmPlan(
  dims: { m: number; k: number; ldc: number; batches?: number; splitK?: number | 'auto' },
  limit: number,
): GemmPlan {
  const { m, k, ldc, batches = 1, splitK = 1 } = dims;
  const tileN = ldc % 64 !== 0 && ldc % 64 <= 32 ? 32 : 64;
  const colTiles = Math.ceil(ldc / tileN);
  const tileM = Math.ceil(m / 32) * colTiles * batches < 256 ? 16 : 32;
  const rowTiles = Math.ceil(m / tileM);
  const { parts, kChunk } = splitK === 'auto' ? splitKParts(colTiles * rowTiles * batches, k) : kRanges(k, Math.min(splitK, Math.ceil(k / 4)));
  const reduce = parts > 1 || splitK === 'auto';
  return { tileM, tileN, colTiles, rowTiles, parts, kChunk, reduce, grid: gridFor3(colTiles * rowTiles * batches * parts, limit) };
}

function checkDim(op: string, name: string, v: number, min = 0): void {
  if (!Number.isSafeInteger(v) || v < min) throw new Error(`${op}: ${name} must be an integer ≥ ${min}, got ${v}`);
}

/**
 * Runs one product of the GEMM family (kernels/matmul.wgsl) and returns C as a new tensor.
 * Records nothing on the tape: the ops built on it (matmul, batchedMatmul, routing) record
 * their own backward. Fixed summation order (split-K parts added in ascending order): the
 * same inputs and shapes give the same bits on every run, whatever the workgroup limit.
 *
 * Dispatches: one, or two with a split K (the parts, then their fixed-order sum; see splitK).
 *
 * Throws, naming the argument and value: a dimension that is not an integer ≥ 0, a leading
 * dimension below its row's length, an operand holding fewer elements than its rows need, a
 * `shape` of the wrong size, a `splitK` that is not 'auto' or an integer ≥ 1, or an output
 * with more column tiles than the device's maxComputeWorkgroupsPerDimension cubed.
 */
export function gemm(ctx: Context, spec: GemmSpec): Tensor {
  const { a, b, m, n, k, transA = false, transB = false, batches = 1, sharedA = false, sharedB = false, splitK = 1 } = spec;
  const op = spec.label ?? `gemm.${transA ? 't' : 'n'}${transB ? 't' : 'n'}`;
  for (const [name, v] of [['m', m], ['n', n], ['k', k], ['batches', batches]] as const) checkDim(op, name, v);
  const lda = spec.lda ?? (transA ? m : k);
  const ldb = spec.ldb ?? (transB ? k : n);
  const ldc = spec.ldc ?? n;
  for (const [name, v, min] of [['lda', lda, transA ? m : k], ['ldb', ldb, transB ? k : n], ['ldc', ldc, n]] as const) {
    checkDim(op, name, v, min);
  }
  // Rows stored per batch, and the elements each operand must hold.
  const strideA = sharedA ? 0 : (transA ? k : m) * lda;
  const strideB = sharedB ? 0 : (transB ? n : k) * ldb;
  for (const [name, t, rows, ld, stride] of [['a', a, transA ? k : m, lda, strideA], ['b', b, transB ? n : k, ldb, strideB]] as const) {
    const need = rows === 0 || batches === 0 ? 0 : (batches - 1) * stride + rows * ld;
    if (t.size < need) {
      throw new Error(`${op}: ${name} ${formatShape(t.shape)} holds ${t.size} elements; ${batches} batch(es) of ${rows} rows of ${ld} need ${need}`);
    }
  }
  const shape = spec.shape ?? (batches === 1 ? [m, ldc] : [batches, m, ldc]);
  const size = batches * m * ldc;
  if (shape.reduce((x, y) => x * y, 1) !== size) {
    throw new Error(`${op}: shape ${formatShape(shape)} must hold batches·m·ldc = ${batches}·${m}·${ldc} = ${size} elements`);
  }
  if (splitK !== 'auto' && !(Number.isSafeInteger(splitK) && splitK >= 1)) {
    throw new Error(`${op}: splitK must be 'auto' or an integer ≥ 1, got ${String(splitK)}`);
  }
  // Empty columns: nothing to compute, only padding (zeros).
  if (n === 0) return ctx.zeros(shape);
  const { tileM, tileN, colTiles, rowTiles, parts, kChunk, reduce, grid } = gemmPlan({ m, k, ldc, batches, splitK }, ctx.gpu.maxWorkgroupsPerDimension);
  const slabs = batches * parts;
  const out = ctx.empty(reduce ? [slabs, m, ldc] : shape, 'f32', reduce ? `${op}.parts` : op);
  const c4 = ldc % 4 === 0;
  matmulKernels.entry(c4 ? 'matmul_c4' : 'matmul', op).run(
    ctx,
    {
      params: {
        m,
        n,
        k,
        lda,
        ldb,
        ldc,
        stride_a: strideA,
        stride_b: strideB,
        stride_c: m * ldc,
        col_tiles: colTiles,
        row_tiles: rowTiles,
        slabs,
        parts,
        k_chunk: kChunk,
      },
      a,
      b,
      a4: a,
      b4: b,
      [c4 ? 'c4out' : 'c']: out,
    },
    grid,
    {
      TRANS_A: +transA,
      TRANS_B: +transB,
      // vec4 loads when stored rows and batch strides are vec4-aligned and a vec4 along K
      // cannot pass K's end (K is contiguous in A unless transA, in B when transB).
      A_VEC4: +(lda % 4 === 0 && strideA % 4 === 0 && (transA || k % 4 === 0)),
      B_VEC4: +(ldb % 4 === 0 && strideB % 4 === 0 && (!transB || k % 4 === 0)),
      WG_Y: tileM / 4,
      WG_X: tileN / 8,
    },
  );
  if (!reduce) return out;
  const summed = sumMiddle(out, batches, parts, m * ldc, 1, `${op}.reduce`);
  out.dispose();
  const result = ctx.view(summed, shape);
  summed.dispose();
  return result;
}

/**
 * op(a) · op(b) for operands of rank 2 (one matrix, shared by every batch) or rank 3 (one per
 * batch); the result is `[Bt, M, N]` when either is batched. Records nothing.
 */
function product(op: string, a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  const [m, k] = opShape(a, transA);
  const [kb, n] = opShape(b, transB);
  if (k !== kb) {
    throw new Error(
      `${op}: a ${formatShape(a.shape)}${transA ? 'ᵀ' : ''} and b ${formatShape(b.shape)}${transB ? 'ᵀ' : ''} ` +
        `disagree on the inner dimension (${k} vs ${kb})`,
    );
  }
  const batchesA = a.rank === 3 ? a.shape[0] : null;
  const batchesB = b.rank === 3 ? b.shape[0] : null;
  if (batchesA !== null && batchesB !== null && batchesA !== batchesB) {
    throw new Error(`${op}: a ${formatShape(a.shape)} and b ${formatShape(b.shape)} differ in batch size`);
  }
  const batches = batchesA ?? batchesB;
  return gemm(a.ctx, {
    a,
    b,
    m,
    n,
    k,
    transA,
    transB,
    batches: batches ?? 1,
    sharedA: batchesA === null,
    sharedB: batchesB === null,
    shape: batches === null ? [m, n] : [batches, m, n],
    label: `matmul.${transA ? 't' : 'n'}${transB ? 't' : 'n'}`,
  });
}

/** Gradient of op(a) for dC = g: dC·op(b)ᵀ, transposed back when a is stored transposed. */
function gradA(b: Tensor, g: Tensor, transA: boolean, transB: boolean): Tensor {
  return transA ? product('matmul.grad', b, g, transB, true) : product('matmul.grad', g, b, false, !transB);
}

/**
 * Gradient of op(b) for dC = g: op(a)ᵀ·dC, transposed back when b is stored transposed, and
 * summed over the batch when b is shared by every batch.
 */
function gradB(a: Tensor, b: Tensor, g: Tensor, transA: boolean, transB: boolean): Tensor {
  const ctx = a.ctx;
  const shared = b.rank === 2 && a.rank === 3;
  if (shared && !transA) {
    // The batch folds into the rows of a and g, so one product sums over it.
    const rows = a.shape[0] * a.shape[1];
    const a2 = ctx.view(a, [rows, a.shape[2]]);
    const g2 = ctx.view(g, [rows, g.shape[2]]);
    const out = transB ? product('matmul.grad', g2, a2, true, false) : product('matmul.grad', a2, g2, true, false);
    a2.dispose();
    g2.dispose();
    return out;
  }
  const perBatch = transB ? product('matmul.grad', g, a, true, transA) : product('matmul.grad', a, g, !transA, false);
  if (!shared) return perBatch;
  const [rows, cols] = b.shape;
  const summed = sumMiddle(perBatch, 1, a.shape[0], rows * cols);
  perBatch.dispose();
  const out = ctx.view(summed, b.shape);
  summed.dispose();
  return out;
}

function record(op: string, a: Tensor, b: Tensor, out: Tensor, transA: boolean, transB: boolean): void {
  a.ctx.tape.record(
    op,
    [a, b],
    [out],
    ([g]) => [a.requiresGrad ? gradA(b, g!, transA, transB) : null, b.requiresGrad ? gradB(a, b, g!, transA, transB) : null],
    // dA reads b, dB reads a.
    { reads: [a.requiresGrad ? b : undefined, b.requiresGrad ? a : undefined] },
  );
}

/**
 * The matrix product op(a) `[M, K]` · op(b) `[K, N]` → `[M, N]`, all f32, op the identity or
 * the transpose as `transA` / `transB` say (a stored `[K, M]`, b stored `[N, K]`), on the GEMM
 * family (`gemm`, one dispatch). Differentiable in both: dA = dC·op(b)ᵀ, dB = op(a)ᵀ·dC, each
 * one product with the operands read transposed in place. Deterministic (fixed summation order).
 * Throws, naming the operand, on a non-tensor, a disposed tensor, a dtype other than f32, a rank
 * other than 2, or inner dimensions that disagree (naming both shapes and both K).
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  expectTensor('matmul', 'a', a, 'f32', 2);
  expectTensor('matmul', 'b', b, 'f32', 2);
  const { transA = false, transB = false } = options;
  const out = product('matmul', a, b, transA, transB);
  record('matmul', a, b, out, transA, transB);
  return out;
}

/**
 * Batched products op(a[i]) `[M, K]` · op(b[i]) `[K, N]` → `[Bt, M, N]`, all f32, for a
 * `[Bt, ·, ·]` and b either `[Bt, ·, ·]` or one matrix `[·, ·]` shared by every batch (its
 * gradient is then summed over the batch, deterministically); transposes as in `matmul`. One
 * dispatch on the GEMM family. Throws as `matmul` does, and when a does not have rank 3, b has
 * rank other than 2 or 3, or the two batch sizes differ.
 */
export function batchedMatmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  expectTensor('batchedMatmul', 'a', a, 'f32', 3);
  expectTensor('batchedMatmul', 'b', b, 'f32');
  if (b.rank !== 2 && b.rank !== 3) {
    throw new Error(`batchedMatmul: b must have rank 2 (shared) or 3, got ${formatShape(b.shape)}`);
  }
  const { transA = false, transB = false } = options;
  const out = product('batchedMatmul', a, b, transA, transB);
  record('batchedMatmul', a, b, out, transA, transB);
  return out;
}
