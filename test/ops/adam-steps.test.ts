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

describe('Adam state, bounds and bookkeeping (found untested by the mutation run of src/train/adam.ts)', () => {
  test('exportState then importState into a new optimiser continues exactly as the uninterrupted run', async () => {
    const ctx = getCtx();
    const n = 40;
    const init = randomArray(n, 31);
    const grads = (t: number) => ctx.tensor(gradient(n, t, 1e-3), [n]);
    const straight = ctx.tensor(init, [n], { label: 'w' });
    const a = new Adam(ctx, [straight], { lr: 0.01 });
    for (let t = 1; t <= 6; t++) {
      straight.grad = grads(t);
      a.step();
    }
    const resumed = ctx.tensor(init, [n], { label: 'w' });
    const first = new Adam(ctx, [resumed], { lr: 0.01 });
    for (let t = 1; t <= 3; t++) {
      resumed.grad = grads(t);
      first.step();
    }
    const state = await first.exportState();
    expect(state.stepCount).toBe(3);
    expect([...state.moments.keys()]).toEqual(['w']);
    first.dispose();
    const second = new Adam(ctx, [resumed], { lr: 0.01 });
    second.importState(state);
    expect(second.stepCount).toBe(3);
    for (let t = 4; t <= 6; t++) {
      resumed.grad = grads(t);
      second.step();
    }
    expect(Array.from(await resumed.read())).toEqual(Array.from(await straight.read()));
    expect(Array.from(await second.momentsOf(resumed)!.v.read())).toEqual(Array.from(await a.momentsOf(straight)!.v.read()));
    // A state that does not fit is refused, naming what is wrong.
    const other = new Adam(ctx, [ctx.tensor(init, [n], { label: 'x' })]);
    expect(() => other.importState(state)).toThrow('saved moments for "w"');
    expect(() => second.importState({ stepCount: -1, moments: new Map() })).toThrow('Adam: stepCount must be a non-negative integer, got -1');
    const short = { stepCount: 1, moments: new Map([['w', { m: new Float32Array(3), v: new Float32Array(n) }]]) };
    expect(() => new Adam(ctx, [resumed]).importState(short)).toThrow(`Adam: saved moments for "w" have 3 and ${n} values, the parameter has ${n}`);
    const shortV = { stepCount: 1, moments: new Map([['w', { m: new Float32Array(n), v: new Float32Array(3) }]]) };
    expect(() => new Adam(ctx, [resumed]).importState(shortV)).toThrow(`Adam: saved moments for "w" have ${n} and 3 values, the parameter has ${n}`);
    a.dispose();
    second.dispose();
  });

  test('hyper-parameters at their bounds: 0 allowed for lr, betas and weight decay; eps must be > 0, betas < 1', () => {
    const ctx = getCtx();
    const p = ctx.zeros([2]);
    expect(() => new Adam(ctx, [p], { lr: 0, beta1: 0, beta2: 0, weightDecay: 0 }).dispose()).not.toThrow();
    expect(() => new Adam(ctx, [p], { lr: -1e-3 })).toThrow('Adam: lr must be >= 0, got -0.001');
    expect(() => new Adam(ctx, [p], { beta1: -0.1 })).toThrow('Adam: beta1 must be in [0, 1), got -0.1');
    expect(() => new Adam(ctx, [p], { beta2: 1 })).toThrow('Adam: beta2 must be in [0, 1), got 1');
    expect(() => new Adam(ctx, [p], { beta2: -0.5 })).toThrow('Adam: beta2 must be in [0, 1), got -0.5');
    expect(() => new Adam(ctx, [p], { eps: 0 })).toThrow('Adam: eps must be > 0, got 0');
    expect(() => new Adam(ctx, [p], { weightDecay: -1 })).toThrow('Adam: weightDecay must be >= 0, got -1');
    expect(() => new Adam(ctx, [ctx.tensor(Int32Array.of(1, 2), [2])])).toThrow('params[0]');
  });

  test('a parameter without a gradient is left alone; rows wider than a workgroup are updated in full; dispose frees the moments', async () => {
    const ctx = getCtx();
    const [N, width] = [5, 300];
    const table = ctx.tensor(randomArray(N * width, 41), [N, width], { label: 'table' });
    const idle = ctx.tensor(randomArray(4, 42), [4], { label: 'idle' });
    const before = await table.read();
    const adam = new Adam(ctx, [table, idle]);
    const rows = Int32Array.of(1, 3);
    table.grad = new RowGrad(rows, ctx.tensor(new Float32Array(rows.length * width).fill(1), [rows.length, width]), table.shape);
    adam.step();
    expect(adam.momentsOf(idle)).toBeUndefined();
    const after = await table.read();
    // Every element of the touched rows moved by lr (the first step of Adam is lr·sign(g)); the others did not.
    for (let r = 0; r < N; r++) {
      for (let c = 0; c < width; c++) {
        const moved = before[r * width + c] - after[r * width + c];
        expect(moved, `row ${r} column ${c}`).toBeCloseTo(rows.includes(r) ? 1e-3 : 0, 6);
      }
    }
    const { m, v } = adam.momentsOf(table)!;
    adam.dispose();
    expect(m.isDisposed && v.isDisposed).toBe(true);
  });
});

