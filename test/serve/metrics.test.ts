import { describe, expect, test } from 'vitest';
import { poolInterests, rankingMetrics } from '../../src/serve/metrics.js';

describe('ranking metrics (SPEC §5)', () => {
  test('recall, hit rate and NDCG by hand', () => {
    // User 0: targets {5, 9}; list hits 5 at rank 2 (index 1) within @2, 9 at index 3 (outside @2).
    // User 1: targets {1}; no hit.
    const lists = [
      [7, 5, 8, 9],
      [2, 3, 4, 6],
    ];
    const targets = [new Set([5, 9]), new Set([1])];
    const m = rankingMetrics(lists, targets, [2, 4]);
    expect(m['recall@2']).toBeCloseTo((1 / 2 + 0) / 2, 12);
    expect(m['recall@4']).toBeCloseTo((2 / 2 + 0) / 2, 12);
    expect(m['hitrate@2']).toBeCloseTo(0.5, 12);
    // @2: DCG = 1/log2(3); IDCG over min(2, 2) = 1 + 1/log2(3).
    const dcg2 = 1 / Math.log2(3);
    expect(m['ndcg@2']).toBeCloseTo(dcg2 / (1 + 1 / Math.log2(3)) / 2, 12);
    // @4: DCG = 1/log2(3) + 1/log2(5); IDCG = 1 + 1/log2(3).
    expect(m['ndcg@4']).toBeCloseTo((1 / Math.log2(3) + 1 / Math.log2(5)) / (1 + 1 / Math.log2(3)) / 2, 12);
  });

  test('a target is credited once, at its first occurrence, however often the list repeats it', () => {
    const twice = rankingMetrics([[5, 5, 7]], [new Set([5])], [20]);
    expect(twice['recall@20']).toBe(1);
    expect(twice['ndcg@20']).toBe(1);
    expect(twice['hitrate@20']).toBe(1);
    const later = rankingMetrics([[7, 5, 5]], [new Set([5])], [20]);
    expect(later['recall@20']).toBe(1);
    expect(later['ndcg@20']).toBeCloseTo(1 / Math.log2(3), 12);
    // Two targets, one repeated before the other: DCG counts rank 1 and rank 3, not rank 2 again.
    const mixed = rankingMetrics([[5, 5, 9]], [new Set([5, 9])], [3]);
    expect(mixed['recall@3']).toBe(1);
    expect(mixed['ndcg@3']).toBeCloseTo((1 + 1 / Math.log2(4)) / (1 + 1 / Math.log2(3)), 12);
  });

  test('users without targets are not counted', () => {
    const m = rankingMetrics([[1], [2]], [new Set([1]), new Set()], [1]);
    expect(m['recall@1']).toBe(1);
    expect(() => rankingMetrics([[1], [2]], [new Set([1])], [1])).toThrow(/targets must hold one set per retrieved list \(2\), got 1/);
  });

  test('pooling keeps each item once with its best score and interest', () => {
    const pooled = poolInterests(
      [
        { ids: [10, 11, 12], scores: [0.9, 0.5, 0.1] },
        { ids: [11, 13, -1], scores: [0.95, 0.5, -3e38] },
      ],
      3,
    );
    expect(pooled.ids).toEqual([11, 10, 13]);
    expect(pooled.interest).toEqual([1, 0, 1]);
    expect(pooled.scores).toEqual([0.95, 0.9, 0.5]);
  });
});
