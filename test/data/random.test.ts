import { describe, expect, test } from 'vitest';
import { Random } from '../../src/data/random.js';

const draws = (rng: Random, n: number) => Array.from({ length: n }, () => rng.uint32());

describe('Random', () => {
  test('the same seed gives the same stream, other seeds other streams', () => {
    expect(draws(new Random(42), 8)).toEqual(draws(new Random(42), 8));
    expect(draws(new Random(42), 8)).not.toEqual(draws(new Random(43), 8));
    // Seeds that differ only above bit 32 differ too.
    expect(draws(new Random(1), 4)).not.toEqual(draws(new Random(1 + 2 ** 32), 4));
    expect(draws(new Random(-1), 4)).toEqual(draws(new Random(-1), 4));
  });

  test('rejects seeds that are not safe integers', () => {
    expect(() => new Random(1.5)).toThrow('seed must be a safe integer, got 1.5');
    expect(() => new Random(Number.NaN)).toThrow(RangeError);
  });

  test('next() lies in [0, 1) and has mean 1/2 and variance 1/12', () => {
    const rng = new Random(7);
    const n = 100_000;
    let sum = 0;
    let sumSquares = 0;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const x = rng.next();
      if (!(x >= 0 && x < 1)) outside++;
      sum += x;
      sumSquares += x * x;
    }
    expect(outside).toBe(0);
    const mean = sum / n;
    // Standard error of the mean is sqrt(1/12/n) ≈ 0.0009; 5 of those.
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.0046);
    expect(Math.abs(sumSquares / n - mean * mean - 1 / 12)).toBeLessThan(0.002);
  });

  test('int(n) covers 0..n-1 evenly', () => {
    const rng = new Random(3);
    const n = 7;
    const draws = 70_000;
    const counts = new Array(n).fill(0);
    for (let i = 0; i < draws; i++) counts[rng.int(n)]++;
    // Each count is Binomial(70000, 1/7): sd ≈ 92.6; allow 5 sd.
    for (const count of counts) expect(Math.abs(count - draws / n)).toBeLessThan(463);
    expect(() => rng.int(0)).toThrow('n must be an integer in [1, 2^32], got 0');
    expect(rng.int(1)).toBe(0);
  });

  test('normal() has mean 0 and variance 1', () => {
    const rng = new Random(11);
    const n = 100_000;
    let sum = 0;
    let sumSquares = 0;
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      sum += z;
      sumSquares += z * z;
    }
    expect(Math.abs(sum / n)).toBeLessThan(5 / Math.sqrt(n));
    // Var of z² is 2, so the sample second moment has sd sqrt(2/n).
    expect(Math.abs(sumSquares / n - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
  });

  test('shuffle permutes in place, deterministically, plain and typed arrays alike', () => {
    const plain = Array.from({ length: 50 }, (_, i) => i);
    const shuffled = new Random(5).shuffle([...plain]);
    expect([...shuffled].sort((a, b) => a - b)).toEqual(plain);
    expect(shuffled).not.toEqual(plain);
    const typed = new Random(5).shuffle(Int32Array.from(plain));
    expect([...typed]).toEqual(shuffled);
  });

  test('fork depends on the seed and stream only, not on draws made before', () => {
    const parent = new Random(9);
    const early = draws(parent.fork(3), 4);
    draws(parent, 100);
    expect(draws(parent.fork(3), 4)).toEqual(early);
    expect(draws(new Random(9).fork(4), 4)).not.toEqual(early);
    expect(draws(new Random(9).fork('split'), 4)).toEqual(draws(new Random(9).fork('split'), 4));
    expect(draws(new Random(9).fork('split'), 4)).not.toEqual(draws(new Random(9).fork('batches'), 4));
    // A fork is not the parent's own stream.
    expect(draws(new Random(9).fork(0), 4)).not.toEqual(draws(new Random(9), 4));
  });
});
