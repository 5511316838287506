/** Element-wise ops (kernels/elementwise.wgsl): add, mul, scale, relu, fill, and their gradients. */
import type { Context } from '../context.js';
import type { Tensor } from '../tensor.js';
import { expectSameShape, expectTensor, flatGrid } from './common.js';
import { elementwiseKernels } from './kernels.js';

function run(entry: string, a: Tensor | undefined, b: Tensor | undefined, out: Tensor, alpha = 0): Tensor {
  elementwiseKernels.entry(entry).run(out.ctx, { params: { n: out.size, alpha }, a, b, out }, flatGrid(out.size));
  return out;
}

/** `a + b`, same shapes. */
export function add(a: Tensor, b: Tensor): Tensor {
  expectTensor('add', 'a', a, 'f32');
  expectTensor('add', 'b', b, 'f32');
  expectSameShape('add', a, b);
  const out = run('add', a, b, a.ctx.empty(a.shape, 'f32', 'add'));
  a.ctx.tape.record('add', [a, b], [out], ([g]) => [g, g]);
  return out;
}

/** `a * b` element-wise, same shapes. */
export function mul(a: Tensor, b: Tensor): Tensor {
  expectTensor('mul', 'a', a, 'f32');
  expectTensor('mul', 'b', b, 'f32');
  expectSameShape('mul', a, b);
  const out = run('mul', a, b, a.ctx.empty(a.shape, 'f32', 'mul'));
  a.ctx.tape.record('mul', [a, b], [out], ([g]) => [mul(g!, b), mul(g!, a)], { reads: [a, b] });
  return out;
}

/** `alpha * a`. */
export function scale(a: Tensor, alpha: number): Tensor {
  expectTensor('scale', 'a', a, 'f32');
  if (!Number.isFinite(alpha)) throw new Error(`scale: alpha must be finite, got ${alpha}`);
  const out = run('scale', a, undefined, a.ctx.empty(a.shape, 'f32', 'scale'), alpha);
  a.ctx.tape.record('scale', [a], [out], ([g]) => [scale(g!, alpha)]);
  return out;
}

/** `max(a, 0)`; the gradient at exactly 0 is 0. */
export function relu(a: Tensor): Tensor {
  expectTensor('relu', 'a', a, 'f32');
  const out = run('relu', a, undefined, a.ctx.empty(a.shape, 'f32', 'relu'));
  a.ctx.tape.record('relu', [a], [out], ([g]) => [run('relu_backward', a, g!, a.ctx.empty(a.shape, 'f32', 'relu.grad'))], {
    reads: [a],
  });
  return out;
}

/** A new tensor of `shape` filled with `value`. */
export function fill(ctx: Context, shape: readonly number[], value: number): Tensor {
  if (!Number.isFinite(value)) throw new Error(`fill: value must be finite, got ${value}`);
  return run('fill', undefined, undefined, ctx.empty(shape, 'f32', 'fill'), value);
}
