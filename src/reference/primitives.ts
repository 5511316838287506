/** Float64 references for kernels/primitives.wgsl (src/autograd/ops/primitives.ts). */

export const exp = (x: Float64Array): Float64Array => x.map(Math.exp);
export const log = (x: Float64Array): Float64Array => x.map(Math.log);
export const tanh = (x: Float64Array): Float64Array => x.map(Math.tanh);
export const rsqrt = (x: Float64Array): Float64Array => x.map((v) => 1 / Math.sqrt(v));
export const sigmoid = (x: Float64Array): Float64Array => x.map((v) => 1 / (1 + Math.exp(-v)));
export const addScalar = (x: Float64Array, c: number): Float64Array => x.map((v) => v + c);

/**
 * a ∘ b with b broadcast against a, NumPy style (b's shape right-aligned, each axis equal or 1),
 * by explicit multi-index arithmetic: independent of the kernel's (i / inner) % bsize.
 */
export function broadcast(op: 'add' | 'sub' | 'mul' | 'div', a: Float64Array, aShape: number[], b: Float64Array, bShape: number[]): Float64Array {
  const offset = aShape.length - bShape.length;
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    let rest = i;
    let j = 0;
    let stride = 1;
    for (let ax = aShape.length - 1; ax >= 0; ax--) {
      const idx = rest % aShape[ax];
      rest = Math.floor(rest / aShape[ax]);
      if (ax >= offset) {
        const n = bShape[ax - offset];
        if (n !== 1) j += idx * stride;
        stride *= n;
      }
    }
    const x = a[i];
    const y = b[j];
    out[i] = op === 'add' ? x + y : op === 'sub' ? x - y : op === 'mul' ? x * y : x / y;
  }
  return out;
}

function rows(x: Float64Array, width: number, f: (row: Float64Array) => number): Float64Array {
  const n = width === 0 ? 0 : x.length / width;
  return Float64Array.from({ length: n }, (_, r) => f(x.subarray(r * width, (r + 1) * width)));
}

/** Σ over the last axis of x `[..., width]`. */
export const rowSum = (x: Float64Array, width: number): Float64Array => rows(x, width, (r) => r.reduce((p, q) => p + q, 0));
/** Mean over the last axis. */
export const rowMean = (x: Float64Array, width: number): Float64Array => rows(x, width, (r) => r.reduce((p, q) => p + q, 0) / width);
/** Max over the last axis. */
export const rowMax = (x: Float64Array, width: number): Float64Array => rows(x, width, (r) => Math.max(...r));

/**
 * Softmax over the last axis of x `[rows, width]`, row r masked to its first
 * clamp(lengths[floor(r / (rows / lengths.length))], 0, width) positions; masked weights are 0
 * and an all-masked row is zeros.
 */
export function maskedSoftmax(x: Float64Array, width: number, lengths?: ArrayLike<number>): Float64Array {
  const n = width === 0 ? 0 : x.length / width;
  const out = new Float64Array(x.length);
  for (let r = 0; r < n; r++) {
    const len = lengths ? Math.min(Math.max(lengths[Math.floor(r / (n / lengths.length))], 0), width) : width;
    let m = -Infinity;
    for (let c = 0; c < len; c++) m = Math.max(m, x[r * width + c]);
    let s = 0;
    for (let c = 0; c < len; c++) s += Math.exp(x[r * width + c] - m);
    for (let c = 0; c < len; c++) out[r * width + c] = Math.exp(x[r * width + c] - m) / s;
  }
  return out;
}

/** Swaps axes `axis` and `axis + 1` of x with shape `shape`. */
export function swapAxes(x: Float64Array, shape: number[], axis: number): Float64Array {
  const outer = shape.slice(0, axis).reduce((p, q) => p * q, 1);
  const inner = shape.slice(axis + 2).reduce((p, q) => p * q, 1);
  const m = shape[axis];
  const n = shape[axis + 1];
  const out = new Float64Array(x.length);
  for (let o = 0; o < outer; o++)
    for (let k = 0; k < m; k++)
      for (let j = 0; j < n; j++)
        for (let t = 0; t < inner; t++) out[((o * n + j) * m + k) * inner + t] = x[((o * m + k) * n + j) * inner + t];
  return out;
}
