/** Tiling along a new middle axis (kernels/shape.wgsl `tile`); the gradient sums over it. */
import type { Tensor } from '../tensor.js';
import { expectTensor, flatGrid } from './common.js';
import { shapeKernels } from './kernels.js';
import { sumMiddle } from './reduce.js';

/** Copies x `[B, P]` to `[B, K, P]` (or `shape`, same size); no gradient recorded. */
export function tileRows(x: Tensor, batches: number, copies: number, width: number, shape: readonly number[]): Tensor {
  const ctx = x.ctx;
  const out = ctx.empty(shape, 'f32', 'tile');
  shapeKernels.entry('tile').run(
    ctx,
    { params: { rows: batches, width, src_stride: copies, src_offset: 0, dst_stride: 0, dst_offset: 0 }, x, out },
    flatGrid(out.size),
  );
  return out;
}

/**
 * `K` copies of each row of x `[B, P]` → `[B, K, P]` (`out[b, k] = x[b]`), e.g. a user profile
 * repeated for each of K interests. The gradient sums over K.
 */
export function tile(x: Tensor, copies: number): Tensor {
  expectTensor('tile', 'x', x, 'f32', 2);
  if (!Number.isInteger(copies) || copies < 0) throw new Error(`tile: copies must be a non-negative integer, got ${copies}`);
  const [batches, width] = x.shape;
  const out = tileRows(x, batches, copies, width, [batches, copies, width]);
  x.ctx.tape.record('tile', [x], [out], ([g]) => [sumMiddle(g!, batches, copies, width)]);
  return out;
}

