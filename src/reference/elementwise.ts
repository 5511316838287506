/** Float64 references for kernels/elementwise.wgsl and the bias add of kernels/shape.wgsl. */

export function add(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((x, i) => x + b[i]);
}

export function mul(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((x, i) => x * b[i]);
}

export function scale(a: Float64Array, alpha: number): Float64Array {
  return a.map((x) => alpha * x);
}

export function relu(a: Float64Array): Float64Array {
  return a.map((x) => Math.max(x, 0));
}

/** x `[rows, n]` + bias `[n]` added to every row. */
export function biasAdd(x: Float64Array, bias: Float64Array): Float64Array {
  const n = bias.length;
  return x.map((v, i) => v + bias[i % n]);
}
