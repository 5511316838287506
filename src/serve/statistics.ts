/**
 * Summaries of repeated experiments: the mean and spread of a metric over split seeds, and the
 * paired difference of two models measured on the same splits with its 95% confidence interval.
 *
 * Why paired: the split seed moves every model's recall together (61 test users per seed on
 * ml-latest-small), so the difference per seed varies far less than either model's metric, and
 * a paired t interval on the per-seed differences is the honest test of "A beats B".
 */
import tQuantile from '@stdlib/stats-base-dists-t-quantile';

export interface Spread {
  /** Number of values summarised. */
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1 in the denominator); 0 when n = 1. */
  std: number;
}

export interface PairedDifference extends Spread {
  /** 95% two-sided t interval of the mean difference; equal to the mean when n = 1. */
  low: number;
  high: number;
  /** Mean difference over the mean of the reference model (a relative gain), NaN when it is 0. */
  relative: number;
}

function checkValues(name: string, values: readonly number[]): void {
  if (values.length === 0) throw new RangeError(`${name}: needs at least one value, got none`);
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new RangeError(`${name}: value ${i} is ${v}, not a finite number`);
  });
}

/** Mean and sample standard deviation of finite `values`; throws RangeError on an empty list or a non-finite value. */
export function spread(values: readonly number[]): Spread {
  checkValues('spread', values);
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { n, mean, std: n > 1 ? Math.sqrt(ss / (n - 1)) : 0 };
}

/**
 * Paired difference `a[i] − b[i]` over matched runs (same split seed): mean, std, the 95% t
 * interval mean ± t(0.975, n−1)·std/√n (Student's t; a normal interval would be too narrow at
 * n = 5), and the mean difference relative to mean(b). Throws RangeError when the lists differ
 * in length, are empty, or hold a non-finite value.
 */
export function pairedDifference(a: readonly number[], b: readonly number[]): PairedDifference {
  if (a.length !== b.length) throw new RangeError(`pairedDifference: the runs must be matched, got ${a.length} and ${b.length} values`);
  checkValues('pairedDifference (a)', a);
  checkValues('pairedDifference (b)', b);
  const d = spread(a.map((v, i) => v - b[i]));
  const half = d.n > 1 ? tQuantile(0.975, d.n - 1) * (d.std / Math.sqrt(d.n)) : 0;
  const reference = spread(b).mean;
  return { ...d, low: d.mean - half, high: d.mean + half, relative: reference === 0 ? Number.NaN : d.mean / reference };
}
