/** Float64 references for kernels/matmul.wgsl. */

export interface MatmulDims {
  /** Rows of op(a) and of the result. */
  m: number;
  /** Inner dimension. */
  k: number;
  /** Columns of op(b) and of the result. */
  n: number;
  /** a is stored `[K, M]`. */
  transA?: boolean;
  /** b is stored `[N, K]`. */
  transB?: boolean;
}

/** op(a) `[M, K]` · op(b) `[K, N]` → `[M, N]`, row-major. */
export function matmul(a: Float64Array, b: Float64Array, dims: MatmulDims): Float64Array {
  const { m, k, n, transA = false, transB = false } = dims;
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[p * m + i] : a[i * k + p];
        const bv = transB ? b[j * k + p] : b[p * n + j];
        acc += av * bv;
      }
      out[i * n + j] = acc;
    }
  }
  return out;
}

/**
 * `batches` products op(a[z]) · op(b[z]) → `[batches, M, N]`; with `sharedB` one matrix b is
 * used for every batch.
 */
export function batchedMatmul(a: Float64Array, b: Float64Array, batches: number, dims: MatmulDims & { sharedB?: boolean }): Float64Array {
  const { m, k, n } = dims;
  const out = new Float64Array(batches * m * n);
  for (let z = 0; z < batches; z++) {
    const az = a.subarray(z * m * k, (z + 1) * m * k);
    const bz = dims.sharedB ? b : b.subarray(z * k * n, (z + 1) * k * n);
    out.set(matmul(az, bz, dims), z * m * n);
  }
  return out;
}
