/** Multi-seed summaries: mean, sample std and the paired t interval, against hand-worked values. */
import { describe, expect, test } from 'vitest';
import { pairedDifference, spread } from '../../src/serve/statistics.js';

describe('spread', () => {
  test('mean and sample standard deviation (n − 1) by hand', () => {
    // Mean 5; squared deviations 9, 1, 1, 9 sum to 20; 20 / 3 under the root.
    const s = spread([2, 4, 6, 8]);
    expect(s).toEqual({ n: 4, mean: 5, std: Math.sqrt(20 / 3) });
    expect(spread([3]).std).toBe(0);
  });

  test('rejects an empty list and non-finite values, naming the value', () => {
    expect(() => spread([])).toThrow('needs at least one value');
    expect(() => spread([1, Number.NaN])).toThrow('value 1 is NaN');
  });
});

describe('pairedDifference', () => {
  test('per-seed differences, their t interval with n − 1 degrees of freedom, and the relative gain', () => {
    // Differences 0.02, 0.04, 0.00, 0.02, 0.02: mean 0.02, squared deviations sum to 0.0008,
    // std = sqrt(0.0008 / 4) = 0.01414..; t(0.975, 4) = 2.776445 (tables), half width = t·std/√5.
    const a = [0.12, 0.14, 0.1, 0.13, 0.11];
    const b = [0.1, 0.1, 0.1, 0.11, 0.09];
    const d = pairedDifference(a, b);
    const std = Math.sqrt(0.0008 / 4);
    const half = (2.776445 * std) / Math.sqrt(5);
    expect(d.mean).toBeCloseTo(0.02, 12);
    expect(d.std).toBeCloseTo(std, 12);
    expect(d.low).toBeCloseTo(0.02 - half, 6);
    expect(d.high).toBeCloseTo(0.02 + half, 6);
    expect(d.relative).toBeCloseTo(0.02 / 0.1, 12);
  });

  test('two seeds use t(0.975, 1) = 12.706, one seed has no interval', () => {
    const d = pairedDifference([1, 3], [0, 0]);
    // Differences 1 and 3: mean 2, std √2, half width 12.7062·√2/√2.
    expect(d.high - d.mean).toBeCloseTo(12.7062, 3);
    const one = pairedDifference([0.5], [0.25]);
    expect([one.low, one.mean, one.high]).toEqual([0.25, 0.25, 0.25]);
  });

  test('refuses unmatched runs', () => {
    expect(() => pairedDifference([1, 2], [1])).toThrow('got 2 and 1 values');
  });
});
