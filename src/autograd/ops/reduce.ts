/**
 * Reductions (kernels/reduce.wgsl): `sum` and `mean` over all elements, and `sumRows` over the
 * rows of a matrix. Every sum runs in an order fixed by the shapes alone, so results are
 * bitwise reproducible; that is why this is a tree of passes and not atomics.
 */
import type { Context } from '../context.js';
import { type Tensor, formatShape } from '../tensor.js';
import { expectTensor, flatGrid } from './common.js';
import { reduceKernels } from './kernels.js';
import { tileRows } from './tile.js';

/** Elements reduced by one workgroup of `sum_blocks`. */
const BLOCK = 1024;
/** Rows summed per output row by one pass of `sum_middle`. */
const CHUNK = 32;

function params(n: number, cols: number, outer: number, chunk: number, alpha: number) {
  return { n, cols, outer, chunk, alpha };
}

/** alpha · Σ x as a `[1]` tensor (0 for an empty x), by passes of 1024-way block sums. */
function sumAll(x: Tensor, alpha: number): Tensor {
  const ctx = x.ctx;
  let level = x;
  let n = x.size;
  for (;;) {
    const blocks = Math.max(1, Math.ceil(n / BLOCK));
    const out = ctx.empty([blocks], 'f32', 'sum.partial');
    reduceKernels.entry('sum_blocks').run(ctx, { params: params(n, 0, 0, 0, blocks === 1 ? alpha : 1), x: level, out }, flatGrid(blocks, 1));
    if (level !== x) level.dispose();
    level = out;
    n = blocks;
    if (blocks === 1) return level;
  }
}

/**
 * Sums x `[B, R, C]` over its middle axis → `[B, C]`, times alpha (no gradient recorded), each
 * sum in ascending r. Passes of 32-row chunks, so each pass stays parallel over B·C·ceil(R/32)
 * threads; R ≤ 32 is one pass. `label` names the dispatches in statistics and profiles.
 */
export function sumMiddle(x: Tensor, batches: number, rows: number, cols: number, alpha = 1, label = 'reduce.sum_middle'): Tensor {
  const ctx = x.ctx;
  if (rows === 0) return ctx.zeros([batches, cols]);
  let level = x;
  let r = rows;
  for (;;) {
    const chunks = Math.ceil(r / CHUNK);
    const out = ctx.empty([batches, chunks, cols], 'f32', 'sumRows.partial');
    reduceKernels.entry('sum_middle', label).run(
      ctx,
      { params: params(r, cols, batches, CHUNK, chunks === 1 ? alpha : 1), x: level, out },
      flatGrid(batches * chunks * cols),
    );
    if (level !== x) level.dispose();
    level = out;
    r = chunks;
    if (chunks === 1) {
      const result = ctx.view(level, [batches, cols]);
      level.dispose();
      return result;
    }
  }
}

/** `[n]` (or `shape`) filled with alpha · g[0]: the gradient of a sum spread over its input. */
function broadcastScalar(ctx: Context, g: Tensor, shape: readonly number[], alpha: number): Tensor {
  const out = ctx.empty(shape, 'f32', 'sum.grad');
  reduceKernels.entry('broadcast_scalar').run(ctx, { params: params(out.size, 0, 0, 0, alpha), x: g, out }, flatGrid(out.size));
  return out;
}

/** Σ of all elements of x (any shape) → `[1]`; 0 for an empty x. */
export function sum(x: Tensor): Tensor {
  expectTensor('sum', 'x', x, 'f32');
  const out = sumAll(x, 1);
  x.ctx.tape.record('sum', [x], [out], ([g]) => [broadcastScalar(x.ctx, g!, x.shape, 1)]);
  return out;
}

/** Mean of all elements of x (any non-empty shape) → `[1]`. */
export function mean(x: Tensor): Tensor {
  expectTensor('mean', 'x', x, 'f32');
  if (x.size === 0) throw new Error(`mean: x ${formatShape(x.shape)} has no elements`);
  const out = sumAll(x, 1 / x.size);
  x.ctx.tape.record('mean', [x], [out], ([g]) => [broadcastScalar(x.ctx, g!, x.shape, 1 / x.size)]);
  return out;
}

/**
 * Column sums of x `[..., n]` → `[n]`: the sum over every leading index (the bias gradient).
 * The gradient copies the upstream `[n]` to every row.
 */
export function sumRows(x: Tensor): Tensor {
  expectTensor('sumRows', 'x', x, 'f32');
  if (x.rank < 1) throw new Error(`sumRows: x must have rank >= 1, got ${formatShape(x.shape)}`);
  const n = x.shape[x.rank - 1];
  const rows = n === 0 ? 0 : x.size / n;
  const ctx = x.ctx;
  const summed = sumMiddle(x, 1, rows, n);
  const out = ctx.view(summed, [n]);
  summed.dispose();
  ctx.tape.record('sumRows', [x], [out], ([g]) => [broadcastRows(g!, x.shape)]);
  return out;
}

/** g `[n]` copied to every row of `shape` `[..., n]`. */
function broadcastRows(g: Tensor, shape: readonly number[]): Tensor {
  const n = shape[shape.length - 1];
  const rows = n === 0 ? 0 : shape.reduce((a, b) => a * b, 1) / n;
  return tileRows(g, 1, rows, n, shape);
}
