/**
 * Composable primitives (kernels/primitives.wgsl), each with its gradient: the unary maps exp,
 * log, tanh, rsqrt, sigmoid and x + c; broadcast add/sub/mul/div; row-wise sum, max and mean over
 * the last axis; a softmax over the last axis masked by lengths; and a swap of two adjacent axes.
 * Layers such as a layer norm or a self-attention head are written as compositions of these and
 * matmul (src/autograd/layers/, src/mind/extractors/). All f32; shapes as each function says.
 * References: src/reference/primitives.ts.
 */
import source from '../../../kernels/primitives.wgsl?raw';
import type { Context } from '../context.js';
import { type Tensor, formatShape } from '../tensor.js';
import { expectTensor, flatGrid } from './common.js';
import { INDEX_WGSL } from './kernels.js';
import { kernelModule } from '../../gpu/kernel.js';
import { sumMiddle } from './reduce.js';

interface Fields {
  n: number;
  inner?: number;
  bsize?: number;
  group?: number;
  cols2?: number;
  alpha?: number;
}

const kernels = kernelModule('primitives', INDEX_WGSL, source);

function dispatch(ctx: Context, entry: string, op: number, f: Fields, a?: Tensor, b?: Tensor, out?: Tensor, lengths?: Tensor): void {
  const params = { n: f.n, inner: f.inner ?? 1, bsize: f.bsize ?? 1, group: f.group ?? 1, cols2: f.cols2 ?? 1, alpha: f.alpha ?? 0 };
  kernels.entry(entry, `primitives.${entry}.${op}`).run(ctx, { params, a, b, out, lengths }, flatGrid(f.n), { OP: op });
}

// ---------------------------------------------------------------------------------------------
// Unary maps

const UNARY = { exp: 0, log: 1, tanh: 2, rsqrt: 3, sigmoid: 4, addScalar: 5 } as const;
type UnaryName = keyof typeof UNARY;

function unary(name: UnaryName, x: Tensor, alpha = 0): Tensor {
  expectTensor(name, 'x', x, 'f32');
  const ctx = x.ctx;
  const out = ctx.empty(x.shape, 'f32', name);
  dispatch(ctx, 'unary', UNARY[name], { n: x.size, alpha }, x, undefined, out);
  ctx.tape.record(name, [x], [out], ([g]) => {
    const grad = ctx.empty(x.shape, 'f32', `${name}.grad`);
    // log's derivative 1/x needs the input; every other one is a function of the output.
    dispatch(ctx, 'unary_backward', UNARY[name], { n: x.size }, name === 'log' ? x : out, g!, grad);
    return [grad];
  }, { reads: [name === 'log' ? x : out] });
  return out;
}

/** e^x element-wise, any shape. Overflows to +Infinity above x ≈ 88.7 (f32). */
export const exp = (x: Tensor): Tensor => unary('exp', x);
/** ln x element-wise, any shape; NaN for x < 0 and −Infinity at 0 (no check: the input is on the GPU). */
export const log = (x: Tensor): Tensor => unary('log', x);
/** tanh x element-wise, computed from e^(−2|x|) so that it never overflows. */
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
/** 1/√x element-wise; +Infinity at 0, NaN below. */
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x);
/** The logistic 1/(1 + e^−x) element-wise, computed without overflow. */
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
/** x + c element-wise for a finite scalar c; throws on a non-finite c. */
export function addScalar(x: Tensor, c: number): Tensor {
  if (!Number.isFinite(c)) throw new Error(`addScalar: c must be finite, got ${c}`);
  return unary('addScalar', x, c);
}

// ---------------------------------------------------------------------------------------------
// Broadcast binary ops

/**
 * How b `[...]` broadcasts against a (NumPy rules, one-sided: the result has a's shape): b's shape
 * is right-aligned with a's, each of its axes equals a's or is 1, and the axes that are not 1 form
 * one contiguous block. Then a is `[outer, bsize, inner]` around that block.
 */
export function broadcastLayout(op: string, aShape: readonly number[], bShape: readonly number[]): { outer: number; bsize: number; inner: number } {
  const bad = (why: string) => new Error(`${op}: b ${formatShape(bShape)} does not broadcast against a ${formatShape(aShape)}: ${why}`);
  if (bShape.length > aShape.length) throw bad('b has more axes than a');
  const offset = aShape.length - bShape.length;
  const full = aShape.map((_, i) => (i < offset ? 1 : bShape[i - offset]));
  full.forEach((n, i) => {
    if (n !== 1 && n !== aShape[i]) throw bad(`axis ${i} is ${n}, neither ${aShape[i]} nor 1`);
  });
  const kept = full.map((n, i) => (n !== 1 ? i : -1)).filter((i) => i >= 0);
  // Axes of size 1 in a as well can sit anywhere inside the block.
  const first = kept.length ? kept[0] : aShape.length;
  const last = kept.length ? kept[kept.length - 1] : aShape.length - 1;
  for (let i = first; i <= last; i++) {
    if (full[i] === 1 && aShape[i] !== 1) throw bad('its non-1 axes are not one contiguous block');
  }
  const prod = (xs: readonly number[]) => xs.reduce((p, q) => p * q, 1);
  return { outer: prod(aShape.slice(0, first)), bsize: prod(full), inner: prod(aShape.slice(last + 1)) };
}

const BINARY = { add: 0, sub: 1, mul: 2, div: 3 } as const;
type BinaryName = keyof typeof BINARY;

/** The forward of a broadcast op, recording nothing. */
function binaryRaw(name: BinaryName, a: Tensor, b: Tensor): Tensor {
  const { bsize, inner } = broadcastLayout(name, a.shape, b.shape);
  const out = a.ctx.empty(a.shape, 'f32', name);
  dispatch(a.ctx, 'broadcast', BINARY[name], { n: a.size, inner, bsize }, a, b, out);
  return out;
}

/**
 * Σ of g (a's shape) over the axes b was broadcast along → b's shape: the gradient of b.
 * Sums run in a fixed order (row-wise, then over the outer block).
 */
export function reduceToShape(g: Tensor, bShape: readonly number[]): Tensor {
  const ctx = g.ctx;
  const { outer, bsize, inner } = broadcastLayout('reduceToShape', g.shape, bShape);
  let x = g;
  if (inner > 1) x = rowReduceRaw(ctx.view(g, [outer * bsize, inner]), 0, 1);
  if (outer > 1) x = sumMiddle(x, 1, outer, bsize);
  return ctx.view(x, bShape);
}

function binary(name: BinaryName, a: Tensor, b: Tensor): Tensor {
  expectTensor(name, 'a', a, 'f32');
  expectTensor(name, 'b', b, 'f32');
  const out = binaryRaw(name, a, b);
  a.ctx.tape.record(name, [a, b], [out], ([g]) => {
    switch (name) {
      case 'add':
        return [g, b.requiresGrad ? reduceToShape(g!, b.shape) : null];
      case 'sub':
        return [g, b.requiresGrad ? reduceToShape(scaleBy(g!, -1), b.shape) : null];
      case 'mul':
        return [binaryRaw('mul', g!, b), b.requiresGrad ? reduceToShape(binaryRaw('mul', g!, a), b.shape) : null];
      default:
        // d(a/b)/db = −(a/b)/b: Σ over the broadcast axes of −g·out, then divided by b.
        return [
          binaryRaw('div', g!, b),
          b.requiresGrad ? binaryRaw('div', scaleBy(reduceToShape(binaryRaw('mul', g!, out), b.shape), -1), b) : null,
        ];
    }
  }, { reads: [a, b, out] });
  return out;
}

/** −x etc. through the spread kernel (alpha · x), recording nothing. */
function scaleBy(x: Tensor, alpha: number): Tensor {
  const out = x.ctx.empty(x.shape, 'f32', 'scale');
  dispatch(x.ctx, 'spread', 0, { n: x.size, inner: 1, bsize: x.size, alpha }, undefined, x, out);
  return out;
}

/** a + b with b broadcast against a (see broadcastLayout) → a's shape; throws when b does not broadcast. */
export const addB = (a: Tensor, b: Tensor): Tensor => binary('add', a, b);
/** a − b with b broadcast against a (see broadcastLayout) → a's shape; throws when b does not broadcast. */
export const sub = (a: Tensor, b: Tensor): Tensor => binary('sub', a, b);
/** a ⊙ b with b broadcast against a (see broadcastLayout) → a's shape; throws when b does not broadcast. */
export const mulB = (a: Tensor, b: Tensor): Tensor => binary('mul', a, b);
/** a / b with b broadcast against a (see broadcastLayout) → a's shape; ±Infinity/NaN where b is 0. */
export const div = (a: Tensor, b: Tensor): Tensor => binary('div', a, b);

// ---------------------------------------------------------------------------------------------
// Row-wise reductions over the last axis

function rowReduceRaw(x: Tensor, op: 0 | 1, alpha: number): Tensor {
  const width = x.shape[x.rank - 1];
  const rows = x.size / width;
  const out = x.ctx.empty(x.shape.slice(0, -1), 'f32', op === 1 ? 'rowMax' : 'rowSum');
  dispatch(x.ctx, 'row_reduce', op, { n: rows, inner: width, alpha }, x, undefined, out);
  return out;
}

function expectRows(op: string, x: Tensor, nonEmpty: boolean): number {
  expectTensor(op, 'x', x, 'f32');
  if (x.rank < 1) throw new Error(`${op}: x must have rank >= 1, got ${formatShape(x.shape)}`);
  const width = x.shape[x.rank - 1];
  if (nonEmpty && width === 0) throw new Error(`${op}: x ${formatShape(x.shape)} has empty rows`);
  return width;
}

/** Spreads g `[...rows]` over rows of `width` → `[...rows, width]`, times alpha. */
function spreadRows(g: Tensor, shape: readonly number[], width: number, alpha: number): Tensor {
  const out = g.ctx.empty(shape, 'f32', 'rows.grad');
  dispatch(g.ctx, 'spread', 0, { n: out.size, inner: width, bsize: g.size, alpha }, undefined, g, out);
  return out;
}

function rowSumOrMean(op: 'rowSum' | 'rowMean', x: Tensor): Tensor {
  const width = expectRows(op, x, op === 'rowMean');
  const alpha = op === 'rowMean' ? 1 / width : 1;
  if (width === 0) return x.ctx.zeros(x.shape.slice(0, -1));
  const out = rowReduceRaw(x, 0, alpha);
  x.ctx.tape.record(op, [x], [out], ([g]) => [spreadRows(g!, x.shape, width, alpha)]);
  return out;
}

/** Σ over the last axis: x `[..., n]` → `[...]` (0 for n = 0), summed left to right. */
export const rowSum = (x: Tensor): Tensor => rowSumOrMean('rowSum', x);
/** Mean over the last axis: x `[..., n]` → `[...]`; throws for n = 0. */
export const rowMean = (x: Tensor): Tensor => rowSumOrMean('rowMean', x);

/**
 * Max over the last axis: x `[..., n]` → `[...]`; throws for n = 0. The gradient goes to the
 * first position holding the max (a subgradient at ties).
 */
export function rowMax(x: Tensor): Tensor {
  const width = expectRows('rowMax', x, true);
  const out = rowReduceRaw(x, 1, 1);
  const ctx = x.ctx;
  ctx.tape.record('rowMax', [x], [out], ([g]) => {
    const grad = ctx.empty(x.shape, 'f32', 'rowMax.grad');
    dispatch(ctx, 'row_max_backward', 0, { n: out.size, inner: width }, x, g!, grad);
    return [grad];
  }, { reads: [x] });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Masked softmax

/**
 * Softmax over the last axis of x `[..., n]`, each row masked by a length: row r keeps its first
 * `len = clamp(lengths[floor(r / (rows / lengths.length))], 0, n)` positions and gives weight
 * exactly 0 to the rest; an all-masked row (len 0) is all zeros, never NaN. `lengths` is `[G]`
 * i32 with G dividing the number of rows, so that consecutive rows share a length (e.g. logits
 * `[B, K, L]` masked by history lengths `[B]`); without lengths, every position is valid.
 * Gradient: dx = y ⊙ (g − Σ y g) per row (zero at masked positions).
 */
export function maskedSoftmax(x: Tensor, lengths?: Tensor): Tensor {
  const width = expectRows('maskedSoftmax', x, false);
  const ctx = x.ctx;
  const rows = width === 0 ? 0 : x.size / width;
  let lens = lengths;
  if (lens) {
    expectTensor('maskedSoftmax', 'lengths', lens, 'i32', 1);
    if (lens.size === 0 ? rows !== 0 : rows % lens.size !== 0) {
      throw new Error(`maskedSoftmax: lengths ${formatShape(lens.shape)} must divide the ${rows} rows of x ${formatShape(x.shape)}`);
    }
  } else {
    lens = ctx.tensor(new Int32Array(Math.max(rows, 1)).fill(width), [Math.max(rows, 1)]);
  }
  const out = ctx.empty(x.shape, 'f32', 'maskedSoftmax');
  if (rows === 0) return out;
  dispatch(ctx, 'masked_softmax', 0, { n: rows, inner: width, group: rows / lens.size }, x, undefined, out, lens);
  if (lens !== lengths) lens.dispose(); // the backward needs only the output
  ctx.tape.record('maskedSoftmax', [x], [out], ([g]) => {
    const grad = ctx.empty(x.shape, 'f32', 'maskedSoftmax.grad');
    dispatch(ctx, 'masked_softmax_backward', 0, { n: rows, inner: width }, out, g!, grad);
    return [grad];
  }, { reads: [out] });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Axis swap

/**
 * Swaps axes `axis` and `axis + 1` of x (any rank ≥ 2): `[..., m, n, ...]` → `[..., n, m, ...]`,
 * a copy. The gradient is the same swap back. Throws when axis + 1 is not an axis of x.
 */
export function swapAxes(x: Tensor, axis: number): Tensor {
  expectTensor('swapAxes', 'x', x, 'f32');
  if (!Number.isInteger(axis) || axis < 0 || axis + 1 >= x.rank) {
    throw new Error(`swapAxes: axis must be an integer in [0, ${x.rank - 2}] for x ${formatShape(x.shape)}, got ${axis}`);
  }
  const out = swapRaw(x, axis);
  x.ctx.tape.record('swapAxes', [x], [out], ([g]) => [swapRaw(g!, axis)]);
  return out;
}

function swapRaw(x: Tensor, axis: number): Tensor {
  const prod = (xs: readonly number[]) => xs.reduce((p, q) => p * q, 1);
  const m = x.shape[axis];
  const n = x.shape[axis + 1];
  const shape = [...x.shape];
  shape[axis] = n;
  shape[axis + 1] = m;
  const out = x.ctx.empty(shape, 'f32', 'swapAxes');
  if (x.size > 0) dispatch(x.ctx, 'swap_axes', 0, { n: x.size, inner: prod(x.shape.slice(axis + 2)), group: m, cols2: n }, x, undefined, out);
  return out;
}
