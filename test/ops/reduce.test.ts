import { describe, expect, test } from 'vitest';
import { gradCheck } from '../../src/autograd/grad-check.js';
import { mean, sum, sumRows } from '../../src/autograd/ops/reduce.js';
import * as ref from '../../src/reference/reduce.js';
import { maxRelativeError, randomArray, useContext } from '../helpers/gpu.js';

const getCtx = useContext();
const f64 = (a: Float32Array) => Float64Array.from(a);

describe('sum and mean', () => {
  // 1024 elements per block: sizes around one and two levels of the tree.
  const sizes = [1, 7, 255, 256, 1023, 1024, 1025, 4097, 1024 * 1024 + 3];
  test.each(sizes)('n = %i against the reference', async (n) => {
    const ctx = getCtx();
    const data = randomArray(n, n, 0, 1);
    const [s, m] = ctx.tidy(() => {
      const x = ctx.tensor(data, [n]);
      return [sum(x), mean(x)];
    });
    expect(s.shape).toEqual([1]);
    expect(maxRelativeError(await s.read(), ref.sum(f64(data)))).toBeLessThanOrEqual(1);
    expect(maxRelativeError(await m.read(), ref.mean(f64(data)))).toBeLessThanOrEqual(1);
    s.dispose();
    m.dispose();
  });

  test('an empty tensor sums to 0 and has no mean', async () => {
    const ctx = getCtx();
    const x = ctx.tensor(new Float32Array(0), [3, 0]);
    expect(Array.from(await sum(x).read())).toEqual([0]);
    expect(() => mean(x)).toThrow(/mean: x \[3, 0\] has no elements/);
  });

  test('is bitwise reproducible', async () => {
    const ctx = getCtx();
    const x = ctx.tensor(randomArray(50_000, 3), [50_000]);
    const first = await sum(x).read();
    for (let i = 0; i < 3; i++) expect(await sum(x).read()).toEqual(first);
  });

  test('gradients of sum and mean', async () => {
    const ctx = getCtx();
    for (const [op, reference] of [
      [sum, ref.sum],
      [mean, ref.mean],
    ] as const) {
      const result = await gradCheck({
        ctx,
        inputs: [{ data: randomArray(35, 4), shape: [5, 7], check: true }],
        gpu: ([x]) => op(x),
        reference: ([x]) => reference(x),
      });
      expect(result.maxError[0]).toBeLessThan(2e-3);
    }
  });
});

describe('sumRows', () => {
  const shapes = [
    [1, 1],
    [7, 3],
    [33, 65],
    [1025, 5],
    [2, 3, 4],
    [0, 4],
    [4, 0],
  ];
  test.each(shapes)('shape [%i, %i, ...] against the reference', async (...shape) => {
    const ctx = getCtx();
    const size = shape.reduce((a, b) => a * b, 1);
    const n = shape[shape.length - 1];
    const data = randomArray(size, size + 1);
    const out = ctx.tidy(() => sumRows(ctx.tensor(data, shape)));
    expect(out.shape).toEqual([n]);
    expect(maxRelativeError(await out.read(), ref.sumRows(f64(data), n))).toBeLessThanOrEqual(1);
    out.dispose();
  });

  test('gradient', async () => {
    const result = await gradCheck({
      ctx: getCtx(),
      inputs: [{ data: randomArray(40 * 3, 5), shape: [40, 3], check: true }],
      gpu: ([x]) => sumRows(x),
      reference: ([x]) => ref.sumRows(x, 3),
    });
    expect(result.maxError[0]).toBeLessThan(2e-3);
  });
});
