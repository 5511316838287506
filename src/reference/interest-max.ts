/**
 * Float64 reference for kernels/interest_max.wgsl: the max over each row's active interests
 * of per-interest candidate scores, and its gradient (to the interest attaining the max, ties
 * to the lowest j). Written for clarity, never for speed.
 */

/** out[b, c] = max over j < K_b of scores[b, j, c]; scores `[B, K, C]`, activeK `[B]` (default K) → `[B, C]`. */
export function interestMax(scores: Float64Array, B: number, K: number, C: number, activeK?: ArrayLike<number>): { out: Float64Array; argmax: Int32Array } {
  const out = new Float64Array(B * C);
  const argmax = new Int32Array(B * C);
  for (let b = 0; b < B; b++) {
    const kb = Math.max(1, Math.min(K, activeK?.[b] ?? K));
    for (let c = 0; c < C; c++) {
      let best = 0;
      for (let j = 1; j < kb; j++) if (scores[(b * K + j) * C + c] > scores[(b * K + best) * C + c]) best = j;
      out[b * C + c] = scores[(b * K + best) * C + c];
      argmax[b * C + c] = best;
    }
  }
  return { out, argmax };
}

/** d scores `[B, K, C]` for an output gradient g `[B, C]`. */
export function interestMaxBackward(scores: Float64Array, g: Float64Array, B: number, K: number, C: number, activeK?: ArrayLike<number>): Float64Array {
  const { argmax } = interestMax(scores, B, K, C, activeK);
  const grad = new Float64Array(B * K * C);
  for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) grad[(b * K + argmax[b * C + c]) * C + c] = g[b * C + c];
  return grad;
}
