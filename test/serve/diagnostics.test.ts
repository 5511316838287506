/**
 * The per-interest diagnostics of `mind diagnose` on tiny inputs worked by hand: every expected
 * value below is derived in the comments from the inputs, not copied from an output.
 */
import { describe, expect, test } from 'vitest';
import { interestNorms, interestOverlap, interestRecall, pooledContributions, routingEntropy } from '../../src/serve/diagnostics.js';

describe('interestNorms', () => {
  test('per-slot and overall mean ± std over active interests, largest / smallest per user', () => {
    // K = 2, d = 2. User 0: both active, norms 5 and 1. User 1: one active, norm 2; its slot 1
    // holds a vector that must not be read.
    const vectors = Float32Array.of(3, 4, 0, 1, 0, 2, 100, 0);
    const norms = interestNorms(vectors, Int32Array.of(2, 1), 2, 2);
    // Slot 0: {5, 2}: mean 3.5, population std 1.5. Slot 1: {1}.
    expect(norms.perInterest[0]).toEqual({ count: 2, mean: 3.5, std: 1.5 });
    expect(norms.perInterest[1]).toEqual({ count: 1, mean: 1, std: 0 });
    // All: {5, 1, 2}: mean 8/3, variance (49 + 25 + 4) / 9 / 3 = 26/9.
    expect(norms.overall.count).toBe(3);
    expect(norms.overall.mean).toBeCloseTo(8 / 3, 12);
    expect(norms.overall.std).toBeCloseTo(Math.sqrt(26) / 3, 12);
    // Only user 0 has two interests: 5 / 1.
    expect(norms.maxMinRatio).toBeCloseTo(5, 12);
    expect(norms.ratioUsers).toBe(1);
  });

  test('no user with two interests: ratio null; a slot no user has: mean null', () => {
    const norms = interestNorms(Float32Array.of(0, 2, 0, 0), Int32Array.of(1), 2, 2);
    expect(norms.maxMinRatio).toBeNull();
    expect(norms.ratioUsers).toBe(0);
    expect(norms.perInterest[1]).toEqual({ count: 0, mean: null, std: null });
  });

  test('errors name the argument and the bad value', () => {
    expect(() => interestNorms(new Float32Array(3), Int32Array.of(1), 2, 2)).toThrow('vectors must hold U·kMax·dim = 1·2·2 = 4 values, got 3');
    expect(() => interestNorms(new Float32Array(4), Int32Array.of(3), 2, 2)).toThrow('activeK[0] = 3 is outside [0, kMax] = [0, 2]');
    expect(() => interestNorms(new Float32Array(4), Int32Array.of(1), 2, 0)).toThrow('dim must be an integer ≥ 1, got 0');
  });
});

describe('interestRecall', () => {
  // n = 2. User 0, targets {2, 5, 9, 11}: slot 0 lists [1, 2, 11] (11 is past the cut), slot 1
  // [5, 9, 4]; pooled [5, 2, 9]. User 1, target {7}, one interest [7, 8, -1]. User 2 has no
  // targets and is not counted.
  const lists = [
    [[1, 2, 11], [5, 9, 4]],
    [[7, 8, -1]],
    [[1, 2]],
  ];
  const pooled = [[5, 2, 9], [7, 8], [1, 2]];
  const targets = [new Set([2, 5, 9, 11]), new Set([7]), new Set<number>()];

  test('each interest alone, the mean single interest, pooled and oracle, by hand', () => {
    const r = interestRecall(lists, pooled, targets, 2, 2);
    expect(r.users).toBe(2);
    // User 0: slot 0 hits {2}: 1/4; slot 1 hits {5, 9}: 2/4; best 1/2; pooled {5, 2}: 2/4.
    // User 1: slot 0 hits {7}: 1; best 1; pooled 1.
    expect(r.perInterest[0]).toEqual({ users: 2, recall: (1 / 4 + 1) / 2, oracle: (1 / 2 + 1) / 2 });
    expect(r.perInterest[1]).toEqual({ users: 1, recall: 1 / 2, oracle: 1 / 2 });
    // Mean over each user's interests: user 0 (1/4 + 1/2) / 2 = 3/8, user 1 1.
    expect(r.meanInterest).toBeCloseTo((3 / 8 + 1) / 2, 12);
    expect(r.pooled).toBeCloseTo((1 / 2 + 1) / 2, 12);
    expect(r.oracle).toBeCloseTo((1 / 2 + 1) / 2, 12);
  });

  test('a target is credited once however often a list repeats it', () => {
    // Target 5 twice in the pooled list and in slot 0's list: 1/2 each, not 2/2.
    const r = interestRecall([[[5, 5]]], [[5, 5]], [new Set([5, 6])], 2, 1);
    expect(r.perInterest[0].recall).toBe(1 / 2);
    expect(r.pooled).toBe(1 / 2);
  });

  test('errors name the argument and the bad value', () => {
    expect(() => interestRecall(lists, pooled, targets, 0, 2)).toThrow('n must be an integer ≥ 1, got 0');
    expect(() => interestRecall(lists, pooled, targets, 2, 1)).toThrow('activeK[0] = 2 is outside [0, kMax] = [0, 1]');
    expect(() => interestRecall(lists, pooled.slice(1), targets, 2, 2)).toThrow('got 3, 2 and 3');
  });
});

describe('pooledContributions', () => {
  test('shares of all pooled items and of all hits per slot, over all users together', () => {
    // n = 3. User 0: first three [5, 2, 9] from slots [1, 0, 1] (the 4th, 1 from slot 0, is cut);
    // targets {2, 5, 9, 11}: all three hit. User 1: [7, 8] from slot 0, target {7} hits.
    const pooled = [
      { ids: [5, 2, 9, 1], interest: [1, 0, 1, 0] },
      { ids: [7, 8], interest: [0, 0] },
    ];
    const c = pooledContributions(pooled, [new Set([2, 5, 9, 11]), new Set([7])], 3, 2);
    // Items: slot 0 has 1 + 2 = 3 of 5, slot 1 2 of 5. Hits: slot 0 2 (ids 2 and 7) of 4, slot 1 2.
    expect(c.itemCount).toBe(5);
    expect(c.hitCount).toBe(4);
    expect(c.items[0]).toBeCloseTo(3 / 5, 12);
    expect(c.items[1]).toBeCloseTo(2 / 5, 12);
    expect(c.hits).toEqual([1 / 2, 1 / 2]);
  });

  test('a target is credited once; no hit gives null hit shares', () => {
    const twice = pooledContributions([{ ids: [4, 4], interest: [0, 1] }], [new Set([4])], 2, 2);
    expect(twice.hits).toEqual([1, 0]);
    expect(pooledContributions([{ ids: [3], interest: [0] }], [new Set([4])], 2, 2).hits).toBeNull();
  });

  test('errors name the argument and the bad value', () => {
    expect(() => pooledContributions([{ ids: [3], interest: [2] }], [new Set([4])], 2, 2)).toThrow('pooled[0].interest[0] = 2 is outside [0, kMax) = [0, 2)');
    expect(() => pooledContributions([], [new Set([4])], 2, 2)).toThrow('targets must hold one set per pooled list (0), got 1');
  });
});

describe('interestOverlap', () => {
  test('mean pairwise Jaccard of the first n ids per user, then over users with two interests', () => {
    // n = 3. User 0: A [1,2,3], B [2,3,4], C [7,8,-1]: J(A,B) = 2/4, J(A,C) = J(B,C) = 0, mean 1/6.
    // User 1: [1,2,3,9] and [3,2,1,5] are the same set within the first 3: 1. User 2: one list.
    const lists = [
      [[1, 2, 3], [2, 3, 4], [7, 8, -1]],
      [[1, 2, 3, 9], [3, 2, 1, 5]],
      [[1, 2, 3]],
    ];
    const o = interestOverlap(lists, 3);
    expect(o.users).toBe(2);
    expect(o.jaccard).toBeCloseTo((1 / 6 + 1) / 2, 12);
    expect(interestOverlap([[[1]]], 3)).toEqual({ jaccard: null, users: 0 });
    expect(() => interestOverlap(lists, 1.5)).toThrow('n must be an integer ≥ 1, got 1.5');
  });
});

describe('routingEntropy', () => {
  test('behaviour entropy over interests, interest entropy over behaviours and effective behaviours, by hand', () => {
    // User 0 (K 2, len 2), softmax over interests: columns (1/2, 1/2) and (1, 0).
    //   Behaviours: H = ln 2 and 0, normalised by ln 2: mean 1/2.
    //   Interests: row 0 (1/2, 1) → (1/3, 2/3), H0 = ln 3 − (2/3) ln 2; row 1 (1/2, 0) → (1, 0), 0.
    // User 1 (K 1, len 3): no behaviour entropy; row (0.2, 0.3, 0.5) (the 4th column is past len).
    // User 2 (K 3, len 1): column (0.2, 0.3, 0.5); no interest entropy.
    const H0 = Math.log(3) - (2 / 3) * Math.log(2);
    const H1 = -(0.2 * Math.log(0.2) + 0.3 * Math.log(0.3) + 0.5 * Math.log(0.5));
    const e = routingEntropy([
      { length: 2, activeK: 2, w: [[0.5, 1], [0.5, 0]] },
      { length: 3, activeK: 1, w: [[0.2, 0.3, 0.5, 99]] },
      { length: 1, activeK: 3, w: [[0.2], [0.3], [0.5]] },
    ]);
    expect(e.behaviourUsers).toBe(2);
    expect(e.behaviour).toBeCloseTo((1 / 2 + H1 / Math.log(3)) / 2, 12);
    expect(e.interestUsers).toBe(2);
    expect(e.interest).toBeCloseTo((H0 / Math.log(2) / 2 + H1 / Math.log(3)) / 2, 12);
    // exp(H0) = 3 / 2^(2/3); a one-hot row has 1 effective behaviour.
    expect(e.effectiveBehaviours).toBeCloseTo(((3 / 2 ** (2 / 3) + 1) / 2 + Math.exp(H1)) / 2, 12);
    expect(e.meanLength).toBe(2.5);
  });

  test("softmax over behaviours: columns are normalised too, and rows past K_b are not read", () => {
    // Rows sum to 1 (SPEC 'behaviors'); columns (1/4, 1/2) → (1/3, 2/3) and (3/4, 1/2) → (3/5, 2/5).
    const e = routingEntropy([{ length: 2, activeK: 2, w: [[0.25, 0.75], [0.5, 0.5], [7, 7]] }]);
    const H = (p: number[]) => -p.reduce((a, v) => a + v * Math.log(v), 0);
    expect(e.behaviour).toBeCloseTo((H([1 / 3, 2 / 3]) + H([3 / 5, 2 / 5])) / 2 / Math.log(2), 12);
    expect(e.interest).toBeCloseTo((H([0.25, 0.75]) + 1 * Math.log(2)) / 2 / Math.log(2), 12);
  });

  test('uniform weights are entropy 1 and len effective behaviours; no eligible user gives null', () => {
    const e = routingEntropy([{ length: 4, activeK: 2, w: [[0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5]] }]);
    expect(e.behaviour).toBeCloseTo(1, 12);
    expect(e.interest).toBeCloseTo(1, 12);
    expect(e.effectiveBehaviours).toBeCloseTo(4, 12);
    const none = routingEntropy([{ length: 1, activeK: 1, w: [[1]] }]);
    expect(none).toEqual({ behaviour: null, behaviourUsers: 0, interest: null, effectiveBehaviours: null, meanLength: null, interestUsers: 0 });
  });

  test('errors name the user and the bad value', () => {
    expect(() => routingEntropy([{ length: 1, activeK: 2, w: [[1]] }])).toThrow('users[0].activeK = 2 is outside [0, 1] (the rows of w)');
    expect(() => routingEntropy([{ length: 3, activeK: 1, w: [[1, 0]] }])).toThrow('users[0].length = 3 is outside [0, 2] (the columns of w[0])');
  });
});
