import { describe, expect, test } from 'vitest';
import { gradCheck } from '../../src/autograd/grad-check.js';
import { add, fill, mul, relu, scale } from '../../src/autograd/ops/elementwise.js';
import * as ref from '../../src/reference/elementwise.js';
import { maxRelativeError, randomArray, useContext } from '../helpers/gpu.js';

const getCtx = useContext();
const f64 = (a: Float32Array) => Float64Array.from(a);

describe('element-wise forward', () => {
  // 256 threads per workgroup: sizes on both sides of one and several workgroups.
  test.each([0, 1, 7, 255, 256, 257, 65 * 33])('n = %i against the reference', async (n) => {
    const ctx = getCtx();
    const a = randomArray(n, n + 1);
    const b = randomArray(n, n + 2);
    const outs = ctx.tidy(() => {
      const ta = ctx.tensor(a, [n]);
      const tb = ctx.tensor(b, [n]);
      return [add(ta, tb), mul(ta, tb), scale(ta, -2.5), relu(ta), fill(ctx, [n], 0.75)];
    });
    const expected = [
      ref.add(f64(a), f64(b)),
      ref.mul(f64(a), f64(b)),
      ref.scale(f64(a), -2.5),
      ref.relu(f64(a)),
      new Float64Array(n).fill(0.75),
    ];
    for (let i = 0; i < outs.length; i++) {
      expect(maxRelativeError(await outs[i].read(), expected[i]), `op ${i}`).toBeLessThanOrEqual(1);
      outs[i].dispose();
    }
  });

  test('rejects shapes that differ and non-finite scalars', () => {
    const ctx = getCtx();
    expect(() => add(ctx.zeros([2, 3]), ctx.zeros([3, 2]))).toThrow(/add: a \[2, 3\] and b \[3, 2\] differ in shape/);
    expect(() => scale(ctx.zeros([2]), NaN)).toThrow(/scale: alpha must be finite/);
  });
});

describe('element-wise gradients', () => {
  const n = 37;
  // Values kept away from 0 so the ReLU kink is not inside the finite-difference step.
  const away = randomArray(n, 60).map((x) => (x >= 0 ? x + 0.1 : x - 0.1));

  test('add and mul (with an input used on both sides)', async () => {
    const ctx = getCtx();
    const result = await gradCheck({
      ctx,
      inputs: [
        { data: randomArray(n, 61), shape: [n], check: true },
        { data: randomArray(n, 62), shape: [n], check: true },
      ],
      gpu: ([a, b]) => add(mul(a, b), mul(a, a)),
      reference: ([a, b]) => ref.add(ref.mul(a, b), ref.mul(a, a)),
    });
    for (const err of result.maxError) expect(err).toBeLessThan(2e-3);
  });

  test('scale and relu', async () => {
    const result = await gradCheck({
      ctx: getCtx(),
      inputs: [{ data: away, shape: [n], check: true }],
      gpu: ([a]) => relu(scale(a, -1.5)),
      reference: ([a]) => ref.relu(ref.scale(a, -1.5)),
    });
    expect(result.maxError[0]).toBeLessThan(2e-3);
  });
});
