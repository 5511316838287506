/**
 * transposeBags, the host-side plan of every embedding backward (run on every training step):
 * equal to a brute-force transpose, and free of any work or memory sized by the table's row
 * count, so a step's host cost does not grow with the catalogue (issue 14).
 */
import { describe, expect, test } from 'vitest';
import { type Bags, transposeBags } from '../../src/autograd/ops/embedding.js';
import { randomArray } from '../helpers/gpu.js';

/** The plan by definition: for each row r ascending that some entry reads, the entries k with indices[k] = r in ascending k. */
function bruteForce(bags: Bags, numRows: number) {
  const rows: number[] = [];
  const offsets = [0];
  const indices: number[] = [];
  const weights: number[] = [];
  const bagOf = (k: number) => {
    let r = 0;
    while (bags.offsets[r + 1] <= k) r++;
    return r;
  };
  for (let row = 0; row < numRows; row++) {
    const entries = [...bags.indices.keys()].filter((k) => bags.indices[k] === row);
    if (entries.length === 0) continue;
    rows.push(row);
    for (const k of entries) {
      indices.push(bagOf(k));
      weights.push(bags.weights ? bags.weights[k] : 1);
    }
    offsets.push(indices.length);
  }
  return { rows, offsets, indices, weights };
}

function randomBags(bagCount: number, numRows: number, seed: number): Bags {
  const sizes = randomArray(bagCount, seed, 0, 6).map(Math.floor);
  const offsets = new Int32Array(bagCount + 1);
  sizes.forEach((n, r) => (offsets[r + 1] = offsets[r] + n));
  const E = offsets[bagCount];
  // Few distinct rows, so rows repeat within and across bags.
  const indices = Int32Array.from(randomArray(E, seed + 1, 0, numRows), Math.floor);
  return { offsets, indices, weights: randomArray(E, seed + 2) };
}

describe('transposeBags', () => {
  test.each([
    [1, 1, 1],
    [5, 3, 2],
    [40, 17, 3],
    [200, 9, 4],
  ])('%i bags over %i rows (seed %i) equal the brute-force transpose', (bagCount, numRows, seed) => {
    const bags = randomBags(bagCount, numRows, seed);
    const { rows, plan } = transposeBags(bags, numRows);
    const expected = bruteForce(bags, numRows);
    expect(Array.from(rows)).toEqual(expected.rows);
    expect(Array.from(plan.offsets)).toEqual(expected.offsets);
    expect(Array.from(plan.indices)).toEqual(expected.indices);
    expect(Array.from(plan.weights!)).toEqual(Array.from(Float32Array.from(expected.weights)));
  });

  test('without weights every entry weighs 1; no entries give an empty plan', () => {
    const { rows, plan } = transposeBags({ offsets: Int32Array.from([0, 2, 3]), indices: Int32Array.from([4, 1, 4]) }, 5);
    expect(Array.from(rows)).toEqual([1, 4]);
    expect(Array.from(plan.offsets)).toEqual([0, 1, 3]);
    expect(Array.from(plan.indices)).toEqual([0, 0, 1]);
    expect(Array.from(plan.weights!)).toEqual([1, 1, 1]);
    const empty = transposeBags({ offsets: Int32Array.from([0, 0]), indices: new Int32Array(0) }, 5);
    expect(Array.from(empty.rows)).toEqual([]);
    expect(Array.from(empty.plan.offsets)).toEqual([0]);
  });

  test('a table of 2^40 rows plans like one of 100: nothing is sized by the row count', () => {
    // A [numRows] counting array would need 4 TiB here (and V8 refuses such a typed array), so
    // this proves the per-step plan allocates and scans only what the bags hold.
    const bags = randomBags(30, 100, 9);
    const huge = transposeBags(bags, 2 ** 40);
    const small = transposeBags(bags, 100);
    expect(Array.from(huge.rows)).toEqual(Array.from(small.rows));
    expect(Array.from(huge.plan.offsets)).toEqual(Array.from(small.plan.offsets));
    expect(Array.from(huge.plan.indices)).toEqual(Array.from(small.plan.indices));
  });
});
