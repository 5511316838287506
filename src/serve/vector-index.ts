/**
 * The one small interface every item-vector search backend implements (the embedded usearch
 * index, PostgreSQL with pgvector), and SPEC §5 retrieval on top of it: each active interest
 * searches, history items are dropped, scores are recomputed from the item vectors, and the
 * lists are pooled by `poolInterests`. Browser-safe: the backends themselves are Node-only.
 */
import type { TopKResult } from './topk.js';

/** Nearest-neighbour search over a model's item vectors by inner product. */
export interface VectorIndex {
  /** What serves the queries, for logs and /health: e.g. 'usearch-hnsw', 'pgvector-hnsw'. */
  readonly kind: string;
  /** Vector width d. */
  readonly dim: number;
  /**
   * For each row of `queries` (`[Q, d]` f32 row-major), up to `k` item ids (the model's
   * integer ids, ≥ 1) with the largest inner product, best first as far as the backend can tell
   * (an approximate backend may miss some): `ids` `[Q, k]` i32, -1 past the items found, and
   * `scores` `[Q, k]` f32 inner products as the backend computed them. Rejects with a RangeError
   * naming `k` when it is not an integer ≥ 1, and with an Error naming `queries` when its length
   * is not a multiple of `dim`.
   */
  search(queries: Float32Array, k: number): Promise<TopKResult>;
  /** Releases the index (memory, connections). */
  close(): Promise<void>;
}

/** Checks `search`'s arguments the same way for every backend; returns Q. */
export function checkSearchArguments(kind: string, dim: number, queries: Float32Array, k: number): number {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`${kind} search: k must be an integer ≥ 1, got ${k}`);
  if (queries.length % dim !== 0) throw new Error(`${kind} search: queries has ${queries.length} values, not a multiple of d = ${dim}`);
  return queries.length / dim;
}

/** One user's request to `searchInterests`. */
export interface InterestQuery {
  /** Top `n` items wanted after pooling (integer ≥ 1). */
  n: number;
  /** Item ids that must not be returned (the user's windowed history when excluding it). */
  exclude: ArrayLike<number>;
  /** Active interests K_b: rows 0..K_b-1 of the user's `[K, d]` block are searched. */
  activeK: number;
}

/**
 * SPEC §5 retrieval through a VectorIndex for U users at once, before pooling: per user, one
 * list per active interest of up to `n` item ids with their inner products, best first, history
 * excluded. `interests` is `[U, K, d]` f32 (MindModel.userInterests read back); `itemVectors`
 * `[numItems, d]` f32 (row i = item id i) rescores every candidate in float64, rounded to f32, so
 * that two backends finding the same item report the same score and the pooled order does not
 * depend on a backend's distance arithmetic (usearch returns 1 − ip in f32, pgvector −ip). Each
 * interest asks the index for `n + |exclude|` candidates so that dropping the history still
 * leaves `n` when the catalogue has them. Rejects as `index.search` does.
 */
export async function searchInterests(
  index: VectorIndex,
  itemVectors: Float32Array,
  interests: Float32Array,
  K: number,
  users: readonly InterestQuery[],
): Promise<{ ids: Int32Array; scores: Float32Array }[][]> {
  const d = index.dim;
  const rows: number[] = [];
  let k = 1;
  users.forEach((user, b) => {
    for (let j = 0; j < user.activeK; j++) rows.push(b * K + j);
    k = Math.max(k, user.n + user.exclude.length);
  });
  const queries = new Float32Array(rows.length * d);
  rows.forEach((row, q) => queries.set(interests.subarray(row * d, (row + 1) * d), q * d));
  const found = rows.length === 0 ? { ids: new Int32Array(0), scores: new Float32Array(0) } : await index.search(queries, k);
  let q = 0;
  return users.map((user) => {
    const excluded = new Set(Array.from(user.exclude));
    return Array.from({ length: user.activeK }, () => {
      const query = queries.subarray(q * d, (q + 1) * d);
      const candidates: { id: number; score: number }[] = [];
      for (let r = 0; r < k; r++) {
        const id = found.ids[q * k + r];
        if (id < 1 || excluded.has(id)) continue;
        let s = 0;
        for (let x = 0; x < d; x++) s += query[x] * itemVectors[id * d + x];
        candidates.push({ id, score: Math.fround(s) });
      }
      q++;
      candidates.sort((a, b) => b.score - a.score || a.id - b.id);
      const kept = candidates.slice(0, user.n);
      return { ids: Int32Array.from(kept, (c) => c.id), scores: Float32Array.from(kept, (c) => c.score) };
    });
  });
}
