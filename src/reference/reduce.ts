/** Float64 references for kernels/reduce.wgsl. */

export function sum(x: Float64Array): Float64Array {
  return Float64Array.of(x.reduce((a, b) => a + b, 0));
}

export function mean(x: Float64Array): Float64Array {
  return Float64Array.of(sum(x)[0] / x.length);
}

/** Column sums of x `[rows, n]` → `[n]`. */
export function sumRows(x: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < x.length; i++) out[i % n] += x[i];
  return out;
}
