/**
 * Data contracts that the mutation run of src/data (docs/mutation.md) found untested: the unigram
 * sampler's alias table reproduces P(k) (equal counts, skewed counts, zero counts), samplers draw
 * exactly numSampled values from the generator, name themselves, and refuse bad sizes and ids;
 * batches cover an epoch with no empty batch; the user split never hands out more users than
 * there are; the smallest legal sizes (1) are accepted.
 */
import { describe, expect, test } from 'vitest';
import { batches, trainingSampleCount } from '../../src/data/batches.js';
import { loadDatasetFromText } from '../../src/data/dataset.js';
import { Random } from '../../src/data/random.js';
import { createSampler, type SamplerKind } from '../../src/data/samplers.js';
import { groupByUser } from '../../src/data/sequences.js';
import { splitUsers } from '../../src/data/split.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { chunks } from './helpers.js';

/** Draws `n` ids and returns each id's share. */
function shares(kind: SamplerKind, counts: number[], n: number, seed: number): Float64Array {
  const sampler = createSampler(kind, { numItems: counts.length, counts, alpha: 1 });
  const ids = sampler.sample(n, new Random(seed));
  const out = new Float64Array(counts.length);
  for (const id of ids) out[id] += 1 / n;
  return out;
}

/** Every share within 5 standard errors of P(k) = counts[k] / Σ counts. */
function expectShares(got: Float64Array, counts: number[], n: number): void {
  const total = counts.reduce((a, b) => a + b, 0);
  counts.forEach((c, id) => {
    const p = c / total;
    const se = Math.sqrt((p * (1 - p)) / n) + 1e-12;
    expect(Math.abs(got[id] - p), `id ${id}: share ${got[id]}, P ${p}`).toBeLessThanOrEqual(5 * se);
  });
}

describe('unigram sampler (alias table)', () => {
  const n = 60_000;

  test('equal counts: every id equally often (every slot keeps itself)', () => {
    const counts = [0, 5, 5, 5, 5, 5, 5, 5];
    expectShares(shares('unigram', counts, n, 1), counts, n);
  });

  test('skewed counts with zeros: shares follow P(k), zero-count ids never drawn', () => {
    const counts = [0, 40, 1, 0, 7, 2, 0, 13, 3, 1];
    const got = shares('unigram', counts, n, 2);
    expectShares(got, counts, n);
    expect(got[3]).toBe(0);
    expect(got[6]).toBe(0);
  });
});

describe('samplers', () => {
  const counts = Array.from({ length: 20 }, (_, i) => (i === 0 ? 0 : 1 + (i % 4)));

  test.each(['uniform', 'logUniform', 'unigram'] as const)('%s draws exactly numSampled values from the generator and names its kind', (kind) => {
    const sampler = createSampler(kind, { numItems: 20, counts });
    expect(sampler.kind).toBe(kind);
    const whole = sampler.sample(6, new Random(9));
    const rng = new Random(9);
    const parts = [...sampler.sample(3, rng), ...sampler.sample(1, rng), ...sampler.sample(2, rng)];
    expect(parts).toEqual(Array.from(whole));
    expect(sampler.sample(1, new Random(3))).toHaveLength(1);
    expect(Array.from(sampler.logExpectedCount(Int32Array.of(whole[0]), 1))).toEqual([Math.fround(Math.log(sampler.probability(whole[0])))]);
  });

  test('logExpectedCount refuses an id outside [0, numItems), naming it', () => {
    const sampler = createSampler('uniform', { numItems: 20 });
    expect(() => sampler.logExpectedCount(Int32Array.of(3, 20), 4)).toThrow('ids[1] must be an item id in [0, 20), got 20');
    expect(() => sampler.logExpectedCount(Int32Array.of(-1), 4)).toThrow('ids[0] must be an item id in [0, 20), got -1');
  });

  test('numItems must be an integer in [2, 2^31)', () => {
    for (const bad of [1, 2 ** 31, 2.5]) expect(() => createSampler('uniform', { numItems: bad })).toThrow(`numItems must be an integer in [2, 2^31)`);
    expect(createSampler('uniform', { numItems: 2 ** 31 - 1 }).numItems).toBe(2 ** 31 - 1);
    expect(createSampler('logUniform', { numItems: 2 }).sample(5, new Random(1))).toEqual(Int32Array.of(1, 1, 1, 1, 1));
  });
});

describe('batches and splits', () => {
  test('an epoch is ceil(samples / batchSize) non-empty batches, also when batchSize divides the samples', () => {
    const dataset = generateSynthetic({ seed: 2, numItems: 40, numCategories: 6, numUsers: 30, minSequenceLength: 4, maxSequenceLength: 9, maxLength: 5 });
    const samples = trainingSampleCount(dataset);
    for (const batchSize of [1, samples / 2, samples, 7]) {
      if (!Number.isInteger(batchSize)) continue;
      const sizes = [...batches(dataset, { batchSize, seed: 1, epoch: 1 })].map((b) => b.targets.length);
      expect(sizes, `batchSize ${batchSize}`).toHaveLength(Math.ceil(samples / batchSize));
      expect(sizes.every((s) => s > 0 && s <= batchSize)).toBe(true);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(samples);
    }
  });

  test('rounding never hands out more users than there are; ratios are checked', () => {
    // Three users, half validation and half test: rounding asks for 2 + 2; test gets its 2 and
    // validation is capped at the 1 left.
    const split = splitUsers([4, 5, 6], 1, [0, 0.5, 0.5]);
    expect([split.train.length, split.validation.length, split.test.length]).toEqual([0, 1, 2]);
    expect([...split.train, ...split.validation, ...split.test].sort()).toEqual([4, 5, 6]);
    expect(() => splitUsers([1, 2], 1, [0.5, 0.5] as never)).toThrow('ratios must be three finite non-negative numbers, got [0.5, 0.5]');
    expect(() => splitUsers([1, 2], 1, [0.5, -0.5, 1])).toThrow('ratios must be three finite non-negative numbers');
  });

  test('the smallest legal sizes are accepted: minSequence 1, maxLength 1', async () => {
    const { sequences } = groupByUser([{ user: 'a', item: 'x', time: 1 }], 1);
    expect(sequences).toHaveLength(1);
    const text = 'userId,itemId,timestamp\na,x,1\na,y,2\nb,x,1\nb,z,2\n';
    const dataset = await loadDatasetFromText({ interactions: chunks(text, 7), maxLength: 1, seed: 1 });
    expect(dataset.maxLength).toBe(1);
    await expect(loadDatasetFromText({ interactions: chunks('userId,itemId,timestamp\na,x,1\nb,y,2\n', 9), maxLength: 3, seed: 1 })).rejects.toThrow('no user has enough interactions to build a data set');
    // minSequence is passed through: 3 drops the users with 2 interactions.
    const three = await loadDatasetFromText({ interactions: chunks(`${text}c,x,1\nc,y,2\nc,z,3\n`, 5), maxLength: 2, seed: 1, minSequence: 3 });
    expect(three.users.map((u) => u.name)).toEqual(['c']);
    expect(three.stats.droppedUsers).toBe(2);
  });
});
