/**
 * Matrix products (kernels/matmul.wgsl): `matmul` and `batchedMatmul`, with either operand
 * transposed in place through flags, so the backward products need no transposed copies.
 */
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
  const ctx = a.ctx;
  const out = ctx.empty(batches === null ? [m, n] : [batches, m, n], 'f32', op);
  // Output tile of one workgroup, TILE_M × TILE_N (threads of 4 rows × 8 columns): 32 columns
  // when that wastes fewer clamped duplicates past N; 16 rows unless the output is large (more,
  // smaller workgroups balance better over the cores of a CPU driver).
  const TILE_N = n % 64 !== 0 && n % 64 <= 32 ? 32 : 64;
  const TILE_M = Math.ceil(m / 32) * Math.ceil(n / TILE_N) * (batches ?? 1) < 256 ? 16 : 32;
  const grid: [number, number, number] = [Math.ceil(n / TILE_N), Math.ceil(m / TILE_M), batches ?? 1];
  const limit = ctx.gpu.limits.maxComputeWorkgroupsPerDimension;
  if (grid.some((g) => g > limit)) {
    throw new Error(`${op}: output ${formatShape(out.shape)} needs more than ${limit} workgroups along one axis`);
  }
  const c4 = n % 4 === 0;
  matmulKernels.entry(c4 ? 'matmul_c4' : 'matmul', `matmul.${transA ? 't' : 'n'}${transB ? 't' : 'n'}`).run(
    ctx,
    {
      params: {
        m,
        n,
        k,
        stride_a: batchesA === null ? 0 : m * k,
        stride_b: batchesB === null ? 0 : k * n,
        stride_c: m * n,
      },
      a,
      b,
      a4: a,
      b4: b,
      [c4 ? 'c4out' : 'c']: out,
    },
    grid,
    {
      TRANS_A: transA ? 1 : 0,
      TRANS_B: transB ? 1 : 0,
      // vec4 loads when the stored rows are vec4-aligned.
      A_VEC4: (transA ? m : k) % 4 === 0 ? 1 : 0,
      B_VEC4: (transB ? k : n) % 4 === 0 ? 1 : 0,
      WG_Y: TILE_M / 4,
      WG_X: TILE_N / 8,
    },
  );
  return out;
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

/** op(a) `[M, K]` · op(b) `[K, N]` → `[M, N]`, op set by `transA` / `transB`. */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  expectTensor('matmul', 'a', a, 'f32', 2);
  expectTensor('matmul', 'b', b, 'f32', 2);
  const { transA = false, transB = false } = options;
  const out = product('matmul', a, b, transA, transB);
  record('matmul', a, b, out, transA, transB);
  return out;
}

/**
 * op(a[i]) `[M, K]` · op(b[i]) `[K, N]` → `[Bt, M, N]` for a `[Bt, ·, ·]` and b either
 * `[Bt, ·, ·]` or one matrix `[·, ·]` shared by every batch (its gradient is then summed over
 * the batch, deterministically).
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
