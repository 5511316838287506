/** Float64 reference for kernels/embedding.wgsl. */

/**
 * Weighted bags over a table `[N, width]`: out[r] = Σ_{k in bag r} weights[k]·table[indices[k]]
 * with bag r = entries offsets[r] .. offsets[r+1]-1 → `[R, width]`; an empty bag gives zeros.
 */
export function embeddingBag(
  table: Float64Array,
  width: number,
  offsets: ArrayLike<number>,
  indices: ArrayLike<number>,
  weights?: ArrayLike<number>,
): Float64Array {
  const bags = offsets.length - 1;
  const out = new Float64Array(bags * width);
  for (let r = 0; r < bags; r++) {
    for (let k = offsets[r]; k < offsets[r + 1]; k++) {
      const w = weights ? weights[k] : 1;
      for (let c = 0; c < width; c++) out[r * width + c] += w * table[indices[k] * width + c];
    }
  }
  return out;
}

/** Mean of each bag's rows (weights 1/|bag|); an empty bag gives zeros. */
export function embeddingMean(table: Float64Array, width: number, offsets: ArrayLike<number>, indices: ArrayLike<number>): Float64Array {
  const weights = new Float64Array(indices.length);
  for (let r = 0; r + 1 < offsets.length; r++) {
    for (let k = offsets[r]; k < offsets[r + 1]; k++) weights[k] = 1 / (offsets[r + 1] - offsets[r]);
  }
  return embeddingBag(table, width, offsets, indices, weights);
}
