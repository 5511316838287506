/**
 * Adam over many steps with small gradients, against Kingma & Ba's Algorithm 1 written here in
 * float64 (independently of src/reference/adam.ts). A first step cannot tell the epsilon's
 * placement or the betas apart (m̂/√v̂ = g/|g| whatever they are); hundreds of steps with
 * gradients near epsilon and changing sign can: with the defaults, ε = 1e-8 against |g| ~ 1e-8
 * moves every update by tens of percent, and β₁, β₂ set how the moments decay.
 */
import { describe, expect, test } from 'vitest';
import { Adam, RowGrad } from '../../src/index.js';
import { maxRelativeError, randomArray, useContext } from '../helpers/gpu.js';

const getCtx = useContext();

interface Hyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

/** Algorithm 1 of Kingma & Ba (2015), ε added after the square root of the bias-corrected v. */
function adamFloat64(param: Float64Array, grads: (t: number) => Float64Array, steps: number, h: Hyper): Float64Array {
  const p = Float64Array.from(param);
  const m = new Float64Array(p.length);
  const v = new Float64Array(p.length);
  for (let t = 1; t <= steps; t++) {
    const g = grads(t);
    for (let i = 0; i < p.length; i++) {
      m[i] = h.beta1 * m[i] + (1 - h.beta1) * g[i];
      v[i] = h.beta2 * v[i] + (1 - h.beta2) * g[i] * g[i];
      const mHat = m[i] / (1 - h.beta1 ** t);
      const vHat = v[i] / (1 - h.beta2 ** t);
      p[i] -= (h.lr * mHat) / (Math.sqrt(vHat) + h.eps);
    }
  }
  return p;
}

/** Gradients of magnitude `scale`, a different pattern and sign mix every step. */
function gradient(n: number, t: number, scale: number): Float32Array {
  return randomArray(n, 1000 + t, -scale, scale);
}

describe('Adam over many steps against float64 Algorithm 1', () => {
  test.each([
    ['the defaults (lr 1e-3, betas 0.9 / 0.999, eps 1e-8), gradients ~1e-8', undefined, 1e-8],
    ['eps 1e-3 with gradients ~1e-3', { lr: 0.01, eps: 1e-3 }, 1e-3],
  ] as const)('dense: 300 steps, %s', async (_name, options, scale) => {
    const ctx = getCtx();
    const n = 257;
    const steps = 300;
    const init = randomArray(n, 7);
    const param = ctx.tensor(init, [n], { label: 'w' });
    const adam = new Adam(ctx, [param], options);
    for (let t = 1; t <= steps; t++) {
      param.grad = ctx.tensor(gradient(n, t, scale), [n]);
      adam.step();
      if (t % 50 === 0) ctx.submit();
    }
    const got = await param.read();
    const h = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, ...options };
    const expected = adamFloat64(Float64Array.from(init), (t) => Float64Array.from(gradient(n, t, scale)), steps, h);
    // Compare the change from the initial values, where any difference in the rule shows.
    const delta = (x: ArrayLike<number>) => Float64Array.from(x, (value, i) => value - init[i]);
    expect(maxRelativeError(delta(got), delta(expected), 2e-3, 2e-5)).toBeLessThanOrEqual(1);
    // The updates are not all the same size (as they would be if eps were negligible).
    const sizes = delta(expected).map(Math.abs);
    expect(Math.max(...sizes) / Math.min(...sizes)).toBeGreaterThan(2);
    adam.dispose();
  });

  test('row gradients: 200 steps on a few rows each, defaults, bias correction by the global step', async () => {
    const ctx = getCtx();
    const [N, width] = [6, 4];
    const steps = 200;
    const init = randomArray(N * width, 8);
    const table = ctx.tensor(init, [N, width], { label: 'table' });
    const adam = new Adam(ctx, [table]);
    const rowsAt = (t: number) => Int32Array.from([0, 1, 2, 3, 4, 5].filter((r) => (t + r) % (r + 1) === 0));
    const dense = (t: number) => {
      const g = new Float64Array(N * width);
      const rows = rowsAt(t);
      const values = gradient(rows.length * width, t, 1e-8);
      rows.forEach((r, k) => g.set(values.subarray(k * width, (k + 1) * width), r * width));
      return { g, rows, values };
    };
    for (let t = 1; t <= steps; t++) {
      const { rows, values } = dense(t);
      table.grad = new RowGrad(rows, ctx.tensor(values, [rows.length, width]), table.shape);
      adam.step();
      if (t % 50 === 0) ctx.submit();
    }
    const got = await table.read();
    // Lazy Adam: a row's moments change only at steps that touch it; t is the global count.
    const expected = Float64Array.from(init);
    const m = new Float64Array(N * width);
    const v = new Float64Array(N * width);
    for (let t = 1; t <= steps; t++) {
      const { g, rows } = dense(t);
      for (const r of rows) {
        for (let c = 0; c < width; c++) {
          const i = r * width + c;
          m[i] = 0.9 * m[i] + 0.1 * g[i];
          v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
          expected[i] -= (1e-3 * (m[i] / (1 - 0.9 ** t))) / (Math.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8);
        }
      }
    }
    const delta = (x: ArrayLike<number>) => Float64Array.from(x, (value, i) => value - init[i]);
    expect(maxRelativeError(delta(got), delta(expected), 2e-3, 2e-5)).toBeLessThanOrEqual(1);
    adam.dispose();
  });
});
