/** Concatenation along the last axis (kernels/shape.wgsl `copy_block`). */
import { type Tensor, formatShape } from '../tensor.js';
import { expectTensor, flatGrid } from './common.js';
import { shapeKernels } from './kernels.js';

/** out[r, dstOffset + c] = src[r, srcOffset + c] for r < rows, c < width. */
function copyBlock(src: Tensor, srcOffset: number, out: Tensor, dstOffset: number, rows: number, width: number): void {
  const srcCols = src.shape[src.rank - 1];
  const dstCols = out.shape[out.rank - 1];
  shapeKernels.entry('copy_block').run(
    src.ctx,
    {
      params: { rows, width, src_stride: srcCols, src_offset: srcOffset, dst_stride: dstCols, dst_offset: dstOffset },
      x: src,
      out,
    },
    flatGrid(rows * width),
  );
}

/**
 * Joins matrices `[R, n_i]` side by side → `[R, Σ n_i]` (e.g. a user's categorical feature
 * embeddings into one profile vector). Each input's gradient is its block of columns.
 */
export function concatLast(tensors: Tensor[]): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error('concatLast: needs at least one tensor');
  tensors.forEach((t, i) => expectTensor('concatLast', `tensors[${i}]`, t, 'f32', 2));
  const rows = tensors[0].shape[0];
  tensors.forEach((t, i) => {
    if (t.shape[0] !== rows) {
      throw new Error(`concatLast: tensors[${i}] ${formatShape(t.shape)} has ${t.shape[0]} rows, tensors[0] has ${rows}`);
    }
  });
  const widths = tensors.map((t) => t.shape[1]);
  const offsets = widths.map((_, i) => widths.slice(0, i).reduce((a, b) => a + b, 0));
  const total = widths.reduce((a, b) => a + b, 0);
  const ctx = tensors[0].ctx;
  const out = ctx.empty([rows, total], 'f32', 'concatLast');
  tensors.forEach((t, i) => copyBlock(t, 0, out, offsets[i], rows, widths[i]));
  ctx.tape.record('concatLast', tensors, [out], ([g]) =>
    tensors.map((t, i) => {
      if (!t.requiresGrad) return null;
      const part = ctx.empty(t.shape, 'f32', 'concatLast.grad');
      copyBlock(g!, offsets[i], part, 0, rows, widths[i]);
      return part;
    }),
  );
  return out;
}
