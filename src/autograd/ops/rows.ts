/** Arithmetic on row gradients (`RowGrad`): densify, add into a dense gradient, add two. */
import type { Context } from '../context.js';
import { RowGrad, type Tensor } from '../tensor.js';
import { bagSum, scatterAddRows } from './embedding.js';

/** The dense `[N, ...row]` tensor a RowGrad stands for. */
export function rowsToDense(ctx: Context, g: RowGrad): Tensor {
  const out = ctx.zeros(g.tableShape);
  scatterAddRows(out, g.rows, g.values);
  return out;
}

/** `dense + g` as a new dense tensor. */
export function addRowsToDense(dense: Tensor, g: RowGrad): Tensor {
  const ctx = dense.ctx;
  const out = ctx.empty(dense.shape, 'f32', 'grad');
  ctx.gpu.copy(dense.buffer, 0, out.buffer, 0, dense.size * 4);
  scatterAddRows(out, g.rows, g.values);
  return out;
}

/** `a + b` over the union of their rows (a's value first, then b's, for each row). */
export function addRowGrads(a: RowGrad, b: RowGrad): RowGrad {
  const ctx = a.values.ctx;
  const na = a.rows.length;
  const both = ctx.empty([na + b.rows.length, ...a.values.shape.slice(1)], 'f32', 'grad.rows');
  ctx.gpu.copy(a.values.buffer, 0, both.buffer, 0, a.values.size * 4);
  ctx.gpu.copy(b.values.buffer, 0, both.buffer, a.values.size * 4, b.values.size * 4);
  const rows: number[] = [];
  const offsets: number[] = [0];
  const indices: number[] = [];
  let i = 0;
  let j = 0;
  while (i < na || j < b.rows.length) {
    const ra = i < na ? a.rows[i] : Infinity;
    const rb = j < b.rows.length ? b.rows[j] : Infinity;
    const row = Math.min(ra, rb);
    if (ra === row) indices.push(i++);
    if (rb === row) indices.push(na + j++);
    rows.push(row);
    offsets.push(indices.length);
  }
  const values = bagSum(
    both,
    { offsets: Int32Array.from(offsets), indices: Int32Array.from(indices) },
    [rows.length, ...a.values.shape.slice(1)],
    'grad.rows',
  );
  return new RowGrad(Int32Array.from(rows), values, a.tableShape);
}
