import { describe, expect, test } from 'vitest';
import { Random } from '../../src/data/random.js';
import { createSampler, type Sampler } from '../../src/data/samplers.js';

/** P(k) for ids 0..numItems-1, computed from SPEC section 3 directly (padding id 0 has P = 0). */
function specProbabilities(kind: string, numItems: number, counts?: number[], alpha = 0.75): number[] {
  const real = numItems - 1;
  return Array.from({ length: numItems }, (_, k) => {
    if (k === 0) return 0;
    if (kind === 'uniform') return 1 / real;
    if (kind === 'logUniform') {
      const r = k - 1;
      return Math.log((r + 2) / (r + 1)) / Math.log(real + 1);
    }
    const weight = (c: number) => (c === 0 ? 0 : c ** alpha);
    const total = counts!.slice(1).reduce((sum, c) => sum + weight(c), 0);
    return weight(counts![k]) / total;
  });
}

/**
 * Draws `draws` ids and checks every id's empirical frequency against P within 5 standard
 * errors of a binomial proportion, sqrt(P(1-P)/draws) (plus 1/draws for P near 0), and a
 * chi-square statistic below its mean + 5 sd for numItems-2 degrees of freedom.
 */
function checkFrequencies(sampler: Sampler, expected: number[], draws: number, seed: number): void {
  const ids = sampler.sample(draws, new Random(seed));
  const counts = new Float64Array(expected.length);
  for (const id of ids) counts[id]++;
  expect(counts[0]).toBe(0);
  let chiSquare = 0;
  let cells = 0;
  expected.forEach((p, k) => {
    const tolerance = 5 * Math.sqrt((p * (1 - p)) / draws) + 1 / draws;
    expect(Math.abs(counts[k] / draws - p), `id ${k}`).toBeLessThan(tolerance);
    if (p > 0) {
      chiSquare += (counts[k] - draws * p) ** 2 / (draws * p);
      cells++;
    }
  });
  const dof = cells - 1;
  expect(chiSquare).toBeLessThan(dof + 5 * Math.sqrt(2 * dof));
}

describe('samplers', () => {
  const counts = [0, 50, 20, 0, 9, 5, 1, 1, 30, 2, 7];

  test.each([
    ['uniform', 11],
    ['logUniform', 11],
    ['logUniform', 200],
    ['unigram', 11],
  ] as const)('%s over %i ids: frequencies match P(k), padding never drawn', (kind, numItems) => {
    const sampler = createSampler(kind, { numItems, counts });
    const expected = specProbabilities(kind, numItems, counts);
    expect(expected.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expected.forEach((p, k) => expect(sampler.probability(k)).toBeCloseTo(p, 14));
    checkFrequencies(sampler, expected, 200_000, numItems);
  });

  test('unigram honours alpha; zero counts are never drawn, even with alpha = 0', () => {
    const sampler = createSampler('unigram', { numItems: 11, counts, alpha: 0 });
    const expected = specProbabilities('unigram', 11, counts, 0);
    expect(expected[3]).toBe(0);
    expect(expected[1]).toBeCloseTo(1 / 9, 14);
    checkFrequencies(sampler, expected, 100_000, 5);
    const linear = createSampler('unigram', { numItems: 11, counts, alpha: 1 });
    checkFrequencies(linear, specProbabilities('unigram', 11, counts, 1), 100_000, 6);
  });

  test('logExpectedCount is log(S·P(k)) for every id', () => {
    const numItems = 1000;
    const itemCounts = Array.from({ length: numItems }, (_, k) => (k === 0 ? 0 : 1 + ((k * 7919) % 101)));
    const ids = Int32Array.from({ length: numItems }, (_, k) => k);
    for (const kind of ['uniform', 'logUniform', 'unigram'] as const) {
      const sampler = createSampler(kind, { numItems, counts: itemCounts });
      const expected = specProbabilities(kind, numItems, itemCounts);
      const logQ = sampler.logExpectedCount(ids, 64);
      expect(logQ[0]).toBe(-Infinity);
      for (let k = 1; k < numItems; k++) {
        // f32 output: relative error within a few ulps of 2^-24.
        const exact = Math.log(64 * expected[k]);
        expect(Math.abs(logQ[k] - exact), `${kind} id ${k}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(exact)));
      }
    }
  });

  test('the same seed gives the same draws', () => {
    for (const kind of ['uniform', 'logUniform', 'unigram'] as const) {
      const sampler = createSampler(kind, { numItems: 11, counts });
      const a = sampler.sample(50, new Random(1));
      expect(sampler.sample(50, new Random(1))).toEqual(a);
      expect(sampler.sample(50, new Random(2))).not.toEqual(a);
    }
  });

  test('arguments are checked, naming argument and value', () => {
    const uniform = createSampler('uniform', { numItems: 5 });
    expect(() => uniform.sample(0, new Random(0))).toThrow('numSampled must be a positive integer, got 0');
    expect(() => uniform.sample(2.5, new Random(0))).toThrow('numSampled must be a positive integer, got 2.5');
    expect(() => uniform.logExpectedCount(Int32Array.of(1, 5), 3)).toThrow('ids[1] must be an item id in [0, 5), got 5');
    expect(() => createSampler('uniform', { numItems: 1 })).toThrow('numItems must be an integer in [2, 2^31)');
    expect(() => createSampler('unigram', { numItems: 3 })).toThrow("counts is required by the 'unigram' sampler");
    expect(() => createSampler('unigram', { numItems: 3, counts: [0, 1] })).toThrow(
      'counts must have numItems = 3 entries, got 2',
    );
    expect(() => createSampler('unigram', { numItems: 3, counts: [0, 1, -1] })).toThrow(
      'counts[2] must be a finite non-negative number, got -1',
    );
    expect(() => createSampler('unigram', { numItems: 3, counts: [5, 0, 0] })).toThrow('positive finite total weight');
    expect(() => createSampler('unigram', { numItems: 3, counts: [0, 1, 1], alpha: -1 })).toThrow(
      'alpha must be a finite non-negative number, got -1',
    );
    expect(() => createSampler('zipf' as 'uniform', { numItems: 3 })).toThrow(
      "kind must be 'uniform', 'logUniform' or 'unigram', got zipf",
    );
  });

  test('one real item: every draw is id 1', () => {
    for (const kind of ['uniform', 'logUniform', 'unigram'] as const) {
      const sampler = createSampler(kind, { numItems: 2, counts: [0, 3] });
      expect([...sampler.sample(20, new Random(0))]).toEqual(new Array(20).fill(1));
      expect(sampler.logExpectedCount(Int32Array.of(1), 20)[0]).toBeCloseTo(Math.log(20), 6);
    }
  });
});
