/** Ranking metrics of SPEC §5: Recall@N, HitRate@N and NDCG@N, averaged over users. */

export interface RankingMetrics {
  [name: string]: number; // 'recall@20', 'ndcg@20', 'hitrate@20', ...
}

/**
 * SPEC §5 Recall@N, HitRate@N and NDCG@N for each N of `ns`, averaged over users.
 *
 * `retrieved[u]`: user u's ranked item ids (best first, at least max(ns) long or all there is);
 * `targets[u]`: the set of held-out items. Users without targets are not counted. Each target
 * is credited at most once, at its first rank: a list that repeats an item (a pooling bug, a
 * baseline that does not deduplicate) must not score above a perfect list, so recall stays
 * ≤ 1 and NDCG ≤ 1. Returns 'recall@N', 'ndcg@N', 'hitrate@N' keys; all 0 without users.
 * Throws when `targets` does not hold one set per list.
 */
export function rankingMetrics(retrieved: ArrayLike<number>[], targets: Set<number>[], ns: readonly number[]): RankingMetrics {
  if (targets.length !== retrieved.length) {
    throw new Error(`rankingMetrics: targets must hold one set per retrieved list (${retrieved.length}), got ${targets.length}`);
  }
  const sums: RankingMetrics = {};
  for (const n of ns) sums[`recall@${n}`] = sums[`ndcg@${n}`] = sums[`hitrate@${n}`] = 0;
  let users = 0;
  retrieved.forEach((list, u) => {
    const truth = targets[u];
    if (truth.size === 0) return;
    users++;
    for (const n of ns) {
      const credited = new Set<number>();
      let dcg = 0;
      for (let r = 0; r < Math.min(n, list.length); r++) {
        if (truth.has(list[r]) && !credited.has(list[r])) {
          credited.add(list[r]);
          dcg += 1 / Math.log2(r + 2);
        }
      }
      const hits = credited.size;
      let idcg = 0;
      for (let r = 0; r < Math.min(truth.size, n); r++) idcg += 1 / Math.log2(r + 2);
      sums[`recall@${n}`] += hits / truth.size;
      sums[`ndcg@${n}`] += dcg / idcg;
      sums[`hitrate@${n}`] += hits > 0 ? 1 : 0;
    }
  });
  const out: RankingMetrics = {};
  for (const n of ns) {
    for (const m of ['recall', 'ndcg', 'hitrate']) out[`${m}@${n}`] = users === 0 ? 0 : sums[`${m}@${n}`] / users;
  }
  return out;
}

/**
 * SPEC §5 pooling: each interest's ranked (ids, scores) are merged, duplicates keep their best
 * score, and the top `n` by score are returned (ties to the lower id), with the interest that
 * gave each its score.
 */
export function poolInterests(
  perInterest: { ids: ArrayLike<number>; scores: ArrayLike<number> }[],
  n: number,
): { ids: number[]; scores: number[]; interest: number[] } {
  const best = new Map<number, { score: number; interest: number }>();
  perInterest.forEach(({ ids, scores }, j) => {
    for (let r = 0; r < ids.length; r++) {
      if (ids[r] < 0) continue;
      const prev = best.get(ids[r]);
      if (!prev || scores[r] > prev.score) best.set(ids[r], { score: scores[r], interest: j });
    }
  });
  const ranked = [...best.entries()].sort((a, b) => b[1].score - a[1].score || a[0] - b[0]).slice(0, n);
  return { ids: ranked.map((e) => e[0]), scores: ranked.map((e) => e[1].score), interest: ranked.map((e) => e[1].interest) };
}
