/** Reshape: a view sharing the buffer (no kernel); the gradient is reshaped back. */
import { type Tensor, formatShape } from '../tensor.js';
import { expectTensor } from './common.js';

/**
 * x viewed with another `shape` of the same size; one entry may be -1 and is then inferred.
 * Row-major order is kept, so `[B, K, d]` → `[B·K, d]` and back are free.
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  expectTensor('reshape', 'x', x, x.dtype);
  const resolved = resolveShape(x, shape);
  const out = x.ctx.view(x, resolved);
  x.ctx.tape.record('reshape', [x], [out], ([g]) => [g!.ctx.view(g!, x.shape)]);
  return out;
}

function resolveShape(x: Tensor, shape: readonly number[]): number[] {
  const bad = () => new Error(`reshape: cannot view ${formatShape(x.shape)} as ${formatShape(shape)}`);
  const inferred = shape.filter((n) => n === -1).length;
  if (inferred > 1 || shape.some((n) => !Number.isInteger(n) || n < -1)) throw bad();
  if (inferred === 0) {
    if (shape.reduce((a, b) => a * b, 1) !== x.size) throw bad();
    return [...shape];
  }
  const known = shape.reduce((a, b) => (b === -1 ? a : a * b), 1);
  if (known === 0 || x.size % known !== 0) throw bad();
  return shape.map((n) => (n === -1 ? x.size / known : n));
}
