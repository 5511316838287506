/** Helpers shared by the serving benchmarks: an exact CPU top-k and pooled recall. */

/**
 * Exact top `k` item ids by inner product for each query (`queries` `[Q, d]` f32, `items`
 * `[N, d]` f32 with row 0 the padding item, never returned), best first, ties to the lower id,
 * accumulated in float64. The reference for ANN recall where the GPU is not wanted.
 */
export function exactTopK(items: Float32Array, queries: Float32Array, d: number, k: number): number[][] {
  const N = items.length / d;
  const out: number[][] = [];
  for (let q = 0; q < queries.length / d; q++) {
    const ids = new Int32Array(k).fill(-1);
    const scores = new Float64Array(k).fill(-Infinity);
    for (let id = 1; id < N; id++) {
      let s = 0;
      for (let x = 0; x < d; x++) s += queries[q * d + x] * items[id * d + x];
      if (s <= scores[k - 1]) continue;
      let r = k - 1;
      while (r > 0 && scores[r - 1] < s) {
        scores[r] = scores[r - 1];
        ids[r] = ids[r - 1];
        r--;
      }
      scores[r] = s;
      ids[r] = id;
    }
    out.push(Array.from(ids).filter((id) => id >= 0));
  }
  return out;
}

/** Mean over users of |approximate ∩ exact| / |exact|: recall@N of a pooled list against the exact pooled list. */
export function pooledRecall(approximate: ArrayLike<number>[], exact: ArrayLike<number>[]): number {
  let sum = 0;
  exact.forEach((truth, u) => {
    const found = new Set(Array.from(approximate[u]));
    let hits = 0;
    for (let r = 0; r < truth.length; r++) if (found.has(truth[r])) hits++;
    sum += truth.length === 0 ? 1 : hits / truth.length;
  });
  return exact.length === 0 ? 0 : sum / exact.length;
}
