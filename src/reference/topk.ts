/** Float64 reference of exact top-k by inner product (higher score first, ties to the lower id). */
export function topKReference(
  queries: Float64Array,
  items: Float64Array,
  Q: number,
  N: number,
  d: number,
  k: number,
  firstItem = 0,
  exclude?: ArrayLike<number>[],
): { ids: Int32Array; scores: Float64Array } {
  const ids = new Int32Array(Q * k).fill(-1);
  const scores = new Float64Array(Q * k).fill(-Infinity);
  for (let q = 0; q < Q; q++) {
    const banned = new Set(exclude ? Array.from(exclude[q]) : []);
    const scored: { id: number; s: number }[] = [];
    for (let i = firstItem; i < N; i++) {
      if (banned.has(i)) continue;
      let s = 0;
      for (let c = 0; c < d; c++) s += queries[q * d + c] * items[i * d + c];
      scored.push({ id: i, s });
    }
    scored.sort((a, b) => b.s - a.s || a.id - b.id);
    scored.slice(0, k).forEach((e, r) => {
      ids[q * k + r] = e.id;
      scores[q * k + r] = e.s;
    });
  }
  return { ids, scores };
}
