/**
 * heldOutUsers with a sample (src/data/batches.ts): a seeded uniform sample of a held-out part,
 * for catalogues where scoring every held-out user takes hours (`mind eval --users`,
 * `mind train --validation-users`). Each sampled row must be exactly that user's row of the
 * whole part; the sample is a function of (seed, part, count) only; every user is equally likely.
 */
import { describe, expect, test } from 'vitest';
import { type HeldOutSet, heldOutUsers } from '../../src/data/batches.js';
import { generateSynthetic } from '../../src/data/synthetic.js';

const dataset = generateSynthetic({ seed: 4, numItems: 300, numCategories: 10, numUsers: 400, maxLength: 6 });
const whole = heldOutUsers(dataset, 'test');

/** Row `row` of a held-out set as plain values: user, history, profile, target set. */
function rowOf(set: HeldOutSet, row: number) {
  const L = dataset.maxLength;
  const width = set.profileCategorical.length / set.users.length;
  return {
    user: set.users[row],
    history: [...set.histories.subarray(row * L, (row + 1) * L)],
    length: set.lengths[row],
    profile: [...set.profileCategorical.subarray(row * width, (row + 1) * width)],
    targets: [...set.targets.subarray(set.targetOffsets[row], set.targetOffsets[row + 1])],
  };
}

describe('held-out user samples', () => {
  test('a sample is `count` distinct users of the part, ascending, each row equal to its row in the whole part', () => {
    expect(whole.users.length).toBe(40);
    const sample = heldOutUsers(dataset, 'test', { count: 7, seed: 11 });
    expect(sample.users.length).toBe(7);
    expect(sample.lengths.length).toBe(7);
    expect(sample.targetOffsets.length).toBe(8);
    expect(sample.histories.length).toBe(7 * dataset.maxLength);
    expect(new Set(sample.users).size).toBe(7);
    expect([...sample.users]).toEqual([...sample.users].sort((a, b) => a - b));
    for (let row = 0; row < 7; row++) {
      const wholeRow = whole.users.indexOf(sample.users[row]);
      expect(wholeRow, `user ${sample.users[row]} is a test user`).toBeGreaterThanOrEqual(0);
      expect(rowOf(sample, row)).toEqual(rowOf(whole, wholeRow));
    }
    expect(sample.targets.length).toBe(sample.targetOffsets[7]);
  });

  test('the same (seed, part, count) gives the same users; another seed or part gives others', () => {
    const a = [...heldOutUsers(dataset, 'test', { count: 10, seed: 3 }).users];
    expect([...heldOutUsers(dataset, 'test', { count: 10, seed: 3 }).users]).toEqual(a);
    expect([...heldOutUsers(dataset, 'test', { count: 10, seed: 4 }).users]).not.toEqual(a);
    const validation = [...heldOutUsers(dataset, 'validation', { count: 10, seed: 3 }).users];
    for (const user of validation) expect(dataset.split.validation).toContain(user);
  });

  test('a count of at least the part keeps the whole part', () => {
    for (const count of [40, 41, 10_000]) expect(heldOutUsers(dataset, 'test', { count, seed: 1 })).toEqual(whole);
  });

  test('every user is about equally likely (chi-square over 400 seeds)', () => {
    const hits = new Map<number, number>();
    const draws = 400;
    for (let seed = 0; seed < draws; seed++) {
      for (const user of heldOutUsers(dataset, 'test', { count: 10, seed }).users) hits.set(user, (hits.get(user) ?? 0) + 1);
    }
    // Each of the 40 users is expected 400 · 10/40 = 100 times.
    const expected = (draws * 10) / 40;
    let chi2 = 0;
    for (const user of whole.users) chi2 += ((hits.get(user) ?? 0) - expected) ** 2 / expected;
    // 39 degrees of freedom: P(chi2 > 72) < 0.001 for a uniform sampler (a biased one, e.g. the
    // first users only, gives thousands).
    expect(chi2).toBeLessThan(72);
  });

  test('a sample count that is not an integer ≥ 1 is refused, naming the value', () => {
    for (const count of [0, -1, 2.5, Number.NaN]) {
      expect(() => heldOutUsers(dataset, 'test', { count, seed: 1 })).toThrow(new RegExp(`sample count must be an integer ≥ 1, got ${count}`));
    }
  });
});
