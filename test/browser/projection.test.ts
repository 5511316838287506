/**
 * The page's item projection (web/projection.ts) on hand-worked cases: items on a line in 3-D
 * project onto that line (first component = the signed distance along it from the items' mean,
 * up to the component's sign; second component 0; all the variance explained), items on a
 * plane keep their pairwise distances, and vectors passed later (the interests) land where the
 * same items' own coordinates are.
 */
import { expect, test } from 'vitest';
import { ItemProjection } from '../../web/projection.js';

/** `[1 + rows.length, d]` with row 0 the padding id (ignored by the fit, as in the model). */
function table(rows: number[][], d: number): Float32Array {
  const out = new Float32Array((rows.length + 1) * d).fill(99);
  rows.forEach((r, i) => out.set(r, (i + 1) * d));
  return out;
}

test('items on a line project to their distances along it', () => {
  const direction = [2 / 7, 3 / 7, 6 / 7]; // unit length
  const origin = [1, -2, 0.5];
  const ts = [-3, -1, 0, 0.5, 2, 4];
  const rows = ts.map((t) => origin.map((o, c) => o + t * direction[c]));
  const projection = new ItemProjection(table(rows, 3), 3);
  expect(projection.explained).toBeCloseTo(1, 6);
  const mean = ts.reduce((a, b) => a + b, 0) / ts.length;
  const sign = Math.sign(projection.points[2]) * Math.sign(ts[0] - mean);
  ts.forEach((t, i) => {
    expect(projection.points[2 * (i + 1)]).toBeCloseTo(sign * (t - mean), 5);
    expect(projection.points[2 * (i + 1) + 1]).toBeCloseTo(0, 5);
  });
});

test('items on a plane keep their pairwise distances; later vectors land on the same map', () => {
  const u = [1 / Math.SQRT2, 1 / Math.SQRT2, 0, 0];
  const v = [0, 0, 0.6, 0.8];
  const coordinates = [[0, 0], [3, 1], [-2, 4], [1, -5], [6, 2]];
  const rows = coordinates.map(([a, b]) => u.map((x, c) => 0.5 + a * x + b * v[c]));
  const projection = new ItemProjection(table(rows, 4), 4);
  expect(projection.explained).toBeCloseTo(1, 6);
  const at = (i: number) => [projection.points[2 * (i + 1)], projection.points[2 * (i + 1) + 1]];
  for (let i = 0; i < coordinates.length; i++) {
    for (let k = i + 1; k < coordinates.length; k++) {
      const expected = Math.hypot(coordinates[i][0] - coordinates[k][0], coordinates[i][1] - coordinates[k][1]);
      const [p, q] = [at(i), at(k)];
      expect(Math.hypot(p[0] - q[0], p[1] - q[1])).toBeCloseTo(expected, 4);
    }
  }
  const again = projection.project(rows.flat());
  again.forEach((x, i) => expect(x).toBeCloseTo(projection.points[2 + i], 6));
  expect(() => new ItemProjection(new Float32Array(7), 4)).toThrow(/items must be/);
});
