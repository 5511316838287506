import { describe, expect, test } from 'vitest';
import { batches, trainingSampleCount } from '../../src/data/batches.js';
import { generateSynthetic } from '../../src/data/synthetic.js';

describe('generateSynthetic', () => {
  const dataset = generateSynthetic({ seed: 1 });
  const truth = dataset.groundTruth!;

  test('default size is in the intended range', () => {
    expect(dataset.users.length).toBe(3000);
    expect(truth.numCategories).toBe(40);
    // 2000 catalogue items; with ~100k draws practically all are used.
    expect(dataset.numItems).toBeGreaterThan(1900);
    expect(dataset.numItems).toBeLessThanOrEqual(2001);
    expect(dataset.maxLength).toBe(20);
    const lengths = dataset.users.map((user) => user.items.length);
    expect(Math.min(...lengths)).toBe(10);
    expect(Math.max(...lengths)).toBe(60);
    expect(dataset.split.train.length).toBe(2400);
    expect(dataset.itemFeatures).toBeUndefined();
  });

  test('deterministic per seed', () => {
    const again = generateSynthetic({ seed: 1 });
    expect(again.users.map((u) => [...u.items])).toEqual(dataset.users.map((u) => [...u.items]));
    expect(again.groundTruth).toEqual(truth);
    expect(again.split).toEqual(dataset.split);
    const other = generateSynthetic({ seed: 2, numUsers: 50 });
    const first = generateSynthetic({ seed: 1, numUsers: 50 });
    expect(other.users.map((u) => [...u.items])).not.toEqual(first.users.map((u) => [...u.items]));
  });

  test('1..6 distinct interests per user, every item drawn from one of them', () => {
    expect(truth.userInterests.length).toBe(dataset.users.length);
    const interestCounts = new Set<number>();
    const problems: string[] = [];
    dataset.users.forEach((user, u) => {
      const { categories, weights } = truth.userInterests[u];
      interestCounts.add(categories.length);
      if (new Set(categories).size !== categories.length) problems.push(`user ${u}: repeated interest`);
      if (Math.abs(weights.reduce((a, b) => a + b, 0) - 1) > 1e-5) problems.push(`user ${u}: weights do not sum to 1`);
      if (weights.some((w, j) => j > 0 && w > weights[j - 1])) problems.push(`user ${u}: weights not descending`);
      const allowed = new Set(categories);
      for (const item of user.items) {
        if (item <= 0 || !allowed.has(truth.itemCategory[item])) {
          problems.push(`user ${u}: item ${item} outside its interests`);
        }
      }
    });
    expect(problems).toEqual([]);
    expect([...interestCounts].sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(truth.itemCategory[0]).toBe(-1);
  });

  test('users mix several interests in their sequences', () => {
    let distinct = 0;
    for (const user of dataset.users) distinct += new Set(Array.from(user.items, (i) => truth.itemCategory[i])).size;
    // Uniform 1..6 interests with random weights: on average well over two categories per user.
    expect(distinct / dataset.users.length).toBeGreaterThan(2.5);
  });

  test('profiles correlate with the main interest; ids fit their spaces', () => {
    const [segment, age] = dataset.userFeatures!.categorical;
    expect(segment.name).toBe('segment');
    expect(age.name).toBe('age');
    let agreeing = 0;
    const outOfRange = dataset.users.filter(
      ({ profileCategorical: [s, a] }) => !(s >= 1 && s < segment.size && a >= 1 && a < age.size),
    );
    expect(outOfRange).toEqual([]);
    dataset.users.forEach((user, u) => {
      if (user.profileCategorical[0] - 1 === truth.userInterests[u].categories[0] % 8) agreeing++;
    });
    // Noise 0.2 with 8 segments: 0.8 + 0.2/8 = 82.5% agree.
    expect(agreeing / dataset.users.length).toBeGreaterThan(0.78);
    expect(agreeing / dataset.users.length).toBeLessThan(0.87);
  });

  test('item ids follow training frequency, and the category feature is optional', () => {
    const increases = dataset.itemCounts.filter((count, id) => id > 1 && count > dataset.itemCounts[id - 1]);
    expect(increases.length).toBe(0);
    const small = generateSynthetic({
      seed: 3,
      numUsers: 40,
      numItems: 60,
      numCategories: 5,
      maxInterests: 3,
      withCategoryFeature: true,
    });
    const features = small.itemFeatures!;
    expect(features.spaces).toEqual([{ name: 'category', size: 5, offset: 0, values: ['c0', 'c1', 'c2', 'c3', 'c4'] }]);
    expect(features.offsets[1]).toBe(0);
    for (let id = 1; id < small.numItems; id++) {
      expect(features.offsets[id + 1] - features.offsets[id]).toBe(1);
      expect(features.values[features.offsets[id]]).toBe(small.groundTruth!.itemCategory[id]);
    }
    expect(trainingSampleCount(small)).toBeGreaterThan(0);
    expect([...batches(small, { batchSize: 64, seed: 0, epoch: 0 })].length).toBeGreaterThan(0);
  });

  test('options are checked', () => {
    expect(() => generateSynthetic({ seed: 0, maxInterests: 7, numCategories: 5 })).toThrow(
      'maxInterests must be an integer in [1, 5], got 7',
    );
    expect(() => generateSynthetic({ seed: 0, minSequenceLength: 1 })).toThrow('minSequenceLength must be an integer in [2,');
    expect(() => generateSynthetic({ seed: 0, segmentNoise: 2 })).toThrow('segmentNoise must be in [0, 1], got 2');
  });
});
