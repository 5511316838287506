/**
 * SPEC §5 metrics and pooling on hand-worked cases the other metric tests do not reach: users
 * with more targets than N (the ideal DCG over min(|targets|, N) positions, recall over all
 * targets), tied scores when pooling interests (ties to the lower id; an item tied between two
 * interests keeps the first), and the popularity baseline's order.
 */
import { describe, expect, test } from 'vitest';
import { poolInterests, popularityRecommendations, rankingMetrics } from '../../src/index.js';
import type { HeldOutSet } from '../../src/data/batches.js';

const log2 = Math.log2;

describe('rankingMetrics with more targets than N', () => {
  test('7 targets, N = 3: recall over all 7, IDCG over 3 positions', () => {
    // Hits at ranks 1 and 3 (1-based) of the first 3; rank 4 is a hit too but past N.
    const list = [10, 99, 12, 13, 98];
    const targets = [new Set([10, 11, 12, 13, 14, 15, 16])];
    const m = rankingMetrics([list], targets, [3]);
    expect(m['recall@3']).toBeCloseTo(2 / 7, 12);
    expect(m['hitrate@3']).toBe(1);
    const dcg = 1 / log2(2) + 1 / log2(4);
    const idcg = 1 / log2(2) + 1 / log2(3) + 1 / log2(4);
    expect(m['ndcg@3']).toBeCloseTo(dcg / idcg, 12);
  });

  test('a full list of hits with more targets than N scores NDCG 1 and recall N/|targets|', () => {
    const targets = [new Set([1, 2, 3, 4, 5, 6, 7, 8])];
    const m = rankingMetrics([[4, 2, 7, 1, 9]], targets, [2, 4]);
    expect(m['ndcg@2']).toBeCloseTo(1, 12);
    expect(m['ndcg@4']).toBeCloseTo(1, 12);
    expect(m['recall@2']).toBeCloseTo(2 / 8, 12);
    expect(m['recall@4']).toBeCloseTo(4 / 8, 12);
  });

  test('averaged over users: one with fewer targets than N, one with more, one with none (not counted)', () => {
    const lists = [[5, 6, 7, 8], [1, 2, 3, 4], [1, 2]];
    const targets = [new Set([8]), new Set([2, 3, 4, 5, 6, 7]), new Set<number>()];
    const m = rankingMetrics(lists, targets, [4]);
    const ndcgA = 1 / log2(5) / 1;
    const ndcgB = (1 / log2(3) + 1 / log2(4) + 1 / log2(5)) / (1 + 1 / log2(3) + 1 / log2(4) + 1 / log2(5));
    expect(m['ndcg@4']).toBeCloseTo((ndcgA + ndcgB) / 2, 12);
    expect(m['recall@4']).toBeCloseTo((1 + 3 / 6) / 2, 12);
    expect(m['hitrate@4']).toBe(1);
  });
});

test('no user with targets: every metric is 0, not NaN', () => {
  expect(rankingMetrics([[1, 2]], [new Set<number>()], [2])).toEqual({ 'recall@2': 0, 'ndcg@2': 0, 'hitrate@2': 0 });
});

describe('poolInterests with tied scores', () => {
  test('equal scores across interests rank by the lower id, and an item tied between two interests keeps the first', () => {
    const pooled = poolInterests(
      [
        { ids: [9, 5, 4], scores: [0.9, 0.9, 0.2] },
        { ids: [3, 4, 9], scores: [0.9, 0.5, 0.9] },
        { ids: [7, 2], scores: [0.9, 0.1] },
      ],
      5,
    );
    expect(pooled.ids).toEqual([3, 5, 7, 9, 4]);
    expect(pooled.scores).toEqual([0.9, 0.9, 0.9, 0.9, 0.5]);
    expect(pooled.interest).toEqual([1, 0, 2, 0, 1]);
  });

  test('the cut at n falls inside a tie: the lower ids are kept; -1 padding is skipped', () => {
    const pooled = poolInterests(
      [
        { ids: [40, 33, -1], scores: [1, 0.5, 0] },
        { ids: [64, 32, -1], scores: [0.5, 0.5, 0] },
      ],
      3,
    );
    expect(pooled.ids).toEqual([40, 32, 33]);
    expect(pooled.interest).toEqual([0, 1, 0]);
    // With room for everything, the -1 padding is still not an item.
    expect(poolInterests([{ ids: [40, 33, -1], scores: [1, 0.5, 0] }, { ids: [64, 32, -1], scores: [0.5, 0.5, 0] }], 6).ids).toEqual([40, 32, 33, 64]);
  });

  test('a later interest\'s higher score replaces the earlier one\'s, with its interest', () => {
    const pooled = poolInterests([{ ids: [1, 2], scores: [0.3, 0.2] }, { ids: [2, 1], scores: [0.8, 0.1] }], 2);
    expect(pooled.ids).toEqual([2, 1]);
    expect(pooled.scores).toEqual([0.8, 0.3]);
    expect(pooled.interest).toEqual([1, 0]);
  });
});

describe('popularity baseline', () => {
  const counts = Float64Array.from([0, 3, 9, 1, 9, 0, 5, 7]);
  const users: HeldOutSet = {
    histories: Int32Array.from([2, 7, 0, 4, 0, 0]),
    lengths: Int32Array.from([2, 1]),
    users: Int32Array.from([0, 1]),
    targets: new Int32Array(0),
    targetOffsets: new Int32Array(3),
    profileCategorical: new Int32Array(0),
    profileDense: new Float32Array(0),
  };

  test('most counted first, ties to the lower id, the padding id never, zero counts last', () => {
    const lists = popularityRecommendations(counts, users, 7);
    expect(lists).toEqual([
      [2, 4, 7, 6, 1, 3, 5],
      [2, 4, 7, 6, 1, 3, 5],
    ]);
    expect(popularityRecommendations(counts, users, 3)[0]).toEqual([2, 4, 7]);
    // Asked for more than the catalogue: every real id once, none past it.
    expect(popularityRecommendations(counts, users, 20)[1]).toEqual([2, 4, 7, 6, 1, 3, 5]);
  });

  test('excluding history removes each user\'s own window and refills from further down', () => {
    expect(popularityRecommendations(counts, users, 3, true)).toEqual([
      [4, 6, 1],
      [2, 7, 6],
    ]);
  });
});
